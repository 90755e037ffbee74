// Native resources, shared between the JS thread and the libuv pool threads that run
// jobs on them. Each handle keeps its parent alive (image -> pool -> cluster), so
// whatever order the wrappers are finalized in (garbage collection, worker teardown),
// an rbd_image_t is closed before its rados_ioctx_t is destroyed, and that before
// its rados_t is shut down. Explicit close()/shutdown() null the pointer; the
// destructor then has nothing left to do.
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <memory>
#include <string>

namespace glint {

struct ClusterHandle {
  rados_t cl = nullptr;
  std::string fsid;
  int openPools = 0;  // JS thread only
  ~ClusterHandle() {
    if (cl) rados_shutdown(cl);
  }
};

struct PoolHandle {
  std::shared_ptr<ClusterHandle> cluster;
  rados_ioctx_t io = nullptr;
  std::string name;
  int openImages = 0;  // JS thread only
  ~PoolHandle() {
    if (io) rados_ioctx_destroy(io);
  }
};

struct ImageHandle {
  std::shared_ptr<PoolHandle> pool;
  rbd_image_t img = nullptr;
  std::string name, snap;
  // The size as last seen by open/stat/resize (JS thread after open). librbd silently
  // drops the part of a write past the end, so Image.write refuses such writes.
  uint64_t size = 0;
  ~ImageHandle() {
    if (img) rbd_close(img);
  }
};

}  // namespace glint

// Module entry. With librbd (HAVE_RBD) it exports
//   { hasRbd: true, connect(opts) -> Promise<Cluster>, versions: { librbd, librados } }
// and without it (the stub build) only { hasRbd: false }.
//
// Context-aware: every env (main thread, each worker_thread) gets its own AddonData
// with its own class constructors and aio completion tsfn.
#include <napi.h>

#ifdef HAVE_RBD
#include <memory>
#include <string>

#include "aio.h"
#include "cluster.h"
#include "common.h"
#include "image.h"
#include "pool.h"

namespace glint {

static std::string Version(void (*fn)(int*, int*, int*)) {
  int a = 0, b = 0, c = 0;
  fn(&a, &b, &c);
  return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted at env teardown
  data->clusterCtor = Napi::Persistent(Cluster::Define(env));
  data->poolCtor = Napi::Persistent(Pool::Define(env));
  data->imageCtor = Napi::Persistent(Image::Define(env));
  data->poster = MakePoster(env);

  Napi::Object versions = Napi::Object::New(env);
  versions.Set("librbd", Version(rbd_version));
  versions.Set("librados", Version(rados_version));

  exports.Set("hasRbd", true);
  exports.Set("versions", versions);
  exports.Set("connect", Napi::Function::New<Cluster::Connect>(env, "connect"));
  return exports;
}

}  // namespace glint

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return glint::Init(env, exports); }
NODE_API_MODULE(rbd_native, Init)

#else  // stub: built without the librbd/librados headers

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("hasRbd", false);
  return exports;
}

NODE_API_MODULE(rbd_native, Init)

#endif

# Glint's librbd addon. Optional: when the librbd/librados headers are missing (or
# `-Dhas_rbd=0` is passed) only src/addon.cc is built, and the addon exports
# { hasRbd: false } so that `npm install` never fails for want of librbd-dev.
# copy_native (src/copy.cc, no librbd) is the upload path's memcpy into shared buffers.
{
  "variables": {
    "has_rbd%": "<!(test -f /usr/include/rbd/librbd.h -a -f /usr/include/rados/librados.h && echo 1 || echo 0)"
  },
  "targets": [{
    "target_name": "rbd_native",
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_ADDON_API_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "sources": ["src/addon.cc", "src/errors.cc"],
    "conditions": [
      ["has_rbd==1", {
        "sources": ["src/common.cc", "src/aio.cc", "src/cluster.cc", "src/pool.cc", "src/image.cc"],
        "defines": ["HAVE_RBD=1"],
        "libraries": ["-lrbd", "-lrados"]
      }]
    ]
  }, {
    "target_name": "copy_native",
    "defines": ["NAPI_VERSION=8"],
    "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
    "sources": ["src/copy.cc"]
  }]
}

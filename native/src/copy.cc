// copyInto(target, targetOffset, source, sourceOffset, length): memcpy from one Uint8Array
// into another, for the upload path (src/stores/upload.ts) on the main thread.
//
// Why not TypedArray.prototype.set: upload buffers are SharedArrayBuffers (a hasher thread and
// the store worker read them at once), and V8 copies into shared memory with relaxed atomic
// moves, word by word only when source and target have the same alignment mod 8 and byte by
// byte otherwise. An HTTP body chunk starts wherever uWS's receive buffer has it, so in practice
// the copy is byte by byte: measured 0.6-0.8 CPU-s per GiB, where memcpy takes about 0.1
// (BENCHMARKS.md, "RBD uploads"). A plain copy is enough: nothing else reads the target bytes
// until the upload posts the buffer to the readers, and postMessage orders that.
//
// Its own addon (no librbd): loading it must not dlopen librbd on a file-store-only server.
#include <node_api.h>

#include <cstdint>
#include <cstring>

namespace {

bool Bytes(napi_env env, napi_value v, uint8_t** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  void* p = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

bool Index(napi_env env, napi_value v, int64_t* out) {
  return napi_get_value_int64(env, v, out) == napi_ok && *out >= 0;
}

napi_value CopyInto(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  uint8_t *target = nullptr, *source = nullptr;
  size_t targetLength = 0, sourceLength = 0;
  int64_t targetOffset = 0, sourceOffset = 0, length = 0;
  if (argc < 5 || !Bytes(env, argv[0], &target, &targetLength) || !Bytes(env, argv[2], &source, &sourceLength)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "copyInto(target: Uint8Array, targetOffset, source: Uint8Array, sourceOffset, length)");
    return nullptr;
  }
  if (!Index(env, argv[1], &targetOffset) || !Index(env, argv[3], &sourceOffset) || !Index(env, argv[4], &length) ||
      static_cast<uint64_t>(targetOffset + length) > targetLength ||
      static_cast<uint64_t>(sourceOffset + length) > sourceLength) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "copyInto: offset or length outside the arrays");
    return nullptr;
  }
  if (length > 0) std::memcpy(target + targetOffset, source + sourceOffset, static_cast<size_t>(length));
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "copyInto", NAPI_AUTO_LENGTH, CopyInto, nullptr, &fn) != napi_ok) return nullptr;
  if (napi_set_named_property(env, exports, "copyInto", fn) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }

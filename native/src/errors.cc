#include "errors.h"

#include <cerrno>
#include <cstring>

namespace glint {

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* name = strerrorname_np(err)) return name;
#else
  switch (err) {
#define GLINT_E(x) case x: return #x;
    GLINT_E(EPERM) GLINT_E(ENOENT) GLINT_E(EIO) GLINT_E(EBADF) GLINT_E(EAGAIN)
    GLINT_E(ENOMEM) GLINT_E(EACCES) GLINT_E(EBUSY) GLINT_E(EEXIST) GLINT_E(EINVAL)
    GLINT_E(EFBIG) GLINT_E(ENOSPC) GLINT_E(EROFS) GLINT_E(EDOM) GLINT_E(ERANGE)
    GLINT_E(ENOSYS) GLINT_E(ENOTEMPTY) GLINT_E(EOPNOTSUPP) GLINT_E(ETIMEDOUT)
    GLINT_E(ECONNREFUSED) GLINT_E(ESHUTDOWN) GLINT_E(EDQUOT) GLINT_E(ENOTCONN)
#undef GLINT_E
    default: break;
  }
#endif
  return "E" + std::to_string(err);
}

static Napi::Error WithErrno(Napi::Error err, const std::string& op, int e) {
  Napi::Object o = err.Value();
  o.Set("code", ErrnoName(e));
  o.Set("errno", Napi::Number::New(o.Env(), -e));
  o.Set("syscall", op);
  return err;
}

Napi::Error ErrnoError(Napi::Env env, const std::string& op, int64_t rc) {
  int e = rc < 0 ? static_cast<int>(-rc) : static_cast<int>(rc);
  return WithErrno(Napi::Error::New(env, op + ": " + std::strerror(e)), op, e);
}

Napi::Error StateError(Napi::Env env, const std::string& op, int err, const std::string& what) {
  return WithErrno(Napi::Error::New(env, op + ": " + what), op, err);
}

Napi::Error ArgTypeError(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::TypeError::New(env, msg);
  e.Value().Set("code", "ERR_INVALID_ARG_TYPE");
  return e;
}

Napi::Error ArgRangeError(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::RangeError::New(env, msg);
  e.Value().Set("code", "ERR_OUT_OF_RANGE");
  return e;
}

Napi::Promise Rejected(Napi::Env env, const Napi::Value& err) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(err);
  return d.Promise();
}

}  // namespace glint

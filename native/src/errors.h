// Turning librados/librbd return codes and misuse into JS errors.
//
// librados and librbd return negative errno values. They become an Error with
// message "<op>: <strerror>", code = errno name ("ENOENT"), errno = the negative rc
// and syscall = op (the JS method name), like Node's own system errors.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace glint {

// "ENOENT" for ENOENT; "E<n>" for numbers without a name.
std::string ErrnoName(int err);

// rc is a negative errno as returned by librados/librbd.
Napi::Error ErrnoError(Napi::Env env, const std::string& op, int64_t rc);

// Use of a closed (or closing) object, or a close that cannot proceed: a plain errno
// error with a custom message ("read: image is closed"), so callers can still switch on
// code (EBADF, EBUSY).
Napi::Error StateError(Napi::Env env, const std::string& op, int err, const std::string& what);

// Bad arguments: TypeError (code ERR_INVALID_ARG_TYPE) or RangeError (ERR_OUT_OF_RANGE).
Napi::Error ArgTypeError(Napi::Env env, const std::string& msg);
Napi::Error ArgRangeError(Napi::Env env, const std::string& msg);

Napi::Promise Rejected(Napi::Env env, const Napi::Value& err);

// Runs f(), which returns a promise. A Napi::Error thrown by f (bad arguments, a failed
// N-API call) becomes a rejected promise, so every async method fails the same way.
template <typename F>
Napi::Value Promised(Napi::Env env, F&& f) {
  try {
    return f();
  } catch (const Napi::Error& e) {
    return Rejected(env, e.Value());
  }
}

}  // namespace glint

#include "common.h"

#include <cmath>

namespace glint {

int kConstructToken = 0;

void CheckConstructToken(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsExternal() ||
      info[0].As<Napi::External<int>>().Data() != &kConstructToken) {
    throw Napi::TypeError::New(info.Env(), "Illegal constructor: use connect()");
  }
}

std::string ArgString(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) throw ArgTypeError(env, std::string("The \"") + name + "\" argument must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) throw ArgRangeError(env, std::string("The \"") + name + "\" argument must not be empty");
  if (s.find('\0') != std::string::npos)
    throw ArgRangeError(env, std::string("The \"") + name + "\" argument must not contain NUL");
  return s;
}

int64_t ArgInt(Napi::Env env, Napi::Value v, const char* name, int64_t min, int64_t max) {
  auto range = [&]() {
    return ArgRangeError(env, std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                                  std::to_string(min) + " and <= " + std::to_string(max));
  };
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max))
      throw range();
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = false;
    int64_t x = v.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless || x < min || x > max) throw range();
    return x;
  }
  throw ArgTypeError(env, std::string("The \"") + name + "\" argument must be a number");
}

Napi::Object ArgOptions(Napi::Env env, Napi::Value v, const char* name, bool optional) {
  if (optional && (v.IsUndefined() || v.IsNull())) return Napi::Object::New(env);
  if (!v.IsObject()) throw ArgTypeError(env, std::string("The \"") + name + "\" argument must be an object");
  return v.As<Napi::Object>();
}

}  // namespace glint

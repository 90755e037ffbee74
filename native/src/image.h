// Image: one open rbd_image_t. Metadata calls run as Jobs on the libuv pool; read,
// write and flush are librbd aio with completions posted back to the loop (aio.h).
#pragma once

#include <napi.h>

#include <memory>

#include "common.h"
#include "handles.h"

namespace glint {

class Image : public Napi::ObjectWrap<Image> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<ImageHandle> h);

  explicit Image(const Napi::CallbackInfo& info);
  ~Image() override;

  Lifecycle& life() { return life_; }

 private:
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Resize(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value SnapCreate(const Napi::CallbackInfo& info);
  Napi::Value SnapProtect(const Napi::CallbackInfo& info);
  Napi::Value SnapUnprotect(const Napi::CallbackInfo& info);
  Napi::Value SnapRemove(const Napi::CallbackInfo& info);
  Napi::Value SnapIsProtected(const Napi::CallbackInfo& info);
  Napi::Value SnapList(const Napi::CallbackInfo& info);
  Napi::Value ListChildren(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  Napi::Value Run(Napi::Env env, const char* op, Job::Exec exec, Job::Done done = nullptr);
  Napi::Value Snap(const Napi::CallbackInfo& info, const char* op,
                   int (*fn)(rbd_image_t, const char*));
  Napi::Value Aio(const Napi::CallbackInfo& info, int kind);

  std::shared_ptr<ImageHandle> handle_;
  Lifecycle life_;
};

}  // namespace glint

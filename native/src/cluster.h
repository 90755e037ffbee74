// Cluster: one rados_t, from connect() to shutdown().
#pragma once

#include <napi.h>

#include <memory>

#include "common.h"
#include "handles.h"

namespace glint {

class Cluster : public Napi::ObjectWrap<Cluster> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<ClusterHandle> h);
  // connect(opts) -> Promise<Cluster>
  static Napi::Value Connect(const Napi::CallbackInfo& info);

  explicit Cluster(const Napi::CallbackInfo& info);

 private:
  Napi::Value Fsid(const Napi::CallbackInfo& info);
  Napi::Value OpenPool(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);

  std::shared_ptr<ClusterHandle> handle_;
  Lifecycle life_;
};

}  // namespace glint

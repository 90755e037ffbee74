// Pool: one rados_ioctx_t on a connected cluster, and the pool-level rbd calls.
#pragma once

#include <napi.h>

#include <memory>

#include "common.h"
#include "handles.h"

namespace glint {

class Pool : public Napi::ObjectWrap<Pool> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object NewInstance(Napi::Env env, std::shared_ptr<PoolHandle> h);

  explicit Pool(const Napi::CallbackInfo& info);
  ~Pool() override;

 private:
  Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value List(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // Shared preamble: the open check, then Job::Start with inflight bookkeeping.
  Napi::Value Run(Napi::Env env, const char* op, Job::Exec exec, Job::Done done = nullptr);

  std::shared_ptr<PoolHandle> handle_;
  Lifecycle life_;
};

}  // namespace glint

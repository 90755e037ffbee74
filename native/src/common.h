// Pieces shared by the Cluster, Pool and Image wrappers: per-environment addon data,
// the lifecycle bookkeeping that makes misuse loud, the promise-returning AsyncWorker
// used for every blocking librados/librbd call, and argument parsing.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "errors.h"

namespace glint {

struct Poster;

// One per napi_env (main thread or worker_thread): the addon is context-aware and keeps
// no process-wide JS state.
struct AddonData {
  Napi::FunctionReference clusterCtor, poolCtor, imageCtor;
  std::shared_ptr<Poster> poster;  // aio completions -> this env's loop (aio.h)
  int aioInflight = 0;             // the poster's tsfn is ref'ed only while > 0
};

// Wrapped classes can only be constructed by the addon: their constructor demands this
// token as an External.
extern int kConstructToken;
inline Napi::Value ConstructToken(Napi::Env env) {
  return Napi::External<int>::New(env, &kConstructToken);
}
void CheckConstructToken(const Napi::CallbackInfo& info);

// JS-thread-only state of a Cluster, Pool or Image. Calls are refused once close has
// been requested; close itself waits until the calls in flight have finished.
class Lifecycle {
 public:
  enum class State { Open, Closing, Closed };

  bool open() const { return state_ == State::Open; }
  State state() const { return state_; }
  void set(State s) { state_ = s; }

  void Begin() { ++inflight_; }
  void End() {
    if (--inflight_ == 0 && drained_) {
      auto f = std::move(drained_);
      drained_ = nullptr;
      f();
    }
  }
  // Runs f now if nothing is in flight, else when the last call in flight ends.
  void OnDrained(std::function<void()> f) {
    if (inflight_ == 0) f();
    else drained_ = std::move(f);
  }

  // The error for a call on an object that is not open ("read: image is closed").
  Napi::Error NotOpen(Napi::Env env, const std::string& op, const char* what) const {
    return StateError(env, op, EBADF,
                      std::string(what) + (state_ == State::Closing ? " is closing" : " is closed"));
  }

 private:
  State state_ = State::Open;
  int inflight_ = 0;
  std::function<void()> drained_;
};

// Runs a blocking librados/librbd call on the libuv pool and settles a promise.
//   exec  (pool thread, no N-API): returns rc; rc < 0 is a negative errno.
//   done  (JS thread, only if rc >= 0): the resolution value (undefined if absent).
//   fin   (JS thread, always, after done and before the promise settles): bookkeeping.
// The owner object (the wrapper) is kept alive until then.
class Job final : public Napi::AsyncWorker {
 public:
  using Exec = std::function<int64_t()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  using Fin = std::function<void(int64_t rc)>;

  static Napi::Promise Start(Napi::Env env, const std::string& op, Napi::Value owner,
                             Exec exec, Done done = nullptr, Fin fin = nullptr) {
    auto d = Napi::Promise::Deferred::New(env);
    StartInto(env, d, op, owner, std::move(exec), std::move(done), std::move(fin));
    return d.Promise();
  }

  static void StartInto(Napi::Env env, Napi::Promise::Deferred d, const std::string& op,
                        Napi::Value owner, Exec exec, Done done = nullptr, Fin fin = nullptr) {
    auto* job = new Job(env, d, op, owner, std::move(exec), std::move(done), std::move(fin));
    job->Queue();  // deletes itself after OnOK
  }

 private:
  Job(Napi::Env env, Napi::Promise::Deferred d, const std::string& op, Napi::Value owner,
      Exec exec, Done done, Fin fin)
      : Napi::AsyncWorker(env, "glint:rbd"), d_(d), op_(op), exec_(std::move(exec)),
        done_(std::move(done)), fin_(std::move(fin)) {
    if (owner.IsObject()) owner_ = Napi::Persistent(owner.As<Napi::Object>());
  }

  void Execute() override {
    try {
      rc_ = exec_();
    } catch (const std::bad_alloc&) {
      rc_ = -ENOMEM;
    }
  }

  void OnOK() override {
    try {
      Settle();
    } catch (const Napi::Error&) {
      // Only when JS can no longer run: the env is being torn down (worker.terminate()).
    }
  }

  void Settle() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    bool ok = rc_ >= 0;
    Napi::Value result = env.Undefined();
    if (!ok) {
      result = ErrnoError(env, op_, rc_).Value();
    } else if (done_) {
      try {
        result = done_(env);
      } catch (const Napi::Error& e) {
        ok = false;
        result = e.Value();
      }
    }
    if (fin_) fin_(rc_);
    if (ok) d_.Resolve(result);
    else d_.Reject(result);
  }

  Napi::Promise::Deferred d_;
  std::string op_;
  Exec exec_;
  Done done_;
  Fin fin_;
  Napi::ObjectReference owner_;
  int64_t rc_ = 0;
};

// ---- argument parsing (throws Napi::Error; wrap the method body in Promised) ----

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // Number.MAX_SAFE_INTEGER

std::string ArgString(Napi::Env env, Napi::Value v, const char* name);
// An integer in [min, max], given as a Number or a BigInt.
int64_t ArgInt(Napi::Env env, Napi::Value v, const char* name, int64_t min, int64_t max);
// An options object: undefined -> empty object when optional.
Napi::Object ArgOptions(Napi::Env env, Napi::Value v, const char* name, bool optional);
// opts[key], or undefined. Absent and undefined are the same.
inline Napi::Value Opt(Napi::Object opts, const char* key) { return opts.Get(key); }
inline bool Has(Napi::Value v) { return !v.IsUndefined(); }

}  // namespace glint

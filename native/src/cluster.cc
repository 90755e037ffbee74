#include "cluster.h"

#include <cmath>
#include <cstring>

#include "pool.h"

namespace glint {

Napi::Function Cluster::Define(Napi::Env env) {
  return DefineClass(env, "RbdCluster",
                     {
                         InstanceAccessor<&Cluster::Fsid>("fsid", napi_enumerable),
                         InstanceMethod<&Cluster::OpenPool>("openPool"),
                         InstanceMethod<&Cluster::Shutdown>("shutdown"),
                     });
}

Napi::Object Cluster::NewInstance(Napi::Env env, std::shared_ptr<ClusterHandle> h) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->clusterCtor.New({ConstructToken(env)});
  Unwrap(obj)->handle_ = std::move(h);
  return obj;
}

Cluster::Cluster(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Cluster>(info) {
  CheckConstructToken(info);
}

Napi::Value Cluster::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    Napi::Object opts = ArgOptions(env, info[0], "opts", false);
    std::string conf = ArgString(env, Opt(opts, "conf"), "opts.conf");
    std::string user = "admin", keyring, timeout;
    if (Has(Opt(opts, "user"))) user = ArgString(env, Opt(opts, "user"), "opts.user");
    if (Has(Opt(opts, "keyring"))) keyring = ArgString(env, Opt(opts, "keyring"), "opts.keyring");
    Napi::Value t = Opt(opts, "timeoutSec");
    if (Has(t)) {
      if (!t.IsNumber()) throw ArgTypeError(env, "The \"opts.timeoutSec\" argument must be a number");
      double sec = t.As<Napi::Number>().DoubleValue();
      if (!(sec > 0) || sec > 1e9) throw ArgRangeError(env, "The value of \"opts.timeoutSec\" must be > 0");
      timeout = std::to_string(static_cast<int64_t>(std::ceil(sec)));  // ceph wants whole seconds
    }
    std::string name = user.rfind("client.", 0) == 0 ? user : "client." + user;

    auto h = std::make_shared<ClusterHandle>();
    return Job::Start(
        env, "connect", env.Undefined(),
        [h, conf, name, keyring, timeout]() -> int64_t {
          rados_t cl = nullptr;
          int r = rados_create2(&cl, "ceph", name.c_str(), 0);
          if (r < 0) return r;
          auto fail = [cl](int rc) {
            rados_shutdown(cl);
            return rc;
          };
          if ((r = rados_conf_read_file(cl, conf.c_str())) < 0) return fail(r);
          if (!keyring.empty() && (r = rados_conf_set(cl, "keyring", keyring.c_str())) < 0) return fail(r);
          // Bounds connecting and monitor requests only, as glance_store's rados_connect_timeout.
          // OSD operations keep Ceph's own default (wait while the cluster recovers; an
          // operator may set rados_osd_op_timeout in ceph.conf): a read queued behind a boot
          // storm is slow, not failed.
          if (!timeout.empty()) {
            for (const char* opt : {"client_mount_timeout", "rados_mon_op_timeout"})
              if ((r = rados_conf_set(cl, opt, timeout.c_str())) < 0) return fail(r);
          }
          if ((r = rados_connect(cl)) < 0) return fail(r);
          char buf[64] = {0};
          if ((r = rados_cluster_fsid(cl, buf, sizeof buf - 1)) < 0) return fail(r);
          h->fsid.assign(buf, strnlen(buf, sizeof buf));
          h->cl = cl;
          return 0;
        },
        [h](Napi::Env env) -> Napi::Value { return NewInstance(env, h); });
  });
}

Napi::Value Cluster::Fsid(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), handle_ ? handle_->fsid : std::string());
}

Napi::Value Cluster::OpenPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    if (!life_.open()) throw life_.NotOpen(env, "openPool", "cluster");
    std::string pool = ArgString(env, info[0], "pool");
    auto ch = handle_;
    auto ph = std::make_shared<PoolHandle>();
    ph->cluster = ch;
    ph->name = pool;
    life_.Begin();
    return Job::Start(
        env, "openPool", Value(),
        [ch, ph]() -> int64_t { return rados_ioctx_create(ch->cl, ph->name.c_str(), &ph->io); },
        [ph](Napi::Env env) -> Napi::Value {
          Napi::Object obj = Pool::NewInstance(env, ph);
          ph->cluster->openPools++;
          return obj;
        },
        [this](int64_t) { life_.End(); });
  });
}

Napi::Value Cluster::Shutdown(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!life_.open()) return Rejected(env, life_.NotOpen(env, "shutdown", "cluster").Value());
  life_.set(Lifecycle::State::Closing);
  auto d = Napi::Promise::Deferred::New(env);
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  life_.OnDrained([this, env, d, self]() {
    Napi::HandleScope scope(env);
    if (handle_->openPools > 0) {
      life_.set(Lifecycle::State::Open);
      d.Reject(StateError(env, "shutdown", EBUSY,
                          std::to_string(handle_->openPools) + " pool(s) still open; close them first")
                   .Value());
      return;
    }
    auto h = handle_;
    Job::StartInto(
        env, d, "shutdown", self->Value(),
        [h]() -> int64_t {
          rados_shutdown(h->cl);
          h->cl = nullptr;
          return 0;
        },
        nullptr, [this](int64_t) { life_.set(Lifecycle::State::Closed); });
  });
  return d.Promise();
}

}  // namespace glint

#include "pool.h"

#include <cstdlib>
#include <vector>

#include "image.h"

namespace glint {

namespace {

// The features glance_store and Nova give new images: the cluster's rbd_default_features
// (ceph.conf or the built-in default, 61 on Pacific), or layering alone when that is 0.
uint64_t DefaultFeatures(rados_t cl) {
  char buf[32] = {0};
  if (rados_conf_get(cl, "rbd_default_features", buf, sizeof buf - 1) < 0) return RBD_FEATURE_LAYERING;
  char* end = nullptr;
  uint64_t features = std::strtoull(buf, &end, 10);
  return end == buf || features == 0 ? RBD_FEATURE_LAYERING : features;
}

}  // namespace

Napi::Function Pool::Define(Napi::Env env) {
  return DefineClass(env, "RbdPool",
                     {
                         InstanceMethod<&Pool::Create>("create"),
                         InstanceMethod<&Pool::Open>("open"),
                         InstanceMethod<&Pool::Remove>("remove"),
                         InstanceMethod<&Pool::Clone>("clone"),
                         InstanceMethod<&Pool::List>("list"),
                         InstanceMethod<&Pool::Close>("close"),
                     });
}

Napi::Object Pool::NewInstance(Napi::Env env, std::shared_ptr<PoolHandle> h) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->poolCtor.New({ConstructToken(env)});
  Unwrap(obj)->handle_ = std::move(h);
  return obj;
}

Pool::Pool(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pool>(info) {
  CheckConstructToken(info);
}

// Collected (or its env torn down) without close(): the handle destroys the ioctx once
// nothing else uses it; stop counting it as open so the cluster can shut down.
Pool::~Pool() {
  if (handle_ && life_.state() != Lifecycle::State::Closed) handle_->cluster->openPools--;
}

Napi::Value Pool::Run(Napi::Env env, const char* op, Job::Exec exec, Job::Done done) {
  if (!life_.open()) throw life_.NotOpen(env, op, "pool");
  life_.Begin();
  return Job::Start(env, op, Value(), std::move(exec), std::move(done), [this](int64_t) { life_.End(); });
}

Napi::Value Pool::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string name = ArgString(env, info[0], "name");
    uint64_t size = ArgInt(env, info[1], "size", 0, kMaxSafeInteger);
    Napi::Object opts = ArgOptions(env, info[2], "opts", false);
    int order = static_cast<int>(ArgInt(env, Opt(opts, "order"), "opts.order", 0, 64));
    bool given = Has(Opt(opts, "features"));
    uint64_t features = given ? ArgInt(env, Opt(opts, "features"), "opts.features", 0, kMaxSafeInteger) : 0;
    auto h = handle_;
    return Run(env, "create", [h, name, size, given, features, order]() mutable -> int64_t {
      return rbd_create2(h->io, name.c_str(), size, given ? features : DefaultFeatures(h->cluster->cl), &order);
    });
  });
}

Napi::Value Pool::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string name = ArgString(env, info[0], "name");
    Napi::Object opts = ArgOptions(env, info[1], "opts", true);
    std::string snap;
    if (Has(Opt(opts, "snapshot"))) snap = ArgString(env, Opt(opts, "snapshot"), "opts.snapshot");
    Napi::Value ro = Opt(opts, "readOnly");
    if (Has(ro) && !ro.IsBoolean()) throw ArgTypeError(env, "The \"opts.readOnly\" argument must be a boolean");
    bool readOnly = Has(ro) && ro.As<Napi::Boolean>().Value();

    auto ih = std::make_shared<ImageHandle>();
    ih->pool = handle_;
    ih->name = name;
    ih->snap = snap;
    return Run(
        env, "open",
        [ih, readOnly]() -> int64_t {
          const char* snap = ih->snap.empty() ? nullptr : ih->snap.c_str();
          int r = readOnly ? rbd_open_read_only(ih->pool->io, ih->name.c_str(), &ih->img, snap)
                           : rbd_open(ih->pool->io, ih->name.c_str(), &ih->img, snap);
          if (r < 0) return r;
          return rbd_get_size(ih->img, &ih->size);  // on failure ~ImageHandle closes it
        },
        [ih](Napi::Env env) -> Napi::Value {
          Napi::Object obj = Image::NewInstance(env, ih);
          ih->pool->openImages++;
          return obj;
        });
  });
}

Napi::Value Pool::Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string name = ArgString(env, info[0], "name");
    auto h = handle_;
    return Run(env, "remove", [h, name]() -> int64_t { return rbd_remove(h->io, name.c_str()); });
  });
}

// A COW child in the same pool, as Nova's RBD driver makes them (with the cluster's default
// features). The parent snapshot must be protected (clone v1, see ceph-test-clusters.md §6).
Napi::Value Pool::Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string parent = ArgString(env, info[0], "parent");
    std::string snap = ArgString(env, info[1], "snap");
    std::string child = ArgString(env, info[2], "child");
    Napi::Object opts = ArgOptions(env, info[3], "opts", true);
    int order = 0;  // 0: rbd_default_order (22), as Nova's clone gets
    if (Has(Opt(opts, "order"))) order = static_cast<int>(ArgInt(env, Opt(opts, "order"), "opts.order", 0, 64));
    auto h = handle_;
    return Run(env, "clone", [h, parent, snap, child, order]() mutable -> int64_t {
      return rbd_clone(h->io, parent.c_str(), snap.c_str(), h->io, child.c_str(), DefaultFeatures(h->cluster->cl), &order);
    });
  });
}

Napi::Value Pool::List(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    auto h = handle_;
    auto names = std::make_shared<std::vector<std::string>>();
    return Run(
        env, "list",
        [h, names]() -> int64_t {
          std::vector<rbd_image_spec_t> specs(64);
          for (;;) {
            size_t n = specs.size();
            int r = rbd_list2(h->io, specs.data(), &n);
            if (r == -ERANGE && n > specs.size()) {
              specs.resize(n);
              continue;
            }
            if (r < 0) return r;
            for (size_t i = 0; i < n; i++) names->emplace_back(specs[i].name);
            rbd_image_spec_list_cleanup(specs.data(), n);
            return 0;
          }
        },
        [names](Napi::Env env) -> Napi::Value {
          Napi::Array a = Napi::Array::New(env, names->size());
          for (size_t i = 0; i < names->size(); i++) a.Set(i, (*names)[i]);
          return a;
        });
  });
}

Napi::Value Pool::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!life_.open()) return Rejected(env, life_.NotOpen(env, "close", "pool").Value());
  life_.set(Lifecycle::State::Closing);
  auto d = Napi::Promise::Deferred::New(env);
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  life_.OnDrained([this, env, d, self]() {
    Napi::HandleScope scope(env);
    if (handle_->openImages > 0) {
      life_.set(Lifecycle::State::Open);
      d.Reject(StateError(env, "close", EBUSY,
                          std::to_string(handle_->openImages) + " image(s) still open; close them first")
                   .Value());
      return;
    }
    auto h = handle_;
    Job::StartInto(
        env, d, "close", self->Value(),
        [h]() -> int64_t {
          rados_ioctx_destroy(h->io);
          h->io = nullptr;
          return 0;
        },
        nullptr,
        [this](int64_t) {
          life_.set(Lifecycle::State::Closed);
          handle_->cluster->openPools--;
        });
  });
  return d.Promise();
}

}  // namespace glint

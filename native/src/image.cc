#include "image.h"

#include <vector>

#include "aio.h"

namespace glint {

Napi::Function Image::Define(Napi::Env env) {
  return DefineClass(env, "RbdImage",
                     {
                         InstanceMethod<&Image::Stat>("stat"),
                         InstanceMethod<&Image::Resize>("resize"),
                         InstanceMethod<&Image::Write>("write"),
                         InstanceMethod<&Image::Read>("read"),
                         InstanceMethod<&Image::Flush>("flush"),
                         InstanceMethod<&Image::SnapCreate>("snapCreate"),
                         InstanceMethod<&Image::SnapProtect>("snapProtect"),
                         InstanceMethod<&Image::SnapUnprotect>("snapUnprotect"),
                         InstanceMethod<&Image::SnapRemove>("snapRemove"),
                         InstanceMethod<&Image::SnapIsProtected>("snapIsProtected"),
                         InstanceMethod<&Image::SnapList>("snapList"),
                         InstanceMethod<&Image::ListChildren>("listChildren"),
                         InstanceMethod<&Image::Close>("close"),
                     });
}

Napi::Object Image::NewInstance(Napi::Env env, std::shared_ptr<ImageHandle> h) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->imageCtor.New({ConstructToken(env)});
  Unwrap(obj)->handle_ = std::move(h);
  return obj;
}

Image::Image(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Image>(info) {
  CheckConstructToken(info);
}

// Collected (or its env torn down) without close(): ~ImageHandle closes the image
// synchronously once nothing else uses it.
Image::~Image() {
  if (handle_ && life_.state() != Lifecycle::State::Closed) handle_->pool->openImages--;
}

Napi::Value Image::Run(Napi::Env env, const char* op, Job::Exec exec, Job::Done done) {
  if (!life_.open()) throw life_.NotOpen(env, op, "image");
  life_.Begin();
  return Job::Start(env, op, Value(), std::move(exec), std::move(done), [this](int64_t) { life_.End(); });
}

Napi::Value Image::Stat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    auto h = handle_;
    auto st = std::make_shared<rbd_image_info_t>();
    return Run(
        env, "stat", [h, st]() -> int64_t { return rbd_stat(h->img, st.get(), sizeof *st); },
        [h, st](Napi::Env env) -> Napi::Value {
          h->size = st->size;
          Napi::Object o = Napi::Object::New(env);
          o.Set("size", Napi::Number::New(env, static_cast<double>(st->size)));
          o.Set("objSize", Napi::Number::New(env, static_cast<double>(st->obj_size)));
          o.Set("order", Napi::Number::New(env, st->order));
          return o;
        });
  });
}

Napi::Value Image::Resize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    uint64_t size = ArgInt(env, info[0], "size", 0, kMaxSafeInteger);
    auto h = handle_;
    return Run(env, "resize", [h, size]() -> int64_t { return rbd_resize(h->img, size); },
               [h, size](Napi::Env env) -> Napi::Value {
                 h->size = size;
                 return env.Undefined();
               });
  });
}

Napi::Value Image::Aio(const Napi::CallbackInfo& info, int k) {
  Napi::Env env = info.Env();
  auto kind = static_cast<AioOp::Kind>(k);
  const char* opname = kind == AioOp::Kind::Write ? "write" : kind == AioOp::Kind::Read ? "read" : "flush";
  return Promised(env, [&]() -> Napi::Value {
    if (!life_.open()) throw life_.NotOpen(env, opname, "image");
    char* data = nullptr;
    size_t len = 0;
    uint64_t off = 0;
    Napi::Value buf;
    if (kind != AioOp::Kind::Flush) {
      buf = info[0];
      if (!buf.IsTypedArray() || buf.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw ArgTypeError(env, "The \"buf\" argument must be a Uint8Array");
      auto u8 = buf.As<Napi::Uint8Array>();
      data = reinterpret_cast<char*>(u8.Data());
      len = u8.ByteLength();
      off = ArgInt(env, info[1], "offset", 0, kMaxSafeInteger);
      if (len == 0) {
        // librbd asserts (aborts the process) on a zero-length read into a null
        // buffer, which is what an empty Uint8Array has. Nothing to do anyway.
        auto d = Napi::Promise::Deferred::New(env);
        d.Resolve(kind == AioOp::Kind::Read ? Napi::Number::New(env, 0).As<Napi::Value>() : env.Undefined());
        return d.Promise();
      }
      if (kind == AioOp::Kind::Write && (off > handle_->size || len > handle_->size - off))
        throw StateError(env, opname, EINVAL,
                         "past the end of the image (" + std::to_string(off) + " + " + std::to_string(len) +
                             " > size " + std::to_string(handle_->size) + "); resize first");
    }
    auto* op = new AioOp(env, kind, opname);
    op->owner = Napi::Persistent(Value());
    if (kind != AioOp::Kind::Flush) op->buffer = Napi::Persistent(buf);
    op->image = this;
    Napi::Promise p = op->deferred.Promise();
    AioSubmit(env, op, handle_->img, off, len, data);
    return p;
  });
}

Napi::Value Image::Write(const Napi::CallbackInfo& info) { return Aio(info, static_cast<int>(AioOp::Kind::Write)); }
Napi::Value Image::Read(const Napi::CallbackInfo& info) { return Aio(info, static_cast<int>(AioOp::Kind::Read)); }
Napi::Value Image::Flush(const Napi::CallbackInfo& info) { return Aio(info, static_cast<int>(AioOp::Kind::Flush)); }

Napi::Value Image::Snap(const Napi::CallbackInfo& info, const char* op, int (*fn)(rbd_image_t, const char*)) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string name = ArgString(env, info[0], "name");
    auto h = handle_;
    return Run(env, op, [h, name, fn]() -> int64_t { return fn(h->img, name.c_str()); });
  });
}

Napi::Value Image::SnapCreate(const Napi::CallbackInfo& info) { return Snap(info, "snapCreate", rbd_snap_create); }
Napi::Value Image::SnapProtect(const Napi::CallbackInfo& info) { return Snap(info, "snapProtect", rbd_snap_protect); }
Napi::Value Image::SnapUnprotect(const Napi::CallbackInfo& info) {
  return Snap(info, "snapUnprotect", rbd_snap_unprotect);
}
Napi::Value Image::SnapRemove(const Napi::CallbackInfo& info) { return Snap(info, "snapRemove", rbd_snap_remove); }

Napi::Value Image::SnapIsProtected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    std::string name = ArgString(env, info[0], "name");
    auto h = handle_;
    auto prot = std::make_shared<int>(0);
    return Run(
        env, "snapIsProtected",
        [h, name, prot]() -> int64_t { return rbd_snap_is_protected(h->img, name.c_str(), prot.get()); },
        [prot](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, *prot != 0); });
  });
}

Napi::Value Image::SnapList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    auto h = handle_;
    auto names = std::make_shared<std::vector<std::string>>();
    return Run(
        env, "snapList",
        [h, names]() -> int64_t {
          std::vector<rbd_snap_info_t> snaps(16);
          for (;;) {
            int max = static_cast<int>(snaps.size());
            int r = rbd_snap_list(h->img, snaps.data(), &max);
            if (r == -ERANGE && max > static_cast<int>(snaps.size())) {
              snaps.resize(max);
              continue;
            }
            if (r < 0) return r;
            for (int i = 0; i < r; i++) names->emplace_back(snaps[i].name);
            rbd_snap_list_end(snaps.data());
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

// Children of the snapshot the image was opened at (of all its snapshots when opened
// at the head), including children in the trash: they still block snapUnprotect.
Napi::Value Image::ListChildren(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Promised(env, [&]() -> Napi::Value {
    auto h = handle_;
    using Child = std::pair<std::string, std::string>;
    auto kids = std::make_shared<std::vector<Child>>();
    return Run(
        env, "listChildren",
        [h, kids]() -> int64_t {
          std::vector<rbd_linked_image_spec_t> specs(16);
          for (;;) {
            size_t n = specs.size();
            int r = rbd_list_children3(h->img, specs.data(), &n);
            if (r == -ERANGE && n > specs.size()) {
              specs.resize(n);
              continue;
            }
            if (r < 0) return r;
            for (size_t i = 0; i < n; i++) {
              const auto& s = specs[i];
              kids->emplace_back(s.pool_name ? s.pool_name : "", s.image_name ? s.image_name : "");
            }
            rbd_linked_image_spec_list_cleanup(specs.data(), n);
            return 0;
          }
        },
        [kids](Napi::Env env) -> Napi::Value {
          Napi::Array a = Napi::Array::New(env, kids->size());
          for (size_t i = 0; i < kids->size(); i++) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("pool", (*kids)[i].first);
            o.Set("image", (*kids)[i].second);
            a.Set(i, o);
          }
          return a;
        });
  });
}

Napi::Value Image::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!life_.open()) return Rejected(env, life_.NotOpen(env, "close", "image").Value());
  life_.set(Lifecycle::State::Closing);
  auto d = Napi::Promise::Deferred::New(env);
  auto self = std::make_shared<Napi::ObjectReference>(Napi::Persistent(Value()));
  life_.OnDrained([this, env, d, self]() {
    Napi::HandleScope scope(env);
    auto h = handle_;
    Job::StartInto(
        env, d, "close", self->Value(),
        [h]() -> int64_t {
          int r = rbd_close(h->img);  // frees the image even when it fails
          h->img = nullptr;
          return r;
        },
        nullptr,
        [this](int64_t) {
          life_.set(Lifecycle::State::Closed);
          handle_->pool->openImages--;
        });
  });
  return d.Promise();
}

}  // namespace glint

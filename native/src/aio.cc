#include "aio.h"

#include "image.h"

namespace glint {

namespace {

// librbd thread: no N-API here.
void OnComplete(rbd_completion_t c, void* arg) {
  auto* op = static_cast<AioOp*>(arg);
  op->rc = rbd_aio_get_return_value(c);
  rbd_aio_release(c);
  std::shared_ptr<Poster> poster = op->poster;  // op may be freed once posted
  poster->Post(op);  // false: env gone, op leaked on purpose (see aio.h)
}

void AioBegin(Napi::Env env, AddonData* data) {
  if (data->aioInflight++ == 0) data->poster->tsfn.Ref(env);
}

void AioEnd(Napi::Env env, AddonData* data) {
  if (--data->aioInflight == 0) data->poster->tsfn.Unref(env);
}

// Settles op and frees it (JS thread).
void Finish(Napi::Env env, AioOp* op) {
  std::unique_ptr<AioOp> own(op);  // drops the buffer and wrapper references at the end
  AioEnd(env, env.GetInstanceData<AddonData>());
  try {
    Napi::HandleScope scope(env);
    if (op->rc < 0) {
      op->deferred.Reject(ErrnoError(env, op->op, op->rc).Value());
    } else if (op->kind == AioOp::Kind::Read) {
      op->deferred.Resolve(Napi::Number::New(env, static_cast<double>(op->rc)));
    } else {
      op->deferred.Resolve(env.Undefined());
    }
    op->image->life().End();  // may start a pending close (it holds its own reference)
  } catch (const Napi::Error&) {
    // Only when JS can no longer run: the env is being torn down (worker.terminate()).
  }
}

}  // namespace

void AioCallJs(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op) {
  if (env == nullptr) return;  // tsfn torn down with this op queued: leak it
  Finish(env, op);
}

std::shared_ptr<Poster> MakePoster(Napi::Env env) {
  auto poster = std::make_shared<Poster>();
  auto* keep = new std::shared_ptr<Poster>(poster);
  poster->tsfn = AioTsfn::New(
      env, "glint:rbd:aio", 0 /* unlimited queue */, 1 /* initial thread count */, nullptr,
      [](Napi::Env, std::shared_ptr<Poster>* p, std::nullptr_t*) {
        {
          std::lock_guard<std::mutex> lock((*p)->mu);
          (*p)->alive = false;
        }
        delete p;
      },
      keep);
  poster->tsfn.Unref(env);
  return poster;
}

void AioSubmit(Napi::Env env, AioOp* op, rbd_image_t img, uint64_t off, size_t len, char* data) {
  auto* addon = env.GetInstanceData<AddonData>();
  op->poster = addon->poster;
  op->image->life().Begin();
  AioBegin(env, addon);

  rbd_completion_t c = nullptr;
  int r = rbd_aio_create_completion(op, OnComplete, &c);
  if (r == 0) {
    switch (op->kind) {
      case AioOp::Kind::Write: r = rbd_aio_write(img, off, len, data, c); break;
      case AioOp::Kind::Read: r = rbd_aio_read(img, off, len, data, c); break;
      case AioOp::Kind::Flush: r = rbd_aio_flush(img, c); break;
    }
    if (r < 0) rbd_aio_release(c);  // not submitted: no callback will come
  }
  if (r < 0) {
    op->rc = r;
    Finish(env, op);
  }
}

}  // namespace glint

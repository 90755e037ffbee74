// librbd aio completions, delivered to the JS thread that started the I/O.
//
// rbd_aio_create_completion's callback runs on a librbd thread. It only records the
// return value, releases the completion and posts the AioOp to this env's
// ThreadSafeFunction; everything that touches JS (settling the promise, dropping the
// buffer reference) happens in AioCallJs on the loop thread.
//
// Teardown: when the env goes away (worker exit) node closes the tsfn. Its finalizer
// marks the Poster dead under the Poster's mutex, and a completion that arrives later
// is dropped (its AioOp is leaked on purpose: its references belong to a dead env).
// Callbacks hold the Poster through a shared_ptr, so it outlives the tsfn. The
// wrappers' finalizers close images still open, which waits for their I/O.
#pragma once

#include <napi.h>

#include <sys/types.h>

#include <memory>
#include <mutex>

#include "common.h"
#include "handles.h"

namespace glint {

class Image;
struct AioOp;

void AioCallJs(Napi::Env env, Napi::Function, std::nullptr_t*, AioOp* op);
using AioTsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, AioOp, AioCallJs>;

struct Poster {
  std::mutex mu;
  bool alive = true;
  AioTsfn tsfn;

  // librbd thread. False if the env is gone.
  bool Post(AioOp* op) {
    std::lock_guard<std::mutex> lock(mu);
    return alive && tsfn.NonBlockingCall(op) == napi_ok;
  }
};

// Creates this env's Poster (its tsfn starts unref'ed).
std::shared_ptr<Poster> MakePoster(Napi::Env env);

struct AioOp {
  enum class Kind { Write, Read, Flush };

  AioOp(Napi::Env env, Kind k, const char* opname) : kind(k), op(opname), deferred(env) {}

  Kind kind;
  const char* op;
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference owner;           // the Image wrapper
  Napi::Reference<Napi::Value> buffer;   // the Uint8Array, until completion
  // Not the ImageHandle: an op must not keep the image open. If the env is torn down
  // with I/O in flight, finalizing the wrapper closes the image, and rbd_close waits
  // for that I/O, before the isolate frees the buffers it reads into.
  Image* image = nullptr;
  std::shared_ptr<Poster> poster;
  ssize_t rc = 0;
};

// Starts an aio op on an open image (JS thread). Settles op->deferred later; on a
// synchronous failure it settles it now. Takes ownership of op.
void AioSubmit(Napi::Env env, AioOp* op, rbd_image_t img, uint64_t off, size_t len, char* data);

}  // namespace glint

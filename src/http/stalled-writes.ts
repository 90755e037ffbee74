// Keeps responses alive while their client is slow to read, up to client_socket_timeout.
//
// uWebSockets.js closes a response whose socket has not drained for about 10 s (its fixed
// HTTP_TIMEOUT_S), as if the client had gone; v20.30 did, and so does the current build
// (measured: a reader stalled for 15 s was cut at 11.9 s). A client that stops reading for a while
// has not gone: a hypervisor busy writing the image to its own disk, or one process reading
// hundreds of downloads at once in a boot storm (measured here: 4 to 17 of 256 downloads cut
// short). Glance waits client_socket_timeout (900 s by default) for such a client. So every
// few seconds each stalled response retries its write; uWS restarts its timer on every write
// the socket cannot take. A response that made no progress for client_socket_timeout is
// closed.

/** Below uWS's shortest firing of its 10 s timer (it ticks every 4 s: 8 s at the earliest). */
const NUDGE_EVERY_MS = 3000

/**
 * Retries the pending write; returns the response's write offset while it is still stalled,
 * undefined once it is not (written, finished or aborted).
 */
export type Nudge = () => number | undefined

export interface StalledWrites {
  /** Watches a response that could not write everything; watching it twice is harmless. */
  watch: (nudge: Nudge, giveUp: () => void) => void
}

export function stalledWrites (clientSocketTimeoutSec: number): StalledWrites {
  const stalled = new Map<Nudge, { giveUp: () => void, offset: number | undefined, since: number }>()
  let timer: NodeJS.Timeout | undefined

  const tick = (): void => {
    const now = Date.now()
    for (const [nudge, state] of stalled) {
      const offset = nudge()
      if (offset === undefined) {
        stalled.delete(nudge)
      } else if (offset !== state.offset) {
        state.offset = offset
        state.since = now
      } else if (clientSocketTimeoutSec > 0 && now - state.since >= clientSocketTimeoutSec * 1000) {
        stalled.delete(nudge)
        state.giveUp()
      }
    }
    if (stalled.size === 0) { clearInterval(timer); timer = undefined }
  }

  return {
    watch (nudge, giveUp) {
      if (stalled.has(nudge)) return
      stalled.set(nudge, { giveUp, offset: undefined, since: Date.now() })
      timer ??= setInterval(tick, NUDGE_EVERY_MS).unref()
    }
  }
}

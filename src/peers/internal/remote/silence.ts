// The stall limit of a transfer. ssh's keep-alives end a connection that no longer answers, but
// not a live connection whose remote command sends nothing (a wedged tar, an scp stuck on a hung
// disk on the peer): that would be held until the stage limit (12 h by default). A transfer is
// silent when what it brings stops moving: the bytes of the tar stream received, or what the
// private directory holds for scp. The clock runs from the start: the first bytes must come
// within the stall limit too (the connection is usually up already, shared from the peer's
// indicator check; the defaults give a new one its connect limit, 30 s, within the stall's 60 s).
import { Clock, Duration, Effect } from "effect"

/** The limit a silence is measured against. */
export interface SilenceLimits {
  readonly stall: Duration.Duration
}

/** What a silence reports: the limit as the messages show it (`3s of silence`). */
export const silenceAfter = (limits: SilenceLimits): string => `${Duration.format(limits.stall)} of silence`

/** How often a watch looks, at most, and at least: a quarter of the stall limit, within these. */
const LOOK_MIN_MS = 50
const LOOK_MAX_MS = 5_000

/**
 * Looks at `progress` (any value that changes while the transfer moves) from time to time, and
 * completes with `silenceAfter` once it has not changed for the stall limit; never before.
 */
export const watchSilence = <E>(
  limits: SilenceLimits,
  progress: Effect.Effect<string | number, E>
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const stall = Duration.toMillis(limits.stall)
    const look = Math.min(LOOK_MAX_MS, Math.max(LOOK_MIN_MS, stall / 4))
    let last = yield* progress.pipe(Effect.option)
    let changedAt = yield* Clock.currentTimeMillis
    let pause = look
    for (;;) {
      yield* Effect.sleep(pause)
      const started = yield* Clock.currentTimeMillis
      const now = yield* progress.pipe(Effect.option)
      const at = yield* Clock.currentTimeMillis
      // a look that takes long (a private directory of many files) is taken less often
      pause = Math.max(look, 20 * (at - started))
      if (now._tag === "Some" && (last._tag === "None" || now.value !== last.value)) {
        last = now
        changedAt = at
        continue
      }
      if (at - changedAt >= stall) return silenceAfter(limits)
    }
  })

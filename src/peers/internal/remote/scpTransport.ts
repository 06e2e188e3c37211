// The scp transport: the rcp command copies `collectDir/*` into the private directory, as the
// local user when there is one. scp cannot be told to stop at a limit, so the directory is
// watched while it runs and the copy is killed as soon as it holds more than allowed.
import type { Duration } from "effect"
import { Effect } from "effect"
import type { StageOptions } from "../../../domain/Peer.js"
import { LimitExceeded } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { Directory, DiskError, Usage } from "../../../disk/StagingDisk.js"
import { runAs } from "../runAs.js"
import { stageArgv } from "./argv.js"
import { type RemoteContext, type Ran, requireCopied } from "./context.js"
import type { Landing } from "./landing.js"
import { type SilenceLimits, watchSilence } from "./silence.js"

/** How often the private directory is looked at while scp runs, at most. */
const WATCH_EVERY_MS = 200

/**
 * Looking costs time in proportion to the files already there: the pause after a look is at
 * least this many times what the look took, so watching a big copy takes a bounded share (5 %)
 * of one core however many files arrive.
 */
const WATCH_PAUSE_FACTOR = 20

/** Never succeeds: reports progress, and fails once the directory holds more than the limits allow. */
const watch = (
  peer: RemotePeer,
  usage: Effect.Effect<Usage, DiskError>,
  options: StageOptions
): Effect.Effect<never, LimitExceeded> =>
  options.maxFiles === undefined && options.maxBytes === undefined && (options.onProgress === undefined || options.copyProgress === false)
    ? Effect.never
    : Effect.gen(function*() {
      let pause = WATCH_EVERY_MS
      for (;;) {
        yield* Effect.sleep(pause)
        // a directory that cannot be read now is looked at next time
        const started = performance.now()
        const now = yield* usage.pipe(Effect.option)
        pause = Math.max(WATCH_EVERY_MS, WATCH_PAUSE_FACTOR * (performance.now() - started))
        if (now._tag === "None") continue
        const { bytes, files } = now.value
        if (options.copyProgress !== false) options.onProgress?.({ phase: "copying", files, bytes })
        if (options.maxFiles !== undefined && files > options.maxFiles) {
          return yield* new LimitExceeded({ peer: peer.name, limit: "maxFiles", max: options.maxFiles, value: files })
        }
        if (options.maxBytes !== undefined && bytes > options.maxBytes) {
          return yield* new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: options.maxBytes, value: bytes })
        }
      }
    })

export const makeScpTransport = (ctx: RemoteContext) => {
  /** Brings the collect dir's files into `privateDir`; fails as the copy failed or was stopped. */
  const copy = (peer: RemotePeer, privateDir: Directory, options: StageOptions, timeout: Duration.Input, silence: SilenceLimits) =>
    Effect.gen(function*() {
      const copy = stageArgv(peer, privateDir.shown, yield* ctx.connectionOf(peer))
      const argv = runAs(peer.localUser, copy)
      const source = ctx.remoteLabel(peer, peer.collectDir)
      // looked at through the staging disk, which holds the directory open
      const usage = ctx.disk.usage(privateDir)
      options.onProgress?.({ phase: "copying", files: 0, bytes: 0 })
      // scp says nothing while it copies: an attempt is silent when what the private directory
      // holds stops growing (see silence.ts); the wait between attempts is not silence
      const silent = Effect.map(
        watchSilence(silence, Effect.map(usage, (now) => `${now.files}:${now.bytes}`)),
        (after): Ran => ({ _tag: "NotRun", reason: `timed out after ${after}`, expired: after })
      )
      // retried only while nothing has arrived: a copy cut off half-way is reported, not redone
      const run = ctx.runCopy(peer, "stage", argv, {
        timeout,
        program: copy[0]!,
        landed: usage.pipe(
          Effect.map((now) => now.files > 0),
          Effect.orElseSucceed(() => true)
        ),
        silent
      })
      // the first to end wins: the copy (the watch is stopped) or the watch (the copy is killed)
      const ran = yield* Effect.raceFirst(run, watch(peer, usage, options))
      yield* requireCopied(peer, "stage", source, argv, ran)
      // written by scp, as the local user when there is one: the landing checks and adopts every file
      const landed: Landing = { _tag: "ToAdopt", reclaim: peer.localUser !== undefined }
      return landed
    })

  return { copy } as const
}

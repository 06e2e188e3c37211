// `stage`: every ready peer of the pool into today's daily directory, one run per pool; with
// --dry-run, what such a run would do, writing nothing.
import { Clock, Effect, Option, Path, Schema } from "effect"
import * as Config from "../../config/Config.js"
import { UnsupportedEntry } from "../../domain/PeerError.js"
import { EntryKind, showName } from "../../domain/Peer.js"
import { StagingDisk } from "../../disk/StagingDisk.js"
import * as Pool from "../../pool/Pool.js"
import * as RunLock from "../../pool/RunLock.js"
import * as Validate from "../../pool/Validate.js"
import { render } from "../render.js"
import { type DryRunPeer, dryRunText, endLine } from "../report.js"
import { type LimitOptions, runControl, settingsOf } from "../runControl.js"
import { VERSION } from "../version.js"
import { runStage } from "./runStage.js"

/**
 * The options of `stage`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface StageOptions extends LimitOptions {
  readonly config: string
  readonly json: boolean
  readonly full: boolean
  readonly peers: ReadonlyArray<string>
  readonly concurrency: Option.Option<number>
  readonly dryRun: boolean
  readonly metricsFile: Option.Option<string>
}

/**
 * Runs `stage`.
 *
 * @since 1.0.0
 * @category commands
 */
export const stage = (opts: StageOptions) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    if (opts.dryRun) {
      const pool = yield* Config.load(opts.config)
      // a dry run says what a real run would refuse: a missing staging dir too
      return yield* Effect.andThen(Validate.requireStagingDir(pool), dryRun(pool, opts))
    }
    const startedAt = yield* Clock.currentTimeMillis
    let summary: Pool.StageSummary | undefined
    // one line where a run starts and one where it ends, whatever the end: runs appended to one log stay apart
    yield* Effect.logInfo(`cedar-peer ${VERSION} stage starts: config ${path.resolve(opts.config)}, pid ${process.pid}`)
    yield* Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const control = yield* runControl
      // one run per pool; a signal lets the peers in flight clean up and the summary still print
      yield* control.graceful(Effect.scoped(Effect.gen(function*() {
        yield* Validate.requireStagingDir(pool) // before the lock, which lives in the staging dir
        yield* RunLock.acquire(Pool.lockFile(pool))
        yield* runStage(pool, {
          json: opts.json,
          full: opts.full,
          peers: opts.peers,
          concurrency: Option.getOrUndefined(opts.concurrency),
          settings: settingsOf(opts),
          stop: control.stop,
          metricsFile: Option.getOrUndefined(Option.map(opts.metricsFile, (file) => path.resolve(file))),
          onSummary: (done) => {
            summary = done
          }
        })
      })))
    }).pipe(
      Effect.onExit((exit) =>
        Effect.flatMap(Clock.currentTimeMillis, (endedAt) => Effect.logInfo(endLine(exit, summary, endedAt - startedAt)))
      )
    )
  })

// as the local stage names an entry it refuses
const isEntryKind = Schema.is(EntryKind)
const entryKindOf = (type: string): EntryKind => (isEntryKind(type) ? type : "Unknown")

/** `stage --dry-run`: what a stage run would do, from the same checks, writing nothing. */
const dryRun = (pool: Config.PoolConfig, opts: { readonly json: boolean; readonly full: boolean; readonly peers: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const now = new Date(yield* Clock.currentTimeMillis)
    const daily = Pool.dailyDir(pool.stagingDir, now)
    const selected = yield* Pool.selectPeers(pool, opts.peers)
    const checked = yield* Pool.check(pool, { peers: opts.peers })
    const peers = yield* Effect.forEach(checked.peers, (p, i) =>
      Effect.gen(function*() {
        const config = selected[i]!
        const ignored = Pool.isFailureIgnored(config.ignoreFailures, { full: opts.full, startingDay: pool.options.startingDay, date: now })
        const counts = p.ready && config.type === "local"
          ? yield* countFiles(config).pipe(Effect.option, Effect.map(Option.getOrUndefined))
          : undefined
        return {
          name: p.name,
          type: p.type,
          ready: p.ready,
          status: p.status,
          ignored,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
          ...(counts === undefined ? {} : counts)
        } satisfies DryRunPeer
      }))
    // a ready peer whose collect dir holds what a stage refuses would fail the run all the same
    const ok = peers.every((p) => (p.ready && !("error" in p)) || p.ignored)
    yield* render(opts.json, ok, { dryRun: true, dailyDir: daily, full: opts.full, ok, peers }, dryRunText(daily, opts.full, ok, peers))
  })

/**
 * What a stage would copy from a local collect directory: its regular files and their bytes,
 * listed exactly as the stage lists them (StagingDisk's listing: nothing followed, so a link to
 * a file is not a file). Entries that are not regular files make the stage fail the peer naming
 * them, and so does the dry run.
 */
const countFiles = (peer: Config.PeerConfig) =>
  Effect.scoped(Effect.gen(function*() {
    const disk = yield* StagingDisk
    const listing = yield* disk.listFiles(yield* disk.openDirectory(peer.collectDir), { sizes: true })
    const counts = { files: listing.files.length, bytes: listing.bytes }
    if (listing.others.length === 0) return counts
    const error = new UnsupportedEntry({
      peer: peer.name,
      collectDir: peer.collectDir,
      entries: listing.others.map((e) => ({ name: showName(e.name), kind: entryKindOf(e.type) }))
    })
    return { ...counts, error: { _tag: error._tag, message: error.message } }
  }))

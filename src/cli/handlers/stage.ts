// `stage`: every ready peer of the pool into today's daily directory, one run per pool; with
// --dry-run, what such a run would do, writing nothing.
import { Clock, Effect, Option, Path } from "effect"
import * as Config from "../../config/Config.js"
import * as Pool from "../../pool/Pool.js"
import * as RunLock from "../../pool/RunLock.js"
import * as Validate from "../../pool/Validate.js"
import { render } from "../render.js"
import { dryRunText, endLine } from "../report.js"
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

/** `stage --dry-run`: what a stage run would do (Pool.planStage), rendered; writes nothing. */
const dryRun = (pool: Config.PoolConfig, opts: { readonly json: boolean; readonly full: boolean; readonly peers: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const { dailyDir: daily, ok, peers } = yield* Pool.planStage(pool, { full: opts.full, peers: opts.peers })
    yield* render(opts.json, ok, { dryRun: true, dailyDir: daily, full: opts.full, ok, peers }, dryRunText(daily, opts.full, ok, peers))
  })

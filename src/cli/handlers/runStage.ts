// A stage run as the CLI follows it (`stage` and `demo`): the live display, the per-peer lines,
// the metrics file and the summary.
import { Clock, Effect, Exit, Fiber, Path, Schedule } from "effect"
import type * as Config from "../../config/Config.js"
import type * as RemotePeer from "../../peers/RemotePeer.js"
import type { SystemUsers } from "../../peers/SystemUsers.js"
import * as Pool from "../../pool/Pool.js"
import { explain } from "../causes.js"
import { canonicalConfig, readPreviousLastSuccess, renderMetrics, writeMetricsFile } from "../metrics.js"
import { OutputService, StageReporter } from "../output.js"
import { render } from "../render.js"
import { rerunLine, stageJson, stageText, stageTotals } from "../report.js"

/**
 * Follows a stage run: the live display, per-peer lines, and (with --metrics-file) the metrics
 * written at the end, whatever the end.
 *
 * @since 1.0.0
 * @category commands
 */
export const runStage = (
  pool: Config.PoolConfig,
  opts: {
    readonly json: boolean
    readonly full: boolean
    readonly peers: ReadonlyArray<string>
    readonly concurrency?: number | undefined
    readonly settings?: Config.SettingsOverrides | undefined
    readonly stop?: Effect.Effect<void> | undefined
    readonly metricsFile?: string | undefined
    /** told the summary before it is printed (the run's end line) */
    readonly onSummary?: ((summary: Pool.StageSummary) => void) | undefined
  },
  extraText: (summary: Pool.StageSummary) => ReadonlyArray<string> = () => [],
  extraJson: Record<string, unknown> = {}
) =>
  Effect.gen(function*() {
    const output = yield* OutputService
    const startedAt = yield* Clock.currentTimeMillis
    const selected = yield* Pool.selectPeers(pool, opts.peers)
    // a failed peer's cause in words, asked of the peer again when scp kept it quiet
    const services = yield* Effect.context<RemotePeer.RemotePeers | SystemUsers>()
    const explainOne = explain(pool, opts.settings)
    const reporter = new StageReporter(
      output,
      selected.map((p) => p.name),
      Date.now,
      opts.json,
      (result) => explainOne(result).pipe(Effect.provide(services))
    )
    const configLabel = opts.metricsFile === undefined ? pool.source : yield* canonicalConfig(pool.source)
    const previous = opts.metricsFile === undefined
      ? new Map<string, number>()
      : yield* readPreviousLastSuccess(opts.metricsFile, configLabel)
    const results = new Map<string, Pool.PeerStageResult>()
    const metricsFile = opts.metricsFile
    const onEvent = (event: Pool.PoolEvent) => {
      if (event._tag === "PeerDone") results.set(event.result.name, event.result)
      return reporter.handle(event)
    }
    reporter.begin(Pool.dailyDir(pool.stagingDir, new Date(startedAt)), opts.full)
    // elapsed times move on a terminal even while a peer says nothing
    const ticker = output.display === undefined
      ? Effect.void
      : Effect.sync(() => reporter.tick()).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.asVoid)
    const ticking = yield* Effect.forkDetach(ticker)
    const stageOptions: Pool.StageRunOptions = {
      full: opts.full,
      peers: opts.peers,
      concurrency: opts.concurrency,
      settings: opts.settings,
      stop: opts.stop,
      onEvent
    }
    const summary = yield* Pool.stage(pool, stageOptions).pipe(
      Effect.ensuring(Effect.andThen(Fiber.interrupt(ticking), Effect.sync(() => reporter.end()))),
      Effect.onExit((exit) =>
        metricsFile === undefined ? Effect.void : Effect.gen(function*() {
          const endedAt = yield* Clock.currentTimeMillis
          const peers = Exit.isSuccess(exit) ? exit.value.peers : [...results.values()]
          const outcome = Exit.isSuccess(exit)
            ? exit.value.interrupted === true || peers.some((p) => (p.status as string) === "interrupted") ? "interrupted" : exit.value.ok ? "ok" : "failed"
            : Exit.hasInterrupts(exit) ? "interrupted" : "failed"
          const text = renderMetrics({
            config: configLabel,
            startedAt,
            endedAt,
            outcome,
            previousLastSuccess: previous,
            peers: peers.map((result) => {
              const timing = reporter.timing(result.name)
              return { result, seconds: timing === undefined ? undefined : (timing.endedAt - timing.startedAt) / 1000 }
            })
          })
          yield* writeMetricsFile(metricsFile, text).pipe(
            Effect.catch((error) => Effect.sync(() => output.failure(`error[${error._tag}] ${error.message}`)))
          )
        })
      )
    )
    const millis = (name: string) => {
      const timing = reporter.timing(name)
      return timing === undefined ? undefined : timing.endedAt - timing.startedAt
    }
    const cause = (name: string) => reporter.causes.get(name)
    // a failed night ends with what to run once the causes are fixed
    const config = (yield* Path.Path).resolve(pool.source)
    const rerun = summary.ok ? [] : [`stage the failed peers again: ${rerunLine(summary, config)}`]
    const text = reporter.rowsShown
      ? [stageTotals(summary), ...rerun, ...extraText(summary)].join("\n")
      : [stageText(summary, millis, cause), ...rerun, ...extraText(summary)].join("\n")
    const document = stageJson(summary)
    opts.onSummary?.(summary)
    yield* render(
      opts.json,
      summary.ok,
      {
        ...document,
        peers: document.peers.map((p) => (cause(p.name) === undefined ? p : { ...p, cause: cause(p.name) })),
        ...(summary.ok ? {} : { rerun: rerunLine(summary, config) }),
        ...extraJson
      },
      text
    )
  })

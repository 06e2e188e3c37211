// The cedar-peer commands: parse options, load the config, call the library, render.
import { Cause, Clock, Console, Effect, Exit, Fiber, Option, Path, Schedule } from "effect"
import { Argument, CliConfig, CliError, Command, CliOutput, Completions, Flag } from "effect/cli"
import { createRequire } from "node:module"
import * as Config from "../config/Config.js"
import * as Pool from "../pool/Pool.js"
import { DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "../domain/Peer.js"
import * as Manifest from "../pool/Manifest.js"
import * as RemotePeer from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { type OptionTable, preparse } from "./argv.js"
import * as RunLock from "../pool/RunLock.js"
import * as Validate from "../pool/Validate.js"
import { makeDemoPool } from "./demo.js"
import { completionDescriptor } from "./completions.js"
import { bold, commandDoc, commandHelp, plain, renderCommandHelp, renderRootHelp, subcommandsOf } from "./help.js"
import { canonicalConfig, readPreviousLastSuccess, renderMetrics, writeMetricsFile } from "./metrics.js"
import { escapeControl, Output, OutputService, settingsFromProcess, StageReporter, withOutput } from "./output.js"
import { columnsFor, formatBytes, formatDuration, headerRow, noteOf } from "./progress.js"
import { explain } from "./causes.js"
import { actionJson, actionText, checkJson, checkText, rerunLine, stageJson, stageText, stageTotals, Unsuccessful, UsageError } from "./report.js"
import { concurrencyFlag, flag, invalid, limitFlags, runControl, settingsOf, stopBeforeLanding } from "./runControl.js"

/** The package's version, read from its package.json (two levels up from src/cli and dist/cli). */
export const VERSION: string = (createRequire(import.meta.url)("../../package.json") as { readonly version: string }).version

const DEFAULT_CONFIG = "/etc/cback3.conf"

const config = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("FILE"),
  Flag.withDefault(DEFAULT_CONFIG),
  Flag.withDescription("the pool configuration: a Cedar Backup cback3.conf, or JSON when the name ends in .json")
)
const json = flag("json", "print one JSON document on stdout")
const full = flag("full", "a full run, like cback3 --full (decides which failure modes are ignored)").pipe(Flag.withAlias("f"))
const somePeers = Flag.String("peer").pipe(
  Flag.withMetavar("NAME"),
  Flag.atLeast(0),
  Flag.withDescription("only this peer; all peers when absent")
)
const onePeer = Flag.String("peer").pipe(Flag.withMetavar("NAME"), Flag.withDescription("the peer's name in the configuration"))
const indicator = (fallback: string) =>
  Flag.String("indicator").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDefault(fallback),
    Flag.withDescription("the indicator file name")
  )

/** `USER:GROUP` as typed: names or numbers, resolved on this machine when the command runs. */
const owner = Flag.String("owner").pipe(
  Flag.withMetavar("USER:GROUP"),
  Flag.mapEffect((value) => {
    const match = value.match(/^([^:\s]+):([^:\s]+)$/)
    return match ? Effect.succeed({ user: match[1]!, group: match[2]! }) : Effect.fail(invalid(`--owner must be USER:GROUP (names or numbers), got ${JSON.stringify(value)}`))
  }),
  Flag.optional,
  Flag.withDescription("chown staged files to this user and group, e.g. backup:backup or 34:34")
)
const mode = Flag.String("mode").pipe(
  Flag.withMetavar("OCTAL"),
  Flag.mapEffect((value) =>
    /^0?[0-7]{3,4}$/.test(value) ? Effect.succeed(parseInt(value, 8)) : Effect.fail(invalid(`--mode must be octal permissions like 640, got ${JSON.stringify(value)}`))
  ),
  Flag.optional,
  Flag.withDescription("chmod staged files to these octal permissions, e.g. 640")
)

/** Resolves `--owner` names to ids (numbers pass as they are); an unknown name is a usage error naming the flag. */
const resolveOwner = (value: { readonly user: string; readonly group: string }) =>
  Effect.gen(function*() {
    const users = yield* SystemUsers
    const numeric = (text: string) => (/^\d+$/.test(text) ? Number(text) : undefined)
    const uid = numeric(value.user) ?? Option.getOrUndefined(yield* users.lookupUser(value.user))?.uid
    const gid = numeric(value.group) ?? Option.getOrUndefined(yield* users.lookupGroup(value.group))
    if (uid === undefined) return yield* new UsageError({ message: `--owner: no such user on this machine: ${value.user}`, command: "stage-peer" })
    if (gid === undefined) return yield* new UsageError({ message: `--owner: no such group on this machine: ${value.group}`, command: "stage-peer" })
    return { uid, gid }
  })

/** Whether --quiet was given: a run that went well then prints nothing at all (cron mails only on errors). */
const isQuiet = Effect.map(Effect.serviceOption(OutputService), (output) => Option.isSome(output) && output.value.settings.globals.quiet)

/** Prints a result as JSON or as text (no text with --quiet when it is ok); fails with Unsuccessful (exit 1) when it is not ok. */
const render = <A>(asJson: boolean, ok: boolean, document: A, text: string) =>
  Effect.gen(function*() {
    if (asJson || !ok || !(yield* isQuiet)) yield* Console.log(asJson ? JSON.stringify(document, null, 2) : text)
    if (!ok) return yield* new Unsuccessful()
  })

/** Follows a stage run: the live display, per-peer lines, and (with --metrics-file) the metrics written at the end, whatever the end. */
const runStage = (
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

/** The last log line of a stage run: its outcome, daily directory, counts and duration. */
const endLine = (exit: Exit.Exit<unknown, unknown>, summary: Pool.StageSummary | undefined, millis: number): string => {
  const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
  const error = Option.isSome(failure) && !(failure.value instanceof Unsuccessful)
    ? failure.value as { readonly _tag?: string; readonly message?: string }
    : undefined
  const outcome = summary?.peers.some((p) => p.status === "interrupted") || (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
    ? "interrupted"
    : error !== undefined
    ? `failed: error[${error._tag ?? "Error"}] ${escapeControl(String(error.message ?? ""))}`
    : Exit.isSuccess(exit)
    ? "ok"
    : "FAILED"
  const counts = summary === undefined ? [] : [`daily directory ${summary.dailyDir}`, stageTotals(summary).replace(/: (ok|FAILED)$/, "")]
  return ["stage ends: " + outcome, ...counts, `after ${formatDuration(millis)}`].join("; ")
}

/** `stage --dry-run`: what a stage run would do, from the same checks, writing nothing. */
const dryRun = (pool: Config.PoolConfig, opts: { readonly json: boolean; readonly full: boolean; readonly peers: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const { dailyDir: daily, ok, peers } = yield* Pool.planStage(pool, { full: opts.full, peers: opts.peers })
    const columns = columnsFor(peers.map((p) => p.name))
    const rows = peers.map((p) =>
      [
        p.name.padEnd(columns.peer),
        p.type.padEnd(6),
        p.status.padEnd(11),
        ("files" in p ? String(p.files) : "").padStart(6),
        ("bytes" in p ? formatBytes(p.bytes) : "").padStart(10),
        "      ",
        noteOf({ name: p.name, ignored: p.ignored, status: p.ready ? "staged" : "not-ready", ...(p.reason === undefined ? {} : { reason: p.reason }) })
      ].join("  ").trimEnd()
    )
    yield* render(opts.json, ok, { dryRun: true, dailyDir: daily, full: opts.full, ok, peers }, [
      `dry run: nothing is written; a stage run now would stage into ${daily}${opts.full ? " (full run)" : ""}`,
      headerRow(columns),
      ...rows,
      `${peers.filter((p) => p.ready).length} of ${peers.length} peer(s) ready: ${ok ? "ok" : "a stage run would FAIL"}`
    ].join("\n"))
  })

const stage = Command.make(
  "stage",
  {
    config,
    json,
    full,
    peers: somePeers,
    concurrency: concurrencyFlag,
    ...limitFlags,
    dryRun: flag("dry-run", "check every peer and print what would be staged, and into which daily directory; write nothing"),
    metricsFile: Flag.String("metrics-file").pipe(
      Flag.withMetavar("PATH"),
      Flag.optional,
      Flag.withDescription("write the run's outcome there for node_exporter's textfile collector (Prometheus text format, replaced atomically)")
    )
  },
  (opts) =>
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
).pipe(Command.withDescription("stage every ready peer of the pool into today's staging directory (Cedar's stage action)"))

const check = Command.make(
  "check",
  { config, json, peers: somePeers, indicator: indicator(DEF_COLLECT_INDICATOR), timeout: limitFlags.timeout },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const settings = settingsOf({ ...NO_LIMITS, timeout: opts.timeout })
      const summary = yield* Pool.check(pool, { peers: opts.peers, indicator: opts.indicator, settings })
      // the cause in words for each peer not ready, as a stage run's notes give it
      const explainOne = explain(pool, settings)
      const causes = yield* Effect.forEach(summary.peers, (p) =>
        p.status === "ready"
          ? Effect.succeed(undefined)
          : explainOne({ name: p.name, type: p.type, status: p.status, files: 0, bytes: 0, ignored: false, ...(p.reason === undefined ? {} : { reason: p.reason }) }), { concurrency: 4 })
      const explained = { ...summary, peers: summary.peers.map((p, i) => (causes[i] === undefined ? p : { ...p, cause: causes[i] })) }
      yield* render(opts.json, summary.ok, checkJson(explained), checkText(explained))
    })
).pipe(Command.withDescription("tell which peers have written their collect indicator (stages nothing)"))

const stagePeer = Command.make(
  "stage-peer",
  {
    config,
    json,
    peer: onePeer,
    target: Flag.String("target").pipe(
      Flag.withMetavar("DIR"),
      Flag.withDescription("the directory to stage into (must exist; relative to the current directory)")
    ),
    owner,
    mode,
    skipUnsupported: flag("skip-unsupported", "local peers: stage the regular files and report other entries instead of failing"),
    ...limitFlags
  },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const target = (yield* Path.Path).resolve(opts.target)
      const ownership = Option.isSome(opts.owner) ? yield* resolveOwner(opts.owner.value) : undefined
      // a signal stops the peer, unless its files are already being moved into place
      const { value: { peer, ready, report }, stopped } = yield* stopBeforeLanding(
        yield* runControl,
        (onProgress) =>
          Pool.stageConfiguredPeer(pool, opts.peer, target, {
            ownership,
            permissions: Option.getOrUndefined(opts.mode),
            skipUnsupported: opts.skipUnsupported,
            settings: settingsOf(opts),
            onProgress
          })
      )
      const skipped = report.skipped.map((s) => `${s.name} (${s.kind})`).join(", ")
      yield* render(
        opts.json,
        true,
        {
          ok: true,
          peer,
          ready,
          targetDir: target,
          count: report.count,
          bytes: report.bytes,
          files: report.files,
          ...(report.skipped.length > 0 ? { skipped: report.skipped } : {}),
          ...(stopped ? { interrupted: true, reason: STOPPED_WHILE_LANDING } : {})
        },
        `staged ${report.count} file(s), ${formatBytes(report.bytes)} from peer ${peer} into ${target}` +
          (ready ? "" : ` (peer not ready: no ${DEF_COLLECT_INDICATOR})`) +
          (skipped ? `\nskipped: ${skipped}` : "") +
          (stopped ? `\n${STOPPED_WHILE_LANDING}` : "")
      )
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("stage one peer into a directory"))

const STOPPED_WHILE_LANDING = "stopped while its files were moved into place: that step was let finish, all of them are there"

const writeIndicator = Command.make("write-indicator", { config, json, peer: onePeer, indicator: indicator(DEF_STAGE_INDICATOR) }, (opts) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const peer = yield* Pool.findPeer(pool, opts.peer)
    yield* Pool.writeStageIndicator(peer, opts.indicator)
    yield* render(opts.json, true, { ok: true, peer: peer.name, indicator: opts.indicator }, `wrote ${opts.indicator} for peer ${peer.name}`)
  })).pipe(Command.withDescription("write a peer's stage indicator into its collect directory"))

const exec = Command.make(
  "exec",
  {
    config,
    json,
    peer: onePeer,
    command: Argument.String("COMMAND").pipe(Argument.atLeast(1), Argument.withDescription("the remote shell command line"))
  },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const peer = yield* Pool.findRemotePeer(pool, opts.peer)
      const command = opts.command.join(" ")
      const output = yield* (yield* RemotePeer.RemotePeers).executeRemoteCommand(peer, command)
      if (opts.json) {
        yield* render(true, true, { ok: true, peer: peer.name, command, ...output }, "")
      } else {
        // the remote command's own output, as ssh would show it
        if (output.stderr !== "") yield* Console.error(output.stderr.replace(/\n$/, ""))
        if (output.stdout !== "") yield* Console.log(output.stdout.replace(/\n$/, ""))
      }
    })
).pipe(Command.withDescription("run a command on a remote peer through the rsh command"))

const action = Command.make(
  "action",
  { config, json, full, peers: somePeers, action: Argument.String("ACTION").pipe(Argument.withDescription("e.g. collect")) },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const control = yield* runControl
      const output = yield* OutputService
      yield* control.graceful(Effect.scoped(Effect.gen(function*() {
        yield* Validate.requireStagingDir(pool) // the pool's lock lives there
        yield* RunLock.acquire(Pool.lockFile(pool))
        const summary = yield* Pool.runManagedAction(pool, opts.action, { full: opts.full, peers: opts.peers, stop: control.stop })
        for (const peer of summary.peers) {
          if (peer.error !== undefined) {
            const message = peer.error.message.startsWith(`peer ${peer.name}`) ? peer.error.message : `peer ${peer.name}: ${peer.error.message}`
            output.failure(`error[${peer.error._tag}] ${message}`)
          }
        }
        yield* render(opts.json, summary.ok, actionJson(summary), actionText(summary))
      })))
    })
).pipe(Command.withDescription("run a managed action (cback3 ACTION) on the managed remote peers"))

const withoutOrigin = ({ origin: _origin, ...model }: Config.PoolConfig) => model

const validate = Command.make("validate", {
  config,
  json,
  syntaxOnly: flag("syntax-only", "only read and check the file; do not look at users, directories or programs"),
  reach: flag("reach", "also try a batch-mode connection to every remote peer (exit 1 when one cannot be reached)"),
  timeout: limitFlags.timeout
}, (opts) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    if (!opts.syntaxOnly) yield* Validate.validate(pool)
    // worth knowing, never an error: settings cback3 would trip over if the site went back to it
    const warnings = opts.syntaxOnly ? [] : yield* Validate.warnings(pool)
    for (const warning of warnings) yield* Effect.logWarning(warning)
    const reached = opts.reach ? yield* Validate.reachPeers(pool, { settings: settingsOf({ ...NO_LIMITS, timeout: opts.timeout }) }) : undefined
    const lines = [
      `${pool.source}: valid`,
      // what cedar-peer reads of a cback3.conf is only what the stage needs
      `checked: the staging sections (options, peers, stage)${opts.syntaxOnly ? ", the file only" : " and this machine"}; \`cback3 validate\` checks the rest`,
      `staging dir: ${pool.stagingDir}`,
      `working dir: ${pool.options.workingDir}, backup user/group: ${pool.options.backupUser}/${pool.options.backupGroup}, week starts ${pool.options.startingDay}`,
      ...pool.peers.map((p) =>
        `peer ${p.name}: ${p.type}, collect dir ${p.collectDir}` +
        (p.ignoreFailures ? `, ignore failures ${p.ignoreFailures}` : "") +
        (p.type === "remote" && p.managed ? `, managed (${(p.managedActions ?? pool.options.managedActions).join(", ")})` : "")
      ),
      ...(reached === undefined ? [] : reachLines(reached))
    ]
    const ok = reached === undefined || reached.every((r) => r.reached && r.cause === undefined)
    yield* render(
      opts.json,
      ok,
      {
        ok,
        // the model, as before: where in the file it came from is for locating problems only
        ...withoutOrigin(pool),
        ...(warnings.length === 0 ? {} : { warnings }),
        ...(reached === undefined ? {} : { reach: reached })
      },
      lines.join("\n")
    )
  })).pipe(
    Command.withDescription(
      "check the staging sections of the configuration (options, peers, stage) and this machine (users, directories, programs), and print the pool; `cback3 validate` checks the rest of the file"
    )
  )

/** The limit flags' values when a command takes only --timeout. */
const NO_LIMITS = { maxFiles: Option.none<number>(), maxBytes: Option.none<number>(), verify: false }

/** `validate --reach`: one line per remote peer, then what was reached. */
const reachLines = (reached: ReadonlyArray<Validate.PeerReach>): ReadonlyArray<string> => {
  const missed = reached.filter((r) => !r.reached || r.cause !== undefined)
  return [
    ...missed.map((r) =>
      `peer ${r.name}: ${r.reached ? "reached, but" : "NOT reached:"} ${r.cause ?? "could not connect"}${r.detail ? ` (${escapeControl(r.detail)})` : ""}`
    ),
    reached.length === 0
      ? "no remote peer to reach"
      : missed.length === 0
      ? `reached every remote peer (${reached.length}): ${reached.map((r) => r.name).join(", ")}`
      : `reached ${reached.length - missed.length} of ${reached.length} remote peer(s): FAILED`
  ]
}

const demo = Command.make(
  "demo",
  { json, dir: Argument.String("DIR").pipe(Argument.optional, Argument.withDescription("where to build the demo pool (default: a new temp dir)")) },
  (opts) =>
    Effect.gen(function*() {
      const made = yield* makeDemoPool(Option.getOrUndefined(opts.dir))
      const pool = yield* Config.load(made.configPath)
      if (!opts.json) yield* Console.log(`demo pool in ${made.root}`)
      yield* runStage(
        pool,
        { json: opts.json, full: false, peers: [] },
        () => ["", `config: ${made.configPath}`, `try:    cedar-peer check --config ${made.configPath}`],
        { config: made.configPath }
      )
    })
).pipe(Command.withDescription("build a small demo pool of local peers (one not ready), write its config and stage it"))

const verify = Command.make(
  "verify",
  { json, dailyDir: Argument.String("DAILY_DIR").pipe(Argument.withDescription("a daily staging directory with a cedar-peer.sha256 manifest")) },
  (opts) =>
    Effect.gen(function*() {
      const report = yield* Manifest.verify(opts.dailyDir)
      const lines = [
        ...report.mismatches.map((m) => `MISMATCH ${m.file}: expected ${m.expected}, found ${m.actual}`),
        ...report.missing.map((file) => `MISSING  ${file}`),
        ...report.badLines.map((line) => `UNREADABLE manifest line ${line}`),
        `${report.manifest}: ${report.checked} file(s) checked, ${report.mismatches.length} mismatch(es), ${report.missing.length} missing: ${report.ok ? "ok" : "FAILED"}`
      ]
      yield* render(opts.json, report.ok, report, lines.join("\n"))
    })
).pipe(Command.withDescription("re-check the files of a daily directory against its cedar-peer.sha256 manifest (written by stage --verify)"))

const DESCRIPTION = "stage backup files from the peers of a Cedar Backup pool"

/** The whole command line. */
export const cedarPeer = Command.make("cedar-peer").pipe(
  Command.withDescription(DESCRIPTION),
  Command.withSubcommands([stage, check, stagePeer, writeIndicator, exec, action, validate, demo, verify])
)

/** The names of the commands, in the order help lists them. */
export const commandNames: ReadonlyArray<string> = subcommandsOf(cedarPeer).map((c) => c.name)

/** Each command's options as typed: how the command is found among options before it, and its arguments put last. */
const optionTable = (): OptionTable =>
  new Map(commandNames.map((name) => {
    const doc = commandDoc(cedarPeer, name)
    const typed = (takingValue: boolean) =>
      new Set(doc.options.filter((o) => !takingValue || o.metavar !== undefined).flatMap((o) => [`--${o.name}`, ...o.aliases.map((a) => `-${a}`)]))
    return [name, { values: typed(true), all: typed(false), rest: doc.args.some((a) => a.repeated !== undefined) }]
  }))

/** The help text for a command, or for the program. */
export const helpText = (command: string | undefined, styled: boolean): string => {
  const style = styled ? bold : plain
  return command === undefined || !commandNames.includes(command)
    ? renderRootHelp(DESCRIPTION, commandNames.map((name) => commandHelp(commandDoc(cedarPeer, name))), style)
    : renderCommandHelp(commandHelp(commandDoc(cedarPeer, command)), style)
}

/** One of effect/cli's complaints about a command line, in the words cedar-peer has always used. */
const complaint = (error: CliError.CliError): string => {
  switch (error._tag) {
    case "UnrecognizedOption":
      return `unexpected argument ${JSON.stringify(error.option)}`
    case "UnexpectedArgument":
      return `unexpected argument ${JSON.stringify(error.arguments[0] ?? "")}`
    case "MissingOption":
      return `Expected to find option: '--${error.option}'`
    case "MissingArgument":
      return `Missing argument <${error.argument}>`
    case "InvalidValue": {
      if (error.kind !== "flag") return error.message
      const repeated = error.value.match(/^(\d+) occurrences$/)
      return error.value === ""
        ? `--${error.option} needs a value`
        : repeated
        ? `--${error.option} may be given once only (given ${repeated[1]} times)`
        : error.message
    }
    case "ShowHelp":
      return error.errors.map(complaint).join("; ") || "invalid command line"
    default:
      return error.message
  }
}

// The help and errors effect/cli would print: cedar-peer prints its own (help.ts, report.ts).
const silent: CliOutput.Presenter = { present: () => Effect.void }
// Help, version and completions are read before effect/cli sees the line (argv.ts): it has no built-in flags here.
const noBuiltIns = CliConfig.make({ builtIns: [] })

/** Parses the arguments (the command first) with effect/cli and runs the command; a bad command line is a UsageError. */
const runCommand = (args: ReadonlyArray<string>, command: string) =>
  Command.runWith(cedarPeer, { version: VERSION, renderErrors: false })(args).pipe(
    Effect.mapError((error) => CliError.isCliError(error) ? new UsageError({ message: complaint(error), command }) : error),
    Effect.provideService(CliOutput.Presenter, silent),
    Effect.provideService(CliConfig.CliConfig, noBuiltIns)
  )

/**
 * Runs the CLI on argv (`["node", "cedar-peer", ...]`): help, version and completions without
 * parsing further, else the command with the run's output (logger, live display, log file).
 */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const invocation = preparse(argv.slice(2), optionTable())
    const settings = settingsFromProcess(invocation.globals)
    switch (invocation._tag) {
      case "Help":
        return yield* Console.log(helpText(invocation.command, settings.stdoutIsTerminal && settings.colorAllowed))
      case "Version":
        return yield* Console.log(VERSION)
      case "Completions":
        return yield* Console.log(Completions.generate("cedar-peer", invocation.shell, completionDescriptor(cedarPeer)))
      case "Usage":
        return yield* new UsageError({ message: invocation.message, ...(invocation.command === undefined ? {} : { command: invocation.command }) })
    }
    const output = Output.open(settings)
    if (typeof output === "string") return yield* new UsageError({ message: output })
    yield* runCommand(invocation.args, invocation.command).pipe(
      // the log file tells the whole story of a night, its final failure included (stderr gets it from the bin)
      Effect.tapCause((cause) =>
        Effect.sync(() => {
          const failure = Cause.findErrorOption(cause)
          if (Option.isSome(failure) && !(failure.value instanceof Unsuccessful)) {
            const error = failure.value as { readonly _tag: string; readonly message: string }
            output.file(`${new Date().toISOString()} error[${error._tag}] ${escapeControl(error.message)}`)
          } else if (Cause.hasInterruptsOnly(cause)) {
            output.file(`${new Date().toISOString()} error[Interrupted] the run was interrupted`)
          }
        })
      ),
      withOutput(output),
      Effect.ensuring(Effect.sync(() => output.close()))
    )
  })

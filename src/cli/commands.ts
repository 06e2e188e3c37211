// The cedar-peer commands: parse options, load the config, call the library, render.
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import * as Config from "../Config.js"
import * as Pool from "../Pool.js"
import { DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "../Peer.js"
import * as Manifest from "../Manifest.js"
import * as RemotePeer from "../RemotePeer.js"
import * as RunLock from "../RunLock.js"
import * as Validate from "../Validate.js"
import { makeDemoPool } from "./demo.js"
import { actionText, checkJson, checkText, formatBytes, stageJson, stageText, Unsuccessful } from "./report.js"
import { concurrencyFlag, limitFlags, runControl, settingsOf } from "./runControl.js"

const config = Options.text("config").pipe(
  Options.withAlias("c"),
  Options.withDefault("/etc/cback3.conf"),
  Options.withDescription("the pool configuration: a Cedar Backup cback3.conf, or JSON when the name ends in .json")
)
const json = Options.boolean("json").pipe(Options.withDescription("print one JSON document on stdout"))
const full = Options.boolean("full").pipe(Options.withDescription("a full run (decides which failure modes are ignored)"))
const somePeers = Options.text("peer").pipe(
  Options.repeated,
  Options.withDescription("only this peer (repeat for several); all peers when absent")
)
const onePeer = Options.text("peer").pipe(Options.withDescription("the peer's name in the configuration"))
const indicator = (fallback: string) =>
  Options.text("indicator").pipe(Options.withDefault(fallback), Options.withDescription("the indicator file name"))

const invalid = (text: string) => ValidationError.invalidValue(HelpDoc.p(text))

const owner = Options.text("owner").pipe(
  Options.mapEffect((value) => {
    const match = value.match(/^(\d+):(\d+)$/)
    return match ? Effect.succeed({ uid: Number(match[1]), gid: Number(match[2]) }) : Effect.fail(invalid(`--owner must be UID:GID (numbers), got ${value}`))
  }),
  Options.optional,
  Options.withDescription("chown staged files to UID:GID")
)
const mode = Options.text("mode").pipe(
  Options.mapEffect((value) =>
    /^0?[0-7]{3,4}$/.test(value) ? Effect.succeed(parseInt(value, 8)) : Effect.fail(invalid(`--mode must be octal permissions like 640, got ${value}`))
  ),
  Options.optional,
  Options.withDescription("chmod staged files to these octal permissions, e.g. 640")
)

/** Prints a result as JSON or as text; fails with Unsuccessful (exit 1) when it is not ok. */
const render = <A>(asJson: boolean, ok: boolean, document: A, text: string) =>
  Effect.gen(function*() {
    yield* Console.log(asJson ? JSON.stringify(document, null, 2) : text)
    if (!ok) return yield* new Unsuccessful()
  })

const stage = Command.make(
  "stage",
  {
    config,
    json,
    full,
    peers: somePeers,
    concurrency: concurrencyFlag,
    ...limitFlags
  },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const progress = yield* progressReporter
      const control = yield* runControl
      // one run per pool; a signal lets the peers in flight clean up and the summary still print
      yield* control.graceful(Effect.scoped(Effect.gen(function*() {
        yield* Validate.requireStagingDir(pool) // a missing staging dir is a config error, not a lock failure
        yield* RunLock.acquire(Pool.lockFile(pool))
        const summary = yield* Pool.stage(pool, {
          full: opts.full,
          peers: opts.peers,
          concurrency: Option.getOrUndefined(opts.concurrency),
          settings: settingsOf(opts),
          onPeerDone: progress,
          stop: control.stop
        })
        yield* render(opts.json, summary.ok, stageJson(summary), stageText(summary))
      })))
    })
).pipe(Command.withDescription("stage every ready peer of the pool into today's staging directory (Cedar's stage action)"))

const check = Command.make("check", { config, json, peers: somePeers, indicator: indicator(DEF_COLLECT_INDICATOR) }, (opts) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const summary = yield* Pool.check(pool, { peers: opts.peers, indicator: opts.indicator })
    yield* render(opts.json, summary.ok, checkJson(summary), checkText(summary))
  })).pipe(Command.withDescription("tell which peers have written their collect indicator"))

const stagePeer = Command.make(
  "stage-peer",
  {
    config,
    json,
    peer: onePeer,
    target: Options.text("target").pipe(Options.withDescription("the directory to stage into (must exist)")),
    owner,
    mode,
    skipUnsupported: Options.boolean("skip-unsupported").pipe(
      Options.withDescription("local peers: stage the regular files and report other entries instead of failing")
    ),
    ...limitFlags
  },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const peer = yield* Pool.findPeer(pool, opts.peer)
      const [peerConfig] = yield* Pool.selectPeers(pool, [opts.peer])
      const stageOptions = {
        ownership: Option.getOrUndefined(opts.owner),
        permissions: Option.getOrUndefined(opts.mode),
        skipUnsupported: opts.skipUnsupported,
        ...Pool.peerSettings(pool, peerConfig!, settingsOf(opts))
      }
      const report = yield* Pool.stagePeer(peer, opts.target, stageOptions)
      const skipped = report.skipped.map((s) => `${s.name} (${s.kind})`).join(", ")
      yield* render(
        opts.json,
        true,
        { ok: true, peer: peer.name, targetDir: opts.target, count: report.count, bytes: report.bytes, files: report.files, ...(report.skipped.length > 0 ? { skipped: report.skipped } : {}) },
        `staged ${report.count} file(s), ${formatBytes(report.bytes)} from peer ${peer.name} into ${opts.target}` +
          (skipped ? `\nskipped: ${skipped}` : "")
      )
    })
).pipe(Command.withDescription("stage one peer into a directory"))

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
    command: Args.text({ name: "COMMAND" }).pipe(Args.atLeast(1), Args.withDescription("the remote shell command line"))
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
  { config, json, full, peers: somePeers, action: Args.text({ name: "ACTION" }).pipe(Args.withDescription("e.g. collect")) },
  (opts) =>
    Effect.gen(function*() {
      const pool = yield* Config.load(opts.config)
      const control = yield* runControl
      yield* control.graceful(Effect.scoped(Effect.gen(function*() {
        yield* Validate.requireStagingDir(pool) // the pool's lock lives there
        yield* RunLock.acquire(Pool.lockFile(pool))
        const summary = yield* Pool.runManagedAction(pool, opts.action, { full: opts.full, peers: opts.peers, stop: control.stop })
        yield* render(opts.json, summary.ok, summary, actionText(summary))
      })))
    })
).pipe(Command.withDescription("run a managed action (cback3 ACTION) on the managed remote peers"))

const validate = Command.make("validate", {
  config,
  json,
  syntaxOnly: Options.boolean("syntax-only").pipe(Options.withDescription("only read and check the file; do not look at users, directories or programs")),
  reach: Options.boolean("reach").pipe(Options.withDescription("also try a batch-mode connection to every remote peer"))
}, (opts) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    if (!opts.syntaxOnly) yield* Validate.validate(pool, { reach: opts.reach })
    const lines = [
      `${pool.source}: valid`,
      `staging dir: ${pool.stagingDir}`,
      `working dir: ${pool.options.workingDir}, backup user/group: ${pool.options.backupUser}/${pool.options.backupGroup}, week starts ${pool.options.startingDay}`,
      ...pool.peers.map((p) =>
        `peer ${p.name}: ${p.type}, collect dir ${p.collectDir}` +
        (p.ignoreFailures ? `, ignore failures ${p.ignoreFailures}` : "") +
        (p.type === "remote" && p.managed ? `, managed (${(p.managedActions ?? pool.options.managedActions).join(", ")})` : "")
      )
    ]
    yield* render(opts.json, true, { ok: true, ...pool }, lines.join("\n"))
  })).pipe(Command.withDescription("check the configuration and this machine (users, directories, programs; exit 2 listing every problem), and print the pool"))

const demo = Command.make(
  "demo",
  { json, dir: Args.text({ name: "DIR" }).pipe(Args.optional, Args.withDescription("where to build the demo pool (default: a new temp dir)")) },
  (opts) =>
    Effect.gen(function*() {
      const made = yield* makeDemoPool(Option.getOrUndefined(opts.dir))
      const pool = yield* Config.load(made.configPath)
      const summary = yield* Pool.stage(pool, { onPeerDone: yield* progressReporter })
      yield* render(
        opts.json,
        summary.ok,
        { ...stageJson(summary), config: made.configPath },
        [
          `demo pool in ${made.root}`,
          stageText(summary),
          "",
          `config: ${made.configPath}`,
          `try:    cedar-peer check --config ${made.configPath}`
        ].join("\n")
      )
    })
).pipe(Command.withDescription("build a small demo pool of local peers (one not ready), write its config and stage it"))

const verify = Command.make(
  "verify",
  { json, dailyDir: Args.text({ name: "DAILY_DIR" }).pipe(Args.withDescription("a daily staging directory with a cedar-peer.sha256 manifest")) },
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

/** Progress on stderr, one line per finished peer, only when stderr is a terminal. */
const progressReporter = Effect.sync(() =>
  process.stderr.isTTY
    ? (result: Pool.PeerStageResult) =>
      Console.error(`  ${result.name}: ${result.status}, ${result.files} file(s), ${formatBytes(result.bytes)}`)
    : undefined
)

/** The whole command line. */
export const cedarPeer = Command.make("cedar-peer").pipe(
  Command.withDescription("stage backup files from the peers of a Cedar Backup pool"),
  Command.withSubcommands([stage, check, stagePeer, writeIndicator, exec, action, validate, demo, verify])
)

/** Runs the CLI on argv (`["node", "cedar-peer", ...]`). */
export const run = Command.run(cedarPeer, { name: "cedar-peer", version: "0.1.0" })

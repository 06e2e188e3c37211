/**
 * The pool: Cedar Backup's stage action over every peer of a configuration, managed
 * actions on managed remote peers, and the single-peer operations the CLI offers — resolved from
 * the configuration the same way the stage action resolves them.
 *
 * @since 0.1.0
 */
import { Clock, Effect, FileSystem, Option, Path, Result, Schema } from "effect"
import * as Config from "../config/Config.js"
import type { PeerConfig, PoolConfig } from "../config/Config.js"
import { locate, peerSettings } from "../config/Config.js"
import { DEFAULT_CONCURRENCY, mergeSettings, type SettingsOverrides } from "../domain/Settings.js"
import { type LocalPeer, LocalPeers, make as makeLocalPeer } from "../peers/LocalPeer.js"
import type { FailureMode, IndicatorStatus, Ownership, StageOptions, StageReport } from "../domain/Peer.js"
import { ActionName, DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "../domain/Peer.js"
import { ConfigError, InvalidPeerConfig } from "../domain/PeerError.js"
import type {
  CheckError,
  FileOperationFailed,
  ManagedActionError,
  PeerFailure,
  StagePeerError,
  WriteIndicatorError
} from "../domain/PeerError.js"
import * as Manifest from "./Manifest.js"
import { make as makeRemotePeer, type RemotePeer, RemotePeers, RetryObserver } from "../peers/RemotePeer.js"
import { openStagingTree, type PeerDirectory, writeMasterIndicator } from "./internal/stagingTree.js"
import type { Directory } from "../disk/StagingDisk.js"
import { StagingDisk } from "../disk/StagingDisk.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import * as Validate from "./Validate.js"

/**
 * A peer value of either kind.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyPeer = LocalPeer | RemotePeer

/**
 * What happened to one peer in a stage run.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerStageResult {
  readonly name: string
  readonly type: "local" | "remote"
  /** `interrupted`: the run was stopped (SIGINT, SIGTERM) before this peer was done */
  readonly status: "staged" | "not-ready" | "unreachable" | "failed" | "interrupted"
  readonly files: number
  readonly bytes: number
  /** whether a failure (or not being ready) is ignored by the peer's failure mode */
  readonly ignored: boolean
  /** why the peer failed (status `failed`): the error itself, with its tag, fields and message */
  readonly error?: PeerFailure
  /** why the peer was not staged: present for every status but `staged` */
  readonly reason?: string
}

/**
 * What a peer is doing, as reported while it is staged.
 *
 * @since 0.2.0
 * @category models
 */
export type PeerPhase = "checking" | "connecting" | "copying" | "verifying" | "committing" | "indicator"

/**
 * What happens during a stage run, peer by peer, as it happens: for live displays and logs.
 *
 * @since 0.2.0
 * @category models
 */
export type PoolEvent =
  | { readonly _tag: "PeerStarted"; readonly name: string; readonly type: "local" | "remote" }
  | {
    readonly _tag: "PeerProgress"
    readonly name: string
    readonly phase: PeerPhase
    readonly files?: number
    readonly bytes?: number
  }
  | { readonly _tag: "PeerRetrying"; readonly name: string; readonly attempt: number; readonly reason: string; readonly delayMillis: number }
  | { readonly _tag: "PeerDone"; readonly result: PeerStageResult }

/**
 * The outcome of a stage run; `ok` is true when every peer was staged or its failure ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageSummary {
  readonly dailyDir: string
  readonly full: boolean
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerStageResult>
  /** the run was stopped before every peer was done; the master's stage indicator was not written */
  readonly interrupted?: boolean
  /** the verification manifest written (or updated) for the peers staged with `verify` */
  readonly manifest?: string
}

/**
 * The collect-indicator status of one peer.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerCheckResult {
  readonly name: string
  readonly type: "local" | "remote"
  readonly ready: boolean
  readonly status: IndicatorStatus["status"]
  readonly reason?: string
}

/**
 * The outcome of a check; `ok` is true when every peer is ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckSummary {
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerCheckResult>
}

/**
 * What happened to one peer in a managed-action run.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerActionResult {
  readonly name: string
  /** `interrupted`: the run was stopped before the action was done on this peer */
  readonly status: "done" | "failed" | "interrupted"
  /** why the action failed (status `failed`): the error itself, with its tag, fields and message */
  readonly error?: ManagedActionError
  /** why the action was not done, for `interrupted` (a failure has its `error`) */
  readonly reason?: string
}

/**
 * The outcome of a managed action over the pool; no peer at all is `ok` (and worth a warning).
 *
 * @since 0.1.0
 * @category models
 */
export interface ActionSummary {
  readonly action: string
  readonly full: boolean
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerActionResult>
}

/**
 * What the pool operations need from their environment.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolServices = LocalPeers | RemotePeers | StagingDisk | FileSystem.FileSystem | Path.Path | SystemUsers

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const

/**
 * The daily staging directory `<stagingDir>/YYYY/MM/DD` for a date, in local time.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dailyDir = (stagingDir: string, date: Date): string => {
  const pad = (n: number) => String(n).padStart(2, "0")
  const base = stagingDir.replace(/\/+$/, "")
  return `${base}/${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())}`
}

/**
 * Whether a peer's failures are ignored: `none` never, `all` always; on a full run or
 * the starting day of the week `weekly` peers are ignored, on other days `daily` peers are.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFailureIgnored = (
  mode: FailureMode | undefined,
  context: { readonly full: boolean; readonly startingDay: string; readonly date: Date }
): boolean => {
  if (mode === undefined || mode === "none") return false
  if (mode === "all") return true
  const startOfWeek = WEEKDAYS[context.date.getDay()] === context.startingDay
  return context.full || startOfWeek ? mode === "weekly" : mode === "daily"
}

/**
 * Makes the peer value of a configured peer, as the stage action does: remote user is
 * the peer's backup user, else the options'; the local user is the options' backup user when
 * running as root; commands are the peer's, else the options'.
 *
 * @since 0.1.0
 * @category constructors
 */
export const peerValue = (
  config: PoolConfig,
  peer: PeerConfig,
  isRoot: boolean,
  override?: SettingsOverrides
): Effect.Effect<AnyPeer, InvalidPeerConfig> => {
  const ignoreFailureMode = peer.ignoreFailures === undefined ? {} : { ignoreFailureMode: peer.ignoreFailures }
  if (peer.type === "local") {
    return makeLocalPeer({ name: peer.name, collectDir: peer.collectDir, ...ignoreFailureMode })
  }
  const options = config.options
  const optional = <K extends string>(key: K, value: string | undefined) =>
    value === undefined ? {} : ({ [key]: value } as { [P in K]: string })
  return makeRemotePeer({
    name: peer.name,
    collectDir: peer.collectDir,
    workingDir: options.workingDir,
    remoteUser: peer.backupUser ?? options.backupUser,
    ...optional("localUser", isRoot ? options.backupUser : undefined),
    ...optional("rcpCommand", peer.rcpCommand ?? options.rcpCommand),
    ...optional("rshCommand", peer.rshCommand ?? options.rshCommand),
    ...optional("cbackCommand", peer.cbackCommand ?? options.cbackCommand),
    ...ignoreFailureMode,
    ...remoteSettings(mergeSettings([override, peer, options])),
    // the run's transport, else the peer's own, else the pool's, else the default
    transport: peerSettings(config, peer, override).transport
  })
}

// Only what is configured (or overridden) is carried onto the peer value: the rest keeps the
// library-wide defaults (`RemoteTimeouts`, `RemoteRetries`), which a program may replace.
const remoteSettings = ({ connectionSharing, retries, timeouts }: SettingsOverrides) => ({
  ...(timeouts === undefined ? {} : { timeouts }),
  ...(retries === undefined ? {} : { retries }),
  ...(connectionSharing === undefined ? {} : { connectionSharing })
})

const unknownPeer = (name: string, config: PoolConfig) =>
  new InvalidPeerConfig({
    peer: name,
    problems: [`no peer of that name in ${config.source} (known: ${config.peers.map((p) => p.name).join(", ") || "none"})`]
  })

/**
 * The configured peers named, in the order given, or all of them when no name is given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const selectPeers = (
  config: PoolConfig,
  names: ReadonlyArray<string> | undefined
): Effect.Effect<ReadonlyArray<PeerConfig>, InvalidPeerConfig> =>
  Effect.gen(function*() {
    if (names === undefined || names.length === 0) return config.peers
    const selected: Array<PeerConfig> = []
    for (const name of names) {
      const found = config.peers.find((p) => p.name === name)
      if (found === undefined) return yield* unknownPeer(name, config)
      if (!selected.includes(found)) selected.push(found)
    }
    return selected
  })

/**
 * The peer value of one configured peer, by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const findPeer = (
  config: PoolConfig,
  name: string,
  override?: SettingsOverrides
): Effect.Effect<AnyPeer, InvalidPeerConfig, SystemUsers> =>
  Effect.gen(function*() {
    const [peer] = yield* selectPeers(config, [name])
    return yield* peerValue(config, peer!, yield* (yield* SystemUsers).isRoot, override)
  })

const collectIndicatorStatus = (peer: AnyPeer, name: string) =>
  Effect.gen(function*() {
    return peer._tag === "LocalPeer"
      ? yield* (yield* LocalPeers).collectIndicatorStatus(peer, name)
      : yield* (yield* RemotePeers).collectIndicatorStatus(peer, name)
  })

/**
 * Stages one peer of either kind into a target directory.
 *
 * @since 0.1.0
 * @category operations
 */
export const stagePeer = (
  peer: AnyPeer,
  targetDir: string,
  options: StageOptions = {}
): Effect.Effect<StageReport, StagePeerError, LocalPeers | RemotePeers> =>
  Effect.gen(function*() {
    return peer._tag === "LocalPeer"
      ? yield* (yield* LocalPeers).stagePeer(peer, targetDir, options)
      : yield* (yield* RemotePeers).stagePeer(peer, targetDir, options)
  })

/**
 * Writes the stage indicator of a peer of either kind.
 *
 * @since 0.1.0
 * @category operations
 */
export const writeStageIndicator = (
  peer: AnyPeer,
  name: string = DEF_STAGE_INDICATOR
): Effect.Effect<void, WriteIndicatorError, LocalPeers | RemotePeers> =>
  Effect.gen(function*() {
    return peer._tag === "LocalPeer"
      ? yield* (yield* LocalPeers).writeStageIndicator(peer, name)
      : yield* (yield* RemotePeers).writeStageIndicator(peer, name)
  })

/** The backup user's uid and the backup group's gid; a name that does not resolve is a config error. */
const backupOwnership = (config: PoolConfig) =>
  Effect.gen(function*() {
    const users = yield* SystemUsers
    const user = yield* users.lookupUser(config.options.backupUser)
    const gid = yield* users.lookupGroup(config.options.backupGroup)
    const problems = [
      ...(Option.isNone(user) ? [`${locate(config, ["options", "backupUser"])}: no such user on this machine: ${config.options.backupUser}`] : []),
      ...(Option.isNone(gid) ? [`${locate(config, ["options", "backupGroup"])}: no such group on this machine: ${config.options.backupGroup}`] : [])
    ]
    if (Option.isNone(user) || Option.isNone(gid)) return yield* new ConfigError({ path: config.source, problems })
    return { uid: user.value.uid, gid: gid.value } satisfies Ownership
  })


/**
 * Options of a stage run.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageRunOptions {
  /** a full run: decides which failure modes are ignored, like Cedar's `--full` */
  readonly full?: boolean | undefined
  /** stage only these peers (by name); all when absent or empty */
  readonly peers?: ReadonlyArray<string> | undefined
  /** the moment the run is for (defaults to the Clock's now): fixes the daily directory and weekday */
  readonly now?: Date | undefined
  /** how many peers are staged at once (default: the configuration's, else 4) */
  readonly concurrency?: number | undefined
  /** settings that win over the configuration's for every peer */
  readonly settings?: SettingsOverrides | undefined
  /** called after each peer is done, e.g. to render progress */
  readonly onPeerDone?: ((result: PeerStageResult) => Effect.Effect<void>) | undefined
  /** called as peers start, progress, retry and finish */
  readonly onEvent?: ((event: PoolEvent) => Effect.Effect<void>) | undefined
  /**
   * Stops the run gracefully when it completes (e.g. on SIGTERM): the peers in flight are
   * interrupted (their cleanup runs), the peers not yet done are reported `interrupted`, the
   * master's stage indicator is not written, and the summary is returned.
   */
  readonly stop?: Effect.Effect<void> | undefined
}

/**
 * The lock file that keeps two runs of one pool apart: `.cedar-peer.lock` in the staging dir,
 * the tree two runs would both write into.
 *
 * @since 0.2.0
 * @category constructors
 */
export const lockFile = (config: PoolConfig): string => `${config.stagingDir.replace(/\/+$/, "")}/.cedar-peer.lock`

interface PeerContext {
  readonly full: boolean
  readonly date: Date
  readonly isRoot: boolean
  /** the peer's opened staging directory, or why it cannot be used (a link or a file planted there) */
  readonly target: Result.Result<PeerDirectory, FileOperationFailed>
  readonly ownership: Ownership | undefined
  readonly settings: SettingsOverrides | undefined
  readonly emit: (event: PoolEvent) => Effect.Effect<void>
  /** what is known of the peer so far, for the summary when the run is stopped midway */
  readonly track: (state: PeerTrack) => void
}

interface PeerTrack {
  readonly phase?: PeerPhase
  readonly files?: number
  readonly bytes?: number
  /** the files are in place (the indicator may still be missing) */
  readonly landed?: boolean
  readonly hashes?: ReadonlyArray<{ readonly name: string; readonly sha256: string }>
}

// Each peer is staged into its directory as opened for the run (see stagingTree): nothing can
// redirect it by renaming or replacing a path component midway.
const stageInto = (peer: AnyPeer, context: PeerContext, options: StageOptions) =>
  Effect.gen(function*() {
    const { directory, replaceEmpty } = yield* Effect.fromResult(context.target)
    const into = replaceEmpty === undefined ? options : { ...options, replaceEmpty }
    return peer._tag === "LocalPeer"
      ? yield* (yield* LocalPeers).stagePeerInto(peer, directory, into)
      : yield* (yield* RemotePeers).stagePeerInto(peer, directory, into)
  })

/** Progress events of one peer in one phase go out at most this often (ms). */
const PROGRESS_EVERY_MS = 100

const stageOne = (
  config: PoolConfig,
  peerConfig: PeerConfig,
  context: PeerContext
): Effect.Effect<PeerStageResult, never, LocalPeers | RemotePeers> =>
  Effect.gen(function*() {
    const ignored = isFailureIgnored(peerConfig.ignoreFailures, { ...context, startingDay: config.options.startingDay })
    const base = { name: peerConfig.name, type: peerConfig.type, files: 0, bytes: 0 } as const
    const failed = (counts: Pick<PeerStageResult, "name" | "type" | "files" | "bytes">, error: PeerFailure, reason: string = error.message) =>
      Effect.succeed({ ...counts, status: "failed", ignored, error, reason } satisfies PeerStageResult)
    // this fiber's services (its logger, log annotations and clock included), to run the events with
    const services = yield* Effect.context<never>()
    const phase = (name: PeerPhase, counts: { readonly files?: number | undefined; readonly bytes?: number | undefined } = {}) => {
      context.track({ phase: name, ...definedCounts(counts) })
      return context.emit({ _tag: "PeerProgress", name: peerConfig.name, phase: name, ...definedCounts(counts) })
    }
    // Peer operations report synchronously; the events are effects: run each with this fiber's services.
    // A transport may report every file it lands, but the events are for displays that redraw a
    // few times a second: within a phase, a report sooner than PROGRESS_EVERY_MS after the last
    // one that went out is dropped (a new phase always goes out, with its counts).
    let lastProgress: { readonly phase: PeerPhase; readonly at: number } | undefined
    const onProgress = (p: { readonly phase: PeerPhase; readonly files?: number | undefined; readonly bytes?: number | undefined }) => {
      // tracked at once, not in the forked event: a peer stopped right after it reported (its
      // landing, which runs to its end) is summed up from this
      if (lastProgress?.phase !== p.phase) context.track({ phase: p.phase, ...definedCounts(p) })
      const now = Date.now()
      if (lastProgress !== undefined && lastProgress.phase === p.phase && now - lastProgress.at < PROGRESS_EVERY_MS) return
      lastProgress = { phase: p.phase, at: now }
      Effect.runForkWith(services)(phase(p.phase, p))
    }
    const onRetry = (r: { readonly attempt: number; readonly reason: string; readonly delayMillis: number }) => {
      Effect.runForkWith(services)(
        Effect.andThen(
          Effect.logWarning(`retry ${r.attempt} in ${Math.round(r.delayMillis)} ms: ${r.reason}`),
          context.emit({ _tag: "PeerRetrying", name: peerConfig.name, ...r })
        )
      )
    }

    yield* Effect.logInfo(`peer ${peerConfig.name}: starting (${peerConfig.type})`)
    yield* context.emit({ _tag: "PeerStarted", name: peerConfig.name, type: peerConfig.type })
    const outcome = yield* Effect.gen(function*() {
      const peer = yield* peerValue(config, peerConfig, context.isRoot, context.settings)
      // one ssh connection for this peer's check, copy and indicator write, closed with the scope
      if (peer._tag === "RemotePeer") yield* (yield* RemotePeers).connect(peer)
      yield* phase("checking")
      const indicator = yield* collectIndicatorStatus(peer, DEF_COLLECT_INDICATOR)
      if (indicator.status !== "ready") {
        const reason = indicator.reason ?? (indicator.status === "not-ready" ? `no ${DEF_COLLECT_INDICATOR} in its collect directory` : "could not be reached")
        return { ...base, status: indicator.status, ignored, reason } satisfies PeerStageResult
      }
      const stageOptions = {
        ownership: context.ownership,
        ...peerSettings(config, peerConfig, context.settings),
        onProgress,
        onRetry
      }
      const report = yield* stageInto(peer, context, stageOptions)
      const hashes = report.hashes
      context.track({ files: report.count, bytes: report.bytes, landed: true, ...(hashes === undefined ? {} : { hashes }) })
      const staged = { ...base, files: report.count, bytes: report.bytes }
      yield* phase("indicator", { files: report.count, bytes: report.bytes })
      // The files are in the staging dir even when the indicator cannot be written: say how many.
      return yield* writeStageIndicator(peer).pipe(
        Effect.as<PeerStageResult>({ ...staged, status: "staged", ignored: false }),
        Effect.catch((error) => failed(staged, error, `files staged, but its stage indicator could not be written: ${error.message}`))
      )
    }).pipe(
      Effect.scoped,
      // remote retries are logged where they happen; the observer only turns them into events
      Effect.provideService(RetryObserver, (notice) =>
        context.emit({
          _tag: "PeerRetrying",
          name: peerConfig.name,
          attempt: notice.attempt,
          reason: notice.reason,
          delayMillis: notice.delayMillis
        })),
      Effect.catch((error) => failed(base, error))
    )
    // One line when the peer ends, in the summary's status words: an error when the peer was not
    // ready or not reached and that is not ignored (nothing else reports it on stderr); info
    // otherwise, a failed peer included, since its error is in the summary and the caller reports
    // it (the CLI prints its `error[Tag]` line), so nothing is said twice.
    const counts = `${outcome.files} file(s), ${outcome.bytes} byte(s)`
    const detail = outcome.error === undefined ? outcome.reason : withoutPeer(outcome.error.message, outcome.name)
    const line = `peer ${outcome.name}: ${outcome.status}${ignored && outcome.status !== "staged" ? " (ignored)" : ""}` +
      (outcome.status === "staged" ? `: ${counts}` : detail === undefined ? "" : `: ${detail}`)
    const unnoticed = !ignored && (outcome.status === "not-ready" || outcome.status === "unreachable")
    yield* unnoticed ? Effect.logError(line) : Effect.logInfo(line)
    return outcome
  }).pipe(Effect.annotateLogs("peer", peerConfig.name))

/** An error message without its leading `peer NAME: `, for a line that already names the peer. */
const withoutPeer = (message: string, name: string): string =>
  message.startsWith(`peer ${name}: `) ? message.slice(`peer ${name}: `.length) : message

const definedCounts = (counts: { readonly files?: number | undefined; readonly bytes?: number | undefined }) => ({
  ...(counts.files === undefined ? {} : { files: counts.files }),
  ...(counts.bytes === undefined ? {} : { bytes: counts.bytes })
})

/** A peer the run was stopped before it was done: what is known of it. */
const interruptedResult = (peer: PeerConfig, track: PeerTrack | undefined): PeerStageResult => {
  const landed = track?.landed === true || track?.phase === "indicator"
  const counts = { files: track?.files ?? 0, bytes: track?.bytes ?? 0 }
  const reason = track === undefined
    ? "the run was stopped before this peer started"
    : landed
    ? "the run was stopped after its files were staged, before its stage indicator was written"
    : track.phase === "committing"
    ? "the run was stopped while its files were moved into place; that step is let finish, so they are all there, but its stage indicator was not written"
    : `the run was stopped while ${track.phase ?? "starting"}: nothing of it was staged`
  const staged = landed || track?.phase === "committing"
  return {
    name: peer.name,
    type: peer.type,
    status: "interrupted",
    files: staged ? counts.files : 0,
    bytes: staged ? counts.bytes : 0,
    ignored: false,
    reason
  }
}

/**
 * Removes what runs killed outright (SIGKILL, power loss) left in the working dir or in an opened
 * directory of the staging tree.
 */
const removeLeftovers = (dir: string | Directory) =>
  Effect.gen(function*() {
    const disk = yield* StagingDisk
    const sweep = typeof dir === "string"
      ? Effect.scoped(Effect.flatMap(disk.openDirectory(dir), disk.removeLeftovers))
      : disk.removeLeftovers(dir)
    const removed = yield* sweep.pipe(
      Effect.catch((error) => Effect.as(Effect.logWarning(`could not look for leftovers of killed runs: ${error.message}`), []))
    )
    const shown = typeof dir === "string" ? dir : dir.shown
    for (const name of removed) yield* Effect.logWarning(`removed ${shown}/${name}, left by a run that was killed`)
  })

/**
 * Cedar Backup's stage action over the pool: derive the daily directory once, create it and one
 * directory per peer, stage every ready peer (several at once) and write its stage indicator, then
 * write the master's stage indicator. A failing peer never stops the others; the summary keeps the
 * configuration's order.
 *
 * @since 0.1.0
 * @category operations
 */
export const stage = (
  config: PoolConfig,
  options: StageRunOptions = {}
): Effect.Effect<StageSummary, InvalidPeerConfig | FileOperationFailed | ConfigError, PoolServices> =>
  Effect.gen(function*() {
    yield* Validate.requireStagingDir(config)
    yield* Validate.requirePeerNames(config) // before any peer's directory is made or swept
    const full = options.full ?? false
    const date = options.now ?? new Date(yield* Clock.currentTimeMillis)
    const daily = dailyDir(config.stagingDir, date)
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const ownership = isRoot ? yield* backupOwnership(config) : undefined
    const concurrency = Math.max(1, options.concurrency ?? Config.poolConcurrency(config))

    yield* removeLeftovers(config.options.workingDir)
    // every directory opened without following a link and held open for the run (see stagingTree)
    const tree = yield* openStagingTree(config.stagingDir, date, selected.map((peer) => peer.name), ownership)
    // new peer directories are staged beside themselves, in private directories of the daily one
    yield* removeLeftovers(tree.daily)

    const emit = (event: PoolEvent) =>
      Effect.andThen(
        options.onEvent?.(event) ?? Effect.void,
        event._tag === "PeerDone" ? options.onPeerDone?.(event.result) ?? Effect.void : Effect.void
      ).pipe(Effect.catchCause((cause) => Effect.logDebug("an event listener failed", cause)))
    const results: Array<PeerStageResult | undefined> = selected.map(() => undefined)
    const tracks: Array<PeerTrack | undefined> = selected.map(() => undefined)
    const runPeers = Effect.forEach(
      selected,
      (peer, i) =>
        stageOne(config, peer, {
          full,
          date,
          isRoot,
          ownership,
          target: tree.peers.get(peer.name)!,
          settings: options.settings,
          emit,
          track: (state) => {
            tracks[i] = { ...tracks[i], ...state }
          }
        }).pipe(
          Effect.tap((result) => {
            results[i] = result
            return emit({ _tag: "PeerDone", result })
          })
        ),
      { concurrency, discard: true }
    )
    // A stop that comes once every peer is done (e.g. during the last one's landing, which runs to
    // its end) still keeps the master's indicator from being written: the run was stopped.
    let stopped = false
    if (options.stop !== undefined) {
      yield* Effect.forkScoped(Effect.andThen(options.stop, Effect.sync(() => {
        stopped = true
      })))
    }
    // The stop signal interrupts only the peers (and waits for their cleanup); this fiber goes on.
    const finished = options.stop === undefined
      ? yield* Effect.as(runPeers, true)
      : yield* Effect.raceFirst(Effect.as(runPeers, true), Effect.as(options.stop, false))
    // Two turns of the scheduler (each flush is a macrotask, so the event loop polls in between):
    // a signal that came during the last synchronous renames has been handled, its stop seen.
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    const completed = finished && !stopped
    const peers = selected.map((peer, i) => results[i] ?? interruptedResult(peer, tracks[i]))
    for (const [i, result] of peers.entries()) {
      if (results[i] === undefined) yield* emit({ _tag: "PeerDone", result })
    }
    if (!completed) yield* Effect.logWarning(`stopped: ${peers.filter((p) => p.status === "interrupted").length} peer(s) interrupted`)

    const verified = selected.flatMap((peer, i) => {
      const hashes = tracks[i]?.hashes
      return hashes !== undefined && tracks[i]?.landed === true ? [{ peer: peer.name, hashes }] : []
    })
    const manifest = verified.length === 0 ? undefined : yield* Manifest.update(daily, verified, ownership, tree.daily)

    if (completed) yield* writeMasterIndicator(tree, ownership)
    return {
      dailyDir: daily,
      full,
      ok: completed && peers.every((r) => r.status === "staged" || r.ignored),
      peers,
      ...(completed ? {} : { interrupted: true }),
      ...(manifest === undefined ? {} : { manifest })
    }
  }).pipe(Effect.scoped, Effect.withSpan("Pool.stage"))

/**
 * The collect-indicator status of the configured peers (all, or those named).
 *
 * @since 0.1.0
 * @category operations
 */
export const check = (
  config: PoolConfig,
  options: {
    readonly peers?: ReadonlyArray<string> | undefined
    readonly indicator?: string | undefined
    readonly concurrency?: number | undefined
    /** the command line's settings (`--timeout connect=2`) over the configuration's */
    readonly settings?: SettingsOverrides | undefined
  } = {}
): Effect.Effect<CheckSummary, InvalidPeerConfig | CheckError, LocalPeers | RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const peers = yield* Effect.forEach(selected, (peerConfig) =>
      Effect.gen(function*() {
        const peer = yield* peerValue(config, peerConfig, isRoot, options.settings)
        const status = yield* collectIndicatorStatus(peer, options.indicator ?? DEF_COLLECT_INDICATOR)
        return {
          name: peer.name,
          type: peerConfig.type,
          ready: status.status === "ready",
          status: status.status,
          ...(status.reason === undefined ? {} : { reason: status.reason })
        } satisfies PeerCheckResult
      }), { concurrency: Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY) })
    return { ok: peers.every((p) => p.ready), peers }
  })

/**
 * The remote peer of that name, or `InvalidPeerConfig` when it is unknown or local.
 *
 * @since 0.1.0
 * @category constructors
 */
export const findRemotePeer = (config: PoolConfig, name: string): Effect.Effect<RemotePeer, InvalidPeerConfig, SystemUsers> =>
  Effect.flatMap(findPeer(config, name), (peer) =>
    peer._tag === "RemotePeer"
      ? Effect.succeed(peer)
      : Effect.fail(new InvalidPeerConfig({ peer: name, problems: ["is a local peer: remote commands need a remote peer"] })))

/**
 * Runs a managed action on every managed remote peer whose managed actions (the peer's, else the
 * options') include it, as Cedar does after its own action; one failing peer does not stop the others.
 *
 * @since 0.1.0
 * @category operations
 */
export const runManagedAction = (
  config: PoolConfig,
  action: string,
  options: {
    readonly full?: boolean | undefined
    readonly peers?: ReadonlyArray<string> | undefined
    /** stops the run gracefully when it completes: the peers not done are reported `interrupted` */
    readonly stop?: Effect.Effect<void> | undefined
  } = {}
): Effect.Effect<ActionSummary, InvalidPeerConfig, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const full = options.full ?? false
    if (!Schema.is(ActionName)(action)) {
      return yield* new InvalidPeerConfig({
        peer: "pool",
        problems: [`action ${JSON.stringify(action)}: must be letters, digits, '_' or '-', starting with a letter or digit`]
      })
    }
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const runs = selected.filter((peer) =>
      peer.type === "remote" && peer.managed && (peer.managedActions ?? config.options.managedActions).includes(action)
    )
    if (runs.length === 0) yield* Effect.logWarning(`no managed peer runs the action ${action}`)
    const remotePeers = yield* RemotePeers
    const values: Array<RemotePeer> = []
    for (const peerConfig of runs) {
      const peer = yield* peerValue(config, peerConfig, isRoot)
      if (peer._tag === "RemotePeer") values.push(peer)
    }
    const done: Array<PeerActionResult> = []
    const runAll = Effect.forEach(values, (peer) =>
      Effect.gen(function*() {
        yield* Effect.logInfo(`running ${action} on peer ${peer.name}`)
        const result = yield* remotePeers.executeManagedAction(peer, action, full).pipe(
          Effect.as<PeerActionResult>({ name: peer.name, status: "done" }),
          Effect.catch((error) => failedAction(peer.name, error))
        )
        if (result.status === "done") yield* Effect.logInfo(`${action} done on peer ${peer.name}`)
        done.push(result)
      }).pipe(Effect.annotateLogs("peer", peer.name)), { discard: true })
    const completed = options.stop === undefined
      ? yield* Effect.as(runAll, true)
      : yield* Effect.raceFirst(Effect.as(runAll, true), Effect.as(options.stop, false))
    const peers = values.map((peer) =>
      done.find((r) => r.name === peer.name) ?? {
        name: peer.name,
        status: "interrupted" as const,
        reason: "the run was stopped before the action was done on this peer"
      }
    )
    return { action, full, ok: completed && peers.every((p) => p.status === "done"), peers }
  })

const failedAction = (name: string, error: ManagedActionError) =>
  // info, like a stage run's end lines: the summary carries the error, the caller reports it
  Effect.as(Effect.logInfo(`peer ${name}: failed: ${withoutPeer(error.message, name)}`), {
    name,
    status: "failed",
    error
  } satisfies PeerActionResult)

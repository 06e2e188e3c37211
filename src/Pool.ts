/**
 * The pool: Cedar Backup's stage action over every peer of a configuration, managed
 * actions on managed remote peers, and the single-peer operations the CLI offers — resolved from
 * the configuration the same way the stage action resolves them.
 *
 * @since 0.1.0
 */
import { FileSystem, Path } from "@effect/platform"
import { Clock, Effect, Option, Schema } from "effect"
import type { PeerConfig, PoolConfig } from "./Config.js"
import { type LocalPeer, LocalPeers, make as makeLocalPeer } from "./LocalPeer.js"
import type { FailureMode, IndicatorStatus, Ownership, StageOptions, StageReport } from "./Peer.js"
import { ActionName, DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "./Peer.js"
import {
  ConfigError,
  FileOperationFailed,
  InvalidPeerConfig,
  type CopyFailed,
  type InvalidPath,
  type LimitExceeded,
  type LocalUserNotPermitted,
  type ManagedActionFailed,
  type NothingStaged,
  type RemoteCommandFailed,
  type UnsupportedEntry,
  type VerificationFailed
} from "./PeerError.js"
import { make as makeRemotePeer, type RemotePeer, RemotePeers } from "./RemotePeer.js"
import { SystemUsers } from "./SystemUsers.js"

/**
 * A peer value of either kind.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyPeer = LocalPeer | RemotePeer

/**
 * An error as it appears in a summary: its tag and message.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorSummary {
  readonly _tag: string
  readonly message: string
}

/**
 * What happened to one peer in a stage run.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerStageResult {
  readonly name: string
  readonly type: "local" | "remote"
  readonly status: "staged" | "not-ready" | "unreachable" | "failed"
  readonly files: number
  readonly bytes: number
  /** whether a failure (or not being ready) is ignored by the peer's failure mode */
  readonly ignored: boolean
  readonly error?: ErrorSummary
  /** why the peer was not ready or unreachable, when known */
  readonly reason?: string
}

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
  readonly status: "done" | "failed"
  readonly error?: ErrorSummary
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
export type PoolServices = LocalPeers | RemotePeers | FileSystem.FileSystem | Path.Path | SystemUsers

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
  isRoot: boolean
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
    ...ignoreFailureMode
  })
}

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
  name: string
): Effect.Effect<AnyPeer, InvalidPeerConfig, SystemUsers> =>
  Effect.gen(function*() {
    const [peer] = yield* selectPeers(config, [name])
    return yield* peerValue(config, peer!, yield* (yield* SystemUsers).isRoot)
  })

const summarize = (error: { readonly _tag: string; readonly message: string }): ErrorSummary => ({
  _tag: error._tag,
  message: error.message
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
): Effect.Effect<
  StageReport,
  | InvalidPath
  | UnsupportedEntry
  | NothingStaged
  | CopyFailed
  | FileOperationFailed
  | LocalUserNotPermitted
  | LimitExceeded
  | VerificationFailed
  | RemoteCommandFailed,
  LocalPeers | RemotePeers
> =>
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
): Effect.Effect<void, InvalidPath | FileOperationFailed | CopyFailed | LocalUserNotPermitted, LocalPeers | RemotePeers> =>
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
      ...(Option.isNone(user) ? [`options.backupUser: no such user on this machine: ${config.options.backupUser}`] : []),
      ...(Option.isNone(gid) ? [`options.backupGroup: no such group on this machine: ${config.options.backupGroup}`] : [])
    ]
    if (Option.isNone(user) || Option.isNone(gid)) return yield* new ConfigError({ path: config.source, problems })
    return { uid: user.value.uid, gid: gid.value } satisfies Ownership
  })

const MASTER = "master"

/** Creates a directory (and its parents) unless it exists; tells whether it was created. */
const ensureDirectory = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const failed = (operation: "makeDirectory" | "stat") => (cause: unknown) =>
      new FileOperationFailed({ peer: MASTER, operation, path: dir, cause })
    const exists = yield* fs.exists(dir).pipe(Effect.mapError(failed("stat")))
    if (exists) {
      const info = yield* fs.stat(dir).pipe(Effect.mapError(failed("stat")))
      if (info.type !== "Directory") {
        return yield* new FileOperationFailed({ peer: MASTER, operation: "makeDirectory", path: dir, cause: "exists and is not a directory" })
      }
      yield* Effect.logWarning(`staging directory ${dir} already existed`)
      return false
    }
    yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError(failed("makeDirectory")))
    return true
  })

const chownAll = (paths: ReadonlyArray<string>, ownership: Ownership | undefined) =>
  ownership === undefined ? Effect.void : Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    for (const path of paths) {
      yield* fs.chown(path, ownership.uid, ownership.gid).pipe(
        Effect.mapError((cause) => new FileOperationFailed({ peer: MASTER, operation: "chown", path, cause }))
      )
    }
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
  /** how many peers are staged at once (default 1, as Cedar) */
  readonly concurrency?: number | undefined
  /** called after each peer is done, e.g. to render progress */
  readonly onPeerDone?: ((result: PeerStageResult) => Effect.Effect<void>) | undefined
}

const stageOne = (
  config: PoolConfig,
  peerConfig: PeerConfig,
  context: { readonly full: boolean; readonly date: Date; readonly isRoot: boolean; readonly targetDir: string; readonly ownership: Ownership | undefined }
): Effect.Effect<PeerStageResult, never, LocalPeers | RemotePeers> =>
  Effect.gen(function*() {
    const ignored = isFailureIgnored(peerConfig.ignoreFailures, { ...context, startingDay: config.options.startingDay })
    const base = { name: peerConfig.name, type: peerConfig.type, files: 0, bytes: 0 } as const
    const failed = (counts: Pick<PeerStageResult, "name" | "type" | "files" | "bytes">, error: ErrorSummary) =>
      Effect.as(
        ignored ? Effect.logInfo(error.message) : Effect.logError(error.message),
        { ...counts, status: "failed", ignored, error: summarize(error) } satisfies PeerStageResult
      )
    const outcome = yield* Effect.gen(function*() {
      const peer = yield* peerValue(config, peerConfig, context.isRoot)
      const indicator = yield* collectIndicatorStatus(peer, DEF_COLLECT_INDICATOR)
      if (indicator.status !== "ready") {
        const text = `peer ${peer.name} was not ready to be staged` + (indicator.reason ? `: ${indicator.reason}` : "")
        yield* ignored ? Effect.logInfo(text) : Effect.logError(text)
        return {
          ...base,
          status: indicator.status,
          ignored,
          ...(indicator.reason === undefined ? {} : { reason: indicator.reason })
        } satisfies PeerStageResult
      }
      const report = yield* stagePeer(peer, context.targetDir, { ownership: context.ownership })
      yield* Effect.logInfo(`staged ${report.count} file(s), ${report.bytes} byte(s) for peer ${peer.name}`)
      const staged = { ...base, files: report.count, bytes: report.bytes }
      // The files are in the staging dir even when the indicator cannot be written: say how many.
      return yield* writeStageIndicator(peer).pipe(
        Effect.as<PeerStageResult>({ ...staged, status: "staged", ignored: false }),
        Effect.catchAll((error) => failed(staged, error))
      )
    }).pipe(Effect.catchAll((error) => failed(base, error)))
    return outcome
  }).pipe(Effect.annotateLogs("peer", peerConfig.name))

/**
 * Cedar Backup's stage action over the pool: derive the daily directory once, create it
 * and one directory per peer, stage every ready peer and write its stage indicator, then write the
 * master's stage indicator. A failing peer never stops the others.
 *
 * @since 0.1.0
 * @category operations
 */
export const stage = (
  config: PoolConfig,
  options: StageRunOptions = {}
): Effect.Effect<StageSummary, InvalidPeerConfig | FileOperationFailed | ConfigError, PoolServices> =>
  Effect.gen(function*() {
    const full = options.full ?? false
    const date = options.now ?? new Date(yield* Clock.currentTimeMillis)
    const daily = dailyDir(config.stagingDir, date)
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const ownership = isRoot ? yield* backupOwnership(config) : undefined
    const path = yield* Path.Path

    if (yield* ensureDirectory(daily)) {
      yield* chownAll([daily, path.dirname(daily), path.dirname(path.dirname(daily))], ownership)
    }
    for (const peer of selected) {
      const peerDir = path.join(daily, peer.name)
      if (yield* ensureDirectory(peerDir)) yield* chownAll([peerDir], ownership)
    }

    const results = yield* Effect.forEach(
      selected,
      (peer) =>
        stageOne(config, peer, { full, date, isRoot, ownership, targetDir: path.join(daily, peer.name) }).pipe(
          Effect.tap((result) => options.onPeerDone?.(result) ?? Effect.void)
        ),
      { concurrency: Math.max(1, options.concurrency ?? 1) }
    )

    const indicator = path.join(daily, DEF_STAGE_INDICATOR)
    const fs = yield* FileSystem.FileSystem
    yield* fs.writeFile(indicator, new Uint8Array()).pipe(
      Effect.mapError((cause) => new FileOperationFailed({ peer: MASTER, operation: "create", path: indicator, cause }))
    )
    yield* chownAll([indicator], ownership)
    return {
      dailyDir: daily,
      full,
      ok: results.every((r) => r.status === "staged" || r.ignored),
      peers: results
    }
  }).pipe(Effect.withSpan("Pool.stage"))

/**
 * The collect-indicator status of the configured peers (all, or those named).
 *
 * @since 0.1.0
 * @category operations
 */
export const check = (
  config: PoolConfig,
  options: { readonly peers?: ReadonlyArray<string> | undefined; readonly indicator?: string | undefined; readonly concurrency?: number | undefined } = {}
): Effect.Effect<CheckSummary, InvalidPeerConfig | InvalidPath, LocalPeers | RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const peers = yield* Effect.forEach(selected, (peerConfig) =>
      Effect.gen(function*() {
        const peer = yield* peerValue(config, peerConfig, isRoot)
        const status = yield* collectIndicatorStatus(peer, options.indicator ?? DEF_COLLECT_INDICATOR)
        return {
          name: peer.name,
          type: peerConfig.type,
          ready: status.status === "ready",
          status: status.status,
          ...(status.reason === undefined ? {} : { reason: status.reason })
        } satisfies PeerCheckResult
      }), { concurrency: Math.max(1, options.concurrency ?? 4) })
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
  options: { readonly full?: boolean | undefined; readonly peers?: ReadonlyArray<string> | undefined } = {}
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
    const peers: Array<PeerActionResult> = []
    for (const peerConfig of runs) {
      const peer = yield* peerValue(config, peerConfig, isRoot)
      if (peer._tag !== "RemotePeer") continue
      const result = yield* remotePeers.executeManagedAction(peer, action, full).pipe(
        Effect.as<PeerActionResult>({ name: peer.name, status: "done" }),
        Effect.catchTags({
          ManagedActionFailed: (error: ManagedActionFailed) => failedAction(peer.name, error),
          LocalUserNotPermitted: (error: LocalUserNotPermitted) => failedAction(peer.name, error)
        }),
        Effect.annotateLogs("peer", peer.name)
      )
      peers.push(result)
    }
    return { action, full, ok: peers.every((p) => p.status === "done"), peers }
  })

const failedAction = (name: string, error: ManagedActionFailed | LocalUserNotPermitted | RemoteCommandFailed) =>
  Effect.as(Effect.logError(error.message), { name, status: "failed", error: summarize(error) } satisfies PeerActionResult)

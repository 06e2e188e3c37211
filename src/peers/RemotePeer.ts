/**
 * A remote peer: a Cedar Backup client reached with an rcp-compatible copy command (default `scp`)
 * and an rsh-compatible shell command (default `ssh`). `RemotePeer` is the validated value,
 * `RemotePeers` the service that stages it, checks and writes its indicators and runs commands on it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import * as argv from "./internal/remote/argv.js"
import { makeCommands } from "./internal/remote/commands.js"
import { makeRemoteContext } from "./internal/remote/context.js"
import * as indicators from "./internal/remote/indicators.js"
import { makeTransfer } from "./internal/remote/transfer.js"
import type { ScpProtocol } from "./internal/remotePath.js"
import type { IndicatorOptions, IndicatorStatus, StageOptions, StageReport } from "../domain/Peer.js"
import type { RemoteOutput, RemotePeer } from "../domain/peers.js"
import type {
  CheckError,
  ExecuteError,
  ManagedActionError,
  StagePeerError,
  WriteIndicatorError
} from "../domain/PeerError.js"
import type { Directory } from "../disk/StagingDisk.js"
import type { StageIntoOptions } from "./stageInto.js"
import { StagingDisk } from "../disk/StagingDisk.js"
import { SystemUsers } from "./SystemUsers.js"

export {
  /**
   * A remote peer. `rcpCommand` / `rshCommand` hold the command line as given (absent when the
   * default is used); `rcpArgv` / `rshArgv` give the argv actually run. `new RemotePeer(...)`
   * throws on bad input; use `make` for untrusted input.
   *
   * @since 0.1.0
   * @category models
   */
  RemotePeer,
  /**
   * What `make` accepts: the fields of a `RemotePeer`, unvalidated.
   *
   * @since 0.1.0
   * @category models
   */
  type RemotePeerInput,
  /**
   * Validates `input` into a `RemotePeer`; `InvalidPeerConfig` lists every problem as `field: message`.
   *
   * @since 0.1.0
   * @category constructors
   */
  makeRemotePeer as make,
  /**
   * A peer's own time limits, in seconds (each optional: an absent one takes the `RemoteTimeouts` default).
   *
   * @since 0.2.0
   * @category models
   */
  Timeouts,
  /**
   * How a transient failure is retried: `count` more attempts after a growing delay from `baseDelay`.
   *
   * @since 0.2.0
   * @category models
   */
  Retries
} from "../domain/peers.js"

export {
  /**
   * How a remote peer's files are brought over: `scp` (the rcp command, the default) or `tar` (one
   * `tar` stream over the rsh command, unpacked by the master).
   *
   * @since 0.2.0
   * @category schemas
   */
  Transport
} from "../domain/Settings.js"

/**
 * The copy command's argv: the peer's `rcpCommand` split into words, else `DEF_RCP_COMMAND`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const rcpArgv: (peer: RemotePeer) => ReadonlyArray<string> = argv.rcpArgv

/**
 * The shell command's argv: the peer's `rshCommand` split into words, else `DEF_RSH_COMMAND`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const rshArgv: (peer: RemotePeer) => ReadonlyArray<string> = argv.rshArgv

/**
 * The argv of a remote command, before any local-user wrapping: `rsh… -- user@host command`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const remoteCommandArgv: (peer: RemotePeer, command: string) => ReadonlyArray<string> = argv.remoteCommandArgv

/**
 * The argv that copies every file of the collect dir into `localDir`:
 * `rcp… -- user@host:<escaped collectDir>/* localDir`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stageArgv: (peer: RemotePeer, localDir: string) => ReadonlyArray<string> = argv.stageArgv

/**
 * The argv that copies the file `name` of the collect dir to the local path `localFile`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fetchArgv: (peer: RemotePeer, name: string, localFile: string) => ReadonlyArray<string> = argv.fetchArgv

/**
 * The argv that pushes the local file `localFile` to `<collectDir>/<name>` on the peer, the
 * target encoded for the scp protocol in use.
 *
 * @since 0.1.0
 * @category accessors
 */
export const pushArgv: (
  peer: RemotePeer,
  localFile: string,
  name: string,
  protocol: ScpProtocol
) => ReadonlyArray<string> = argv.pushArgv

/**
 * The remote command line of a managed action, e.g. `/usr/bin/cback3 --full collect`. A shell
 * line by design (as in Cedar Backup); `action` must be a valid ActionName, so it cannot inject.
 *
 * @since 0.1.0
 * @category constructors
 */
export const buildCbackCommand: (cbackCommand: string | undefined, action: string, fullBackup: boolean) => string =
  argv.buildCbackCommand

export {
  /**
   * What a successful remote command printed (the last 64 KiB of each stream at most).
   *
   * @since 0.1.0
   * @category models
   */
  type RemoteOutput
} from "../domain/peers.js"

export {
  /**
   * How long a child may run before it is killed and the operation fails.
   *
   * @since 0.1.0
   * @category services
   */
  RemoteTimeouts,
  /**
   * The remote time limits (what `RemoteTimeouts` holds).
   *
   * @since 1.0.0
   * @category models
   */
  type RemoteTimeoutsShape
} from "./internal/remote/timeouts.js"

export {
  /**
   * Told of every retry of a transient failure, before its delay (default: nothing).
   *
   * @since 0.2.0
   * @category services
   */
  RetryObserver,
  /**
   * What `RetryObserver` holds: told of one retry, before its delay starts.
   *
   * @since 1.0.0
   * @category models
   */
  type RetryObserverShape,
  /**
   * The library-wide default of how transient failures are retried.
   *
   * @since 0.2.0
   * @category services
   */
  RemoteRetries,
  /**
   * How transient failures are retried (what `RemoteRetries` holds).
   *
   * @since 1.0.0
   * @category models
   */
  type RemoteRetriesShape,
  /**
   * One retry about to happen.
   *
   * @since 0.2.0
   * @category models
   */
  type RetryNotice
} from "./internal/remote/retry.js"

/**
 * Whether a non-zero scp exit means the peer could not be reached at all: status 255 (ssh's own
 * failure) always; for legacy scp, a failure without any `scp: ` line from the remote scp.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUnreachable: (protocol: ScpProtocol, exitCode: number, stderr: string) => boolean = indicators.isUnreachable

/**
 * What `RemotePeers` does: stage a remote peer, look for and write its indicator files, run
 * commands on it, and share one ssh connection among its operations.
 *
 * @since 1.0.0
 * @category models
 */
export interface RemotePeersShape {
  /** Shares one ssh connection among `peer`'s operations until the scope closes; never fails. */
  readonly connect: (peer: RemotePeer) => Effect.Effect<void, never, Scope.Scope>
  /** Runs `effect` with `peer`'s connection shared (see `connect`), closed when it ends. */
  readonly withConnection: <A, E, R>(peer: RemotePeer, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Copies the collect dir's files into `targetDir` through the peer's transport, all of them or none. */
  readonly stagePeer: (
    peer: RemotePeer,
    targetDir: string,
    options?: StageOptions
  ) => Effect.Effect<StageReport, StagePeerError>
  /** As `stagePeer`, into a directory the pool opened for the run (see `StageIntoOptions.replaceEmpty`). */
  readonly stagePeerInto: (
    peer: RemotePeer,
    target: Directory,
    options?: StageIntoOptions
  ) => Effect.Effect<StageReport, StagePeerError>
  /** Whether the collect indicator (default `cback.collect`) could be fetched; the reason is logged. */
  readonly checkCollectIndicator: (peer: RemotePeer, name?: string) => Effect.Effect<boolean, CheckError>
  /** The collect indicator's status: ready, not ready or unreachable, with the reason. */
  readonly collectIndicatorStatus: (peer: RemotePeer, name?: string) => Effect.Effect<IndicatorStatus, CheckError>
  /** Pushes the empty stage indicator (default `cback.stage`) into the peer's collect dir. */
  readonly writeStageIndicator: (
    peer: RemotePeer,
    name?: string,
    options?: IndicatorOptions
  ) => Effect.Effect<void, WriteIndicatorError>
  /** Runs a command line on the peer over the rsh command (never retried), with its output. */
  readonly executeRemoteCommand: (peer: RemotePeer, command: string) => Effect.Effect<RemoteOutput, ExecuteError>
  /** Runs the Cedar Backup action `action` on the peer (`cback3 [--full] action`). */
  readonly executeManagedAction: (
    peer: RemotePeer,
    action: string,
    fullBackup: boolean
  ) => Effect.Effect<void, ManagedActionError>
}

/**
 * Builds the `RemotePeers` operations on the platform `FileSystem`, `Path` and
 * `ChildProcessSpawner`, on `SystemUsers` and on the `StagingDisk`, taken once.
 */
const makeRemotePeers = Effect.gen(function*() {
  const ctx = yield* makeRemoteContext(yield* SystemUsers)
  const { stagePeer, stagePeerInto } = makeTransfer(ctx, yield* StagingDisk)
  const { checkCollectIndicator, collectIndicatorStatus, writeStageIndicator } = indicators.makeIndicators(ctx)
  const { executeManagedAction, executeRemoteCommand } = makeCommands(ctx)
  /**
   * One ssh connection for all of `peer`'s operations until the scope closes: the first
   * ssh/scp of the peer starts an OpenSSH ControlMaster (socket in a private 0700 directory
   * under the working dir, owned by the local user), the next ones reuse it, and closing the
   * scope stops it (`ssh -O exit`) and removes the directory. Never fails: without sharing
   * (`connectionSharing: false`, a program that is not ssh/scp, …) each operation connects
   * on its own.
   */
  const connect = (peer: RemotePeer): Effect.Effect<void, never, Scope.Scope> => ctx.connect(peer)
  const withConnection = <A, E, R>(peer: RemotePeer, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.scoped(Effect.andThen(ctx.connect(peer), effect))
  return {
    connect,
    withConnection,
    stagePeer,
    stagePeerInto,
    checkCollectIndicator,
    collectIndicatorStatus,
    writeStageIndicator,
    executeRemoteCommand,
    executeManagedAction
  } satisfies RemotePeersShape
})

/**
 * Stages remote peers, checks and writes their indicator files and runs commands on them. Built on
 * the platform `FileSystem`, `Path` and `ChildProcessSpawner` and on `SystemUsers` and the
 * `StagingDisk`, so the same code runs with real ssh and on the test layer (`FakeRemoteHost`).
 * Each job lives in its own module under `internal/remote/`: the transfer, the indicators, the
 * commands, over one shared context. `RemotePeers.layer` provides it.
 *
 * @since 0.1.0
 * @category services
 */
export class RemotePeers extends Context.Service<RemotePeers, RemotePeersShape>()("cedar-peer/RemotePeers") {
  /**
   * The service, requiring `FileSystem`, `Path`, `ChildProcessSpawner`, `SystemUsers` and `StagingDisk`.
   *
   * @since 1.0.0
   * @category layers
   */
  static readonly layer = Layer.effect(this, makeRemotePeers)
}

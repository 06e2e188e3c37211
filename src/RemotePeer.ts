/**
 * A remote peer: a Cedar Backup client reached with an rcp-compatible copy command (default `scp`)
 * and an rsh-compatible shell command (default `ssh`). `RemotePeer` is the validated value,
 * `RemotePeers` the service that stages it, checks and writes its indicators and runs commands on it.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Scope } from "effect"
import * as argv from "./internal/remote/argv.js"
import { makeCommands } from "./internal/remote/commands.js"
import { makeRemoteContext } from "./internal/remote/context.js"
import * as indicators from "./internal/remote/indicators.js"
import { makeTransfer } from "./internal/remote/transfer.js"
import type { ScpProtocol } from "./internal/remotePath.js"
import { decodePeer } from "./internal/peerChecks.js"
import {
  AbsolutePath,
  CommandLine,
  FailureMode,
  HostName,
  NonBlankString,
  RemotePath,
  UserName
} from "./Peer.js"
import type { InvalidPeerConfig } from "./PeerError.js"
import { StagingDisk } from "./StagingDisk.js"

/**
 * How a remote peer's files are brought over: `scp` (the rcp command, the default) or `tar` (one
 * `tar` stream over the rsh command, unpacked by the master).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Transport = Schema.Literal("scp", "tar").annotations({
  message: () => ({ message: "must be one of scp, tar", override: true })
})

/**
 * @since 0.2.0
 * @category models
 */
export type Transport = typeof Transport.Type

/**
 * A peer's own time limits, in seconds (each optional: an absent one takes the `RemoteTimeouts`
 * default). `connect`: the TCP connection and the server's banner; `stall`: a session that stops
 * answering keep-alives; `indicator`, `stage`, `command`, `managedAction`: the whole operation.
 *
 * @since 0.2.0
 * @category models
 */
export const Timeouts = Schema.Struct({
  connect: Schema.optionalWith(Schema.Positive, { exact: true }),
  stall: Schema.optionalWith(Schema.Positive, { exact: true }),
  indicator: Schema.optionalWith(Schema.Positive, { exact: true }),
  stage: Schema.optionalWith(Schema.Positive, { exact: true }),
  command: Schema.optionalWith(Schema.Positive, { exact: true }),
  managedAction: Schema.optionalWith(Schema.Positive, { exact: true })
})

/**
 * How a transient failure (the peer could not be reached, the connection dropped) is retried:
 * `count` more attempts (default 2) after an exponentially growing, jittered delay starting at
 * `baseDelay` seconds (default 5).
 *
 * @since 0.2.0
 * @category models
 */
export const Retries = Schema.Struct({
  count: Schema.optionalWith(Schema.NonNegativeInt, { exact: true }),
  baseDelay: Schema.optionalWith(Schema.NonNegative, { exact: true })
})

/**
 * A remote peer. `rcpCommand` / `rshCommand` hold the command line as given (absent when the
 * default is used); `rcpArgv` / `rshArgv` give the argv actually run. `new RemotePeer(...)` throws
 * on bad input; use `make` for untrusted input.
 *
 * @since 0.1.0
 * @category models
 */
export class RemotePeer extends Schema.TaggedClass<RemotePeer>()("RemotePeer", {
  name: HostName,
  collectDir: RemotePath,
  workingDir: AbsolutePath,
  remoteUser: UserName,
  localUser: Schema.optionalWith(UserName, { exact: true }),
  rcpCommand: Schema.optionalWith(CommandLine, { exact: true }),
  rshCommand: Schema.optionalWith(CommandLine, { exact: true }),
  cbackCommand: Schema.optionalWith(NonBlankString, { exact: true }),
  ignoreFailureMode: Schema.optionalWith(FailureMode, { exact: true }),
  timeouts: Schema.optionalWith(Timeouts, { exact: true }),
  retries: Schema.optionalWith(Retries, { exact: true }),
  /** one ssh connection for all of this peer's operations inside `RemotePeers.connect` (default true) */
  connectionSharing: Schema.optionalWith(Schema.Boolean, { exact: true }),
  /** how files are brought over; absent: `scp` */
  transport: Schema.optionalWith(Transport, { exact: true })
}) {}

/**
 * What `make` accepts: the fields of a `RemotePeer`, unvalidated.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemotePeerInput {
  readonly name: string
  readonly collectDir: string
  readonly workingDir: string
  readonly remoteUser: string
  readonly localUser?: string | undefined
  readonly rcpCommand?: string | undefined
  readonly rshCommand?: string | undefined
  readonly cbackCommand?: string | undefined
  readonly ignoreFailureMode?: string | undefined
  readonly timeouts?: Partial<typeof Timeouts.Encoded> | undefined
  readonly retries?: Partial<typeof Retries.Encoded> | undefined
  readonly connectionSharing?: boolean | undefined
  readonly transport?: string | undefined
}

/**
 * Validates `input` into a `RemotePeer`; `InvalidPeerConfig` lists every problem as `field: message`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: RemotePeerInput): Effect.Effect<RemotePeer, InvalidPeerConfig> =>
  decodePeer(RemotePeer, input.name, { ...input, _tag: "RemotePeer" })

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

/**
 * What a successful remote command printed (the last 64 KiB of each stream at most).
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteOutput {
  readonly stdout: string
  readonly stderr: string
}

export {
  /**
   * How long a child may run before it is killed and the operation fails.
   *
   * @since 0.1.0
   * @category services
   */
  RemoteTimeouts
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
   * The library-wide default of how transient failures are retried.
   *
   * @since 0.2.0
   * @category services
   */
  RemoteRetries,
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
 * Stages remote peers, checks and writes their indicator files and runs commands on them. Built on
 * the platform `FileSystem`, `Path` and `CommandExecutor` and on `SystemUsers`, so the same code
 * runs with real ssh and on the test layer (`FakeRemoteHost`). Each job lives in its own module
 * under `internal/remote/`: the transfer, the indicators, the commands, over one shared context.
 *
 * @since 0.1.0
 * @category services
 */
export class RemotePeers extends Effect.Service<RemotePeers>()("cedar-peer/RemotePeers", {
  effect: Effect.gen(function*() {
    const ctx = yield* makeRemoteContext
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
    /** `effect` with `peer`'s connection shared (see `connect`), closed when it ends. */
    const withConnection = <A, E, R>(peer: RemotePeer, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.scoped(Effect.zipRight(ctx.connect(peer), effect))
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
    } as const
  })
}) {}

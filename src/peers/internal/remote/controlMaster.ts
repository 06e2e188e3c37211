// One ssh connection per remote peer per run: an OpenSSH ControlMaster whose socket lives in a
// private 0700 directory under the working dir, made for one peer (owned by its local user, so
// the master runs as that user and no other user can reach it) and removed with it. The master
// is not started here: the first ssh/scp of the peer starts it (`ControlMaster=auto`) and the
// next ones ride on it, so a peer that is never contacted costs nothing. At the end of the scope
// each master is told to exit (`ssh -O exit`) and the directory goes.
import { Context, Effect, Equal, Exit, Fiber } from "effect"
import type { Duration, Scope } from "effect"
import type { FileOperationFailed } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { Ownership } from "../../../domain/Peer.js"
import type { Directory, StagingDiskShape } from "../../../disk/StagingDisk.js"
import { runAs } from "../runAs.js"
import { closeConnectionArgv, rcpArgv, rshArgv } from "./argv.js"

import { openSshKind, setsOwnSharing } from "./sshOptions.js"

/** A private directory of the working dir: open, its path for a copy command, and its local owner. */
export interface PrivateDirectory {
  readonly directory: Directory
  readonly path: string
  /** the local user's ids, when the peer has a local user */
  readonly owner: Ownership | undefined
}

/** One open shared connection: its peer and its socket directory. */
interface SharedConnection {
  readonly peer: RemotePeer
  readonly dir: string
}

/**
 * The peers with a shared connection open in this fiber, and each one's socket directory. Set
 * for the rest of a scope by `makeConnect` (fibers forked after it see it too), or around one
 * effect with `Effect.provideService`.
 */
export const SharedConnections: Context.Reference<ReadonlyArray<SharedConnection>> = Context.Reference<
  ReadonlyArray<SharedConnection>
>("cedar-peer/SharedConnections", { defaultValue: () => [] })

/** The socket directory of `peer`'s shared connection in this fiber, if one is open. */
export const sharedDirectoryOf = (peer: RemotePeer): Effect.Effect<string | undefined> =>
  Effect.map(SharedConnections, (open) => open.find((entry) => Equal.equals(entry.peer, peer))?.dir)

/**
 * The ControlPath in `dir`. The directory is made for one peer and one run, and every command of
 * the peer goes to the same user at the same host, so one short fixed name serves: ssh's own `%C`
 * (a 40-character hash) would leave room in a socket path for working dirs of 29 characters only.
 */
export const controlPathIn = (dir: string): string => `${dir}/${SOCKET_NAME}`

const SOCKET_NAME = "cm"

/**
 * Longest directory a control socket fits in: a Unix socket path holds 107 bytes, and ssh first
 * creates the socket under its name plus 17 characters. With the private directory's own name,
 * that leaves 68 characters for the working dir.
 */
export const MAX_SOCKET_DIR = 107 - 1 - SOCKET_NAME.length - 17

/** How long a master with no session left stays up: bounds what a killed run leaves running. */
export const CONTROL_PERSIST_SECONDS = 60

/** How long `ssh -O exit` may take. */
const CLOSE_TIMEOUT: Duration.Input = "10 seconds"

export interface ConnectDeps {
  readonly disk: StagingDiskShape
  readonly sharing: (peer: RemotePeer) => Effect.Effect<boolean>
  readonly allowed: (peer: RemotePeer) => Effect.Effect<boolean>
  readonly privateDirectory: (peer: RemotePeer, dir: string) => Effect.Effect<PrivateDirectory, FileOperationFailed, Scope.Scope>
  readonly run: (
    argv: ReadonlyArray<string>,
    timeout: Duration.Input
  ) => Effect.Effect<
    | { readonly _tag: "Exited"; readonly exitCode: number; readonly stderr: string }
    | { readonly _tag: "NotRun"; readonly reason: string }
  >
}

/**
 * Opens `peer`'s connection sharing for the rest of the scope (see the module comment). Never
 * fails: when sharing is off, not possible (no ssh/scp program, a command line that sets its own
 * ControlPath, a working dir too deep for a socket path, a private directory that cannot be
 * made), each operation simply opens its own connection, as without `connect`.
 */
export const makeConnect = (deps: ConnectDeps) => (peer: RemotePeer): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (!(yield* deps.sharing(peer))) return
    const programs = [rshArgv(peer), rcpArgv(peer)].filter((argv) => openSshKind(argv[0]) !== undefined)
    if (programs.length === 0 || programs.every(setsOwnSharing)) return
    if (!(yield* deps.allowed(peer))) return
    const made = yield* deps.privateDirectory(peer, peer.workingDir).pipe(Effect.result)
    if (made._tag === "Failure") {
      yield* Effect.logWarning(`peer ${peer.name}: no shared ssh connection: ${made.failure.message}`)
      return
    }
    const dir = made.success.path
    if (dir.length > MAX_SOCKET_DIR) {
      yield* Effect.logInfo(
        `peer ${peer.name}: no shared ssh connection: ${dir} is too long for a control socket path (at most ${MAX_SOCKET_DIR} characters)`
      )
      return
    }
    // Added after the directory's own finalizer, so it runs first: the masters go, then the dir.
    yield* Effect.addFinalizer(() => close(deps, peer, made.success))
    // Until the scope closes, this fiber sees the connection; on close only this entry goes.
    const entry: SharedConnection = { peer, dir }
    yield* Effect.updateServiceScoped(SharedConnections, (open) => [...open, entry], {
      reset: (_original, _updated, current) => current.filter((open) => open !== entry)
    })
  })

/** Whether this fiber has been told to stop (checked from an uninterruptible finalizer). */
const beingInterrupted: Effect.Effect<boolean> = Effect.map(Effect.exit(Effect.interruptible(Effect.void)), Exit.isFailure)

// The one socket this run's ssh made (its name is ours; ssh's half-made ones have a dot) is told
// to exit, once, within one limit: names planted in the directory by its owner are never
// contacted. A master that does not answer ends by itself once idle.
const close = (deps: ConnectDeps, peer: RemotePeer, made: PrivateDirectory) =>
  Effect.gen(function*() {
    const entries = yield* deps.disk.list(made.directory).pipe(Effect.orElseSucceed(() => []))
    const socket = entries.find((entry) => entry.type === "Socket" && Buffer.from(entry.name).toString("latin1") === SOCKET_NAME)
    if (socket === undefined) return
    // Finalizers run uninterruptibly, and a time limit works by interrupting: without this, an
    // `ssh -O exit` that never answers would hold the clean-up (and the run) forever.
    const exit = Effect.interruptible(
      deps.run(runAs(peer.localUser, closeConnectionArgv(peer, controlPathIn(made.path))), CLOSE_TIMEOUT)
    )
    // When the peer itself is being stopped (a signal), an interruptible region in its fiber ends
    // at once: the master would never be told and stay up. Then the close runs in a fiber of its
    // own, within its own limit, and is waited for.
    const ran = (yield* beingInterrupted) ? yield* Fiber.join(yield* Effect.forkDetach(exit)) : yield* exit
    if (ran._tag === "NotRun" || ran.exitCode !== 0) {
      const why = ran._tag === "NotRun" ? ran.reason : ran.stderr.trim()
      yield* Effect.logDebug(`peer ${peer.name}: closing the shared ssh connection: ${why}`)
    }
  })

// What every remote operation shares: the platform services, the process runner, the scp
// protocol in use, the local-user rules, the private directories commands write into, the
// peer's settings, its shared connection and the retry of transient failures.
// Built once per RemotePeers service; the operation modules (transfer, indicators, commands)
// take it as their only dependency.
import { Cache, Duration, Effect, FileSystem, Option, Path } from "effect"
import type { Scope } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { isPlainFileName } from "../../../domain/Peer.js"
import type { Ownership } from "../../../domain/Peer.js"
import { CopyFailed, FileOperationFailed, InvalidPath, LocalUserNotPermitted, TimedOut } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import { RemoteTimeouts } from "./timeouts.js"
import type { SystemUsersShape } from "../../SystemUsers.js"
import { StagingDisk, type StagingDiskShape } from "../../../disk/StagingDisk.js"
import { requireDirectory as checkDirectory } from "../peerChecks.js"
import type { ScpProtocol } from "../remotePath.js"
import { hasBadCharacter, protocolForBanner, protocolFromArgv, sshProgramFor } from "../remotePath.js"
import { rcpArgv } from "./argv.js"
import { CONTROL_PERSIST_SECONDS, controlPathIn, makeConnect, type PrivateDirectory, sharedDirectoryOf } from "./controlMaster.js"
import type { Outcome } from "./retry.js"
import { retrying, transientReason } from "./retry.js"
import { settingsOf } from "./settings.js"
import { type Ran, runStreamingWith, runWith } from "./runner.js"
import type { ConnectionOptions } from "./sshOptions.js"

export type { Ran } from "./runner.js"

/**
 * Fails unless a copy ran to its end with status 0: `TimedOut` when its time limit ended it,
 * `CopyFailed` (with why, or its status and stderr) otherwise.
 */
export const requireCopied = (
  peer: RemotePeer,
  operation: string,
  path: string,
  argv: ReadonlyArray<string>,
  ran: Ran
): Effect.Effect<void, TimedOut | CopyFailed> => {
  if (ran._tag === "NotRun") {
    return ran.expired !== undefined
      ? Effect.fail(new TimedOut({ peer: peer.name, operation, after: ran.expired }))
      : Effect.fail(new CopyFailed({ peer: peer.name, path, stderr: ran.reason, argv, cause: ran.cause }))
  }
  return ran.exitCode === 0
    ? Effect.void
    : Effect.fail(new CopyFailed({ peer: peer.name, path, exitCode: ran.exitCode, stderr: ran.stderr, argv }))
}

const invalidPath = (peer: RemotePeer, file: string, problem: InvalidPath["problem"]) =>
  new InvalidPath({ peer: peer.name, path: file, problem })

const fileOperationFailed =
  (peer: RemotePeer, operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
    new FileOperationFailed({ peer: peer.name, operation, path: file, cause })

const requireRemotePath = (peer: RemotePeer) =>
  hasBadCharacter(peer.collectDir) ? Effect.fail(invalidPath(peer, peer.collectDir, "BadCharacter")) : Effect.void

const requireIndicatorName = (peer: RemotePeer, name: string) =>
  !isPlainFileName(name)
    ? Effect.fail(invalidPath(peer, name, "BadName"))
    : hasBadCharacter(name)
    ? Effect.fail(invalidPath(peer, name, "BadCharacter"))
    : Effect.void

const remoteLabel = (peer: RemotePeer, file: string) => `${peer.remoteUser}@${peer.name}:${file}`

/** The local user's uid and gid, when the peer has one. */
const localOwnership = (users: SystemUsersShape, peer: RemotePeer, dir: string): Effect.Effect<Ownership | undefined, FileOperationFailed> =>
  Effect.gen(function*() {
    if (peer.localUser === undefined) return undefined
    const ids = yield* users.lookupUser(peer.localUser)
    if (Option.isNone(ids)) {
      return yield* fileOperationFailed(peer, "chown", dir)(`no such local user: ${peer.localUser}`)
    }
    return ids.value
  })

// A fresh private directory inside `dir` (the working dir, which may be the local user's), made,
// moded and owned through its descriptor and emptied through it when the scope closes, so no
// rename or link planted meanwhile redirects a chown or a removal (see StagingDisk). `access`:
//   "write"    owned by the local user (mode 0700): a copy running as that user writes into it;
//   "traverse" the process's own, mode 0711: that user only opens the files handed to them;
//   "socket"   like "write", with a short name, for a control socket whose path is limited.
// Its name carries this process's pid and start time, so a later run removes it only once this
// one is gone (a short name carries none: a later run removes it once it is a day old).
const privateDirectory = (
  users: SystemUsersShape,
  disk: StagingDiskShape,
  peer: RemotePeer,
  dir: string,
  access: "write" | "traverse" | "socket"
): Effect.Effect<PrivateDirectory, FileOperationFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const owner = yield* localOwnership(users, peer, dir)
    const parent = yield* disk.openDirectory(dir).pipe(
      Effect.mapError((error) => fileOperationFailed(peer, "open", dir)(error.detail))
    )
    const made = yield* disk.makePrivateDirectory(parent, access === "traverse" ? undefined : owner, {
      mode: access === "traverse" && owner !== undefined ? 0o711 : 0o700,
      short: access === "socket"
    }).pipe(Effect.mapError((error) => fileOperationFailed(peer, "makeDirectory", error.path)(error.detail)))
    return { directory: made, path: made.shown, owner }
  })

// `users` is handed in by RemotePeers (which takes it from its environment), so that this
// internal module needs its folder's public modules only as types.
export const makeRemoteContext = (users: SystemUsersShape) => Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const disk = yield* StagingDisk

  const run = runWith(spawner)
  const runStreaming = runStreamingWith(spawner)

  // The local OpenSSH's default scp protocol, asked once per ssh program (by the first fiber to
  // ask, with its time limits; the others wait for its answer).
  const probes = yield* Cache.make({
    capacity: Number.MAX_SAFE_INTEGER,
    requireServicesAt: "lookup",
    lookup: (ssh: string) =>
      Effect.gen(function*() {
        const timeouts = yield* RemoteTimeouts
        const ran = yield* run([ssh, "-V"], timeouts.probe)
        const banner = ran._tag === "Exited" && ran.exitCode === 0 ? `${ran.stderr}${ran.stdout}` : undefined
        const protocol = protocolForBanner(banner)
        if (banner === undefined) {
          yield* Effect.logWarning(`cannot tell the OpenSSH version (${ssh} -V), assuming legacy scp`)
        }
        return protocol
      })
  })
  const protocolOf = (peer: RemotePeer): Effect.Effect<ScpProtocol> => {
    const argv = rcpArgv(peer)
    const chosen = protocolFromArgv(argv)
    return chosen === undefined ? Cache.get(probes, sshProgramFor(argv)) : Effect.succeed(chosen)
  }

  const requireLocalUserAllowed = (peer: RemotePeer) =>
    Effect.gen(function*() {
      if (peer.localUser === undefined) return
      if (!(yield* users.isRoot)) {
        return yield* new LocalUserNotPermitted({ peer: peer.name, localUser: peer.localUser })
      }
    })

  const requireTargetDirectory = (peer: RemotePeer, dir: string) => checkDirectory(fs, path, peer.name, dir)

  // The ssh options of `peer`'s commands: its time limits, and its shared connection when one
  // is open in this fiber (see `connect`).
  const privateDirectoryOf = (peer: RemotePeer, dir: string, access: "write" | "traverse" | "socket") =>
    privateDirectory(users, disk, peer, dir, access)

  const connectionOf = (peer: RemotePeer): Effect.Effect<ConnectionOptions> =>
    Effect.gen(function*() {
      const settings = yield* settingsOf(peer)
      const shared = settings.connectionSharing ? yield* sharedDirectoryOf(peer) : undefined
      return {
        connect: Math.ceil(toSeconds(settings.timeouts.connect)),
        stall: Math.ceil(toSeconds(settings.timeouts.stall)),
        control: shared === undefined ? undefined : { path: controlPathIn(shared), persist: CONTROL_PERSIST_SECONDS }
      }
    })

  /**
   * Runs a copy (`argv`, already wrapped for the local user) for `operation`, retrying it while
   * it fails in a way that may pass (see `transientReason`); `landed` (optional) vetoes a retry
   * once something arrived. Returns the last outcome.
   */
  const runCopy = (
    peer: RemotePeer,
    operation: string,
    argv: ReadonlyArray<string>,
    options: {
      readonly timeout: Duration.Input
      readonly program: string
      readonly landed?: Effect.Effect<boolean> | undefined
      /** raced with each attempt (not with the delays between them): a copy gone silent ends with it */
      readonly silent?: Effect.Effect<Ran> | undefined
    }
  ): Effect.Effect<Ran> =>
    Effect.gen(function*() {
      const settings = yield* settingsOf(peer)
      const attempt = options.silent === undefined ? run(argv, options.timeout) : Effect.raceFirst(run(argv, options.timeout), options.silent)
      return yield* retrying(
        { peer: peer.name, operation, count: settings.retries.count, baseDelay: settings.retries.baseDelay },
        attempt,
        (ran) =>
          Effect.gen(function*() {
            if (ran._tag === "NotRun" || ran.exitCode === 0) return undefined
            // asked only now: a copy that worked never needs the `ssh -V` probe
            const why = transientReason(yield* protocolOf(peer), options.program, ran as Outcome)
            if (why === undefined) return undefined
            if (options.landed !== undefined && (yield* options.landed)) return undefined
            return why
          })
      )
    })

  const connect = makeConnect({
    sharing: (peer) => Effect.map(settingsOf(peer), (settings) => settings.connectionSharing),
    allowed: (peer) =>
      requireLocalUserAllowed(peer).pipe(Effect.as(true), Effect.orElseSucceed(() => false)),
    privateDirectory: (peer, dir) => privateDirectoryOf(peer, dir, "socket"),
    disk,
    run
  })

  return {
    fs,
    path,
    users,
    disk,
    run,
    runStreaming,
    protocolOf,
    requireLocalUserAllowed,
    invalidPath,
    fileOperationFailed,
    requireTargetDirectory,
    requireRemotePath,
    requireIndicatorName,
    privateDirectory: privateDirectoryOf,
    remoteLabel,
    settingsOf,
    connectionOf,
    runCopy,
    connect
  } as const
})

const toSeconds = (duration: Duration.Duration): number => Duration.toMillis(duration) / 1000

export type RemoteContext = Effect.Success<ReturnType<typeof makeRemoteContext>>

/**
 * A remote peer: a Cedar Backup client reached with an rcp-compatible copy command (default `scp`)
 * and an rsh-compatible shell command (default `ssh`). `RemotePeer` is the validated value,
 * `RemotePeers` the service that stages it, checks and writes its indicators and runs commands on it.
 *
 * @since 0.1.0
 */
import { Command, CommandExecutor, FileSystem, Path } from "@effect/platform"
import type { Error as PlatformError } from "@effect/platform"
import { Context, Duration, Effect, Option, Schema } from "effect"
import { decodePeer, problemsOf, requireDirectory as checkDirectory } from "./internal/peerChecks.js"
import { runToEnd } from "./internal/process.js"
import type { ScpProtocol } from "./internal/remotePath.js"
import {
  encodeDownloadSource,
  encodeUploadTarget,
  hasBadCharacter,
  protocolForBanner,
  protocolFromArgv,
  scpRemotePrefix,
  sshDestination,
  sshProgramFor,
  trimTrailingSlashes
} from "./internal/remotePath.js"
import { runAs } from "./internal/runAs.js"
import type { IndicatorOptions, IndicatorStatus, StageOptions, StageReport } from "./Peer.js"
import {
  AbsolutePath,
  ActionName,
  CommandLine,
  commandArgv,
  DEF_CBACK_COMMAND,
  DEF_COLLECT_INDICATOR,
  DEF_RCP_COMMAND,
  DEF_RSH_COMMAND,
  DEF_STAGE_INDICATOR,
  FailureMode,
  HostName,
  isPlainFileName,
  NonBlankString,
  RemotePath,
  UserName
} from "./Peer.js"
import {
  CopyFailed,
  FileOperationFailed,
  InvalidPath,
  InvalidPeerConfig,
  LocalUserNotPermitted,
  ManagedActionFailed,
  NothingStaged,
  RemoteCommandFailed
} from "./PeerError.js"
import { SystemUsers } from "./SystemUsers.js"

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
  ignoreFailureMode: Schema.optionalWith(FailureMode, { exact: true })
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
export const rcpArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rcpCommand === undefined ? DEF_RCP_COMMAND : commandArgv(peer.rcpCommand)

/**
 * The shell command's argv: the peer's `rshCommand` split into words, else `DEF_RSH_COMMAND`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const rshArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rshCommand === undefined ? DEF_RSH_COMMAND : commandArgv(peer.rshCommand)

/**
 * The argv of a remote command, before any local-user wrapping: `rsh… -- user@host command`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const remoteCommandArgv = (peer: RemotePeer, command: string): ReadonlyArray<string> => [
  ...rshArgv(peer),
  "--",
  sshDestination(peer.remoteUser, peer.name),
  command
]

/**
 * The argv that copies every file of the collect dir into `localDir`:
 * `rcp… -- user@host:<escaped collectDir>/* localDir`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stageArgv = (peer: RemotePeer, localDir: string): ReadonlyArray<string> => [
  ...rcpArgv(peer),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(trimTrailingSlashes(peer.collectDir))}/*`,
  localDir
]

/**
 * The argv that copies the file `name` of the collect dir to the local path `localFile`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fetchArgv = (peer: RemotePeer, name: string, localFile: string): ReadonlyArray<string> => [
  ...rcpArgv(peer),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(`${trimTrailingSlashes(peer.collectDir)}/${name}`)}`,
  localFile
]

/**
 * The argv that pushes the local file `localFile` to `<collectDir>/<name>` on the peer, the
 * target encoded for the scp protocol in use.
 *
 * @since 0.1.0
 * @category accessors
 */
export const pushArgv = (
  peer: RemotePeer,
  localFile: string,
  name: string,
  protocol: ScpProtocol
): ReadonlyArray<string> => [
  ...rcpArgv(peer),
  "--",
  localFile,
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${
    encodeUploadTarget(`${trimTrailingSlashes(peer.collectDir)}/${name}`, protocol)
  }`
]

/**
 * The remote command line of a managed action, e.g. `/usr/bin/cback3 --full collect`. A shell
 * line by design (as in Cedar Backup); `action` must be a valid ActionName, so it cannot inject.
 *
 * @since 0.1.0
 * @category constructors
 */
export const buildCbackCommand = (cbackCommand: string | undefined, action: string, fullBackup: boolean): string =>
  `${cbackCommand ?? DEF_CBACK_COMMAND}${fullBackup ? " --full" : ""} ${action}`

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

/**
 * How long a child may run before it is killed and the operation fails, so a hung ssh cannot hang
 * a backup forever. Override with `Effect.provideService(RemoteTimeouts, {...})` or a layer.
 * Defaults: `ssh -V` probe 30 s; indicator check and write 5 min; staging copy 12 h; remote
 * command 1 h; managed action 12 h (a full collect on a large peer takes hours).
 *
 * @since 0.1.0
 * @category services
 */
export class RemoteTimeouts extends Context.Reference<RemoteTimeouts>()("cedar-peer/RemoteTimeouts", {
  defaultValue: (): {
    readonly probe: Duration.DurationInput
    readonly indicator: Duration.DurationInput
    readonly stage: Duration.DurationInput
    readonly command: Duration.DurationInput
    readonly managedAction: Duration.DurationInput
  } => ({
    probe: "30 seconds",
    indicator: "5 minutes",
    stage: "12 hours",
    command: "1 hour",
    managedAction: "12 hours"
  })
}) {}

/** Prefix of every private directory made in a target or working dir. */
const PRIVATE_PREFIX = ".cedar-peer-"

type Ran =
  | { readonly _tag: "Exited"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly _tag: "NotRun"; readonly reason: string; readonly cause?: unknown }

/**
 * Whether a non-zero scp exit means the peer could not be reached at all. Status 255 is ssh's own
 * failure (unknown host, refused login, closed connection) in SFTP mode. Legacy scp (`-O`, rcp)
 * exits 1 both when it could not connect and when the file is missing, but the file-level errors
 * come from the remote scp and are printed as `scp: …`, while a failed connection prints ssh's
 * messages or, with `-q`, nothing: so without an `scp: ` line, legacy means unreachable.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUnreachable = (protocol: ScpProtocol, exitCode: number, stderr: string): boolean => {
  if (exitCode === 255) return true
  if (protocol === "sftp") return false
  return !stderr.split(/\r?\n/).some((line) => line.startsWith("scp: "))
}

const describeStatus = (peer: RemotePeer, name: string, status: IndicatorStatus): string =>
  `peer ${peer.name}: collect indicator ${name} ${status.status}${status.reason === undefined ? "" : `: ${status.reason}`}`

const firstLine = (text: string): string => text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? ""

/**
 * Stages remote peers, checks and writes their indicator files and runs commands on them. Built on
 * the platform `FileSystem`, `Path` and `CommandExecutor` and on `SystemUsers`, so the same code
 * runs with real ssh and on the test layer (`FakeRemoteHost`).
 *
 * @since 0.1.0
 * @category services
 */
export class RemotePeers extends Effect.Service<RemotePeers>()("cedar-peer/RemotePeers", {
  effect: Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const executor = yield* CommandExecutor.CommandExecutor
    const users = yield* SystemUsers

    // stdin gets an immediate end of file: a remote command that reads stdin must not wait forever.
    const run = (argv: ReadonlyArray<string>, timeout: Duration.DurationInput): Effect.Effect<Ran> =>
      runToEnd(executor, Command.make(argv[0]!, ...argv.slice(1)).pipe(Command.feed(""))).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => ({ _tag: "TimedOut" as const })
        }),
        Effect.match({
          onSuccess: (done): Ran => ({ _tag: "Exited", ...done }),
          onFailure: (error): Ran =>
            "_tag" in error && error._tag === "TimedOut"
              ? { _tag: "NotRun", reason: `timed out after ${Duration.format(Duration.decode(timeout))}` }
              : { _tag: "NotRun", reason: `could not run ${argv[0]}: ${(error as PlatformError.PlatformError).message}`, cause: error }
        })
      )

    // The local OpenSSH's default scp protocol, asked once per ssh program.
    const probeProtocol = yield* Effect.cachedFunction((ssh: string) =>
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
    )
    const protocolOf = (peer: RemotePeer): Effect.Effect<ScpProtocol> => {
      const argv = rcpArgv(peer)
      const chosen = protocolFromArgv(argv)
      return chosen === undefined ? probeProtocol(sshProgramFor(argv)) : Effect.succeed(chosen)
    }

    const requireLocalUserAllowed = (peer: RemotePeer) =>
      Effect.gen(function*() {
        if (peer.localUser === undefined) return
        if (!(yield* users.isRoot)) {
          return yield* new LocalUserNotPermitted({ peer: peer.name, localUser: peer.localUser })
        }
      })

    const invalidPath = (peer: RemotePeer, file: string, problem: InvalidPath["problem"]) =>
      new InvalidPath({ peer: peer.name, path: file, problem })

    const fileOperationFailed =
      (peer: RemotePeer, operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
        new FileOperationFailed({ peer: peer.name, operation, path: file, cause })

    const requireTargetDirectory = (peer: RemotePeer, dir: string) => checkDirectory(fs, path, peer.name, dir)

    const requireRemotePath = (peer: RemotePeer) =>
      hasBadCharacter(peer.collectDir) ? Effect.fail(invalidPath(peer, peer.collectDir, "BadCharacter")) : Effect.void

    const requireIndicatorName = (peer: RemotePeer, name: string) =>
      !isPlainFileName(name)
        ? Effect.fail(invalidPath(peer, name, "BadName"))
        : hasBadCharacter(name)
        ? Effect.fail(invalidPath(peer, name, "BadCharacter"))
        : Effect.void

    // A fresh private directory (mkdtemp: unique, mode 0700) inside `dir`, owned by the local user
    // when there is one so that the copy running as that user can write it; removed on scope close.
    const privateDirectory = (peer: RemotePeer, dir: string) =>
      Effect.acquireRelease(
        fs.makeTempDirectory({ directory: dir, prefix: PRIVATE_PREFIX }).pipe(
          Effect.mapError(fileOperationFailed(peer, "makeDirectory", path.join(dir, `${PRIVATE_PREFIX}*`)))
        ),
        (made) =>
          fs.remove(made, { recursive: true }).pipe(
            Effect.catchAll((error) => Effect.logWarning(`cannot remove ${made}: ${error.message}`))
          )
      ).pipe(
        // mkdtemp makes it 0700 already; said again so a FileSystem that does not cannot widen it
        Effect.tap((made) => fs.chmod(made, 0o700).pipe(Effect.mapError(fileOperationFailed(peer, "chmod", made)))),
        Effect.tap((made) => giveToLocalUser(peer, made))
      )

    const giveToLocalUser = (peer: RemotePeer, file: string) =>
      Effect.gen(function*() {
        if (peer.localUser === undefined) return
        const ids = yield* users.lookupUser(peer.localUser)
        if (Option.isNone(ids)) {
          return yield* fileOperationFailed(peer, "chown", file)(`no such local user: ${peer.localUser}`)
        }
        yield* fs.chown(file, ids.value.uid, ids.value.gid).pipe(Effect.mapError(fileOperationFailed(peer, "chown", file)))
      })

    const remoteLabel = (peer: RemotePeer, file: string) => `${peer.remoteUser}@${peer.name}:${file}`

    const stagePeer = Effect.fn("RemotePeers.stagePeer")(
      function*(peer: RemotePeer, targetDir: string, options: StageOptions = {}) {
        yield* requireTargetDirectory(peer, targetDir)
        yield* requireRemotePath(peer)
        yield* requireLocalUserAllowed(peer)
        const timeouts = yield* RemoteTimeouts
        return yield* Effect.scoped(Effect.gen(function*() {
          const privateDir = yield* privateDirectory(peer, targetDir)
          const argv = runAs(peer.localUser, stageArgv(peer, privateDir))
          const source = remoteLabel(peer, peer.collectDir)
          const ran = yield* run(argv, timeouts.stage)
          if (ran._tag === "NotRun") {
            return yield* new CopyFailed({ peer: peer.name, path: source, stderr: ran.reason, argv, cause: ran.cause })
          }
          if (ran.exitCode !== 0) {
            return yield* new CopyFailed({ peer: peer.name, path: source, exitCode: ran.exitCode, stderr: ran.stderr, argv })
          }
          const names = (yield* fs.readDirectory(privateDir).pipe(
            Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: privateDir, argv, cause }))
          )).slice().sort()
          if (names.length === 0) return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
          let bytes = 0
          for (const name of names) {
            const file = path.join(privateDir, name)
            const info = yield* fs.stat(file).pipe(Effect.mapError(fileOperationFailed(peer, "stat", file)))
            bytes += Number(info.size)
            if (options.ownership !== undefined) {
              yield* fs.chown(file, options.ownership.uid, options.ownership.gid).pipe(
                Effect.mapError(fileOperationFailed(peer, "chown", file))
              )
            }
            if (options.permissions !== undefined) {
              yield* fs.chmod(file, options.permissions).pipe(Effect.mapError(fileOperationFailed(peer, "chmod", file)))
            }
          }
          yield* moveInto(peer, privateDir, targetDir, names)
          const report: StageReport = { count: names.length, bytes, files: names, skipped: [] }
          return report
        }))
      }
    )

    // Renames every file into the target; should one rename fail (or the fiber be interrupted),
    // the files this call added are taken out again, so the target holds all of them or none.
    // A file that existed before is only ever replaced by a rename: whole or untouched.
    const moveInto = (peer: RemotePeer, from: string, to: string, names: ReadonlyArray<string>) => {
      const added: Array<string> = []
      return Effect.gen(function*() {
        for (const name of names) {
          const target = path.join(to, name)
          const existed = yield* fs.exists(target).pipe(Effect.orElseSucceed(() => true))
          yield* fs.rename(path.join(from, name), target).pipe(Effect.mapError(fileOperationFailed(peer, "rename", target)))
          if (!existed) added.push(target)
        }
      }).pipe(
        Effect.onExit((exit) =>
          exit._tag === "Success"
            ? Effect.void
            : Effect.forEach(added, (file) => fs.remove(file).pipe(Effect.ignore), { discard: true })
        )
      )
    }

    const collectIndicatorStatus = Effect.fn("RemotePeers.collectIndicatorStatus")(
      function*(peer: RemotePeer, name: string = DEF_COLLECT_INDICATOR) {
        yield* requireIndicatorName(peer, name)
        yield* requireRemotePath(peer)
        const timeouts = yield* RemoteTimeouts
        const status: IndicatorStatus = yield* Effect.scoped(Effect.gen(function*() {
          yield* requireLocalUserAllowed(peer)
          const protocol = yield* protocolOf(peer)
          const workDir = yield* privateDirectory(peer, peer.workingDir)
          const localFile = path.join(workDir, name)
          const copy = fetchArgv(peer, name, localFile)
          const ran = yield* run(runAs(peer.localUser, copy), timeouts.indicator)
          if (ran._tag === "NotRun") return { status: "unreachable", reason: ran.reason } satisfies IndicatorStatus
          const arrived = yield* fs.exists(localFile).pipe(Effect.orElseSucceed(() => false))
          if (ran.exitCode === 0) {
            return arrived
              ? ({ status: "ready" } satisfies IndicatorStatus)
              : ({ status: "not-ready", reason: `copy of ${name} exited 0 but no file arrived` } satisfies IndicatorStatus)
          }
          const detail = firstLine(ran.stderr)
          // name the copy program, not a runuser wrapper that only passed its status on
          const reason = `${copy[0]} exited with status ${ran.exitCode}${detail === "" ? "" : `: ${detail}`}`
          return {
            status: isUnreachable(protocol, ran.exitCode, ran.stderr) ? "unreachable" : "not-ready",
            reason
          } satisfies IndicatorStatus
        })).pipe(
          Effect.catchAll((error): Effect.Effect<IndicatorStatus> =>
            Effect.succeed({ status: "unreachable", reason: error.message })
          )
        )
        // The status carries its reason as data; its caller decides how loud to be (the pool
        // logs a not-ready peer as an error, or as info when its failures are ignored).
        if (status.status !== "ready") yield* Effect.logDebug(describeStatus(peer, name, status))
        return status
      }
    )

    // The boolean drops the reason, so it is logged here (Cedar's behaviour: false, with the reason in the log).
    const checkCollectIndicator = Effect.fn("RemotePeers.checkCollectIndicator")(
      function*(peer: RemotePeer, name: string = DEF_COLLECT_INDICATOR) {
        const status = yield* collectIndicatorStatus(peer, name)
        if (status.status !== "ready") yield* Effect.logWarning(describeStatus(peer, name, status))
        return status.status === "ready"
      }
    )

    const writeStageIndicator = Effect.fn("RemotePeers.writeStageIndicator")(
      function*(peer: RemotePeer, name: string = DEF_STAGE_INDICATOR, options: IndicatorOptions = {}) {
        yield* requireIndicatorName(peer, name)
        yield* requireRemotePath(peer)
        yield* requireLocalUserAllowed(peer)
        const timeouts = yield* RemoteTimeouts
        const protocol = yield* protocolOf(peer)
        yield* Effect.scoped(Effect.gen(function*() {
          const workDir = yield* privateDirectory(peer, peer.workingDir)
          const localFile = path.join(workDir, name)
          yield* fs.writeFile(localFile, new Uint8Array(0)).pipe(Effect.mapError(fileOperationFailed(peer, "create", localFile)))
          // scp gives a file it creates the mode of its source; ownership on the peer is the remote user's.
          if (options.permissions !== undefined) {
            yield* fs.chmod(localFile, options.permissions).pipe(Effect.mapError(fileOperationFailed(peer, "chmod", localFile)))
          }
          const argv = runAs(peer.localUser, pushArgv(peer, localFile, name, protocol))
          const target = remoteLabel(peer, `${trimTrailingSlashes(peer.collectDir)}/${name}`)
          const ran = yield* run(argv, timeouts.indicator)
          if (ran._tag === "NotRun") {
            return yield* new CopyFailed({ peer: peer.name, path: target, stderr: ran.reason, argv, cause: ran.cause })
          }
          if (ran.exitCode !== 0) {
            return yield* new CopyFailed({ peer: peer.name, path: target, exitCode: ran.exitCode, stderr: ran.stderr, argv })
          }
        }))
      }
    )

    const runRemote = (peer: RemotePeer, command: string, timeout: Duration.DurationInput) =>
      Effect.gen(function*() {
        const argv = runAs(peer.localUser, remoteCommandArgv(peer, command))
        if (command.trim() === "") {
          // ssh without a command opens a login shell, which would wait on stdin
          return yield* new RemoteCommandFailed({ peer: peer.name, argv, stderr: "refusing to run an empty remote command" })
        }
        const ran = yield* run(argv, timeout)
        if (ran._tag === "NotRun") {
          return yield* new RemoteCommandFailed({ peer: peer.name, argv, stderr: ran.reason, cause: ran.cause })
        }
        if (ran.exitCode !== 0) {
          return yield* new RemoteCommandFailed({ peer: peer.name, argv, exitCode: ran.exitCode, stderr: ran.stderr })
        }
        const output: RemoteOutput = { stdout: ran.stdout, stderr: ran.stderr }
        return output
      })

    const executeRemoteCommand = Effect.fn("RemotePeers.executeRemoteCommand")(
      function*(peer: RemotePeer, command: string) {
        yield* requireLocalUserAllowed(peer)
        return yield* runRemote(peer, command, (yield* RemoteTimeouts).command)
      }
    )

    const executeManagedAction = Effect.fn("RemotePeers.executeManagedAction")(
      function*(peer: RemotePeer, action: string, fullBackup: boolean) {
        yield* Schema.decodeUnknown(ActionName)(action).pipe(
          Effect.mapError((error) =>
            new InvalidPeerConfig({
              peer: peer.name,
              problems: problemsOf(error, "action")
            })
          )
        )
        yield* requireLocalUserAllowed(peer)
        const command = buildCbackCommand(peer.cbackCommand, action, fullBackup)
        yield* runRemote(peer, command, (yield* RemoteTimeouts).managedAction).pipe(
          Effect.mapError((cause) => new ManagedActionFailed({ peer: peer.name, action, cause }))
        )
      }
    )

    return {
      stagePeer,
      checkCollectIndicator,
      collectIndicatorStatus,
      writeStageIndicator,
      executeRemoteCommand,
      executeManagedAction
    } as const
  })
}) {}

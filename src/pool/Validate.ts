/**
 * Checks that a decoded pool can run on this machine, as `cback3 validate` checks Cedar Backup's
 * configuration: the backup user and group exist, the working and staging directories exist and
 * are usable, each local peer's collect directory exists, and the rcp/rsh programs the remote
 * peers will run exist and are executable; optionally, that every remote peer answers. Every
 * problem is returned at once, located in the file's own vocabulary (`options.working_dir` for a
 * `cback3.conf`, `options.workingDir` for JSON).
 *
 * @since 0.2.0
 */
import { Duration, Effect, FileSystem, Option } from "effect"
import type { PlatformError } from "effect/PlatformError"
import * as Config from "../config/Config.js"
import type { PeerConfig, PoolConfig, RemotePeerConfig } from "../config/Config.js"
import { placeOf } from "../config/place.js"
import { formatAfter } from "../peers/process.js"
import { sshCause } from "../peers/sshCause.js"
import { quoteWord, splitWords } from "../domain/shellWords.js"
import { DEF_RCP_COMMAND, DEF_RSH_COMMAND, peerDirectoryNameProblem, remotePeerNameProblem } from "../domain/Peer.js"
import { ConfigError } from "../domain/PeerError.js"
import * as Pool from "./Pool.js"
import { RemotePeers } from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"

/**
 * What the checks need to know beyond the pool: the `PATH` that rcp/rsh program names are looked
 * up in (default: this process's `PATH`).
 *
 * @since 0.2.0
 * @category models
 */
export interface EnvironmentOptions {
  readonly searchPath?: string | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ValidateOptions extends EnvironmentOptions {
  /** also try a batch-mode connection to every remote peer (`validate --reach`) */
  readonly reach?: boolean | undefined
}

/**
 * How to try a remote peer: the command line's timeouts (`--timeout connect=2`) over the
 * configuration's.
 *
 * @since 1.0.0
 * @category models
 */
export interface ReachOptions {
  readonly settings?: Config.SettingsOverrides | undefined
  /** seconds a peer has to answer (default: twice its connect timeout and 5 s) */
  readonly limit?: number | undefined
}

const describeError = (error: PlatformError): string =>
  error.reason._tag === "PermissionDenied" ? "cannot be checked: permission denied" : `cannot be checked: ${error.message}`

const isNotFound = (error: PlatformError): boolean => error.reason._tag === "NotFound"

// Cedar's _checkDir: exists, is a directory, readable, and writable where the run writes. Links are
// followed, as Cedar follows them; the staging run itself refuses links in the tree it writes.
const directoryProblem = (fs: FileSystem.FileSystem, dir: string, writable: boolean): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const info = yield* Effect.result(fs.stat(dir))
    if (info._tag === "Failure") {
      const error = info.failure
      return isNotFound(error) ? `${dir} does not exist` : `${dir} ${describeError(error)}`
    }
    if (info.success.type !== "Directory") return `${dir} is not a directory`
    if ((yield* Effect.result(fs.access(dir, { readable: true })))._tag === "Failure") return `${dir} is not readable`
    if (writable && (yield* Effect.result(fs.access(dir, { writable: true })))._tag === "Failure") return `${dir} is not writable`
    return undefined
  })

// The platform FileSystem has no X_OK check: a regular file with any execute bit is taken as
// executable, which is exact for root (who runs the stage) and close enough for a sanity check.
const programProblem = (fs: FileSystem.FileSystem, program: string, searchPath: string): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    const check = (path: string) =>
      Effect.map(Effect.result(fs.stat(path)), (info) =>
        info._tag === "Failure"
          ? isNotFound(info.failure) ? "does not exist" : describeError(info.failure)
          : info.success.type !== "File"
          ? "is not a regular file"
          : (info.success.mode & 0o111) === 0
          ? "is not executable"
          : undefined)
    if (program.includes("/")) {
      const problem = yield* check(program)
      return problem === undefined ? undefined : `program ${program} ${problem}`
    }
    // Like execvp: the first directory of PATH holding an executable file of that name.
    for (const dir of searchPath.split(":").filter((dir) => dir !== "")) {
      if ((yield* check(`${dir}/${program}`)) === undefined) return undefined
    }
    return `program ${program} is not found in PATH (${searchPath})`
  })

interface CommandUse {
  readonly path: ReadonlyArray<PropertyKey>
  readonly line: string | undefined
  readonly fallback: ReadonlyArray<string>
}

// The rcp and rsh command each remote peer will run, located where it is set (its own field,
// else the options', else the options' field with the default program).
const commandUses = (config: PoolConfig): ReadonlyArray<CommandUse> =>
  config.peers.flatMap((peer, i): ReadonlyArray<CommandUse> => {
    if (peer.type !== "remote") return []
    const use = (key: "rcpCommand" | "rshCommand", fallback: ReadonlyArray<string>): CommandUse =>
      peer[key] !== undefined
        ? { path: ["peers", i, key], line: peer[key], fallback }
        : { path: ["options", key], line: config.options[key], fallback }
    // A tar peer's files come over the rsh command; it never runs the rcp command.
    const tar = Config.peerSettings(config, peer).transport === "tar"
    return [...(tar ? [] : [use("rcpCommand", DEF_RCP_COMMAND)]), use("rshCommand", DEF_RSH_COMMAND)]
  })

/**
 * The problems of the peers' names, each located: a name that cannot name the peer's directory
 * (`Peer.peerDirectoryNameProblem`: control characters, `/`, cedar-peer's own file names, …) or,
 * for a remote peer, cannot be an ssh destination (`Peer.remotePeerNameProblem`). `Config.load`
 * refuses such a file already; this also holds for a pool built by hand.
 *
 * @since 1.0.0
 * @category operations
 */
export const peerNames = (config: PoolConfig): ReadonlyArray<string> =>
  config.peers.flatMap((peer, i) => {
    const problem = peer.type === "remote" ? remotePeerNameProblem(peer.name) : peerDirectoryNameProblem(peer.name)
    return problem === undefined ? [] : [`${Config.locate(config, ["peers", i, "name"])}: ${problem}`]
  })

/**
 * Fails with a `ConfigError` listing `peerNames`' problems, if any: checked before a stage run
 * makes a directory for any peer.
 *
 * @since 1.0.0
 * @category operations
 */
export const requirePeerNames = (config: PoolConfig): Effect.Effect<void, ConfigError> =>
  Effect.suspend(() => {
    const problems = peerNames(config)
    return problems.length === 0 ? Effect.void : Effect.fail(new ConfigError({ path: config.source, problems }))
  })

/**
 * The problems of running the pool on this machine, each as `location: problem`: backup user and
 * group unknown; working dir or staging dir missing, not a directory, not readable or not
 * writable (by this process, as `cback3 validate` checks: run it as the user the stage runs as);
 * a local peer's collect dir missing, not a directory or not readable; an rcp/rsh program that
 * does not exist or is not executable (looked up in `PATH` when it is a bare name). Empty when
 * all is well.
 *
 * @since 0.2.0
 * @category operations
 */
export const environment = (
  config: PoolConfig,
  options: EnvironmentOptions = {}
): Effect.Effect<ReadonlyArray<string>, never, FileSystem.FileSystem | SystemUsers> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const users = yield* SystemUsers
    const searchPath = options.searchPath ?? process.env["PATH"] ?? "/usr/bin:/bin"
    const problems: Array<string> = [...peerNames(config)]
    const add = (path: ReadonlyArray<PropertyKey>, problem: string | undefined) => {
      if (problem !== undefined) problems.push(`${placeOf(config, path)}: ${problem}`)
    }

    // two lookups, each a getent process: at once
    const [user, group] = yield* Effect.all(
      [users.lookupUser(config.options.backupUser), users.lookupGroup(config.options.backupGroup)],
      { concurrency: 2 }
    )
    if (Option.isNone(user)) {
      add(["options", "backupUser"], `no user named ${config.options.backupUser} on this machine`)
    }
    if (Option.isNone(group)) {
      add(["options", "backupGroup"], `no group named ${config.options.backupGroup} on this machine`)
    }
    add(["options", "workingDir"], yield* directoryProblem(fs, config.options.workingDir, true))
    add(["stage", "stagingDir"], yield* directoryProblem(fs, config.stagingDir, true))
    for (const [i, peer] of config.peers.entries()) {
      if (peer.type === "local") add(["peers", i, "collectDir"], yield* directoryProblem(fs, peer.collectDir, false))
    }

    const checked = new Set<string>()
    for (const use of commandUses(config)) {
      const at = Config.locate(config, use.path)
      if (checked.has(at)) continue
      checked.add(at)
      const words = use.line === undefined ? use.fallback : splitWords(use.line) ?? []
      const problem = words.length === 0 ? undefined : yield* programProblem(fs, words[0]!, searchPath)
      add(use.path, problem === undefined ? undefined : use.line === undefined ? `not set, and the default ${problem}` : problem)
    }
    return problems
  })

// Batch mode (never prompt) and a connect timeout, for an ssh rsh command; appended, so that the
// options the command line already gives win (ssh takes the first value of each option).
const batchCommand = (config: PoolConfig, peer: RemotePeerConfig, connect: number): string => {
  const line = peer.rshCommand ?? config.options.rshCommand ?? DEF_RSH_COMMAND.join(" ")
  const program = (splitWords(line) ?? [])[0] ?? ""
  return program === "ssh" || program.endsWith("/ssh")
    ? `${line} -o BatchMode=yes -o ConnectTimeout=${Math.max(1, Math.ceil(connect))}`
    : line
}

const lastLine = (text: string): string =>
  text.split("\n").map((line) => line.trim()).filter((line) => line !== "").at(-1) ?? ""

/**
 * One remote peer as a connection attempt found it: reached or not, and why not in a few words
 * (`connection refused`, `host key changed`…) next to the whole reason ssh gave.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerReach {
  readonly name: string
  /** where the peer is in the file (`peers.peer[2]`, `peers[1]`) */
  readonly location: string
  readonly reached: boolean
  /** the cause in words, when not reached (or when reached and the probe found something) */
  readonly cause?: string | undefined
  /** what ssh said, its last line */
  readonly detail?: string | undefined
}

// A failed rsh run, as reached or not: status 255 (or none) is ssh's own failure.
const reachOf = (
  peer: { readonly name: string; readonly location: string },
  error: string | { readonly _tag: string; readonly message: string; readonly exitCode?: number | undefined; readonly stderr?: string }
): PeerReach => {
  if (typeof error === "string") return { ...peer, reached: false, cause: "timed out", detail: error }
  if (error._tag !== "RemoteCommandFailed") return { ...peer, reached: false, cause: sshCause(error.message) ?? "could not connect", detail: error.message }
  const detail = lastLine(error.stderr ?? "")
  if (error.exitCode === undefined || error.exitCode === 255) {
    return { ...peer, reached: false, cause: sshCause(error.stderr ?? "") ?? "could not connect", detail: detail || "the rsh command could not run" }
  }
  return { ...peer, reached: true, cause: `the rsh command exited with status ${error.exitCode}`, detail }
}

// Runs `command` on one remote peer through its rsh command in batch mode, bounded.
const probe = (
  config: PoolConfig,
  peer: RemotePeerConfig,
  index: number,
  command: string,
  options: ReachOptions
): Effect.Effect<{ readonly reach: PeerReach; readonly exitCode: number | undefined }, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const at = { name: peer.name, location: placeOf(config, ["peers", index]) }
    const isRoot = yield* (yield* SystemUsers).isRoot
    const connect = Config.peerSettings(config, peer, options.settings).timeouts.connect
    const value = yield* Pool.peerValue(config, { ...peer, rshCommand: batchCommand(config, peer, connect) }, isRoot, options.settings)
    if (value._tag !== "RemotePeer") return { reach: { ...at, reached: true }, exitCode: 0 }
    const limit = Duration.seconds(options.limit ?? connect * 2 + 5)
    return yield* (yield* RemotePeers).executeRemoteCommand(value, command).pipe(
      Effect.timeoutOrElse({ duration: limit, orElse: () => Effect.fail(`no answer within ${formatAfter(limit)}`) }),
      Effect.as({ reach: { ...at, reached: true } as PeerReach, exitCode: 0 as number | undefined }),
      Effect.catch((error) => {
        const reach = reachOf(at, error)
        const exitCode = typeof error === "object" && "exitCode" in error ? error.exitCode : undefined
        return Effect.succeed({ reach, exitCode })
      })
    )
  }).pipe(
    Effect.catch((error) =>
      Effect.succeed({
        reach: { name: peer.name, location: Config.locate(config, ["peers", index]), reached: false, cause: "invalid peer", detail: error.message },
        exitCode: undefined
      })
    )
  )

/**
 * Tries one batch-mode connection to every remote peer (its rsh command running `true`) and tells
 * for each whether it was reached, and if not why, in words and as ssh said it. Peers are tried
 * `poolConcurrency` at once. A peer that cannot be reached is a fact about the night, not a
 * configuration error: the CLI reports it per peer and exits 1.
 *
 * @since 1.0.0
 * @category operations
 */
export const reachPeers = (
  config: PoolConfig,
  options: ReachOptions = {}
): Effect.Effect<ReadonlyArray<PeerReach>, never, RemotePeers | SystemUsers | FileSystem.FileSystem> =>
  Effect.forEach(
    config.peers.flatMap((peer, i) => (peer.type === "remote" ? [[peer, i] as const] : [])),
    ([peer, i]) => Effect.map(probe(config, peer, i, "true", options), (result) => result.reach),
    { concurrency: Config.poolConcurrency(config) }
  )

/**
 * Why a remote peer was not staged, as far as a second look tells: its rsh command, in batch
 * mode, tests for the collect directory. Not reached: ssh's cause (`connection refused`,
 * `permission denied (publickey)`…), which scp hides under `-q`; reached: whether the collect
 * directory is there. Never fails.
 *
 * @since 1.0.0
 * @category operations
 */
export const diagnose = (
  config: PoolConfig,
  name: string,
  options: ReachOptions = {}
): Effect.Effect<PeerReach & { readonly collectDirFound?: boolean }, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const index = config.peers.findIndex((peer) => peer.name === name)
    const peer = config.peers[index]
    if (peer === undefined || peer.type !== "remote") return { name, location: "", reached: true }
    // a second look, after the run's own tries: one connect timeout and a little more
    const connect = Config.peerSettings(config, peer, options.settings).timeouts.connect
    const { reach, exitCode } = yield* probe(config, peer, index, `test -d ${quoteWord(peer.collectDir)}`, { limit: connect + 2, ...options })
    if (!reach.reached) return reach
    // `test -d` answers 0 or 1; anything else is the login shell's own trouble
    if (exitCode === 0) return { ...reach, cause: undefined, collectDirFound: true }
    if (exitCode === 1) return { ...reach, cause: `collect dir ${peer.collectDir} not found`, collectDirFound: false }
    return reach
  })

/**
 * Tries one batch-mode connection to every remote peer (its rsh command running `true`, with
 * `-o BatchMode=yes -o ConnectTimeout=…` added for ssh) and returns a located problem for each
 * peer that cannot be reached, with the reason ssh gave. Peers are tried `poolConcurrency` at once.
 *
 * @since 0.2.0
 * @category operations
 */
export const reach = (config: PoolConfig): Effect.Effect<ReadonlyArray<string>, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const remotePeers = yield* RemotePeers
    const isRoot = yield* (yield* SystemUsers).isRoot
    const remote = config.peers.flatMap((peer, i) => (peer.type === "remote" ? [[peer, i] as const] : []))
    const results = yield* Effect.forEach(
      remote,
      ([peer, i]) =>
        Effect.gen(function*() {
          const connect = Config.peerSettings(config, peer).timeouts.connect
          const probe: PeerConfig = { ...peer, rshCommand: batchCommand(config, peer, connect) }
          const value = yield* Pool.peerValue(config, probe, isRoot)
          if (value._tag !== "RemotePeer") return undefined
          const limit = Duration.seconds(connect * 2 + 5)
          const at = Config.locate(config, ["peers", i])
          return yield* remotePeers.executeRemoteCommand(value, "true").pipe(
            Effect.timeoutOrElse({ duration: limit, orElse: () => Effect.fail(`no answer within ${formatAfter(limit)}`) }),
            Effect.as(undefined),
            Effect.catch((error) =>
              Effect.succeed(
                typeof error === "string"
                  ? `${at}: cannot reach ${peer.name}: ${error}`
                  : error._tag !== "RemoteCommandFailed"
                  ? `${at}: ${error.message}`
                  : error.exitCode === undefined || error.exitCode === 255
                  // 255: ssh's own failure (refused, timed out, authentication): the peer was not reached
                  ? `${at}: cannot reach ${peer.name}: ${lastLine(error.stderr) || "the rsh command could not run"}`
                  : `${at}: ${peer.name}: the rsh command running \`true\` there exited with status ${error.exitCode}` +
                    (lastLine(error.stderr) === "" ? "" : `: ${lastLine(error.stderr)}`)
              )
            )
          )
        }).pipe(Effect.catch((error) => Effect.succeed(`${Config.locate(config, ["peers", i])}: ${error.message}`))),
      { concurrency: Config.poolConcurrency(config) }
    )
    return results.filter((problem) => problem !== undefined)
  })

const NO_LOGIN = /(^|\/)(nologin|false)$/

// Whether uid (with its primary gid, or the backup group) may write a directory of this mode and
// owner; supplementary groups are not looked at.
const writableBy = (info: FileSystem.File.Info, uid: number, gids: ReadonlyArray<number>): boolean => {
  if (uid === 0) return true
  const owner = Option.getOrUndefined(info.uid)
  const group = Option.getOrUndefined(info.gid)
  if (owner === uid) return (info.mode & 0o200) !== 0
  if (group !== undefined && gids.includes(group)) return (info.mode & 0o020) !== 0
  return (info.mode & 0o002) !== 0
}

/**
 * Settings cedar-peer works with but under which going back to `cback3` would fail silently, each
 * as `location: warning`: a working dir the backup user cannot write (cback3 writes there as that
 * user), a backup user without a login shell (cback3 runs commands as it through `su -c`).
 * Never fails; empty when there is nothing to say.
 *
 * @since 1.0.0
 * @category operations
 */
export const warnings = (config: PoolConfig): Effect.Effect<ReadonlyArray<string>, never, FileSystem.FileSystem | SystemUsers> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const users = yield* SystemUsers
    const user = yield* users.lookupUser(config.options.backupUser)
    if (Option.isNone(user)) return [] // an error already
    const found: Array<string> = []
    const shell = user.value.shell
    if (shell !== undefined && NO_LOGIN.test(shell)) {
      found.push(
        `${Config.locate(config, ["options", "backupUser"])}: ${config.options.backupUser} has no login shell (${shell}): ` +
          "cedar-peer runs commands as it without a shell, but cback3 uses `su -c`, which would fail"
      )
    }
    const group = Option.getOrUndefined(yield* users.lookupGroup(config.options.backupGroup))
    const info = yield* Effect.option(fs.stat(config.options.workingDir))
    if (Option.isSome(info) && info.value.type === "Directory") {
      const gids = [user.value.gid, ...(group === undefined ? [] : [group])]
      if (!writableBy(info.value, user.value.uid, gids)) {
        found.push(
          `${Config.locate(config, ["options", "workingDir"])}: ${config.options.workingDir} is not writable by the backup user ` +
            `${config.options.backupUser}: cedar-peer does not need it to be, but cback3 would fail there`
        )
      }
    }
    return found
  })

/**
 * `cedar-peer validate`: the environment checks, plus `reach` when asked; fails with one
 * `ConfigError` listing every problem.
 *
 * @since 0.2.0
 * @category operations
 */
export const validate = (
  config: PoolConfig,
  options: ValidateOptions = {}
): Effect.Effect<void, ConfigError, FileSystem.FileSystem | SystemUsers | RemotePeers> =>
  Effect.gen(function*() {
    const problems = [...(yield* environment(config, options)), ...(options.reach ? yield* reach(config) : [])]
    if (problems.length > 0) return yield* new ConfigError({ path: config.source, problems })
  })

/**
 * Fails with a `ConfigError` unless the staging directory exists and is a directory: the stage
 * never creates it, so that a mistyped `staging_dir` stops the run instead of filling a new tree.
 *
 * @since 0.2.0
 * @category operations
 */
export const requireStagingDir = (config: PoolConfig): Effect.Effect<void, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.result(fs.stat(config.stagingDir))
    const problem = info._tag === "Failure"
      ? isNotFound(info.failure)
        ? `${config.stagingDir} does not exist (the stage does not create the staging directory: create it, or correct the path)`
        : `${config.stagingDir} ${describeError(info.failure)}`
      : info.success.type !== "Directory"
      ? `${config.stagingDir} is not a directory`
      : undefined
    if (problem !== undefined) {
      return yield* new ConfigError({ path: config.source, problems: [`${Config.locate(config, ["stage", "stagingDir"])}: ${problem}`] })
    }
  })

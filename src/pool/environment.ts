/**
 * Whether a decoded pool can run on this machine, as `cback3 validate` checks Cedar Backup's
 * configuration: the backup user and group exist, the working and staging directories exist and
 * are usable, each local peer's collect directory exists, the rcp/rsh programs the remote peers
 * will run exist and are executable, and the peers' names can name their directories.
 *
 * @since 1.0.0
 */
import { Effect, FileSystem, Option } from "effect"
import type { PlatformError } from "effect/PlatformError"
import * as Config from "../config/Config.js"
import type { PoolConfig } from "../config/Config.js"
import { splitWords } from "../domain/shellWords.js"
import { DEF_RCP_COMMAND, DEF_RSH_COMMAND, peerDirectoryNameProblem, remotePeerNameProblem } from "../domain/Peer.js"
import { ConfigError } from "../domain/PeerError.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { placeOf } from "../config/place.js"

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

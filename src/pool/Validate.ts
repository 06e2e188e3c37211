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
import { Effect } from "effect"
import type { FileSystem } from "effect"
import type { PoolConfig } from "../config/Config.js"
import { ConfigError } from "../domain/PeerError.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import type { SystemUsers } from "../peers/SystemUsers.js"
import { environment, type EnvironmentOptions } from "./environment.js"
import { reach } from "./reach.js"

export {
  environment,
  type EnvironmentOptions,
  peerNames,
  requirePeerNames,
  requireStagingDir
} from "./environment.js"
export { diagnose, type PeerReach, reach, reachPeers, type ReachOptions } from "./reach.js"
export { warnings } from "./warnings.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface ValidateOptions extends EnvironmentOptions {
  /** also try a batch-mode connection to every remote peer (`validate --reach`) */
  readonly reach?: boolean | undefined
}

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

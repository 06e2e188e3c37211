/**
 * The settings a peer is staged with, resolved from the configuration: its peer value with its
 * connection settings, the run's override over the peer's and the options' values.
 *
 * @since 1.0.0
 */
import type { Effect } from "effect"
import * as Config from "../config/Config.js"
import type { PeerConfig, PoolConfig } from "../config/Config.js"
import type { InvalidPeerConfig } from "../domain/PeerError.js"
import type { AnyPeer } from "../peers/anyPeer.js"
import { make as makeLocalPeer } from "../peers/LocalPeer.js"
import { make as makeRemotePeer } from "../peers/RemotePeer.js"

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
  override?: SettingsOverride
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
    ...remoteSettings(config, peer, override),
    // the run's transport, else the peer's own, else the pool's, else scp
    transport: Config.peerSettings(config, peer, override).transport
  })
}

// The connection settings a remote peer's configuration sets (the peer's value over the
// options', field by field, as `Config.peerSettings` resolves them). Only what is configured is
// carried: the rest keeps the library defaults (`RemoteTimeouts`, `RemoteRetries`).
// A run's override (the CLI's `--timeout`) wins over both.
const remoteSettings = (config: PoolConfig, peer: PeerConfig, override: SettingsOverride | undefined) => {
  const options = config.options
  const timeouts = { ...options.timeouts, ...definedOnly(peer.timeouts ?? {}), ...definedOnly(override?.timeouts ?? {}) }
  const retries = { ...options.retries, ...definedOnly(peer.retries ?? {}), ...definedOnly(override?.retries ?? {}) }
  const connectionSharing = peer.type === "remote"
    ? override?.connectionSharing ?? peer.connectionSharing ?? options.connectionSharing
    : undefined
  return {
    ...(Object.keys(timeouts).length === 0 ? {} : { timeouts }),
    ...(Object.keys(retries).length === 0 ? {} : { retries }),
    ...(connectionSharing === undefined ? {} : { connectionSharing })
  }
}

const definedOnly = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>

/**
 * The names of the per-operation timeouts a peer may set (seconds).
 *
 * @since 0.2.0
 * @category constants
 */
export const TIMEOUT_NAMES = ["connect", "stall", "indicator", "stage", "command", "managedAction"] as const

/**
 * @since 0.2.0
 * @category models
 */
export type TimeoutName = typeof TIMEOUT_NAMES[number]

/**
 * Per-peer settings a run may override for every peer (the CLI's `--max-files`, `--max-bytes`,
 * `--timeout`, `--verify`); what is not given comes from the configuration.
 *
 * @since 0.2.0
 * @category models
 */
export type SettingsOverride = Config.SettingsOverrides

/**
 * The settings one peer is staged with: the override, else the peer's, else the options', else
 * the defaults.
 *
 * @since 0.2.0
 * @category constructors
 */
export const peerSettings = (config: PoolConfig, peer: PeerConfig, override?: SettingsOverride): Config.PeerSettings =>
  Config.peerSettings(config, peer, override)

/**
 * A configured peer as a peer value, with the connection settings its configuration (and the
 * run's override) sets, resolved as every setting is (`Config.peerSettings`).
 *
 * @since 1.0.0
 */
import type { Effect } from "effect"
import type { PeerConfig, PoolConfig } from "../config/Config.js"
import { peerSettings } from "../config/Config.js"
import { mergeSettings, type SettingsOverrides } from "../domain/Settings.js"
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
  override?: SettingsOverrides
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
    ...remoteSettings(mergeSettings([override, peer, options])),
    // the run's transport, else the peer's own, else the pool's, else the default
    transport: peerSettings(config, peer, override).transport
  })
}

// Only what is configured (or overridden) is carried onto the peer value: the rest keeps the
// library-wide defaults (`RemoteTimeouts`, `RemoteRetries`), which a program may replace.
const remoteSettings = ({ connectionSharing, retries, timeouts }: SettingsOverrides) => ({
  ...(timeouts === undefined ? {} : { timeouts }),
  ...(retries === undefined ? {} : { retries }),
  ...(connectionSharing === undefined ? {} : { connectionSharing })
})

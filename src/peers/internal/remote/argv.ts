// The argv of every command run for a remote peer: pure functions of the peer value (and of the
// connection options in force), so tests and the injection suite can check exactly what would be
// spawned.
import { commandArgv, DEF_CBACK_COMMAND, DEF_RCP_COMMAND, DEF_RSH_COMMAND } from "../../../domain/Peer.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { ScpProtocol } from "../remotePath.js"
import { encodeDownloadSource, encodeUploadTarget, scpRemotePrefix, sshDestination, trimTrailingSlashes } from "../remotePath.js"
import type { ConnectionOptions } from "./sshOptions.js"
import { openSshKind, withConnection } from "./sshOptions.js"

export const rcpArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rcpCommand === undefined ? DEF_RCP_COMMAND : commandArgv(peer.rcpCommand)

export const rshArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rshCommand === undefined ? DEF_RSH_COMMAND : commandArgv(peer.rshCommand)

const rcp = (peer: RemotePeer, connection: ConnectionOptions | undefined) =>
  connection === undefined ? rcpArgv(peer) : withConnection(rcpArgv(peer), connection)

const rsh = (peer: RemotePeer, connection: ConnectionOptions | undefined) =>
  connection === undefined ? rshArgv(peer) : withConnection(rshArgv(peer), connection)

export const remoteCommandArgv = (
  peer: RemotePeer,
  command: string,
  connection?: ConnectionOptions
): ReadonlyArray<string> => [
  ...rsh(peer, connection),
  "--",
  sshDestination(peer.remoteUser, peer.name),
  command
]

export const stageArgv = (peer: RemotePeer, localDir: string, connection?: ConnectionOptions): ReadonlyArray<string> => [
  ...rcp(peer, connection),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(trimTrailingSlashes(peer.collectDir))}/*`,
  localDir
]

export const fetchArgv = (
  peer: RemotePeer,
  name: string,
  localFile: string,
  connection?: ConnectionOptions
): ReadonlyArray<string> => [
  ...rcp(peer, connection),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(`${trimTrailingSlashes(peer.collectDir)}/${name}`)}`,
  localFile
]

export const pushArgv = (
  peer: RemotePeer,
  localFile: string,
  name: string,
  protocol: ScpProtocol,
  connection?: ConnectionOptions
): ReadonlyArray<string> => [
  ...rcp(peer, connection),
  "--",
  localFile,
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${
    encodeUploadTarget(`${trimTrailingSlashes(peer.collectDir)}/${name}`, protocol)
  }`
]

/** The argv that tells a peer's shared connection (its control socket at `socket`) to close. */
export const closeConnectionArgv = (peer: RemotePeer, socket: string): ReadonlyArray<string> => [
  ...controlProgram(peer),
  "-o",
  `ControlPath=${socket}`,
  "-O",
  "exit",
  "--",
  sshDestination(peer.remoteUser, peer.name)
]

// The ssh that can talk to a control socket: the rsh command when it is ssh, else the ssh beside
// the configured scp (scp itself has no `-O`).
const controlProgram = (peer: RemotePeer): ReadonlyArray<string> => {
  const rshProgram = rshArgv(peer)[0] ?? ""
  if (openSshKind(rshProgram) === "ssh") return [rshProgram]
  const rcpProgram = rcpArgv(peer)[0] ?? ""
  const slash = rcpProgram.lastIndexOf("/")
  return [slash >= 0 ? `${rcpProgram.slice(0, slash)}/ssh` : "ssh"]
}

export const buildCbackCommand = (cbackCommand: string | undefined, action: string, fullBackup: boolean): string =>
  `${cbackCommand ?? DEF_CBACK_COMMAND}${fullBackup ? " --full" : ""} ${action}`

// The argv of every command run for a remote peer: pure functions of the peer value, so tests and
// the injection suite can check exactly what would be spawned.
import { commandArgv, DEF_CBACK_COMMAND, DEF_RCP_COMMAND, DEF_RSH_COMMAND } from "../../Peer.js"
import type { RemotePeer } from "../../RemotePeer.js"
import type { ScpProtocol } from "../remotePath.js"
import { encodeDownloadSource, encodeUploadTarget, scpRemotePrefix, sshDestination, trimTrailingSlashes } from "../remotePath.js"

export const rcpArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rcpCommand === undefined ? DEF_RCP_COMMAND : commandArgv(peer.rcpCommand)

export const rshArgv = (peer: RemotePeer): ReadonlyArray<string> =>
  peer.rshCommand === undefined ? DEF_RSH_COMMAND : commandArgv(peer.rshCommand)

export const remoteCommandArgv = (peer: RemotePeer, command: string): ReadonlyArray<string> => [
  ...rshArgv(peer),
  "--",
  sshDestination(peer.remoteUser, peer.name),
  command
]

export const stageArgv = (peer: RemotePeer, localDir: string): ReadonlyArray<string> => [
  ...rcpArgv(peer),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(trimTrailingSlashes(peer.collectDir))}/*`,
  localDir
]

export const fetchArgv = (peer: RemotePeer, name: string, localFile: string): ReadonlyArray<string> => [
  ...rcpArgv(peer),
  "--",
  `${scpRemotePrefix(peer.remoteUser, peer.name)}${encodeDownloadSource(`${trimTrailingSlashes(peer.collectDir)}/${name}`)}`,
  localFile
]

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

export const buildCbackCommand = (cbackCommand: string | undefined, action: string, fullBackup: boolean): string =>
  `${cbackCommand ?? DEF_CBACK_COMMAND}${fullBackup ? " --full" : ""} ${action}`

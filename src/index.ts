/**
 * cedar-peer: the peer layer of Cedar Backup on Effect 4.
 *
 * @since 0.1.0
 */
export * as Config from "./Config.js"
export * as LocalPeer from "./LocalPeer.js"
export * as Manifest from "./Manifest.js"
export * as NodeStagingDisk from "./NodeStagingDisk.js"
export * as Peer from "./Peer.js"
export * as PeerError from "./PeerError.js"
export * as Pool from "./Pool.js"
export * as RemotePeer from "./RemotePeer.js"
export * as RunLock from "./RunLock.js"
export * as StagingDisk from "./StagingDisk.js"
export * as SystemUsers from "./SystemUsers.js"
export * as Validate from "./Validate.js"

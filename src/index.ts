/**
 * cedar-peer: the peer layer of Cedar Backup on Effect 4.
 *
 * @since 0.1.0
 */
export * as Config from "./config/Config.js"
export * as LocalPeer from "./peers/LocalPeer.js"
export * as Manifest from "./pool/Manifest.js"
export * as NodeStagingDisk from "./disk/NodeStagingDisk.js"
export * as Peer from "./domain/Peer.js"
export * as PeerError from "./domain/PeerError.js"
export * as Pool from "./pool/Pool.js"
export * as RemotePeer from "./peers/RemotePeer.js"
export * as RunLock from "./pool/RunLock.js"
export * as StagingDisk from "./disk/StagingDisk.js"
export * as SystemUsers from "./peers/SystemUsers.js"
export * as Validate from "./pool/Validate.js"

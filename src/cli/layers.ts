// The library's services as the bin runs them on this machine. Loaded only when a command runs:
// `--version`, `--help` and `--completions` never build them (nor evaluate the modules behind them).
import { Layer } from "effect"
import * as NodeStagingDisk from "../disk/NodeStagingDisk.js"
import { LocalPeers } from "../peers/LocalPeer.js"
import { RemotePeers } from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import * as RunLock from "../pool/RunLock.js"

/**
 * Local and remote peers, the run lock, system users and the staging disk, on Node.
 *
 * @since 1.0.0
 * @category layers
 */
export const LibraryLayer = Layer.mergeAll(LocalPeers.layer, RemotePeers.layer, RunLock.layer).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer)
)

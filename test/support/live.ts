// The real remote-peer stack the ssh tests run on: real scp/ssh, real disk, real "am I root".
import { NodeServices } from "@effect/platform-node"
import { Layer, References } from "effect"
import * as RemotePeer from "../../src/peers/RemotePeer.js"
import * as NodeStagingDisk from "../../src/disk/NodeStagingDisk.js"
import * as SystemUsers from "../../src/peers/SystemUsers.js"

// Retries stay on (the default count) but start after 50 ms: an unreachable peer costs the suite
// milliseconds, not the 15 s of the production delays.
export const FastRetries = Layer.succeed(RemotePeer.RemoteRetries, { count: 2, baseDelay: "50 millis" })

export const RemotePeersLive = Layer.merge(RemotePeer.RemotePeers.layer, FastRetries).pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeServices.layer),
  // the expected failures log warnings (peer not ready, …): keep the test output readable
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error"))
)

/** `it.layer` options: real clock and services, not the TestServices of `it.effect`. */
export const real = { excludeTestServices: true } as const

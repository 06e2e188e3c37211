import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { LocalPeer, NodeStagingDisk, RemotePeer, SystemUsers } from "../../src/index.js"

const program = Effect.gen(function*() {
  const alpha = yield* LocalPeer.make({ name: "alpha", collectDir: "/srv/alpha/collect" })
  const local = yield* LocalPeer.LocalPeers
  if (yield* local.checkCollectIndicator(alpha)) {
    const report = yield* local.stagePeer(alpha, "/opt/backup/stage/alpha", { permissions: 0o640 })
    yield* Effect.log(`staged ${report.count} files, ${report.bytes} bytes`)
    yield* local.writeStageIndicator(alpha)
  }
}).pipe(
  // every error is typed: InvalidPeerConfig | InvalidPath | UnsupportedEntry | NothingStaged | CopyFailed | FileOperationFailed
  Effect.catchTag("UnsupportedEntry", (e) => Effect.logWarning(e.message))
)

const MainLayer = Layer.mergeAll(LocalPeer.LocalPeers.Default, RemotePeer.RemotePeers.Default).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeContext.layer)
)

// runMain: Ctrl-C interrupts the program, so a half-done stage is cleaned up; a failure is logged and exits 1
NodeRuntime.runMain(program.pipe(Effect.provide(MainLayer)))

import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, FileSystem, Layer } from "effect"
import { LocalPeer, NodeStagingDisk, PeerError, RemotePeer, SystemUsers } from "cedar-peer"

const target = "/opt/backup/stage/alpha"

const program = Effect.gen(function*() {
  const alpha = yield* LocalPeer.make({ name: "alpha", collectDir: "/srv/alpha/collect" })
  const local = yield* LocalPeer.LocalPeers
  // not ready (no collect directory, or no cback.collect in it yet): say why, touch nothing
  const ready = yield* local.collectIndicatorStatus(alpha)
  if (ready.status !== "ready") {
    return yield* Effect.log(`peer alpha not staged: ${ready.reason ?? ready.status} (${alpha.collectDir})`)
  }
  // the target directory must exist: make it, failing with cedar-peer's own error if we cannot
  yield* (yield* FileSystem.FileSystem).makeDirectory(target, { recursive: true }).pipe(
    Effect.mapError((cause) => new PeerError.FileOperationFailed({ peer: "alpha", operation: "makeDirectory", path: target, cause }))
  )
  const report = yield* local.stagePeer(alpha, target, { permissions: 0o640 })
  yield* Effect.log(`staged ${report.count} files, ${report.bytes} bytes`)
  yield* local.writeStageIndicator(alpha)
}).pipe(
  // every error is typed: InvalidPeerConfig | CheckError | FileOperationFailed | LocalStagePeerError | LocalWriteIndicatorError
  Effect.catchTag("UnsupportedEntry", (e) => Effect.logWarning(e.message))
)

const MainLayer = Layer.mergeAll(LocalPeer.LocalPeers.layer, RemotePeer.RemotePeers.layer).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeServices.layer)
)

// runMain: Ctrl-C interrupts the program, so a half-done stage is cleaned up; a failure is logged and exits 1
NodeRuntime.runMain(program.pipe(Effect.provide(MainLayer)))

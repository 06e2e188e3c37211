#!/usr/bin/env node
// The cedar-peer bin: the only place that picks the Node layers and turns the outcome into an exit status.
// Deep imports: the index modules would pull in every platform module (HTTP client, workers…)
// that the bundle would then have to load at start-up.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Exit, Layer, Logger } from "effect"
import { LocalPeers } from "../LocalPeer.js"
import * as NodeStagingDisk from "../NodeStagingDisk.js"
import { RemotePeers } from "../RemotePeer.js"
import * as SystemUsers from "../SystemUsers.js"
import { run } from "./commands.js"
import { exitStatusOf, logLevelFrom, printFailure, stderrLogger } from "./report.js"

const MainLayer = Layer.mergeAll(LocalPeers.Default, RemotePeers.Default).pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeContext.layer),
  Layer.provideMerge(Logger.replace(Logger.defaultLogger, stderrLogger))
)

const json = process.argv.includes("--json")

run(process.argv).pipe(
  Effect.tapErrorCause((cause) => printFailure(cause, json)),
  Logger.withMinimumLogLevel(logLevelFrom(process.env.CEDAR_PEER_LOG)),
  Effect.provide(MainLayer),
  (program) =>
    NodeRuntime.runMain(program, {
      disableErrorReporting: true,
      disablePrettyLogger: true,
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) ? 0 : exitStatusOf(exit.cause))
    })
)

#!/usr/bin/env node
// The cedar-peer bin: the only place that picks the Node layers, handles signals and turns the
// outcome into an exit status.
// Deep imports: the index modules would pull in every platform module (HTTP client, workers…)
// that the bundle would then have to load at start-up.
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Cause, Deferred, Effect, Exit, FiberId, Layer, Logger } from "effect"
import { LocalPeers } from "../LocalPeer.js"
import * as NodeStagingDisk from "../NodeStagingDisk.js"
import { RemotePeers } from "../RemotePeer.js"
import * as RunLock from "../RunLock.js"
import * as SystemUsers from "../SystemUsers.js"
import { run } from "./commands.js"
import { exitStatusOf, logLevelFrom, printFailure, stderrLogger } from "./report.js"
import { RunControl } from "./runControl.js"

const MainLayer = Layer.mergeAll(LocalPeers.Default, RemotePeers.Default, RunLock.layer).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeContext.layer),
  Layer.provideMerge(Logger.replace(Logger.defaultLogger, stderrLogger))
)

const json = process.argv.includes("--json")

// The shell's convention: a process ended by signal N exits 128 + N.
const SIGNAL_STATUS = { SIGINT: 130, SIGTERM: 143 } as const
type Signal = keyof typeof SIGNAL_STATUS

let received: Signal | undefined
let graceful = 0
const stop = Deferred.unsafeMake<void>(FiberId.none)

const control = RunControl.of({
  stop: Deferred.await(stop),
  // While a command runs in here, a first signal only completes `stop`: the command winds down
  // and reports; the bin exits with the signal's status afterwards.
  graceful: (self) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        graceful++
      }),
      () => self,
      () =>
        Effect.sync(() => {
          graceful--
        })
    )
})

const program = run(process.argv).pipe(
  Effect.tapErrorCause((cause) => printFailure(cause, json)),
  Logger.withMinimumLogLevel(logLevelFrom(process.env.CEDAR_PEER_LOG)),
  Effect.provideService(RunControl, control),
  Effect.provide(MainLayer)
)

// Keeps the event loop alive while the program waits on something that does not (a Deferred).
const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
const fiber = Effect.runFork(program)

const onSignal = (signal: Signal) => () => {
  if (received === undefined) {
    received = signal
    Deferred.unsafeDone(stop, Exit.void)
    if (graceful > 0) return
  }
  // not in a graceful section, or a second signal: stop now (finalizers still run)
  fiber.unsafeInterruptAsFork(FiberId.none)
}
process.on("SIGINT", onSignal("SIGINT"))
process.on("SIGTERM", onSignal("SIGTERM"))

fiber.addObserver((exit) => {
  clearInterval(keepAlive)
  if (received !== undefined) {
    if (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)) {
      // an interrupted fiber runs no error handler of its own: report it here
      Effect.runSync(printFailure(exit.cause, json))
    } else {
      // the command wound down gracefully and printed its summary
      process.stderr.write(`error[Interrupted] stopped by ${received}: what was not done is reported interrupted; run the command again to finish\n`)
    }
    process.exit(SIGNAL_STATUS[received])
  }
  const status = Exit.isSuccess(exit) ? 0 : exitStatusOf(exit.cause)
  if (status !== 0) process.exit(status)
})

#!/usr/bin/env node
// The cedar-peer bin: the only place that picks the Node layers, handles signals and turns the
// outcome into an exit status.
// Deep imports: the index modules would pull in every platform module (HTTP client, workers…)
// that the bundle would then have to load at start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Logger, References } from "effect"
import { run } from "./commands.js"
import { lazily } from "./lazily.js"
import { exitStatusOf, logLevelFrom, printFailure, stderrLogger } from "./report.js"
import { RunControl, type RunControlShape } from "./runControl.js"

// The library's services are loaded and built only for a command that runs (see run).
const LibraryLayer = Layer.unwrap(lazily(() => import("./layers.js"), (layers) => Effect.succeed(layers.LibraryLayer)))

const MainLayer = NodeServices.layer.pipe(Layer.provideMerge(Logger.layer([stderrLogger])))

const json = process.argv.includes("--json")

// The shell's convention: a process ended by signal N exits 128 + N.
const SIGNAL_STATUS = { SIGINT: 130, SIGTERM: 143 } as const
type Signal = keyof typeof SIGNAL_STATUS

let received: Signal | undefined
let graceful = 0
const stop = Deferred.makeUnsafe<void>()

const control: RunControlShape = {
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
}

const program = run(process.argv, LibraryLayer).pipe(
  Effect.tapCause((cause) => printFailure(cause, json)),
  Effect.provideService(References.MinimumLogLevel, logLevelFrom(process.env.CEDAR_PEER_LOG)),
  Effect.provideService(RunControl, control),
  Effect.provide(MainLayer)
)

// The command runs in a fiber of its own, which the signal handlers below interrupt or not.
// NodeRuntime.runMain interrupts the main fiber on SIGINT and SIGTERM at once: the main fiber
// only waits for the command, uninterruptibly, and turns its end into the exit status.
let command: Fiber.Fiber<void, unknown> | undefined
let status = 1

const onSignal = (signal: Signal) => () => {
  if (received === undefined) {
    received = signal
    Deferred.doneUnsafe(stop, Exit.void)
    if (graceful > 0) return
  }
  // not in a graceful section, or a second signal: stop now (finalizers still run)
  command?.interruptUnsafe()
}
process.on("SIGINT", onSignal("SIGINT"))
process.on("SIGTERM", onSignal("SIGTERM"))

/** Two turns of the event loop: the second one polls, and runs the handlers of signals pending. */
const pendingSignals = Effect.promise(() => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))))

const main = Effect.gen(function*() {
  command = yield* Effect.forkDetach(program)
  // a signal that came before the command started stops it before it does anything
  if (received !== undefined) command.interruptUnsafe()
  const exit = yield* Fiber.await(command)
  const before = received
  // A signal that came while the command ran synchronously (e.g. its last renames) is only
  // handled once the event loop polls again: let it, so that the status still tells it.
  yield* pendingSignals
  if (received !== undefined) {
    if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
      // an interrupted fiber runs no error handler of its own: report it here
      yield* printFailure(exit.cause, json)
    } else if (before === undefined) {
      // the command had done all it does: what it printed is in place
      process.stderr.write(`error[Interrupted] stopped by ${received} as the command ended: what it reported is done\n`)
    } else {
      // the command wound down gracefully and printed its summary
      process.stderr.write(`error[Interrupted] stopped by ${received}: what was not done is reported interrupted; run the command again to finish\n`)
    }
    status = SIGNAL_STATUS[received]
  } else {
    status = Exit.isSuccess(exit) ? 0 : exitStatusOf(exit.cause)
  }
}).pipe(Effect.uninterruptible)

NodeRuntime.runMain(main, { disableErrorReporting: true, teardown: (_, onExit) => onExit(status) })

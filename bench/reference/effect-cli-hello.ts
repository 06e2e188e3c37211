// The smallest program built and started the way the cedar-peer bin is (one CommonJS bundle behind
// the same launcher and code cache): Effect, effect/cli and the Node platform layer, one command
// that prints a line. Its start-up is what Effect itself costs, the floor under cedar-peer's.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect } from "effect"
import { Command } from "effect/cli"

const hello = Command.make("hello", {}, () => Console.log("hello"))

Command.run(hello, { version: "1.0.0" }).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)

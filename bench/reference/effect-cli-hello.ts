// The smallest program built and started the way the cedar-peer bin is (one CommonJS bundle behind
// the same launcher and code cache): Effect, @effect/cli and the Node platform layer, one command
// that prints a line. Its start-up is what Effect itself costs, the floor under cedar-peer's.
import { Command } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"

const hello = Command.make("hello", {}, () => Console.log("hello"))

Command.run(hello, { name: "hello", version: "1.0.0" })(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)

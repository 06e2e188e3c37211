// `demo`: its options; what it does is in ../handlers/demo.ts, loaded when it runs.
import { Argument, Command } from "effect/cli"
import { ExitStatuses } from "../help.js"
import { lazily } from "../lazily.js"
import { json } from "./flags.js"

/**
 * The `demo` command: a demo pool built and staged.
 *
 * @since 1.0.0
 * @category commands
 */
export const demo = Command.make(
  "demo",
  { json, dir: Argument.String("DIR").pipe(Argument.optional, Argument.withDescription("where to build the demo pool (default: a new temp dir)")) },
  (opts) => lazily(() => import("../handlers/demo.js"), (run) => run.demo(opts))
).pipe(
  Command.withDescription("build a small demo pool of local peers (one not ready), write its config and stage it"),
  Command.annotate(ExitStatuses, [["0", "the demo pool is staged"], ["1", "staging it failed"], ["2", "usage error"]])
)

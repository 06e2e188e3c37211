// `action`: its options; what it does is in ../handlers/action.ts, loaded when it runs.
import { Argument, Command } from "effect/cli"
import { ExitStatuses, USAGE_STATUS } from "../help.js"
import { lazily } from "../lazily.js"
import { config, full, json, somePeers } from "./flags.js"

/**
 * The `action` command: a managed action on the managed remote peers.
 *
 * @since 1.0.0
 * @category commands
 */
export const action = Command.make(
  "action",
  { config, json, full, peers: somePeers, action: Argument.String("ACTION").pipe(Argument.withDescription("e.g. collect")) },
  (opts) => lazily(() => import("../handlers/action.js"), (run) => run.action(opts))
).pipe(
  Command.withDescription("run a managed action (cback3 ACTION) on the managed remote peers"),
  Command.annotate(ExitStatuses, [["0", "the action is done on every managed peer it ran on"], ["1", "it failed on a peer"], USAGE_STATUS])
)

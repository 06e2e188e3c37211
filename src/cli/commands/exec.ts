// `exec`: its options; what it does is in ../handlers/exec.ts, loaded when it runs.
import { Argument, Command } from "effect/cli"
import { ExitStatuses, USAGE_STATUS } from "../help.js"
import { lazily } from "../lazily.js"
import { config, json, onePeer } from "./flags.js"

/**
 * The `exec` command: a command on a remote peer.
 *
 * @since 1.0.0
 * @category commands
 */
export const exec = Command.make(
  "exec",
  {
    config,
    json,
    peer: onePeer,
    command: Argument.String("COMMAND").pipe(Argument.atLeast(1), Argument.withDescription("the remote shell command line"))
  },
  (opts) => lazily(() => import("../handlers/exec.js"), (run) => run.exec(opts))
).pipe(
  Command.withDescription("run a command on a remote peer through the rsh command"),
  Command.annotate(ExitStatuses, [["0", "the remote command exited 0"], ["1", "it exited otherwise, or could not run"], USAGE_STATUS])
)

// `validate`: its options; what it does is in ../handlers/validate.ts, loaded when it runs.
import { Command } from "effect/cli"
import { ExitStatuses } from "../help.js"
import { lazily } from "../lazily.js"
import { config, flag, json, limitFlags } from "./flags.js"

/**
 * The `validate` command: the configuration and this machine checked.
 *
 * @since 1.0.0
 * @category commands
 */
export const validate = Command.make(
  "validate",
  {
    config,
    json,
    syntaxOnly: flag("syntax-only", "only read and check the file; do not look at users, directories or programs"),
    reach: flag("reach", "also try a batch-mode connection to every remote peer (exit 1 when one cannot be reached)"),
    timeout: limitFlags.timeout
  },
  (opts) => lazily(() => import("../handlers/validate.js"), (run) => run.validate(opts))
).pipe(
  Command.withDescription(
    "check the staging sections of the configuration (options, peers, stage) and this machine (users, directories, programs), and print the pool; `cback3 validate` checks the rest of the file"
  ),
  Command.annotate(ExitStatuses, [
    ["0", "the file and this machine can run the stage (warnings do not count)"],
    ["1", "with --reach: a remote peer could not be reached"],
    ["2", "usage error, or problems in the file or on this machine, every one listed"]
  ])
)

// `verify`: its options; what it does is in ../handlers/verify.ts, loaded when it runs.
import { Argument, Command } from "effect/cli"
import { ExitStatuses } from "../help.js"
import { lazily } from "../lazily.js"
import { json } from "./flags.js"

/**
 * The `verify` command: a daily directory checked against its manifest.
 *
 * @since 1.0.0
 * @category commands
 */
export const verify = Command.make(
  "verify",
  { json, dailyDir: Argument.String("DAILY_DIR").pipe(Argument.withDescription("a daily staging directory with a cedar-peer.sha256 manifest")) },
  (opts) => lazily(() => import("../handlers/verify.js"), (run) => run.verify(opts))
).pipe(
  Command.withDescription("re-check the files of a daily directory against its cedar-peer.sha256 manifest (written by stage --verify)"),
  Command.annotate(ExitStatuses, [
    ["0", "every file matches the manifest"],
    ["1", "a file does not match or is missing, a manifest line cannot be read, or there is no manifest"],
    ["2", "usage error"]
  ])
)

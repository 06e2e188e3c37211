// `check`: its options; what it does is in ../handlers/check.ts, loaded when it runs.
import { Command } from "effect/cli"
import { DEF_COLLECT_INDICATOR } from "../../domain/Peer.js"
import { ExitStatuses, USAGE_STATUS } from "../help.js"
import { lazily } from "../lazily.js"
import { config, indicator, json, limitFlags, somePeers } from "./flags.js"

/**
 * The `check` command: which peers are ready.
 *
 * @since 1.0.0
 * @category commands
 */
export const check = Command.make(
  "check",
  { config, json, peers: somePeers, indicator: indicator(DEF_COLLECT_INDICATOR), timeout: limitFlags.timeout },
  (opts) => lazily(() => import("../handlers/check.js"), (run) => run.check(opts))
).pipe(
  Command.withDescription("tell which peers have written their collect indicator (stages nothing)"),
  Command.annotate(ExitStatuses, [
    ["0", "every peer has written its collect indicator (check stages nothing)"],
    ["1", "a peer is not ready or could not be reached"],
    USAGE_STATUS
  ])
)

// `write-indicator`: its options; what it does is in ../handlers/writeIndicator.ts, loaded when it runs.
import { Command } from "effect/cli"
import { DEF_STAGE_INDICATOR } from "../../domain/Peer.js"
import { ExitStatuses, USAGE_STATUS } from "../help.js"
import { lazily } from "../lazily.js"
import { config, indicator, json, onePeer } from "./flags.js"

/**
 * The `write-indicator` command: a peer's stage indicator.
 *
 * @since 1.0.0
 * @category commands
 */
export const writeIndicator = Command.make(
  "write-indicator",
  { config, json, peer: onePeer, indicator: indicator(DEF_STAGE_INDICATOR) },
  (opts) => lazily(() => import("../handlers/writeIndicator.js"), (run) => run.writeIndicator(opts))
).pipe(
  Command.withDescription("write a peer's stage indicator into its collect directory"),
  Command.annotate(ExitStatuses, [["0", "the indicator is written"], ["1", "it could not be written"], USAGE_STATUS])
)

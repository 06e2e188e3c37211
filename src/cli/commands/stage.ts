// `stage`: its options; what it does is in ../handlers/stage.ts, loaded when it runs.
import { Command, Flag } from "effect/cli"
import { ExitStatuses } from "../help.js"
import { lazily } from "../lazily.js"
import { concurrencyFlag, config, flag, full, json, limitFlags, somePeers } from "./flags.js"

/**
 * The `stage` command: every ready peer of the pool into today's daily directory.
 *
 * @since 1.0.0
 * @category commands
 */
export const stage = Command.make(
  "stage",
  {
    config,
    json,
    full,
    peers: somePeers,
    concurrency: concurrencyFlag,
    ...limitFlags,
    dryRun: flag("dry-run", "check every peer and print what would be staged, and into which daily directory; write nothing"),
    metricsFile: Flag.String("metrics-file").pipe(
      Flag.withMetavar("PATH"),
      Flag.optional,
      Flag.withDescription("write the run's outcome there for node_exporter's textfile collector (Prometheus text format, replaced atomically)")
    )
  },
  (opts) => lazily(() => import("../handlers/stage.js"), (run) => run.stage(opts))
).pipe(
  Command.withDescription("stage every ready peer of the pool into today's staging directory (Cedar's stage action)"),
  Command.annotate(ExitStatuses, [
    ["0", "every peer staged, or its failure ignored (with --dry-run: every peer ready or ignored)"],
    ["1", "a peer failed, was not ready or was not reached, and its failures are not ignored; or another run holds the lock"],
    ["2", "usage or configuration error, or a missing staging dir"]
  ])
)

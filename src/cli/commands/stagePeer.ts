// `stage-peer`: its options; what it does is in ../handlers/stagePeer.ts, loaded when it runs.
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { ExitStatuses, USAGE_STATUS } from "../help.js"
import { lazily } from "../lazily.js"
import { config, flag, invalid, json, limitFlags, onePeer } from "./flags.js"

/** `USER:GROUP` as typed: names or numbers, resolved on this machine when the command runs. */
const owner = Flag.String("owner").pipe(
  Flag.withMetavar("USER:GROUP"),
  Flag.mapEffect((value) => {
    const match = value.match(/^([^:\s]+):([^:\s]+)$/)
    return match ? Effect.succeed({ user: match[1]!, group: match[2]! }) : Effect.fail(invalid(`--owner must be USER:GROUP (names or numbers), got ${JSON.stringify(value)}`))
  }),
  Flag.optional,
  Flag.withDescription("chown staged files to this user and group, e.g. backup:backup or 34:34")
)
const mode = Flag.String("mode").pipe(
  Flag.withMetavar("OCTAL"),
  Flag.mapEffect((value) =>
    /^0?[0-7]{3,4}$/.test(value) ? Effect.succeed(parseInt(value, 8)) : Effect.fail(invalid(`--mode must be octal permissions like 640, got ${JSON.stringify(value)}`))
  ),
  Flag.optional,
  Flag.withDescription("chmod staged files to these octal permissions, e.g. 640")
)

/**
 * The `stage-peer` command: one peer into a directory.
 *
 * @since 1.0.0
 * @category commands
 */
export const stagePeer = Command.make(
  "stage-peer",
  {
    config,
    json,
    peer: onePeer,
    target: Flag.String("target").pipe(
      Flag.withMetavar("DIR"),
      Flag.withDescription("the directory to stage into (must exist; relative to the current directory)")
    ),
    owner,
    mode,
    skipUnsupported: flag("skip-unsupported", "local peers: stage the regular files and report other entries instead of failing"),
    ...limitFlags
  },
  (opts) => lazily(() => import("../handlers/stagePeer.js"), (run) => run.stagePeer(opts))
).pipe(
  Command.withDescription("stage one peer into a directory"),
  Command.annotate(ExitStatuses, [
    ["0", "the peer's files are staged (also when it was not ready: a warning says so)"],
    ["1", "the copy failed, or a limit was passed; nothing of the peer is left in the target"],
    USAGE_STATUS
  ])
)

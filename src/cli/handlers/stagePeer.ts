// `stage-peer`: one peer into a directory, with the ownership and permissions asked for.
import { Effect, Option, Path } from "effect"
import * as Config from "../../config/Config.js"
import { DEF_COLLECT_INDICATOR } from "../../domain/Peer.js"
import { SystemUsers } from "../../peers/SystemUsers.js"
import * as Pool from "../../pool/Pool.js"
import { formatBytes } from "../progress.js"
import { render } from "../render.js"
import { UsageError } from "../report.js"
import { type LimitOptions, runControl, settingsOf, stopBeforeLanding } from "../runControl.js"

/** `--owner` as typed: names or numbers. */
interface OwnerOption {
  readonly user: string
  readonly group: string
}

/** Resolves `--owner` names to ids (numbers pass as they are); an unknown name is a usage error naming the flag. */
const resolveOwner = (value: OwnerOption) =>
  Effect.gen(function*() {
    const users = yield* SystemUsers
    const numeric = (text: string) => (/^\d+$/.test(text) ? Number(text) : undefined)
    const uid = numeric(value.user) ?? Option.getOrUndefined(yield* users.lookupUser(value.user))?.uid
    const gid = numeric(value.group) ?? Option.getOrUndefined(yield* users.lookupGroup(value.group))
    if (uid === undefined) return yield* new UsageError({ message: `--owner: no such user on this machine: ${value.user}`, command: "stage-peer" })
    if (gid === undefined) return yield* new UsageError({ message: `--owner: no such group on this machine: ${value.group}`, command: "stage-peer" })
    return { uid, gid }
  })

const STOPPED_WHILE_LANDING = "stopped while its files were moved into place: that step was let finish, all of them are there"

/**
 * The options of `stage-peer`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface StagePeerOptions extends LimitOptions {
  readonly config: string
  readonly json: boolean
  readonly peer: string
  readonly target: string
  readonly owner: Option.Option<OwnerOption>
  readonly mode: Option.Option<number>
  readonly skipUnsupported: boolean
}

/**
 * Runs `stage-peer`.
 *
 * @since 1.0.0
 * @category commands
 */
export const stagePeer = (opts: StagePeerOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const target = (yield* Path.Path).resolve(opts.target)
    const ownership = Option.isSome(opts.owner) ? yield* resolveOwner(opts.owner.value) : undefined
    // a signal stops the peer, unless its files are already being moved into place
    const { value: { peer, ready, report }, stopped } = yield* stopBeforeLanding(
      yield* runControl,
      (onProgress) =>
        Pool.stageConfiguredPeer(pool, opts.peer, target, {
          ownership,
          permissions: Option.getOrUndefined(opts.mode),
          skipUnsupported: opts.skipUnsupported,
          settings: settingsOf(opts),
          // only to learn when the files start to land
          onProgress,
          copyProgress: false
        })
    )
    const skipped = report.skipped.map((s) => `${s.name} (${s.kind})`).join(", ")
    yield* render(
      opts.json,
      true,
      {
        ok: true,
        peer,
        ready,
        targetDir: target,
        count: report.count,
        bytes: report.bytes,
        // the text shows no names: a million of them are made only for a document that prints them
        files: opts.json ? report.files : [],
        ...(report.skipped.length > 0 ? { skipped: report.skipped } : {}),
        ...(stopped ? { interrupted: true, reason: STOPPED_WHILE_LANDING } : {})
      },
      `staged ${report.count} file(s), ${formatBytes(report.bytes)} from peer ${peer} into ${target}` +
        (ready ? "" : ` (peer not ready: no ${DEF_COLLECT_INDICATOR})`) +
        (skipped ? `\nskipped: ${skipped}` : "") +
        (stopped ? `\n${STOPPED_WHILE_LANDING}` : "")
    )
  }).pipe(Effect.scoped)

/**
 * What a stage run would do, from the same checks, writing nothing (`stage --dry-run`): the daily
 * directory it would stage into, and for each peer whether it is ready, whether its failure would
 * be ignored, and (a local peer) how many files and bytes it would copy.
 *
 * @since 1.0.0
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { PoolConfig } from "../config/Config.js"
import type { IndicatorStatus } from "../domain/Peer.js"
import { showName } from "../domain/names.js"
import { EntryKind } from "../domain/stage.js"
import { type CheckError, type InvalidPeerConfig, UnsupportedEntry } from "../domain/PeerError.js"
import { StagingDisk } from "../disk/StagingDisk.js"
import type { LocalPeers } from "../peers/LocalPeer.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import type { SystemUsers } from "../peers/SystemUsers.js"
import { check } from "./check.js"
import { dailyDir, isFailureIgnored, selectPeers } from "./resolve.js"

/**
 * One peer as a stage run would find it.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerPlan {
  readonly name: string
  readonly type: "local" | "remote"
  readonly ready: boolean
  readonly status: IndicatorStatus["status"]
  /** whether its failure (or not being ready) would be ignored by its failure mode */
  readonly ignored: boolean
  readonly reason?: string
  /** a ready local peer: the regular files of its collect directory, and their bytes */
  readonly files?: number
  readonly bytes?: number
  /** a ready local peer whose collect directory holds what a stage refuses: the error it would fail with */
  readonly error?: { readonly _tag: string; readonly message: string }
}

/**
 * What a stage run would do; `ok` when every peer is ready or its failure ignored.
 *
 * @since 1.0.0
 * @category models
 */
export interface StagePlan {
  readonly dailyDir: string
  readonly full: boolean
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerPlan>
}

// as the local stage names an entry it refuses
const isEntryKind = Schema.is(EntryKind)
const entryKindOf = (type: string): EntryKind => (isEntryKind(type) ? type : "Unknown")

/**
 * Regular files and their bytes in a local collect directory (what a stage would copy), listed as
 * the stage lists it: nothing followed (a link to a file is not a file), names packed (a collect
 * dir can hold a million files). Entries that are not regular files make the stage fail the peer
 * naming them, and so does the plan.
 */
const countFiles = (peer: { readonly name: string; readonly collectDir: string }) =>
  Effect.scoped(Effect.gen(function*() {
    const disk = yield* StagingDisk
    const listing = yield* disk.listFiles(yield* disk.openDirectory(peer.collectDir), { sizes: true })
    const counts = { files: listing.files.length, bytes: listing.bytes }
    if (listing.others.length === 0) return counts
    const error = new UnsupportedEntry({
      peer: peer.name,
      collectDir: peer.collectDir,
      entries: listing.others.map((e) => ({ name: showName(e.name), kind: entryKindOf(e.type) }))
    })
    return { ...counts, error: { _tag: error._tag, message: error.message } }
  }))

/**
 * What a stage run now would do (`stage --dry-run`), writing nothing: each selected peer's
 * collect indicator checked as `check` does, its failure mode applied as the run would, and a
 * ready local peer's files counted (a remote peer's are not known without copying them).
 *
 * @since 1.0.0
 * @category operations
 */
export const planStage = (
  config: PoolConfig,
  options: { readonly full?: boolean | undefined; readonly peers?: ReadonlyArray<string> | undefined } = {}
): Effect.Effect<StagePlan, InvalidPeerConfig | CheckError, LocalPeers | RemotePeers | SystemUsers | StagingDisk> =>
  Effect.gen(function*() {
    const full = options.full ?? false
    const now = new Date(yield* Clock.currentTimeMillis)
    const selected = yield* selectPeers(config, options.peers)
    const checked = yield* check(config, { peers: options.peers })
    const peers = yield* Effect.forEach(checked.peers, (p, i) =>
      Effect.gen(function*() {
        const peer = selected[i]!
        const ignored = isFailureIgnored(peer.ignoreFailures, { full, startingDay: config.options.startingDay, date: now })
        const counts = p.ready && peer.type === "local"
          ? yield* countFiles(peer).pipe(Effect.option, Effect.map(Option.getOrUndefined))
          : undefined
        return {
          name: p.name,
          type: p.type,
          ready: p.ready,
          status: p.status,
          ignored,
          ...(p.reason === undefined ? {} : { reason: p.reason }),
          ...(counts === undefined ? {} : counts)
        } satisfies PeerPlan
      }))
    return { dailyDir: dailyDir(config.stagingDir, now), full, ok: peers.every((p) => (p.ready && !("error" in p)) || p.ignored), peers }
  }).pipe(Effect.withSpan("Pool.planStage"))

/**
 * What a stage run is asked and what it tells: its options, each peer's result, the events as
 * they happen, and the summary.
 *
 * @since 1.0.0
 */
import type { Effect, FileSystem, Path } from "effect"
import type { PeerPhase } from "../domain/Peer.js"
import type { PeerFailure } from "../domain/PeerError.js"
import type { StagingDisk } from "../disk/StagingDisk.js"
import type { LocalPeers } from "../peers/LocalPeer.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import type { SystemUsers } from "../peers/SystemUsers.js"
import type { SettingsOverrides } from "../domain/Settings.js"

/**
 * What happened to one peer in a stage run.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerStageResult {
  readonly name: string
  readonly type: "local" | "remote"
  /** `interrupted`: the run was stopped (SIGINT, SIGTERM) before this peer was done */
  readonly status: "staged" | "not-ready" | "unreachable" | "failed" | "interrupted"
  readonly files: number
  readonly bytes: number
  /** whether a failure (or not being ready) is ignored by the peer's failure mode */
  readonly ignored: boolean
  /** why the peer failed (status `failed`): the error itself, with its tag, fields and message */
  readonly error?: PeerFailure
  /** why the peer was not staged: present for every status but `staged` */
  readonly reason?: string
}

/**
 * What happens during a stage run, peer by peer, as it happens: for live displays and logs.
 *
 * @since 0.2.0
 * @category models
 */
export type PoolEvent =
  | { readonly _tag: "PeerStarted"; readonly name: string; readonly type: "local" | "remote" }
  | {
    readonly _tag: "PeerProgress"
    readonly name: string
    readonly phase: PeerPhase
    readonly files?: number
    readonly bytes?: number
  }
  | { readonly _tag: "PeerRetrying"; readonly name: string; readonly attempt: number; readonly reason: string; readonly delayMillis: number }
  | { readonly _tag: "PeerDone"; readonly result: PeerStageResult }

/**
 * The outcome of a stage run; `ok` is true when every peer was staged or its failure ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageSummary {
  readonly dailyDir: string
  readonly full: boolean
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerStageResult>
  /** the run was stopped before every peer was done; the master's stage indicator was not written */
  readonly interrupted?: boolean
  /** the verification manifest written (or updated) for the peers staged with `verify` */
  readonly manifest?: string
}

/**
 * What the pool operations need from their environment.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolServices = LocalPeers | RemotePeers | StagingDisk | FileSystem.FileSystem | Path.Path | SystemUsers

/**
 * Options of a stage run.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageRunOptions {
  /** a full run: decides which failure modes are ignored, like Cedar's `--full` */
  readonly full?: boolean | undefined
  /** stage only these peers (by name); all when absent or empty */
  readonly peers?: ReadonlyArray<string> | undefined
  /** the moment the run is for (defaults to the Clock's now): fixes the daily directory and weekday */
  readonly now?: Date | undefined
  /** how many peers are staged at once (default: the configuration's, else 4) */
  readonly concurrency?: number | undefined
  /** settings that win over the configuration's for every peer */
  readonly settings?: SettingsOverrides | undefined
  /** called after each peer is done, e.g. to render progress */
  readonly onPeerDone?: ((result: PeerStageResult) => Effect.Effect<void>) | undefined
  /** called as peers start, progress, retry and finish */
  readonly onEvent?: ((event: PoolEvent) => Effect.Effect<void>) | undefined
  /**
   * Stops the run gracefully when it completes (e.g. on SIGTERM): the peers in flight are
   * interrupted (their cleanup runs), the peers not yet done are reported `interrupted`, the
   * master's stage indicator is not written, and the summary is returned.
   */
  readonly stop?: Effect.Effect<void> | undefined
}

/**
 * Operations on one peer, of either kind: staging it into a directory (`stage-peer`) and writing
 * its stage indicator, outside a pool run.
 *
 * @since 1.0.0
 */
import { Effect } from "effect"
import type { PoolConfig } from "../config/Config.js"
import type { Ownership, StageOptions, StageProgress, StageReport } from "../domain/Peer.js"
import { DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "../domain/Peer.js"
import type { InvalidPeerConfig, StagePeerError, WriteIndicatorError } from "../domain/PeerError.js"
import { type AnyPeer, operationsOf } from "../peers/anyPeer.js"
import type { LocalPeers } from "../peers/LocalPeer.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import type { SystemUsers } from "../peers/SystemUsers.js"
import { findPeer, selectPeers } from "./resolve.js"
import type { SettingsOverrides } from "../domain/Settings.js"
import { peerSettings } from "../config/Config.js"

/**
 * Stages one peer of either kind into a target directory.
 *
 * @since 0.1.0
 * @category operations
 */
export const stagePeer = (
  peer: AnyPeer,
  targetDir: string,
  options: StageOptions = {}
): Effect.Effect<StageReport, StagePeerError, LocalPeers | RemotePeers> =>
  Effect.flatMap(operationsOf(peer), (operations) => operations.stagePeer(targetDir, options))

/**
 * Writes the stage indicator of a peer of either kind.
 *
 * @since 0.1.0
 * @category operations
 */
export const writeStageIndicator = (
  peer: AnyPeer,
  name: string = DEF_STAGE_INDICATOR
): Effect.Effect<void, WriteIndicatorError, LocalPeers | RemotePeers> =>
  Effect.flatMap(operationsOf(peer), (operations) => operations.writeStageIndicator(name))

/**
 * How `stageConfiguredPeer` stages the peer: what it applies to the files, the run's settings
 * over the configuration's, and a listener for its progress.
 *
 * @since 1.0.0
 * @category models
 */
export interface ConfiguredPeerOptions {
  readonly ownership?: Ownership | undefined
  readonly permissions?: number | undefined
  readonly skipUnsupported?: boolean | undefined
  /** settings that win over the configuration's (the CLI's `--max-files`, `--timeout`, …) */
  readonly settings?: SettingsOverrides | undefined
  readonly onProgress?: ((progress: StageProgress) => void) | undefined
  /** `false`: `onProgress` wants the phases only (see `StageOptions.copyProgress`) */
  readonly copyProgress?: boolean | undefined
}

/**
 * What `stageConfiguredPeer` did: the peer's name, whether it was ready, and the stage's report.
 *
 * @since 1.0.0
 * @category models
 */
export interface ConfiguredPeerReport {
  readonly peer: string
  /** whether the peer's collect indicator was there: a peer not ready is staged anyway, with a warning */
  readonly ready: boolean
  readonly report: StageReport
}

/**
 * Stages the configured peer `name` into `targetDir` as a pool run stages it (its settings, one
 * shared connection for its check and its copy), outside a run: no staging tree, no stage
 * indicator. A peer whose collect indicator is missing is staged anyway, with a warning: its own
 * backup may not be finished, and that is for the caller to judge.
 *
 * @since 1.0.0
 * @category operations
 */
export const stageConfiguredPeer = (
  config: PoolConfig,
  name: string,
  targetDir: string,
  options: ConfiguredPeerOptions = {}
): Effect.Effect<ConfiguredPeerReport, InvalidPeerConfig | StagePeerError, LocalPeers | RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const value = yield* findPeer(config, name, options.settings)
    const [peerConfig] = yield* selectPeers(config, [name])
    const peer = yield* operationsOf(value)
    // one ssh connection for the indicator check and the copy, as in a pool run
    yield* peer.connect
    // Staging a peer whose own backup has not finished copies half-written files: say so, then do as asked.
    const indicator = yield* Effect.result(peer.collectIndicatorStatus(DEF_COLLECT_INDICATOR))
    const ready = indicator._tag === "Success" && indicator.success.status === "ready"
    if (!ready) {
      const why = indicator._tag === "Success"
        ? `${indicator.success.status}${indicator.success.reason ? ` (${indicator.success.reason})` : ""}`
        : indicator.failure.message
      yield* Effect.logWarning(`${DEF_COLLECT_INDICATOR} not found: the peer's backup may not be finished (${why}); staging anyway`).pipe(
        Effect.annotateLogs("peer", value.name)
      )
    }
    const report = yield* peer.stagePeer(targetDir, {
      ownership: options.ownership,
      permissions: options.permissions,
      skipUnsupported: options.skipUnsupported,
      ...peerSettings(config, peerConfig!, options.settings),
      onProgress: options.onProgress,
      copyProgress: options.copyProgress
    })
    return { peer: value.name, ready, report }
  }).pipe(Effect.scoped, Effect.withSpan("Pool.stageConfiguredPeer"))

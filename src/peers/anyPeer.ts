/**
 * A peer of either kind, and the one place that tells the kinds apart: `operationsOf` hands back
 * the operations of the service that serves the peer (`LocalPeers` or `RemotePeers`), so that the
 * pool, the validation and the CLI never branch on a peer's kind themselves.
 *
 * @since 1.0.0
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import type { IndicatorOptions, IndicatorStatus, StageOptions, StageReport } from "../domain/Peer.js"
import type { CheckError, StagePeerError, WriteIndicatorError } from "../domain/PeerError.js"
import type { Directory } from "../disk/StagingDisk.js"
import { type LocalPeer, LocalPeers } from "./LocalPeer.js"
import { type RemotePeer, RemotePeers } from "./RemotePeer.js"
import type { StageIntoOptions } from "./stageInto.js"

/**
 * A peer value of either kind.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyPeer = LocalPeer | RemotePeer

/**
 * What can be done to a peer of either kind, bound to the peer.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerOperations {
  /** One connection for the peer's operations until the scope closes (remote peers; nothing for local ones). */
  readonly connect: Effect.Effect<void, never, Scope.Scope>
  readonly collectIndicatorStatus: (name?: string) => Effect.Effect<IndicatorStatus, CheckError>
  readonly stagePeer: (targetDir: string, options?: StageOptions) => Effect.Effect<StageReport, StagePeerError>
  readonly stagePeerInto: (target: Directory, options?: StageIntoOptions) => Effect.Effect<StageReport, StagePeerError>
  readonly writeStageIndicator: (name?: string, options?: IndicatorOptions) => Effect.Effect<void, WriteIndicatorError>
}

/**
 * The operations of `peer`, from the service of its kind.
 *
 * @since 1.0.0
 * @category constructors
 */
export const operationsOf = (peer: AnyPeer): Effect.Effect<PeerOperations, never, LocalPeers | RemotePeers> =>
  peer._tag === "LocalPeer"
    ? Effect.map(LocalPeers, (local): PeerOperations => ({
      connect: Effect.void,
      collectIndicatorStatus: (name) => local.collectIndicatorStatus(peer, name),
      stagePeer: (targetDir, options) => local.stagePeer(peer, targetDir, options),
      stagePeerInto: (target, options) => local.stagePeerInto(peer, target, options),
      writeStageIndicator: (name, options) => local.writeStageIndicator(peer, name, options)
    }))
    : Effect.map(RemotePeers, (remote): PeerOperations => ({
      connect: remote.connect(peer),
      collectIndicatorStatus: (name) => remote.collectIndicatorStatus(peer, name),
      stagePeer: (targetDir, options) => remote.stagePeer(peer, targetDir, options),
      stagePeerInto: (target, options) => remote.stagePeerInto(peer, target, options),
      writeStageIndicator: (name, options) => remote.writeStageIndicator(peer, name, options)
    }))

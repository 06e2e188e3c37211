/**
 * The pool: Cedar Backup's stage action over every peer of a configuration, managed
 * actions on managed remote peers, and the single-peer operations the CLI offers — resolved from
 * the configuration the same way the stage action resolves them. Each job lives in its own module
 * (`resolve`, `settings`, `stage`, `check`, `plan`, `managed`, `onePeer`); this one gathers them.
 *
 * @since 0.1.0
 */
export type { AnyPeer } from "../peers/anyPeer.js"
export type { PeerPhase } from "../domain/Peer.js"
export { type CheckSummary, check, type PeerCheckResult } from "./check.js"
export { type ActionSummary, type PeerActionResult, runManagedAction } from "./managed.js"
export {
  type ConfiguredPeerOptions,
  type ConfiguredPeerReport,
  stageConfiguredPeer,
  stagePeer,
  writeStageIndicator
} from "./onePeer.js"
export { dailyDir, findPeer, findRemotePeer, isFailureIgnored, lockFile, selectPeers } from "./resolve.js"
export { type PeerPlan, planStage, type StagePlan } from "./plan.js"
export { peerValue } from "./settings.js"
export { stage } from "./stage.js"
export type { PeerStageResult, PoolEvent, PoolServices, StageRunOptions, StageSummary } from "./stageResults.js"

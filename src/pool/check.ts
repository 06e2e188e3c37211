/**
 * Which peers are ready: the collect-indicator status of the configured peers, staging nothing.
 *
 * @since 1.0.0
 */
import { Effect } from "effect"
import type { PoolConfig } from "../config/Config.js"
import type { IndicatorStatus } from "../domain/Peer.js"
import { DEF_COLLECT_INDICATOR } from "../domain/Peer.js"
import type { CheckError, InvalidPeerConfig } from "../domain/PeerError.js"
import { operationsOf } from "../peers/anyPeer.js"
import type { LocalPeers } from "../peers/LocalPeer.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { selectPeers } from "./resolve.js"
import { peerValue } from "./settings.js"
import { DEFAULT_CONCURRENCY, type SettingsOverrides } from "../domain/Settings.js"

/**
 * The collect-indicator status of one peer.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerCheckResult {
  readonly name: string
  readonly type: "local" | "remote"
  readonly ready: boolean
  readonly status: IndicatorStatus["status"]
  readonly reason?: string
}

/**
 * The outcome of a check; `ok` is true when every peer is ready.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckSummary {
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerCheckResult>
}

/**
 * The collect-indicator status of the configured peers (all, or those named).
 *
 * @since 0.1.0
 * @category operations
 */
export const check = (
  config: PoolConfig,
  options: {
    readonly peers?: ReadonlyArray<string> | undefined
    readonly indicator?: string | undefined
    readonly concurrency?: number | undefined
    /** the command line's settings (`--timeout connect=2`) over the configuration's */
    readonly settings?: SettingsOverrides | undefined
  } = {}
): Effect.Effect<CheckSummary, InvalidPeerConfig | CheckError, LocalPeers | RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const peers = yield* Effect.forEach(selected, (peerConfig) =>
      Effect.gen(function*() {
        const peer = yield* operationsOf(yield* peerValue(config, peerConfig, isRoot, options.settings))
        const status = yield* peer.collectIndicatorStatus(options.indicator ?? DEF_COLLECT_INDICATOR)
        return {
          name: peerConfig.name,
          type: peerConfig.type,
          ready: status.status === "ready",
          status: status.status,
          ...(status.reason === undefined ? {} : { reason: status.reason })
        } satisfies PeerCheckResult
      }), { concurrency: Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY) })
    return { ok: peers.every((p) => p.ready), peers }
  })

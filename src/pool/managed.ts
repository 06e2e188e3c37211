/**
 * Managed actions: a Cedar Backup action (`cback3 ACTION`) run on the managed remote peers.
 *
 * @since 1.0.0
 */
import { Effect, Ref, Schema } from "effect"
import type { PoolConfig } from "../config/Config.js"
import { ActionName } from "../domain/Peer.js"
import { InvalidPeerConfig } from "../domain/PeerError.js"
import type { ManagedActionError } from "../domain/PeerError.js"
import { type RemotePeer, RemotePeers } from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { withoutPeer } from "./peerRun.js"
import { selectPeers } from "./resolve.js"
import { peerValue } from "./settings.js"

/**
 * What happened to one peer in a managed-action run.
 *
 * @since 0.1.0
 * @category models
 */
export interface PeerActionResult {
  readonly name: string
  /** `interrupted`: the run was stopped before the action was done on this peer */
  readonly status: "done" | "failed" | "interrupted"
  /** why the action failed (status `failed`): the error itself, with its tag, fields and message */
  readonly error?: ManagedActionError
  /** why the action was not done, for `interrupted` (a failure has its `error`) */
  readonly reason?: string
}

/**
 * The outcome of a managed action over the pool; no peer at all is `ok` (and worth a warning).
 *
 * @since 0.1.0
 * @category models
 */
export interface ActionSummary {
  readonly action: string
  readonly full: boolean
  readonly ok: boolean
  readonly peers: ReadonlyArray<PeerActionResult>
}

/**
 * Runs a managed action on every managed remote peer whose managed actions (the peer's, else the
 * options') include it, as Cedar does after its own action; one failing peer does not stop the others.
 *
 * @since 0.1.0
 * @category operations
 */
export const runManagedAction = (
  config: PoolConfig,
  action: string,
  options: {
    readonly full?: boolean | undefined
    readonly peers?: ReadonlyArray<string> | undefined
    /** stops the run gracefully when it completes: the peers not done are reported `interrupted` */
    readonly stop?: Effect.Effect<void> | undefined
  } = {}
): Effect.Effect<ActionSummary, InvalidPeerConfig, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const full = options.full ?? false
    if (!Schema.is(ActionName)(action)) {
      return yield* new InvalidPeerConfig({
        peer: "pool",
        problems: [`action ${JSON.stringify(action)}: must be letters, digits, '_' or '-', starting with a letter or digit`]
      })
    }
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const runs = selected.filter((peer) =>
      peer.type === "remote" && peer.managed && (peer.managedActions ?? config.options.managedActions).includes(action)
    )
    if (runs.length === 0) yield* Effect.logWarning(`no managed peer runs the action ${action}`)
    const remotePeers = yield* RemotePeers
    const values: Array<RemotePeer> = []
    for (const peerConfig of runs) {
      const peer = yield* peerValue(config, peerConfig, isRoot)
      if (peer._tag === "RemotePeer") values.push(peer)
    }
    // one record per peer: its result once the action is done on it
    const records = yield* Effect.forEach(values, (peer) =>
      Effect.map(Ref.make<PeerActionResult | undefined>(undefined), (result) => ({ peer, result })))
    const runAll = Effect.forEach(records, ({ peer, result }) =>
      Effect.gen(function*() {
        yield* Effect.logInfo(`running ${action} on peer ${peer.name}`)
        const outcome = yield* remotePeers.executeManagedAction(peer, action, full).pipe(
          Effect.as<PeerActionResult>({ name: peer.name, status: "done" }),
          Effect.catch((error) => failedAction(peer.name, error))
        )
        if (outcome.status === "done") yield* Effect.logInfo(`${action} done on peer ${peer.name}`)
        yield* Ref.set(result, outcome)
      }).pipe(Effect.annotateLogs("peer", peer.name)), { discard: true })
    const completed = options.stop === undefined
      ? yield* Effect.as(runAll, true)
      : yield* Effect.raceFirst(Effect.as(runAll, true), Effect.as(options.stop, false))
    const peers = yield* Effect.forEach(records, ({ peer, result }) =>
      Effect.map(Ref.get(result), (outcome): PeerActionResult =>
        outcome ?? {
          name: peer.name,
          status: "interrupted",
          reason: "the run was stopped before the action was done on this peer"
        }))
    return { action, full, ok: completed && peers.every((p) => p.status === "done"), peers }
  })

const failedAction = (name: string, error: ManagedActionError) =>
  // info, like a stage run's end lines: the summary carries the error, the caller reports it
  Effect.as(Effect.logInfo(`peer ${name}: failed: ${withoutPeer(error.message, name)}`), {
    name,
    status: "failed",
    error
  } satisfies PeerActionResult)

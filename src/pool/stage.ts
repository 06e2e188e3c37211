/**
 * Cedar Backup's stage action over the pool: the run that opens the staging tree, stages every
 * ready peer (several at once), writes the manifest and the master's stage indicator, and can be
 * stopped gracefully.
 *
 * @since 1.0.0
 */
import { Clock, Effect, Fiber, Queue, Ref, Stream } from "effect"
import type { Cause } from "effect"
import * as Config from "../config/Config.js"
import type { PoolConfig } from "../config/Config.js"
import type { ConfigError, FileOperationFailed, InvalidPeerConfig } from "../domain/PeerError.js"
import type { Directory } from "../disk/StagingDisk.js"
import { StagingDisk } from "../disk/StagingDisk.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { requirePeerNames, requireStagingDir } from "./environment.js"
import { openStagingTree, writeMasterIndicator } from "./internal/stagingTree.js"
import * as Manifest from "./Manifest.js"
import { interruptedResult, type PeerRun, type PeerState, type RunNote, stagePeerOfRun } from "./peerRun.js"
import { backupOwnership, dailyDir, selectPeers } from "./resolve.js"
import type { PoolEvent, PoolServices, StageRunOptions, StageSummary } from "./stageResults.js"

/**
 * Removes what runs killed outright (SIGKILL, power loss) left in the working dir or in an opened
 * directory of the staging tree.
 */
const removeLeftovers = (dir: string | Directory) =>
  Effect.gen(function*() {
    const disk = yield* StagingDisk
    const sweep = typeof dir === "string"
      ? Effect.scoped(Effect.flatMap(disk.openDirectory(dir), disk.removeLeftovers))
      : disk.removeLeftovers(dir)
    const removed = yield* sweep.pipe(
      Effect.catch((error) => Effect.as(Effect.logWarning(`could not look for leftovers of killed runs: ${error.message}`), []))
    )
    const shown = typeof dir === "string" ? dir : dir.shown
    for (const name of removed) yield* Effect.logWarning(`removed ${shown}/${name}, left by a run that was killed`)
  })

/** The run's listeners, told in order; a listener that fails is logged and otherwise ignored. */
const listenersOf = (options: StageRunOptions) => (event: PoolEvent): Effect.Effect<void> =>
  Effect.andThen(
    options.onEvent?.(event) ?? Effect.void,
    event._tag === "PeerDone" ? options.onPeerDone?.(event.result) ?? Effect.void : Effect.void
  ).pipe(Effect.catchCause((cause) => Effect.logDebug("an event listener failed", cause)))

/** Applies each note to its peer's state, then tells its event: one fiber, so all in order. */
const recordNotes = (notes: Queue.Dequeue<RunNote, Cause.Done>, emit: (event: PoolEvent) => Effect.Effect<void>) =>
  Stream.fromQueue(notes).pipe(Stream.runForEach((note) =>
    Effect.andThen(
      Ref.update(note.run.state, (state): PeerState => ({
        ...state,
        ...(note.track === undefined ? {} : { track: { ...state.track, ...note.track } }),
        ...(note.result === undefined ? {} : { result: note.result })
      })),
      note.event === undefined ? Effect.void : emit(note.event)
    )
  ))

/**
 * Cedar Backup's stage action over the pool: derive the daily directory once, create it and one
 * directory per peer, stage every ready peer (several at once) and write its stage indicator, then
 * write the master's stage indicator. A failing peer never stops the others; the summary keeps the
 * configuration's order.
 *
 * @since 0.1.0
 * @category operations
 */
export const stage = (
  config: PoolConfig,
  options: StageRunOptions = {}
): Effect.Effect<StageSummary, InvalidPeerConfig | FileOperationFailed | ConfigError, PoolServices> =>
  Effect.gen(function*() {
    yield* requireStagingDir(config)
    yield* requirePeerNames(config) // before any peer's directory is made or swept
    const full = options.full ?? false
    const date = options.now ?? new Date(yield* Clock.currentTimeMillis)
    const daily = dailyDir(config.stagingDir, date)
    const selected = yield* selectPeers(config, options.peers)
    const isRoot = yield* (yield* SystemUsers).isRoot
    const ownership = isRoot ? yield* backupOwnership(config) : undefined
    const concurrency = Math.max(1, options.concurrency ?? Config.poolConcurrency(config))

    yield* removeLeftovers(config.options.workingDir)
    // every directory opened without following a link and held open for the run (see stagingTree)
    const tree = yield* openStagingTree(config.stagingDir, date, selected.map((peer) => peer.name), ownership)
    // new peer directories are staged beside themselves, in private directories of the daily one
    yield* removeLeftovers(tree.daily)

    const emit = listenersOf(options)
    const notes = yield* Queue.unbounded<RunNote, Cause.Done>()
    const recorder = yield* Effect.forkScoped(recordNotes(notes, emit))
    const runs = yield* Effect.forEach(selected, (peer) =>
      Effect.map(Ref.make<PeerState>({}), (state): PeerRun => ({ peer, target: tree.peers.get(peer.name)!, state })))
    const context = { full, date, isRoot, ownership, settings: options.settings, notes }
    const runPeers = Effect.forEach(
      runs,
      (run) =>
        Effect.flatMap(stagePeerOfRun(config, run, context), (result) =>
          Queue.offer(notes, { run, result, event: { _tag: "PeerDone", result } })),
      { concurrency, discard: true }
    )
    // A stop that comes once every peer is done (e.g. during the last one's landing, which runs to
    // its end) still keeps the master's indicator from being written: the run was stopped.
    const stopped = yield* Ref.make(false)
    if (options.stop !== undefined) yield* Effect.forkScoped(Effect.andThen(options.stop, Ref.set(stopped, true)))
    // The stop signal interrupts only the peers (and waits for their cleanup); this fiber goes on.
    const finished = options.stop === undefined
      ? yield* Effect.as(runPeers, true)
      : yield* Effect.raceFirst(Effect.as(runPeers, true), Effect.as(options.stop, false))
    // Two turns of the scheduler (each flush is a macrotask, so the event loop polls in between):
    // a signal that came during the last synchronous renames has been handled, its stop seen.
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    const completed = finished && !(yield* Ref.get(stopped))
    // every note in, so every peer's state is whole: what a stopped peer had landed is counted
    yield* Queue.end(notes)
    yield* Fiber.join(recorder)
    const ended = yield* Effect.forEach(runs, (run) =>
      Effect.map(Ref.get(run.state), (state) => ({ run, state, result: state.result ?? interruptedResult(run.peer, state.track) })))
    for (const peer of ended) {
      if (peer.state.result === undefined) yield* emit({ _tag: "PeerDone", result: peer.result })
    }
    const peers = ended.map((peer) => peer.result)
    if (!completed) yield* Effect.logWarning(`stopped: ${peers.filter((p) => p.status === "interrupted").length} peer(s) interrupted`)

    const verified = ended.flatMap(({ run, state }) =>
      state.track?.hashes !== undefined && state.track.landed === true ? [{ peer: run.peer.name, hashes: state.track.hashes }] : []
    )
    const manifest = verified.length === 0 ? undefined : yield* Manifest.update(daily, verified, ownership, tree.daily)

    if (completed) yield* writeMasterIndicator(tree, ownership)
    return {
      dailyDir: daily,
      full,
      ok: completed && peers.every((r) => r.status === "staged" || r.ignored),
      peers,
      ...(completed ? {} : { interrupted: true }),
      ...(manifest === undefined ? {} : { manifest })
    }
  }).pipe(Effect.scoped, Effect.withSpan("Pool.stage"))

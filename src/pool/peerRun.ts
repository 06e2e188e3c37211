/**
 * One peer's part in a stage run: its check, its staging into the directory the run opened for
 * it, its stage indicator, and what is known of it should the run be stopped midway.
 *
 * @since 1.0.0
 */
import { Effect, Queue } from "effect"
import type { Cause, Ref, Result } from "effect"
import type { PeerConfig, PoolConfig } from "../config/Config.js"
import type { Ownership, PeerPhase, StageProgress } from "../domain/Peer.js"
import { DEF_COLLECT_INDICATOR } from "../domain/Peer.js"
import type { FileOperationFailed, PeerFailure } from "../domain/PeerError.js"
import { operationsOf } from "../peers/anyPeer.js"
import type { LocalPeers } from "../peers/LocalPeer.js"
import { type RemotePeers, RetryObserver } from "../peers/RemotePeer.js"
import type { PeerDirectory } from "./internal/stagingTree.js"
import { isFailureIgnored } from "./resolve.js"
import { peerValue } from "./settings.js"
import type { SettingsOverrides } from "../domain/Settings.js"
import { peerSettings } from "../config/Config.js"
import type { PeerStageResult, PoolEvent } from "./stageResults.js"

/**
 * What is known of a peer while it is staged, for the summary of a run stopped midway.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerTrack {
  readonly phase?: PeerPhase | undefined
  readonly files?: number | undefined
  readonly bytes?: number | undefined
  /** the files are in place (the indicator may still be missing) */
  readonly landed?: boolean | undefined
  readonly hashes?: ReadonlyArray<{ readonly name: string; readonly sha256: string }> | undefined
}

/**
 * A peer's state in a run: its track once it has started, its result once it is done.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerState {
  readonly track?: PeerTrack | undefined
  readonly result?: PeerStageResult | undefined
}

/**
 * One peer of a run: its configuration, the directory the run opened for it (or why it cannot be
 * used: a link or a file planted there), and its state.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerRun {
  readonly peer: PeerConfig
  readonly target: Result.Result<PeerDirectory, FileOperationFailed>
  readonly state: Ref.Ref<PeerState>
}

/**
 * A change to a peer's state and the event that tells it, in the order they happened. Each goes
 * through the run's one queue, read by one fiber: the listeners see the events in order, and the
 * synchronous progress callbacks of the peer operations only enqueue.
 *
 * @since 1.0.0
 * @category models
 */
export interface RunNote {
  readonly run: PeerRun
  readonly track?: PeerTrack | undefined
  readonly result?: PeerStageResult | undefined
  readonly event?: PoolEvent | undefined
}

/**
 * What every peer of a run shares.
 *
 * @since 1.0.0
 * @category models
 */
export interface RunContext {
  readonly full: boolean
  readonly date: Date
  readonly isRoot: boolean
  readonly ownership: Ownership | undefined
  readonly settings: SettingsOverrides | undefined
  readonly notes: Queue.Queue<RunNote, Cause.Done>
}

/** Progress events of one peer in one phase go out at most this often (ms). */
const PROGRESS_EVERY_MS = 100

const definedCounts = (counts: { readonly files?: number | undefined; readonly bytes?: number | undefined }) => ({
  ...(counts.files === undefined ? {} : { files: counts.files }),
  ...(counts.bytes === undefined ? {} : { bytes: counts.bytes })
})

const progressNote = (run: PeerRun, phase: PeerPhase, counts: Omit<StageProgress, "phase"> = {}): RunNote => ({
  run,
  track: { phase, ...definedCounts(counts) },
  event: { _tag: "PeerProgress", name: run.peer.name, phase, ...definedCounts(counts) }
})

// A transport may report every file it lands, but the events are for displays that redraw a few
// times a second: within a phase, a report sooner than PROGRESS_EVERY_MS after the last one that
// went out is dropped (a new phase always goes out, with its counts). What goes out is tracked
// with it, in order: a peer stopped right after it reported (its landing, which runs to its end)
// is summed up from this.
const progressListener = (run: PeerRun, notes: Queue.Enqueue<RunNote, Cause.Done>) => {
  let last: { readonly phase: PeerPhase; readonly at: number } | undefined
  return (progress: StageProgress): void => {
    const now = Date.now()
    if (last !== undefined && last.phase === progress.phase && now - last.at < PROGRESS_EVERY_MS) return
    last = { phase: progress.phase, at: now }
    Queue.offerUnsafe(notes, progressNote(run, progress.phase, progress))
  }
}

/**
 * An error message without its leading `peer NAME: `, for a line that already names the peer.
 *
 * @since 1.0.0
 * @category constructors
 */
export const withoutPeer = (message: string, name: string): string =>
  message.startsWith(`peer ${name}: `) ? message.slice(`peer ${name}: `.length) : message

/**
 * Stages one peer of a run: its collect indicator checked, its files staged into the directory the
 * run opened for it (nothing can redirect it by renaming or replacing a path component midway),
 * its stage indicator written. Never fails: a failure is the peer's result.
 *
 * @since 1.0.0
 * @category operations
 */
export const stagePeerOfRun = (
  config: PoolConfig,
  run: PeerRun,
  context: RunContext
): Effect.Effect<PeerStageResult, never, LocalPeers | RemotePeers> =>
  Effect.gen(function*() {
    const peerConfig = run.peer
    const ignored = isFailureIgnored(peerConfig.ignoreFailures, { ...context, startingDay: config.options.startingDay })
    const base = { name: peerConfig.name, type: peerConfig.type, files: 0, bytes: 0 } as const
    const failed = (counts: Pick<PeerStageResult, "name" | "type" | "files" | "bytes">, error: PeerFailure, reason: string = error.message) =>
      Effect.succeed({ ...counts, status: "failed", ignored, error, reason } satisfies PeerStageResult)
    const note = (what: Omit<RunNote, "run">) => Queue.offer(context.notes, { run, ...what })

    yield* Effect.logInfo(`peer ${peerConfig.name}: starting (${peerConfig.type})`)
    yield* note({ event: { _tag: "PeerStarted", name: peerConfig.name, type: peerConfig.type } })
    const outcome = yield* Effect.gen(function*() {
      const peer = yield* operationsOf(yield* peerValue(config, peerConfig, context.isRoot, context.settings))
      // one ssh connection for this peer's check, copy and indicator write, closed with the scope
      yield* peer.connect
      yield* Queue.offer(context.notes, progressNote(run, "checking"))
      const indicator = yield* peer.collectIndicatorStatus(DEF_COLLECT_INDICATOR)
      if (indicator.status !== "ready") {
        const reason = indicator.reason ?? (indicator.status === "not-ready" ? `no ${DEF_COLLECT_INDICATOR} in its collect directory` : "could not be reached")
        return { ...base, status: indicator.status, ignored, reason } satisfies PeerStageResult
      }
      const { directory, replaceEmpty } = yield* Effect.fromResult(run.target)
      const report = yield* peer.stagePeerInto(directory, {
        ownership: context.ownership,
        ...peerSettings(config, peerConfig, context.settings),
        onProgress: progressListener(run, context.notes),
        ...(replaceEmpty === undefined ? {} : { replaceEmpty })
      })
      const counts = { files: report.count, bytes: report.bytes }
      yield* note({ track: { ...counts, landed: true, ...(report.hashes === undefined ? {} : { hashes: report.hashes }) } })
      const staged = { ...base, ...counts }
      yield* Queue.offer(context.notes, progressNote(run, "indicator", counts))
      // The files are in the staging dir even when the indicator cannot be written: say how many.
      return yield* peer.writeStageIndicator().pipe(
        Effect.as<PeerStageResult>({ ...staged, status: "staged", ignored: false }),
        Effect.catch((error) => failed(staged, error, `files staged, but its stage indicator could not be written: ${error.message}`))
      )
    }).pipe(
      Effect.scoped,
      // remote retries are logged where they happen; the observer only turns them into events
      Effect.provideService(RetryObserver, (notice) =>
        note({
          event: { _tag: "PeerRetrying", name: peerConfig.name, attempt: notice.attempt, reason: notice.reason, delayMillis: notice.delayMillis }
        })),
      Effect.catch((error) => failed(base, error))
    )
    yield* logOutcome(outcome, ignored)
    return outcome
  }).pipe(Effect.annotateLogs("peer", run.peer.name))

// One line when the peer ends, in the summary's status words: an error when the peer was not
// ready or not reached and that is not ignored (nothing else reports it on stderr); info
// otherwise, a failed peer included, since its error is in the summary and the caller reports
// it (the CLI prints its `error[Tag]` line), so nothing is said twice.
const logOutcome = (outcome: PeerStageResult, ignored: boolean) => {
  const counts = `${outcome.files} file(s), ${outcome.bytes} byte(s)`
  const detail = outcome.error === undefined ? outcome.reason : withoutPeer(outcome.error.message, outcome.name)
  const line = `peer ${outcome.name}: ${outcome.status}${ignored && outcome.status !== "staged" ? " (ignored)" : ""}` +
    (outcome.status === "staged" ? `: ${counts}` : detail === undefined ? "" : `: ${detail}`)
  const unnoticed = !ignored && (outcome.status === "not-ready" || outcome.status === "unreachable")
  return unnoticed ? Effect.logError(line) : Effect.logInfo(line)
}

/**
 * A peer the run was stopped before it was done: what is known of it.
 *
 * @since 1.0.0
 * @category constructors
 */
export const interruptedResult = (peer: PeerConfig, track: PeerTrack | undefined): PeerStageResult => {
  const landed = track?.landed === true || track?.phase === "indicator"
  const counts = { files: track?.files ?? 0, bytes: track?.bytes ?? 0 }
  const reason = track === undefined
    ? "the run was stopped before this peer started"
    : landed
    ? "the run was stopped after its files were staged, before its stage indicator was written"
    : track.phase === "committing"
    ? "the run was stopped while its files were moved into place; that step is let finish, so they are all there, but its stage indicator was not written"
    : `the run was stopped while ${track.phase ?? "starting"}: nothing of it was staged`
  const staged = landed || track?.phase === "committing"
  return {
    name: peer.name,
    type: peer.type,
    status: "interrupted",
    files: staged ? counts.files : 0,
    bytes: staged ? counts.bytes : 0,
    ignored: false,
    reason
  }
}

// Runs a command to its end, reading stdout, stderr and the exit status together: a piped
// stream nobody reads stalls the child past ~64 KiB and its exit status never arrives.
//
// A child that must stop (its time is up, or the fiber waiting for it is interrupted: Ctrl-C,
// SIGTERM, a pool cut short) is stopped as a whole: the Node executor starts every child as the
// leader of its own process group, so the signal goes to the group and also reaches what the child
// started (runuser's ssh, scp's ssh). SIGTERM first, SIGKILL to the group after a grace period,
// so a child that ignores SIGTERM cannot keep the run waiting.
import type { Command } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Data, Duration, Effect, Stream } from "effect"

export interface Finished {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** The child ran past its time limit and was killed, with its whole process group. */
export class Expired extends Data.TaggedError("Expired")<{
  /** the limit, human readable (`30s`, `5m`) */
  readonly after: string
}> {}

export interface RunOptions {
  /** kill the child and fail with `Expired` after this long; no limit when absent */
  readonly timeout?: Duration.DurationInput | undefined
  /** how long a child has between SIGTERM and SIGKILL (default 2 s) */
  readonly grace?: Duration.DurationInput | undefined
}

/** Keeps at most this much of a child's output, from the end (the error is usually last). */
const MAX_OUTPUT = 64 * 1024

/** Default time between SIGTERM and SIGKILL. */
export const KILL_GRACE: Duration.Duration = Duration.seconds(2)

/**
 * A child's output as text: its last `MAX_OUTPUT` bytes, decoded once at the end. Chunks are kept
 * as they arrive (no text stage per chunk): most children print nothing, and this runs for every
 * one.
 */
export const collectOutput = <E>(stream: Stream.Stream<Uint8Array, E>): Effect.Effect<string, E> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return Stream.runForEach(stream, (chunk) =>
      Effect.sync(() => {
        chunks.push(chunk)
        size += chunk.length
        while (chunks.length > 1 && size - chunks[0]!.length >= MAX_OUTPUT) size -= chunks.shift()!.length
      })).pipe(Effect.map(() => {
        if (chunks.length === 0) return ""
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
        return decoder.decode(all.length > MAX_OUTPUT ? all.subarray(all.length - MAX_OUTPUT) : all)
      }))
  })

const decoder = new TextDecoder()

/** A duration as the messages show it: `30s`, `2m`, `1.5s`. */
export const formatAfter = (duration: Duration.DurationInput): string => {
  const millis = Duration.toMillis(Duration.decode(duration))
  if (millis % 3_600_000 === 0 && millis > 0) return `${millis / 3_600_000}h`
  if (millis % 60_000 === 0 && millis > 0) return `${millis / 60_000}m`
  return `${millis / 1000}s`
}

/**
 * Stops a running child's process group: SIGTERM, then SIGKILL once `grace` has passed without
 * the child exiting. `Process.kill` signals the group (`kill(-pid)`) and then waits for the exit,
 * which never comes for a child that ignores SIGTERM: that wait is what the grace cuts short. The
 * SIGKILL goes to the group even when the leader did exit, for members that outlived it.
 */
export const terminate = (
  child: CommandExecutor.Process,
  grace: Duration.DurationInput = KILL_GRACE
): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!(yield* child.isRunning.pipe(Effect.orElseSucceed(() => true)))) return
    // Finalizers run uninterruptibly; the wait must stay interruptible or the grace could not cut it.
    yield* Effect.interruptible(child.kill("SIGTERM")).pipe(Effect.ignore, Effect.timeoutOption(grace))
    yield* Effect.interruptible(child.kill("SIGKILL")).pipe(Effect.ignore, Effect.timeoutOption(grace))
  })

/** Runs `command` to its end, with its output. */
export const runToEnd = (
  executor: CommandExecutor.CommandExecutor,
  command: Command.Command,
  options: RunOptions = {}
): Effect.Effect<Finished, PlatformError | Expired> =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* executor.start(command)
    // Added after the executor's own finalizer, so it runs first: by the time the executor looks,
    // the group is gone (its own release would wait forever on a child that ignores SIGTERM).
    yield* Effect.addFinalizer(() => terminate(child, options.grace))
    const finished = Effect.all(
      [collectOutput(child.stdout), collectOutput(child.stderr), child.exitCode],
      { concurrency: "unbounded" }
    ).pipe(
      Effect.map(([stdout, stderr, exitCode]): Finished => ({ exitCode, stdout, stderr }))
    )
    if (options.timeout === undefined) return yield* finished
    const after = formatAfter(options.timeout)
    return yield* finished.pipe(Effect.timeoutFail({ duration: options.timeout, onTimeout: () => new Expired({ after }) }))
  }))

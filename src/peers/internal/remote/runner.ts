// Running a child process for a remote operation: to its end with its output collected, or with
// its stdout streamed to a consumer; either way bounded by a time limit, and how it ended as data.
import { Effect, Stream } from "effect"
import type { Duration, PlatformError } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { collectOutput, command, Expired, formatAfter, runToEnd, start } from "../../process.js"
import { type SilenceLimits, watchSilence } from "./silence.js"

/**
 * How a child process ended: its status and output, or why it never ran to the end. `expired`
 * (the limit, e.g. `30s`) when its time limit ended it: the operation then fails with `TimedOut`.
 */
export type Ran =
  | { readonly _tag: "Exited"; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  | { readonly _tag: "NotRun"; readonly reason: string; readonly cause?: unknown; readonly expired?: string }

// stdin gets an immediate end of file: a remote command that reads stdin must not wait forever.
// It is /dev/null (see process.ts), not a pipe: nothing has to be written or ended, so nothing
// can wait on the pipe of a child that has already exited (a wait that could not be interrupted,
// and could hold a run past every time limit). On expiry, or when the fiber is interrupted, the
// child's whole process group is killed (SIGKILL after the grace).
export const runWith = (spawner: ChildProcessSpawner.ChildProcessSpawner["Service"]) =>
(argv: ReadonlyArray<string>, timeout: Duration.Input): Effect.Effect<Ran> =>
  runToEnd(spawner, command(argv), { timeout }).pipe(
    Effect.match({
      onSuccess: (done): Ran => ({ _tag: "Exited", ...done }),
      onFailure: (error): Ran =>
        error instanceof Expired
          ? { _tag: "NotRun", reason: `timed out after ${error.after}`, expired: error.after }
          : { _tag: "NotRun", reason: `could not run ${argv[0]}: ${error.message}`, cause: error }
    })
  )

/**
 * Like `run`, but stdout is handed to `consume` as it arrives instead of being collected (a tar
 * stream, hash lines as bytes). Should `consume` fail, the child is killed at once (its scope
 * closes) and that failure is returned; the caller then never waits for the child's end.
 */
export const runStreamingWith = (spawner: ChildProcessSpawner.ChildProcessSpawner["Service"]) =>
<A, E>(
  argv: ReadonlyArray<string>,
  timeout: Duration.Input,
  consume: (stdout: Stream.Stream<Uint8Array, PlatformError.PlatformError>) => Effect.Effect<A, E>,
  silence?: SilenceLimits
): Effect.Effect<{ readonly ran: Ran; readonly consumed: A | undefined }, E> =>
  Effect.scoped(Effect.gen(function*() {
    // closing the scope stops the child's process group (SIGKILL after the grace), so a failed
    // consumer or the time limit ends the child at once
    const { child, ended } = yield* start(spawner, command(argv))
    // a stream that stops coming (the remote command alive but silent) is cut at the stall limit
    let received = 0
    const stdout = silence === undefined ? child.stdout : child.stdout.pipe(Stream.map((chunk) => {
      received += chunk.length
      return chunk
    }))
    const all = Effect.all([
      consume(stdout).pipe(Effect.mapError((error) => ({ _tag: "Consumer" as const, error }))),
      collectOutput(child.stderr),
      child.exitCode
    ], { concurrency: "unbounded" })
    const [consumed, stderr, exitCode] = silence === undefined ? yield* all : yield* Effect.raceFirst(
      all,
      Effect.flatMap(watchSilence(silence, Effect.sync(() => received)), (after) => Effect.fail({ _tag: "Silent" as const, after }))
    )
    yield* ended
    const ran: Ran = { _tag: "Exited", exitCode: Number(exitCode), stdout: "", stderr }
    return { ran, consumed: consumed as A | undefined }
  })).pipe(
    Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail({ _tag: "TimedOut" as const }) }),
    Effect.catch((failure) => {
      if (failure._tag === "Consumer") return Effect.fail(failure.error)
      if (failure._tag === "Silent") {
        return Effect.succeed({ ran: { _tag: "NotRun", reason: `timed out after ${failure.after}`, expired: failure.after } as Ran, consumed: undefined })
      }
      const after = formatAfter(timeout)
      const ran: Ran = failure._tag === "TimedOut"
        ? { _tag: "NotRun", reason: `timed out after ${after}`, expired: after }
        : { _tag: "NotRun", reason: `could not run ${argv[0]}: ${failure.message}`, cause: failure }
      return Effect.succeed({ ran, consumed: undefined })
    })
  )

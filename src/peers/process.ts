// Runs a command to its end, reading stdout, stderr and the exit status together: a piped
// stream nobody reads stalls the child past ~64 KiB and its exit status never arrives.
//
// A child that must stop (its time is up, or the fiber waiting for it is interrupted: Ctrl-C,
// SIGTERM, a pool cut short) is stopped as a whole: the Node spawner starts every child as the
// leader of its own process group (`detached`, the default), and when the child's scope closes it
// signals the group, so the signal also reaches what the child started (runuser's ssh, scp's ssh).
// SIGTERM first, SIGKILL to the group once the grace (`forceKillAfter`, set on every command run
// here) has passed, so a child that ignores SIGTERM cannot keep the run waiting: without
// `forceKillAfter` the spawner would wait for such a child forever.
//
// A child's stdin is at its end from the start (`/dev/null`): a command that reads stdin (a login
// shell, an ssh without a command) must not wait forever, and nothing here ever writes into, or
// waits on the end of, a pipe to a child that may already have exited.
import { Data, Duration, Effect, Stream } from "effect"
import type { PlatformError } from "effect/PlatformError"
import type { Scope } from "effect/Scope"
import { ChildProcess } from "effect/process"
import { quoteLine } from "../domain/shellWords.js"
import type { ChildProcessSpawner } from "effect/process"

/** The spawner service, taken once by whoever runs children (`yield* ChildProcessSpawner.ChildProcessSpawner`). */
export type Spawner = ChildProcessSpawner.ChildProcessSpawner["Service"]

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
  readonly timeout?: Duration.Input | undefined
  /** how long a child has between SIGTERM and SIGKILL (default 2 s) */
  readonly grace?: Duration.Input | undefined
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

/** A duration as people write it: `30s`, `2m`, `1.5s`, `4.9s` (never `4.946555647s`). */
export const formatAfter = (duration: Duration.Input): string => {
  const millis = Duration.toMillis(duration)
  if (millis % 3_600_000 === 0 && millis > 0) return `${millis / 3_600_000}h`
  if (millis % 60_000 === 0 && millis > 0) return `${millis / 60_000}m`
  // a tenth of a second below 10 s (jittered retry delays), whole seconds above
  return millis < 10_000 ? `${Math.round(millis / 100) / 10}s` : `${Math.round(millis / 1000)}s`
}

/** A command as a POSIX shell line one can paste to run it again (`a | b` for a pipe). */
export const shellLine = (cmd: ChildProcess.Command): string =>
  cmd._tag === "PipedCommand" ? `${shellLine(cmd.left)} | ${shellLine(cmd.right)}` : quoteLine([cmd.command, ...cmd.args.map(String)])

/** `argv` as a command (never through a shell), ready for `runToEnd` or `start`. */
export const command = (argv: ReadonlyArray<string>): ChildProcess.Command =>
  ChildProcess.make(argv[0]!, argv.slice(1), { stdin: "ignore" })

/**
 * `command` as this module runs it: stdin at its end from the start unless the command brings an
 * input stream of its own, and SIGKILL to the whole group `grace` after SIGTERM (else the
 * command's own `forceKillAfter`, else `KILL_GRACE`). Piped commands get the same on each part.
 */
export const prepare = (cmd: ChildProcess.Command, grace?: Duration.Input): ChildProcess.Command => {
  if (cmd._tag === "PipedCommand") {
    return ChildProcess.pipeTo(prepare(cmd.left, grace), prepare(cmd.right, grace), cmd.options)
  }
  const stdin = cmd.options.stdin
  const pipe = stdin === undefined || stdin === "pipe" ||
    (typeof stdin === "object" && "stream" in stdin && stdin.stream === "pipe")
  return ChildProcess.make(cmd.command, cmd.args, {
    ...cmd.options,
    ...(pipe ? { stdin: "ignore" as const } : {}),
    forceKillAfter: grace ?? cmd.options.forceKillAfter ?? KILL_GRACE
  })
}

/**
 * Starts `cmd` (`prepare`d) in the current scope; closing the scope stops the child's whole
 * process group (SIGTERM, SIGKILL after `grace`) unless it has ended.
 */
export const start = (
  spawner: Spawner,
  cmd: ChildProcess.Command,
  grace?: Duration.Input
): Effect.Effect<ChildProcessSpawner.ChildProcessHandle, PlatformError, Scope> =>
  // --verbose shows each command as a line to replay it by hand
  Effect.andThen(Effect.logDebug(`run: ${shellLine(cmd)}`), spawner.spawn(prepare(cmd, grace)))

/**
 * Stops a running child's process group: SIGTERM, then SIGKILL once `grace` has passed without
 * the group ending, also to members that outlived the leader. Bounded: it waits at most the grace
 * and a second after the SIGKILL for the group to go.
 */
export const terminate = (
  child: ChildProcessSpawner.ChildProcessHandle,
  grace: Duration.Input = KILL_GRACE
): Effect.Effect<void> => Effect.ignore(child.kill({ killSignal: "SIGTERM", forceKillAfter: grace }))

/**
 * Called once `child` has ended on its own: what it left running in its process group stays (an
 * ssh ControlMaster that a legacy scp started is the peer's shared connection, which has its own
 * close and idle limit). Without this the spawner would SIGTERM the group of a child that exited
 * 0 and wait up to the grace for it; a child that is stopped (time limit, interruption) still has
 * its whole group stopped, as it never gets here.
 */
export const keepWhatItLeft = (child: ChildProcessSpawner.ChildProcessHandle): Effect.Effect<void> =>
  Effect.ignore(child.unref)

/** Runs `cmd` to its end, with its output. */
export const runToEnd = (
  spawner: Spawner,
  cmd: ChildProcess.Command,
  options: RunOptions = {}
): Effect.Effect<Finished, PlatformError | Expired> =>
  Effect.scoped(Effect.gen(function*() {
    // the spawner's own release stops the group when this scope closes: on the time limit and on
    // interruption (with `forceKillAfter`, it cannot wait forever on a child ignoring SIGTERM)
    const child = yield* start(spawner, cmd, options.grace)
    const finished = Effect.all(
      [collectOutput(child.stdout), collectOutput(child.stderr), child.exitCode],
      { concurrency: "unbounded" }
    ).pipe(
      Effect.tap(() => keepWhatItLeft(child)),
      Effect.map(([stdout, stderr, exitCode]): Finished => ({ exitCode, stdout, stderr }))
    )
    if (options.timeout === undefined) return yield* finished
    const after = formatAfter(options.timeout)
    return yield* finished.pipe(
      Effect.timeoutOrElse({ duration: options.timeout, orElse: () => Effect.fail(new Expired({ after })) })
    )
  }))

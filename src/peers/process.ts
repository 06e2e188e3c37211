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
import { Data, Duration, Effect, Scope, Stream } from "effect"
import type { PlatformError } from "effect/PlatformError"
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

/** A started child, and what to say once it has ended on its own. */
export interface Started {
  readonly child: ChildProcessSpawner.ChildProcessHandle
  /**
   * Says that the child ended on its own (its status read, its output at its end). Then what it
   * left running in its process group stays: an ssh ControlMaster that a legacy scp started is
   * the peer's shared connection, with its own close and idle limit. And the spawner's clean-up
   * of the group (after a non-zero status: SIGTERM, then a wait for the group to be gone) runs
   * on its own instead of holding the caller: the first fork of a ControlMaster leaves a zombie
   * in the group that only init reaps, which some inits (containers, sandboxes) do late or never,
   * and the spawner would wait out the grace and a second more for it.
   */
  readonly ended: Effect.Effect<void>
}

/**
 * Starts `cmd` (`prepare`d) in the current scope. Closing the scope stops the child's whole
 * process group (SIGTERM, SIGKILL after `grace`) and waits for it; once the child has `ended`
 * on its own, the spawner's clean-up of the group is left to run by itself (see `Started`).
 */
export const start = (spawner: Spawner, cmd: ChildProcess.Command, grace?: Duration.Input): Effect.Effect<Started, PlatformError, Scope.Scope> =>
  Effect.gen(function*() {
    // --verbose shows each command as a line to replay it by hand
    yield* Effect.logDebug(`run: ${shellLine(cmd)}`)
    const own = yield* Scope.make()
    let endedOnItsOwn = false
    yield* Effect.addFinalizer((exit) => endedOnItsOwn ? Effect.asVoid(Effect.forkDetach(Scope.close(own, exit))) : Scope.close(own, exit))
    const child = yield* Scope.provide(own)(spawner.spawn(prepare(cmd, grace)))
    const ended = Effect.suspend(() => {
      endedOnItsOwn = true
      return Effect.ignore(child.unref)
    })
    return { child, ended }
  })

/** Runs `cmd` to its end, with its output. */
export const runToEnd = (
  spawner: Spawner,
  cmd: ChildProcess.Command,
  options: RunOptions = {}
): Effect.Effect<Finished, PlatformError | Expired> =>
  Effect.scoped(Effect.gen(function*() {
    // the spawner's own release stops the group when this scope closes: on the time limit and on
    // interruption (with `forceKillAfter`, it cannot wait forever on a child ignoring SIGTERM)
    const { child, ended } = yield* start(spawner, cmd, options.grace)
    const finished = Effect.all(
      [collectOutput(child.stdout), collectOutput(child.stderr), child.exitCode],
      { concurrency: "unbounded" }
    ).pipe(
      Effect.tap(() => ended),
      Effect.map(([stdout, stderr, exitCode]): Finished => ({ exitCode, stdout, stderr }))
    )
    if (options.timeout === undefined) return yield* finished
    const after = formatAfter(options.timeout)
    return yield* finished.pipe(
      Effect.timeoutOrElse({ duration: options.timeout, orElse: () => Effect.fail(new Expired({ after })) })
    )
  }))

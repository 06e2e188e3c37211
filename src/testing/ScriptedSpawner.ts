/**
 * A `ChildProcessSpawner` that starts no process: every command's argv is recorded and answered
 * from a script (exit status, stdout, stderr, a spawn failure, or a child that never ends until
 * killed). It replaces cedar-peer 0.2's `ScriptedExecutor` (a `CommandExecutor` of
 * `@effect/platform`); `ScriptedExecutor` remains a name of this module in `cedar-peer/testing`.
 *
 * It behaves as Effect 4's Node spawner where a test can see it: an exit status is data (1, 127 or
 * 255 succeed); a child killed by a signal makes `exitCode` fail with a `PlatformError`; a command
 * with a NUL byte in its argv is refused before it starts (`BadArgument`, not recorded). A stdin
 * stream given to the command is read to its end before the child exits (its failure is the
 * child's `exitCode` failure).
 *
 * @since 1.0.0
 */
import { Deferred, Effect, Fiber, Layer, PlatformError, Redacted, Sink, Stream } from "effect"
import type { Context } from "effect"
import * as ChildProcess from "effect/process/ChildProcess"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"

/**
 * What a scripted command answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply {
  readonly exitCode: number
  /** text (sent as UTF-8) or bytes as they are, e.g. a tar stream */
  readonly stdout?: string | Uint8Array | undefined
  readonly stderr?: string | undefined
  /** the child never exits (and its output never ends) until it is killed, or its scope closes */
  readonly hang?: boolean | undefined
  /** the command does not start: `spawn` fails with a `PlatformError` of this tag (`NotFound`: no such program) */
  readonly spawnError?: PlatformError.SystemErrorTag | undefined
}

/**
 * A scripted spawner: its layer and every argv it was asked to run, in order.
 *
 * Make one per test: `calls` belongs to the value `make` returns, and accumulates over every
 * provide of its `layer`. The layer itself is fresh (built anew at each `Effect.provide`, never
 * taken from Effect 4's layer memo map), so the services `R` its script uses are always those of
 * the provide at hand.
 *
 * @since 1.0.0
 * @category models
 */
export interface ScriptedSpawner<R = never> {
  readonly layer: Layer.Layer<ChildProcessSpawner.ChildProcessSpawner, never, R>
  /** one entry per started command, as the child would receive it (UTF-8); a pipeline is its commands joined by `"|"` */
  readonly calls: ReadonlyArray<ReadonlyArray<string>>
}

/**
 * The former name of `ScriptedSpawner`.
 *
 * @since 0.1.0
 * @category models
 * @deprecated use `ScriptedSpawner`
 */
export type ScriptedExecutor<R = never> = ScriptedSpawner<R>

const encoder = new TextEncoder()

const bytes = (text: string | Uint8Array | undefined): Stream.Stream<Uint8Array> =>
  text === undefined || text.length === 0
    ? Stream.empty
    : Stream.make(typeof text === "string" ? encoder.encode(text) : text)

// A real child gets its argv as UTF-8 bytes: a lone surrogate arrives as U+FFFD, so it does here.
const asSpawned = (word: string): string => new TextDecoder().decode(encoder.encode(word))

const standardCommands = (command: ChildProcess.Command): Array<ChildProcess.StandardCommand> =>
  command._tag === "PipedCommand" ? [...standardCommands(command.left), ...standardCommands(command.right)] : [command]

const wordsOf = (command: ChildProcess.StandardCommand): Array<string> =>
  [command.command, ...command.args.map((word) => (Redacted.isRedacted(word) ? Redacted.value(word) : word))]

const argvOf = (command: ChildProcess.Command): ReadonlyArray<string> =>
  standardCommands(command).flatMap((c, i) => [...(i === 0 ? [] : ["|"]), ...wordsOf(c)]).map(asSpawned)

const display = (command: ChildProcess.Command): string =>
  standardCommands(command).map((c) => wordsOf(c).join(" ")).join(" | ")

/** The stdin stream a test gave the (first) command, if any; the Node spawner runs it into the child. */
const inputOf = (command: ChildProcess.Command): Stream.Stream<Uint8Array, PlatformError.PlatformError> | undefined => {
  const stdin = standardCommands(command)[0]!.options.stdin
  const stream = typeof stdin === "object" && !Stream.isStream(stdin) ? stdin.stream : stdin
  return Stream.isStream(stream) ? stream : undefined
}

/** A handle over a reply: output at once (or, hanging, until killed), the exit status as data. */
const makeHandle = Effect.fnUntraced(function*(command: ChildProcess.Command, pid: number, reply: Reply) {
  const error = (method: string, description: string) =>
    PlatformError.systemError({ _tag: "Unknown", module: "ChildProcess", method, description, pathOrDescriptor: display(command) })
  const killed = yield* Deferred.make<ChildProcess.Signal>()
  const hang = reply.hang === true
  const input = inputOf(command)
  // the child reads its whole input: it exits once that is done, a failed input is its failure
  const reading = input === undefined ? undefined : yield* Effect.forkScoped(Stream.runDrain(input))
  const inputRead = reading === undefined ? Effect.void : Fiber.join(reading)
  const output = (text: string | Uint8Array | undefined) =>
    hang ? Stream.concat(bytes(text), Stream.drain(Stream.fromEffect(Deferred.await(killed)))) : bytes(text)
  const signalled = Effect.flatMap(
    Deferred.await(killed),
    (signal) => Effect.fail(error("exitCode", `Process interrupted due to receipt of signal: '${signal}'`))
  )
  const exitCode = hang
    ? Effect.raceFirst(signalled, Effect.andThen(inputRead, Effect.never))
    : Effect.as(inputRead, ChildProcessSpawner.ExitCode(reply.exitCode))
  const kill = (options?: ChildProcess.KillOptions) =>
    Effect.asVoid(Deferred.succeed(killed, options?.killSignal ?? firstOptions(command).killSignal ?? "SIGTERM"))
  // as the Node spawner: a child still running when its scope closes is killed
  yield* Effect.addFinalizer(() => hang ? kill() : Effect.void)
  const stdout = output(reply.stdout)
  const stderr = output(reply.stderr)
  return ChildProcessSpawner.makeHandle({
    pid: ChildProcessSpawner.ProcessId(pid),
    exitCode,
    isRunning: hang ? Effect.map(Deferred.isDone(killed), (done) => !done) : Effect.succeed(false),
    kill: (options) => hang ? kill(options) : Effect.void,
    stdin: Sink.drain,
    stdout,
    stderr,
    all: Stream.merge(stdout, stderr),
    getInputFd: () => Sink.drain,
    getOutputFd: () => Stream.empty,
    unref: Effect.succeed(Effect.void)
  })
})

const firstOptions = (command: ChildProcess.Command): ChildProcess.CommandOptions => standardCommands(command)[0]!.options

const hasNul = (command: ChildProcess.Command): boolean => standardCommands(command).some((c) => wordsOf(c).some((w) => w.includes("\0")))

/**
 * Builds a scripted spawner. The script runs when a command is spawned (so its side effects happen
 * in spawn order; an effect that sleeps first delays the start) and may need services `R`, which
 * the layer then requires. Make one per test (see `ScriptedSpawner`).
 *
 * @example
 * const spawner = ScriptedSpawner.make((argv) =>
 *   argv[0] === "ssh" ? { exitCode: 255, stderr: "ssh: connect to host db1 port 22: Connection refused\n" } : { exitCode: 0 }
 * )
 * // program.pipe(Effect.provide(spawner.layer)); then spawner.calls is [["ssh", …], …]
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(
  script: (argv: ReadonlyArray<string>) => Reply | Effect.Effect<Reply, never, R>
): ScriptedSpawner<R> => {
  const calls: Array<ReadonlyArray<string>> = []
  const spawnWith = (context: Context.Context<R>) => (command: ChildProcess.Command) =>
    Effect.gen(function*() {
      if (hasNul(command)) {
        return yield* PlatformError.badArgument({
          module: "ChildProcess",
          method: "spawn",
          description: "An argument contains a NUL character"
        })
      }
      const argv = argvOf(command)
      calls.push(argv)
      const pid = calls.length
      const answer = script(argv)
      const reply = Effect.isEffect(answer) ? yield* Effect.provideContext(answer, context) : answer
      if (reply.spawnError !== undefined) {
        return yield* PlatformError.systemError({
          _tag: reply.spawnError,
          module: "ChildProcess",
          method: "spawn",
          syscall: `spawn ${argv[0] ?? ""}`,
          pathOrDescriptor: display(command),
          description: `scripted spawn failure: ${reply.spawnError}`
        })
      }
      return yield* makeHandle(command, pid, reply)
    })
  const layer = Layer.fresh(Layer.effect(
    ChildProcessSpawner.ChildProcessSpawner,
    Effect.map(Effect.context<R>(), (context) => ChildProcessSpawner.make(spawnWith(context)))
  ))
  return { layer, calls }
}

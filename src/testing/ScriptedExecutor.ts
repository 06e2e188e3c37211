/**
 * A CommandExecutor that starts no process: every command's argv is recorded and answered from a
 * script (exit status, stdout, stderr, or a child that never ends until killed).
 *
 * @since 0.1.0
 */
import { Command, CommandExecutor } from "@effect/platform"
import { Deferred, Effect, Inspectable, Layer, Sink, Stream } from "effect"

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
  /** the child never exits (and its output never ends) until it is killed */
  readonly hang?: boolean | undefined
}

/**
 * A scripted executor: its layer and every argv it was asked to run, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedExecutor<R = never> {
  readonly layer: Layer.Layer<CommandExecutor.CommandExecutor, never, R>
  /** one entry per started command, as the child would receive it (UTF-8); a pipeline is its commands joined by `"|"` */
  readonly calls: ReadonlyArray<ReadonlyArray<string>>
}

const bytes = (text: string | Uint8Array | undefined): Stream.Stream<Uint8Array> =>
  text === undefined || text.length === 0
    ? Stream.empty
    : Stream.make(typeof text === "string" ? new TextEncoder().encode(text) : text)

/** Exit status of a child killed by SIGTERM, as a shell reports it. */
const KILLED = 143

// A real child gets its argv as UTF-8 bytes: a lone surrogate arrives as U+FFFD, so it does here.
const asSpawned = (word: string): string => new TextDecoder().decode(new TextEncoder().encode(word))

const argvOf = (command: Command.Command): ReadonlyArray<string> =>
  Command.flatten(command).flatMap((c, i) => [...(i === 0 ? [] : ["|"]), c.command, ...c.args]).map(asSpawned)

/**
 * Builds a scripted executor. The script runs when a command starts (so its side effects happen
 * in spawn order) and may need services `R`, which the layer then requires.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(
  script: (argv: ReadonlyArray<string>) => Reply | Effect.Effect<Reply, never, R>
): ScriptedExecutor<R> => {
  const calls: Array<ReadonlyArray<string>> = []
  const layer = Layer.effect(
    CommandExecutor.CommandExecutor,
    Effect.gen(function*() {
      const context = yield* Effect.context<R>()
      const start = (command: Command.Command) =>
        Effect.gen(function*() {
          const argv = argvOf(command)
          calls.push(argv)
          const pid = calls.length
          const answer = script(argv)
          const reply = Effect.isEffect(answer) ? yield* Effect.provide(answer, context) : answer
          const killed = yield* Deferred.make<CommandExecutor.ExitCode>()
          const hang = reply.hang === true
          const output = (text: string | Uint8Array | undefined) =>
            hang ? Stream.concat(bytes(text), Stream.fromEffect(Deferred.await(killed)).pipe(Stream.drain)) : bytes(text)
          const process: CommandExecutor.Process = {
            ...Inspectable.BaseProto,
            [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
            pid: CommandExecutor.ProcessId(pid),
            exitCode: hang ? Deferred.await(killed) : Effect.succeed(CommandExecutor.ExitCode(reply.exitCode)),
            isRunning: hang ? Effect.map(Deferred.isDone(killed), (done) => !done) : Effect.succeed(false),
            kill: () => Effect.asVoid(Deferred.succeed(killed, CommandExecutor.ExitCode(KILLED))),
            stdin: Sink.drain,
            stdout: output(reply.stdout),
            stderr: output(reply.stderr)
          }
          return process
        })
      return CommandExecutor.makeExecutor(start)
    })
  )
  return { layer, calls }
}

// Runs a command to its end, reading stdout, stderr and the exit status together: a piped
// stream nobody reads stalls the child past ~64 KiB and its exit status never arrives.
import type { Command } from "@effect/platform"
import type { CommandExecutor } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Stream } from "effect"

export interface Finished {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** Keeps at most this much of a child's output, from the end (the error is usually last). */
const MAX_OUTPUT = 64 * 1024

const collect = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  stream.pipe(
    Stream.decodeText(),
    Stream.runFold("", (acc, chunk) => {
      const next = acc + chunk
      return next.length > MAX_OUTPUT ? next.slice(next.length - MAX_OUTPUT) : next
    })
  )

export const runToEnd = (
  executor: CommandExecutor.CommandExecutor,
  command: Command.Command
): Effect.Effect<Finished, PlatformError> =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* executor.start(command)
    const [stdout, stderr, exitCode] = yield* Effect.all(
      [collect(child.stdout), collect(child.stderr), child.exitCode],
      { concurrency: "unbounded" }
    )
    return { exitCode, stdout, stderr }
  }))

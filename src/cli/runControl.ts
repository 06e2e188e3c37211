// Run control for the CLI: the graceful stop on SIGINT/SIGTERM (main.ts completes it, the
// commands that can report what was done hand it to the library), and what the flags that bound
// a staging run (commands/flags.ts) give the library.
import { Context, Effect, Fiber, Option } from "effect"
import type { SettingsOverrides, TimeoutName } from "../domain/Settings.js"

/** What the bin's run control offers the commands. */
export interface RunControlShape {
  /** completes on the first SIGINT or SIGTERM */
  readonly stop: Effect.Effect<void>
  /** runs a command that winds down by itself on `stop` instead of being interrupted */
  readonly graceful: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * How the bin tells a command to stop. `stop` completes on the first SIGINT or SIGTERM; while a
 * command runs inside `graceful`, the signal does not interrupt it: it finishes (e.g. prints its
 * summary) and the bin exits 130 or 143 afterwards. Outside `graceful`, or on a second signal,
 * the command is interrupted.
 */
export class RunControl extends Context.Service<RunControl, RunControlShape>()("cedar-peer/cli/RunControl") {}

/** The bin's run control, or one that never stops (in-process runs of the CLI, e.g. tests). */
export const runControl: Effect.Effect<RunControlShape> = Effect.map(
  Effect.serviceOption(RunControl),
  Option.getOrElse((): RunControlShape => ({
    stop: Effect.never,
    graceful: <A, E, R>(self: Effect.Effect<A, E, R>) => self
  }))
)

/**
 * Runs one peer's staging (`stage` gets the progress listener to hand it) so that a stop interrupts
 * it until its files start to land, and lets the landing finish after that: the landing cannot be
 * undone halfway, and its files are then all in place, which the command must say rather than
 * report "interrupted". `stopped` tells whether a stop came while the landing was let finish.
 */
export const stopBeforeLanding = <A, E, R>(
  control: RunControlShape,
  stage: (onProgress: (progress: { readonly phase: string }) => void) => Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly stopped: boolean }, E, R> =>
  control.graceful(Effect.gen(function*() {
    // set inside the landing's uninterruptible step: once it is true, an interruption would wait
    // for the landing anyway, and would only lose the report of what landed
    let landing = false
    let stopped = false
    // before the landing, the stop interrupts the command as a whole, as outside `graceful`
    const command = yield* Effect.fiber
    const staging = yield* Effect.forkChild(stage((progress) => {
      if (progress.phase === "committing") landing = true
    }))
    yield* Effect.forkChild(Effect.andThen(
      control.stop,
      Effect.sync(() => {
        stopped = landing
        if (!landing) command.interruptUnsafe()
      })
    ))
    const value = yield* Fiber.join(staging)
    return { value, stopped }
  }))

export { parseTimeouts } from "./commands/flags.js"

/**
 * The time limits `--timeout` gives, by name.
 *
 * @since 1.0.0
 * @category models
 */
export type Timeouts = Partial<Record<TimeoutName, number>>

/**
 * The values of the limit flags, as a command's definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface LimitOptions {
  readonly maxFiles: Option.Option<number>
  readonly maxBytes: Option.Option<number>
  readonly timeout: Timeouts
  readonly verify: boolean
}

/**
 * The limit flags' values when a command takes only --timeout.
 *
 * @since 1.0.0
 * @category constants
 */
export const NO_LIMITS = { maxFiles: Option.none<number>(), maxBytes: Option.none<number>(), verify: false }

/** The settings the limit flags override (only those given). */
export const settingsOf = (opts: LimitOptions): SettingsOverrides => ({
  ...(Option.isSome(opts.maxFiles) ? { maxFiles: opts.maxFiles.value } : {}),
  ...(Option.isSome(opts.maxBytes) ? { maxBytes: opts.maxBytes.value } : {}),
  ...(Object.keys(opts.timeout).length > 0 ? { timeouts: opts.timeout } : {}),
  ...(opts.verify ? { verify: true } : {})
})

// Run control for the CLI: the graceful stop on SIGINT/SIGTERM (main.ts completes it, the
// commands that can report what was done hand it to the library), and the flags that bound a
// staging run (--max-files, --max-bytes, --timeout, --verify, --concurrency).
import { Context, Effect, Fiber, Option } from "effect"
import { CliError, Flag } from "effect/cli"
import * as Config from "../config/Config.js"

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

/** A value the command line cannot take: a usage error whose message is exactly this text. */
export const invalid = (message: string) => new CliError.ValidationError({ message })

const wholeNumber = (name: string, text: string) =>
  /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= 1
    ? Effect.succeed(Number(text))
    : Effect.fail(invalid(`--${name} must be a whole number of at least 1, got ${JSON.stringify(text)}`))

const parseSeconds = (text: string): number | undefined => {
  const value = Config.parseDuration(text)
  return value !== undefined && value > 0 ? value : undefined
}

/** `NAME=SECONDS` for one timeout, or a bare `SECONDS` for the whole stage of each peer. */
export const parseTimeouts = (values: ReadonlyArray<string>): Effect.Effect<Partial<Record<Config.TimeoutName, number>>, CliError.ValidationError> =>
  Effect.gen(function*() {
    const timeouts: Partial<Record<Config.TimeoutName, number>> = {}
    for (const value of values) {
      const [name, seconds] = value.includes("=") ? value.split("=", 2) as [string, string] : ["stage", value]
      if (!(Config.TIMEOUT_NAMES as ReadonlyArray<string>).includes(name)) {
        return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the name must be one of ${Config.TIMEOUT_NAMES.join(", ")}`))
      }
      const parsed = parseSeconds(seconds)
      if (parsed === undefined) {
        return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the time must be seconds above 0, or a number with s, m, h or d (90s, 5m)`))
      }
      timeouts[name as Config.TimeoutName] = parsed
    }
    return timeouts
  })

/** An on/off flag: false unless given (no `--no-` form, as before). */
export const flag = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withoutNegation, Flag.withDefault(false), Flag.withDescription(description))

/** The flags that bound the staging of each peer, for `stage` and `stage-peer`. */
export const limitFlags = {
  maxFiles: Flag.String("max-files").pipe(
    Flag.withMetavar("N"),
    Flag.mapEffect((text) => wholeNumber("max-files", text)),
    Flag.optional,
    Flag.withDescription("fail a peer with more files than this (nothing of it is staged)")
  ),
  maxBytes: Flag.String("max-bytes").pipe(
    Flag.withMetavar("BYTES"),
    Flag.mapEffect((text) => {
      const value = Config.parseBytes(text)
      return value === undefined
        ? Effect.fail(invalid(`--max-bytes must be a number of bytes of at least 1, optionally with K, M, G or T (500M, 10G), got ${JSON.stringify(text)}`))
        : Effect.succeed(value)
    }),
    Flag.optional,
    Flag.withDescription("fail a peer with more bytes than this, e.g. 10G (nothing of it is staged)")
  ),
  timeout: Flag.String("timeout").pipe(
    Flag.withMetavar("NAME=SECONDS"),
    Flag.atLeast(0),
    Flag.mapEffect(parseTimeouts),
    Flag.withDescription(`a time limit: NAME one of ${Config.TIMEOUT_NAMES.join(", ")}; a bare SECONDS limits each peer's whole stage`)
  ),
  verify: flag("verify", "compare the SHA-256 of every staged file with its source (and write the daily manifest)")
}

/** `--concurrency N`: how many peers are staged at once. */
export const concurrencyFlag = Flag.String("concurrency").pipe(
  Flag.withMetavar("N"),
  Flag.mapEffect((text) => wholeNumber("concurrency", text)),
  Flag.optional,
  Flag.withDescription("how many peers are staged at once (default: the configuration's, else 4)")
)

/** The settings the limit flags override (only those given). */
export const settingsOf = (opts: {
  readonly maxFiles: Option.Option<number>
  readonly maxBytes: Option.Option<number>
  readonly timeout: Partial<Record<Config.TimeoutName, number>>
  readonly verify: boolean
}): Config.SettingsOverrides => ({
  ...(Option.isSome(opts.maxFiles) ? { maxFiles: opts.maxFiles.value } : {}),
  ...(Option.isSome(opts.maxBytes) ? { maxBytes: opts.maxBytes.value } : {}),
  ...(Object.keys(opts.timeout).length > 0 ? { timeouts: opts.timeout } : {}),
  ...(opts.verify ? { verify: true } : {})
})

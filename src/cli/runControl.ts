// Run control for the CLI: the graceful stop on SIGINT/SIGTERM (main.ts completes it, the
// commands that can report what was done hand it to the library), and the flags that bound a
// staging run (--max-files, --max-bytes, --timeout, --verify, --concurrency).
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { Context, Effect, Option } from "effect"
import * as Config from "../Config.js"
import * as Pool from "../Pool.js"

/**
 * How the bin tells a command to stop. `stop` completes on the first SIGINT or SIGTERM; while a
 * command runs inside `graceful`, the signal does not interrupt it: it finishes (e.g. prints its
 * summary) and the bin exits 130 or 143 afterwards. Outside `graceful`, or on a second signal,
 * the command is interrupted.
 */
export class RunControl extends Context.Tag("cedar-peer/cli/RunControl")<RunControl, {
  readonly stop: Effect.Effect<void>
  readonly graceful: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}>() {}

/** The bin's run control, or one that never stops (in-process runs of the CLI, e.g. tests). */
export const runControl = Effect.map(Effect.serviceOption(RunControl), Option.getOrElse(() => ({
  stop: Effect.never as Effect.Effect<void>,
  graceful: <A, E, R>(self: Effect.Effect<A, E, R>) => self
})))

const invalid = (text: string) => ValidationError.invalidValue(HelpDoc.p(text))

const wholeNumber = (flag: string, text: string) =>
  /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= 1
    ? Effect.succeed(Number(text))
    : Effect.fail(invalid(`--${flag} must be a whole number of at least 1, got ${JSON.stringify(text)}`))

const parseSeconds = (text: string): number | undefined => {
  const value = Config.parseDuration(text)
  return value !== undefined && value > 0 ? value : undefined
}

/** `NAME=SECONDS` for one timeout, or a bare `SECONDS` for the whole stage of each peer. */
export const parseTimeouts = (values: ReadonlyArray<string>): Effect.Effect<Partial<Record<Pool.TimeoutName, number>>, ValidationError.ValidationError> =>
  Effect.gen(function*() {
    const timeouts: Partial<Record<Pool.TimeoutName, number>> = {}
    for (const value of values) {
      const [name, seconds] = value.includes("=") ? value.split("=", 2) as [string, string] : ["stage", value]
      if (!(Pool.TIMEOUT_NAMES as ReadonlyArray<string>).includes(name)) {
        return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the name must be one of ${Pool.TIMEOUT_NAMES.join(", ")}`))
      }
      const parsed = parseSeconds(seconds)
      if (parsed === undefined) {
        return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the time must be seconds above 0, or a number with s, m, h or d (90s, 5m)`))
      }
      timeouts[name as Pool.TimeoutName] = parsed
    }
    return timeouts
  })

/** The flags that bound the staging of each peer, for `stage` and `stage-peer`. */
export const limitFlags = {
  maxFiles: Options.text("max-files").pipe(
    Options.withPseudoName("N"),
    Options.mapEffect((text) => wholeNumber("max-files", text)),
    Options.optional,
    Options.withDescription("fail a peer with more files than this (nothing of it is staged)")
  ),
  maxBytes: Options.text("max-bytes").pipe(
    Options.withPseudoName("BYTES"),
    Options.mapEffect((text) => {
      const value = Config.parseBytes(text)
      return value === undefined
        ? Effect.fail(invalid(`--max-bytes must be a number of bytes of at least 1, optionally with K, M, G or T (500M, 10G), got ${JSON.stringify(text)}`))
        : Effect.succeed(value)
    }),
    Options.optional,
    Options.withDescription("fail a peer with more bytes than this, e.g. 10G (nothing of it is staged)")
  ),
  timeout: Options.text("timeout").pipe(
    Options.withPseudoName("NAME=SECONDS"),
    Options.repeated,
    Options.mapEffect(parseTimeouts),
    Options.withDescription(`NAME=SECONDS (NAME: ${Pool.TIMEOUT_NAMES.join(", ")}), or SECONDS for each peer's whole stage`)
  ),
  verify: Options.boolean("verify").pipe(
    Options.withDescription("compare the SHA-256 of every staged file with its source (and write the daily manifest)")
  )
}

/** `--concurrency N`: how many peers are staged at once. */
export const concurrencyFlag = Options.text("concurrency").pipe(
  Options.withPseudoName("N"),
  Options.mapEffect((text) => wholeNumber("concurrency", text)),
  Options.optional,
  Options.withDescription("how many peers are staged at once (default: the configuration's, else 4)")
)

/** The settings the limit flags override (only those given). */
export const settingsOf = (opts: {
  readonly maxFiles: Option.Option<number>
  readonly maxBytes: Option.Option<number>
  readonly timeout: Partial<Record<Pool.TimeoutName, number>>
  readonly verify: boolean
}): Pool.SettingsOverride => ({
  ...(Option.isSome(opts.maxFiles) ? { maxFiles: opts.maxFiles.value } : {}),
  ...(Option.isSome(opts.maxBytes) ? { maxBytes: opts.maxBytes.value } : {}),
  ...(Object.keys(opts.timeout).length > 0 ? { timeouts: opts.timeout } : {}),
  ...(opts.verify ? { verify: true } : {})
})

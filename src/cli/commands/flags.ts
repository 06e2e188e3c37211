// The options several commands share, defined once so that they read the same everywhere. Light
// on purpose: every start evaluates the definitions (help, the man page and the parser read them),
// so what parses a value (the config module's units) is loaded only when a value is given.
import { Effect } from "effect"
import { CliError, Flag } from "effect/cli"
import { TIMEOUT_NAMES, type TimeoutName } from "../../domain/Settings.js"
import { lazily } from "../lazily.js"

/**
 * A value the command line cannot take: a usage error whose message is exactly this text.
 *
 * @since 1.0.0
 * @category errors
 */
export const invalid = (message: string) => new CliError.ValidationError({ message })

const wholeNumber = (name: string, text: string) =>
  /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= 1
    ? Effect.succeed(Number(text))
    : Effect.fail(invalid(`--${name} must be a whole number of at least 1, got ${JSON.stringify(text)}`))

/**
 * `NAME=SECONDS` for one timeout, or a bare `SECONDS` for the whole stage of each peer.
 *
 * @since 1.0.0
 * @category parsers
 */
export const parseTimeouts = (values: ReadonlyArray<string>): Effect.Effect<Partial<Record<TimeoutName, number>>, CliError.ValidationError> =>
  lazily(() => import("../../config/Config.js"), (Config) =>
    Effect.gen(function*() {
      const timeouts: Partial<Record<TimeoutName, number>> = {}
      for (const value of values) {
        const [name, seconds] = value.includes("=") ? value.split("=", 2) as [string, string] : ["stage", value]
        if (!(TIMEOUT_NAMES as ReadonlyArray<string>).includes(name)) {
          return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the name must be one of ${TIMEOUT_NAMES.join(", ")}`))
        }
        const parsed = Config.parseDuration(seconds)
        if (parsed === undefined || parsed <= 0) {
          return yield* Effect.fail(invalid(`--timeout ${JSON.stringify(value)}: the time must be seconds above 0, or a number with s, m, h or d (90s, 5m)`))
        }
        timeouts[name as TimeoutName] = parsed
      }
      return timeouts
    }))

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
    Flag.mapEffect((text) =>
      lazily(() => import("../../config/Config.js"), (Config) => {
        const value = Config.parseBytes(text)
        return value === undefined
          ? Effect.fail(invalid(`--max-bytes must be a number of bytes of at least 1, optionally with K, M, G or T (500M, 10G), got ${JSON.stringify(text)}`))
          : Effect.succeed(value)
      })
    ),
    Flag.optional,
    Flag.withDescription("fail a peer with more bytes than this, e.g. 10G (nothing of it is staged)")
  ),
  timeout: Flag.String("timeout").pipe(
    Flag.withMetavar("NAME=SECONDS"),
    Flag.atLeast(0),
    Flag.mapEffect(parseTimeouts),
    Flag.withDescription(`a time limit: NAME one of ${TIMEOUT_NAMES.join(", ")}; a bare SECONDS limits each peer's whole stage`)
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

const DEFAULT_CONFIG = "/etc/cback3.conf"

/**
 * `--config FILE`: the pool configuration.
 *
 * @since 0.1.0
 * @category flags
 */
export const config = Flag.String("config").pipe(
  Flag.withAlias("c"),
  Flag.withMetavar("FILE"),
  Flag.withDefault(DEFAULT_CONFIG),
  Flag.withDescription("the pool configuration: a Cedar Backup cback3.conf, or JSON when the name ends in .json")
)

/**
 * `--json`: one JSON document on stdout.
 *
 * @since 0.1.0
 * @category flags
 */
export const json = flag("json", "print one JSON document on stdout")

/**
 * `--full`, as cback3 takes it.
 *
 * @since 0.1.0
 * @category flags
 */
export const full = flag("full", "a full run, like cback3 --full (decides which failure modes are ignored)").pipe(Flag.withAlias("f"))

/**
 * `--peer NAME`, repeatable: the peers a pool command works on.
 *
 * @since 0.1.0
 * @category flags
 */
export const somePeers = Flag.String("peer").pipe(
  Flag.withMetavar("NAME"),
  Flag.atLeast(0),
  Flag.withDescription("only this peer; all peers when absent")
)

/**
 * `--peer NAME`, once: the peer a single-peer command works on.
 *
 * @since 0.1.0
 * @category flags
 */
export const onePeer = Flag.String("peer").pipe(Flag.withMetavar("NAME"), Flag.withDescription("the peer's name in the configuration"))

/**
 * `--indicator FILE`, with the indicator the command reads or writes by default.
 *
 * @since 0.1.0
 * @category flags
 */
export const indicator = (fallback: string) =>
  Flag.String("indicator").pipe(
    Flag.withMetavar("FILE"),
    Flag.withDefault(fallback),
    Flag.withDescription("the indicator file name")
  )

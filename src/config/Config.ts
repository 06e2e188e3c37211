/**
 * The configuration of a pool: one model, decoded with `effect/Schema` from JSON or from Cedar
 * Backup's `cback3.conf` (its `<options>`, `<peers>` and `<stage>` sections; the others are
 * ignored). Every problem is reported at once, each with its location, in one `ConfigError`.
 * The schemas are in `schema.ts`, the decoding and its messages in `decode.ts`.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, type PlatformError, Result } from "effect"
import { ConfigError } from "../domain/PeerError.js"
import { DEFAULT_CONCURRENCY, type PeerSettings, resolveSettings, type SettingsOverrides } from "../domain/Settings.js"
import { decodePool } from "./decode.js"
import { parseCedarXml } from "./internal/cedarXml.js"
import { jsonSyntaxProblem } from "./internal/jsonSyntax.js"
import { xmlLines } from "./internal/xmlLines.js"
import type { OptionsConfig, PeerConfig, PoolConfig } from "./schema.js"

export {
  /**
   * The origin of a decoded pool: its file's format, its peer list and, for a cback3.conf, lines.
   *
   * @since 1.0.0
   * @category schemas
   */
  ConfigOrigin,
  /**
   * A local peer's configuration.
   *
   * @since 0.1.0
   * @category schemas
   */
  LocalPeerConfig,
  /**
   * The `<options>` section: defaults for every peer and the owner of the staging area.
   *
   * @since 0.1.0
   * @category schemas
   */
  OptionsConfig,
  /**
   * Reads a byte count as the XML config and the CLI write it (`500M`, `10G`).
   *
   * @since 0.2.0
   * @category constructors
   */
  parseBytes,
  /**
   * Reads a duration as the XML config and the CLI write it, in seconds (`90s`, `5m`).
   *
   * @since 0.2.0
   * @category constructors
   */
  parseDuration,
  /**
   * A local or a remote peer.
   *
   * @since 0.1.0
   * @category schemas
   */
  PeerConfig,
  /**
   * A decoded pool.
   *
   * @since 0.1.0
   * @category schemas
   */
  PoolConfig,
  /**
   * A peer reached with the rcp/rsh commands.
   *
   * @since 0.1.0
   * @category schemas
   */
  RemotePeerConfig,
  /**
   * The first day of the backup week.
   *
   * @since 0.1.0
   * @category schemas
   */
  StartingDay,
  /**
   * The English day names accepted as `starting_day`.
   *
   * @since 0.1.0
   * @category constants
   */
  VALID_STARTING_DAYS
} from "./schema.js"

export {
  /**
   * Names a place of a decoded pool in the vocabulary of the file it came from.
   *
   * @since 0.2.0
   * @category accessors
   */
  locate
} from "./place.js"

export {
  /**
   * How a remote peer's files travel: `scp` (the default) or `tar`.
   *
   * @since 0.2.0
   * @category schemas
   */
  Transport,
  /**
   * The defaults of every timeout, in seconds.
   *
   * @since 0.2.0
   * @category constants
   */
  DEFAULT_TIMEOUTS,
  /**
   * The default retries: 2, starting 5 seconds apart.
   *
   * @since 0.2.0
   * @category constants
   */
  DEFAULT_RETRIES,
  /**
   * The default number of peers staged at once.
   *
   * @since 0.2.0
   * @category constants
   */
  DEFAULT_CONCURRENCY,
  /**
   * The names of the per-operation timeouts a peer may set.
   *
   * @since 1.0.0
   * @category constants
   */
  TIMEOUT_NAMES,
  /**
   * A timeout's name.
   *
   * @since 1.0.0
   * @category models
   */
  type TimeoutName,
  /**
   * How long each operation on a peer may take, in seconds.
   *
   * @since 0.2.0
   * @category models
   */
  type Timeouts,
  /**
   * Retries of transient failures: how many, and the base delay in seconds.
   *
   * @since 0.2.0
   * @category models
   */
  type Retries,
  /**
   * The settings a peer runs with, every value resolved.
   *
   * @since 0.2.0
   * @category models
   */
  type PeerSettings,
  /**
   * Settings that win over the configuration (e.g. from command-line flags), field by field.
   *
   * @since 0.2.0
   * @category models
   */
  type SettingsOverrides
} from "../domain/Settings.js"

/**
 * Resolves the settings of one peer of a pool: `overrides` first, then the peer's own values,
 * then `options`, then the defaults (`DEFAULT_TIMEOUTS`, `DEFAULT_RETRIES`, transport `scp`,
 * connection sharing on, verification off, no limits).
 *
 * @since 0.2.0
 * @category constructors
 */
export const peerSettings = (
  config: { readonly options: OptionsConfig },
  peer: PeerConfig,
  overrides?: SettingsOverrides
): PeerSettings => resolveSettings([overrides, peer, config.options])

/**
 * How many peers of the pool are staged at once: `options.concurrency`, else `DEFAULT_CONCURRENCY`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const poolConcurrency = (config: { readonly options: OptionsConfig }): number =>
  config.options.concurrency ?? DEFAULT_CONCURRENCY

/**
 * Decodes a pool from an already parsed JSON value (the JSON format's shape).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeUnknown = (value: unknown, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() => Effect.fromResult(decodePool("json", value, source)))

/**
 * Decodes a pool from the text of a JSON config file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeJson = (text: string, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      return Effect.fail(new ConfigError({ path: source, problems: [jsonSyntaxProblem(text, error)] }))
    }
    return Effect.fromResult(decodePool("json", value, source))
  })

/**
 * Decodes a pool from the text of a Cedar Backup XML config file (`cback3.conf`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeXml = (text: string, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() =>
    Effect.fromResult(Result.flatMap(
      Result.mapError(parseCedarXml(text), (problems) => new ConfigError({ path: source, problems })),
      (raw) => decodePool("xml", raw, source, xmlLines(text))
    ))
  )


const codeOf = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && Object.hasOwn(cause, "code") ? (cause as { readonly code: unknown }).code : undefined

const readProblem = (error: PlatformError.PlatformError): string => {
  const reason = error.reason
  if (reason._tag !== "BadArgument") {
    switch (reason._tag) {
      case "NotFound":
        return "file not found"
      case "PermissionDenied":
        return "permission denied"
      case "BadResource": {
        const code = codeOf(reason.cause)
        return code === "EISDIR" ? "is a directory, not a file" : code === "ENOTDIR" ? "file not found" : "not a readable file"
      }
    }
  }
  return `cannot read the file: ${error.message}`
}

/**
 * The largest config file `load` reads: a pool of ten thousand peers takes under 2 MiB, and a
 * bigger file (a wrong path, a log) would only hold the run up while it is parsed.
 *
 * @since 1.0.0
 * @category constants
 */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

// A regular file no larger than MAX_CONFIG_BYTES: a device or a fifo could be read without end.
const sizeProblem = (info: FileSystem.File.Info): string | undefined =>
  info.type === "Directory"
    ? "is a directory, not a file"
    : info.type !== "File"
    ? `is not a regular file (a ${info.type}): a configuration is read from a regular file only`
    : Number(info.size) > MAX_CONFIG_BYTES
    ? `is ${MiB(Number(info.size))}: a configuration may be at most ${MiB(MAX_CONFIG_BYTES)} (is this the configuration file?)`
    : undefined

/**
 * Reads and decodes a config file: `.json` as JSON, anything else as Cedar Backup XML. The file
 * must be a regular file of at most `MAX_CONFIG_BYTES`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (path: string): Effect.Effect<PoolConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const readError = (error: PlatformError.PlatformError) => new ConfigError({ path, problems: [readProblem(error)] })
    const problem = sizeProblem(yield* fs.stat(path).pipe(Effect.mapError(readError)))
    if (problem !== undefined) return yield* new ConfigError({ path, problems: [problem] })
    const text = yield* fs.readFileString(path).pipe(Effect.mapError(readError))
    // grown since it was looked at
    if (text.length > MAX_CONFIG_BYTES) return yield* new ConfigError({ path, problems: [`is over ${MiB(MAX_CONFIG_BYTES)}: a configuration may be at most that`] })
    return yield* (path.toLowerCase().endsWith(".json") ? decodeJson : decodeXml)(text, path)
  })


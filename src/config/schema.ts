/**
 * The configuration's model as schemas: the options, the peers and the pool as JSON writes them
 * (the `cback3.conf` form, element text, is built from the same fields in `internal/xmlFormat.ts`),
 * and the record of which file a pool was read from (`ConfigOrigin`).
 *
 * @since 1.0.0
 */
import { Effect, Schema } from "effect"
import {
  AbsolutePath,
  ActionName,
  CommandLine,
  FailureMode,
  LocalPeerName,
  NonBlankString,
  RemotePath,
  RemotePeerName,
  UserName,
  VALID_FAILURE_MODES
} from "../domain/Peer.js"
import { Transport } from "../domain/Settings.js"

/**
 * The English day names accepted as `starting_day`, lower case as Cedar Backup requires.
 *
 * @since 0.1.0
 * @category constants
 */
export const VALID_STARTING_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const

/**
 * What a literal union that fails says (without it, Schema would name every member).
 *
 * @since 1.0.0
 * @category annotations
 */
export const oneOf = (values: ReadonlyArray<string>) => ({ message: `must be one of ${values.join(", ")}` })

/**
 * The first day of the backup week (for the `daily`/`weekly` ignore-failure modes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartingDay = Schema.Literals(VALID_STARTING_DAYS).annotate(oneOf(VALID_STARTING_DAYS))

/**
 * @since 0.1.0
 * @category models
 */
export type StartingDay = typeof StartingDay.Type

/**
 * A peer's failure mode, failing with the list of the modes.
 *
 * @since 1.0.0
 * @category schemas
 */
export const IgnoreFailures = FailureMode.annotate(oneOf(VALID_FAILURE_MODES))

// Absent or set: a key present with `undefined` is not absent (JSON has no undefined).
const optional = Schema.optionalKey

const POWERS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/**
 * Reads a byte count as the XML config and the CLI write it: a whole number, or a number with a
 * suffix `K`, `M`, `G` or `T` (powers of 1024, either case): `500M`, `10G`, `1.5T`. Undefined when
 * the text is not one, or is below 1 byte.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseBytes = (text: string): number | undefined => {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)$/)
  if (match === null) return undefined
  const [, digits, suffix] = match
  if (suffix === "" && digits!.includes(".")) return undefined
  const value = Math.floor(Number(digits) * POWERS[suffix!.toLowerCase()]!)
  return Number.isSafeInteger(value) && value >= 1 ? value : undefined
}

const SECONDS_PER: Readonly<Record<string, number>> = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }

/**
 * Reads a duration as the XML config and the CLI write it, in seconds: a plain number of seconds
 * (`30`, `0.5`), or a number with a unit `s`, `m`, `h` or `d` (`90s`, `5m`, `2h`). Undefined when the
 * text is not one.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseDuration = (text: string): number | undefined => {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([smhd]?)$/)
  if (match === null) return undefined
  const value = Number(match[1]) * SECONDS_PER[match[2]!]!
  return Number.isFinite(value) ? value : undefined
}

/**
 * What a count that is not one says, in both formats.
 *
 * @since 1.0.0
 * @category annotations
 */
export const wholeNumberMessage = (min: number) => `must be a whole number of at least ${min}`

// The JSON side: plain numbers and booleans.
const JsonWholeNumber = (min: number) =>
  Schema.Number.check(Schema.makeFilter((n: number) => (Number.isSafeInteger(n) && n >= min) || wholeNumberMessage(min)))
const JsonSeconds = (positive: boolean) =>
  Schema.Number.check(Schema.makeFilter((n: number) =>
    (Number.isFinite(n) && (positive ? n > 0 : n >= 0)) ||
    (positive ? "must be a number of seconds above 0" : "must be a number of seconds, 0 or more")
  ))
const JsonBoolean = Schema.Boolean.annotate({ message: "must be true or false" })

/**
 * How a format writes the numbers and flags of the settings: JSON as numbers and booleans, a
 * `cback3.conf` as element text (`internal/xmlFormat.ts`).
 *
 * @since 1.0.0
 * @category models
 */
export interface Codecs<IC, IB, IS, IF> {
  readonly count: Schema.Codec<number, IC>
  readonly retryCount: Schema.Codec<number, IC>
  readonly bytes: Schema.Codec<number, IB>
  readonly seconds: Schema.Codec<number, IS>
  readonly delay: Schema.Codec<number, IS>
  readonly flag: Schema.Codec<boolean, IF>
}

const jsonCodecs: Codecs<number, number, number, boolean> = {
  count: JsonWholeNumber(1),
  retryCount: JsonWholeNumber(0),
  bytes: JsonWholeNumber(1),
  seconds: JsonSeconds(true),
  delay: JsonSeconds(false),
  flag: JsonBoolean
}

/**
 * The settings every peer and the options may set, written in a format's codecs.
 *
 * @since 1.0.0
 * @category fields
 */
export const settingsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  maxFiles: optional(c.count),
  maxBytes: optional(c.bytes),
  timeouts: optional(Schema.Struct({
    connect: optional(c.seconds),
    stall: optional(c.seconds),
    indicator: optional(c.seconds),
    stage: optional(c.seconds),
    command: optional(c.seconds),
    managedAction: optional(c.seconds)
  })),
  retries: optional(Schema.Struct({ count: optional(c.retryCount), baseDelay: optional(c.delay) })),
  verify: optional(c.flag)
})

/**
 * The settings only remote peers and the options may set.
 *
 * @since 1.0.0
 * @category fields
 */
export const remoteSettingsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  transport: optional(Transport),
  connectionSharing: optional(c.flag)
})

/**
 * The fields of `<options>`, written in a format's codecs.
 *
 * @since 1.0.0
 * @category fields
 */
export const optionsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  startingDay: StartingDay,
  workingDir: AbsolutePath,
  backupUser: UserName,
  // Group names follow the same rules as user names on every system cedar-peer runs on.
  backupGroup: UserName,
  rcpCommand: optional(CommandLine),
  rshCommand: optional(CommandLine),
  cbackCommand: optional(NonBlankString),
  managedActions: Schema.Array(ActionName).pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed([]))),
  ...settingsFields(c),
  ...remoteSettingsFields(c),
  concurrency: optional(c.count)
})

/**
 * The `<options>` section: defaults for every peer and the owner of the staging area. Cedar
 * Backup requires `starting_day`, `working_dir`, `backup_user` and `backup_group`; the commands
 * have defaults (`DEF_RCP_COMMAND`, `DEF_RSH_COMMAND`, `DEF_CBACK_COMMAND`). The cedar-peer settings
 * (limits, timeouts, retries, transport, connection sharing, verification, concurrency) are
 * optional; `peerSettings` and `poolConcurrency` resolve them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OptionsConfig = Schema.Struct(optionsFields(jsonCodecs))

/**
 * @since 0.1.0
 * @category models
 */
export interface OptionsConfig extends Schema.Schema.Type<typeof OptionsConfig> {}

/**
 * The fields of a local peer, written in a format's codecs.
 *
 * @since 1.0.0
 * @category fields
 */
export const localPeerFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  type: Schema.Literal("local"),
  name: LocalPeerName,
  collectDir: AbsolutePath,
  ignoreFailures: optional(IgnoreFailures),
  ...settingsFields(c)
})

/**
 * A peer reached through the local filesystem.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LocalPeerConfig = Schema.Struct(localPeerFields(jsonCodecs))

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalPeerConfig extends Schema.Schema.Type<typeof LocalPeerConfig> {}

/**
 * The fields of a remote peer, written in a format's codecs.
 *
 * @since 1.0.0
 * @category fields
 */
export const remotePeerFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  type: Schema.Literal("remote"),
  name: RemotePeerName,
  collectDir: RemotePath,
  ignoreFailures: optional(IgnoreFailures),
  backupUser: optional(UserName),
  rcpCommand: optional(CommandLine),
  rshCommand: optional(CommandLine),
  cbackCommand: optional(NonBlankString),
  managed: c.flag.pipe(Schema.withDecodingDefaultTypeKey(Effect.succeed(false))),
  managedActions: optional(Schema.Array(ActionName)),
  ...settingsFields(c),
  ...remoteSettingsFields(c)
})

/**
 * A peer reached with the rcp/rsh commands (`scp`/`ssh` by default). `managed` is a boolean in
 * JSON and `Y`/`N` in XML.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RemotePeerConfig = Schema.Struct(remotePeerFields(jsonCodecs))

/**
 * @since 0.1.0
 * @category models
 */
export interface RemotePeerConfig extends Schema.Schema.Type<typeof RemotePeerConfig> {}

/**
 * A local or a remote peer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PeerConfig = Schema.Union([LocalPeerConfig, RemotePeerConfig])

/**
 * @since 0.1.0
 * @category models
 */
export type PeerConfig = LocalPeerConfig | RemotePeerConfig

/**
 * Which file a pool was read from, so that a problem found later can be named in the file's own
 * vocabulary: its format, the list its peers came from (`<stage>`'s when it has any), and for a
 * `cback3.conf` the line of each of those peers and of the first element of each name in
 * `<options>` and `<stage>` (keyed `options.backup_user`). A field of the pool, so that a copy
 * (`{ ...pool }`) keeps it.
 *
 * @since 1.0.0
 * @category schemas
 */
export const ConfigOrigin = Schema.Struct({
  format: Schema.Literals(["json", "xml"]),
  peerList: Schema.Literals(["peers", "stage"]),
  lines: Schema.optionalKey(Schema.Struct({
    peers: Schema.Array(Schema.Number),
    fields: Schema.Record(Schema.String, Schema.Number)
  }))
})

/**
 * @since 1.0.0
 * @category models
 */
export interface ConfigOrigin extends Schema.Schema.Type<typeof ConfigOrigin> {}

/**
 * A decoded pool: the file it came from (and, when decoded here, how it was written), the
 * options, the staging directory and the effective peer list (`<stage>`'s peers when it has any,
 * else `<peers>`), in document order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolConfig = Schema.Struct({
  source: Schema.String,
  origin: Schema.optionalKey(ConfigOrigin),
  options: OptionsConfig,
  stagingDir: AbsolutePath,
  peers: Schema.Array(PeerConfig)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface PoolConfig extends Schema.Schema.Type<typeof PoolConfig> {}

/**
 * The configuration of a pool: one model, decoded with `effect/Schema` from JSON or from Cedar
 * Backup's `cback3.conf` (its `<options>`, `<peers>` and `<stage>` sections; the others are
 * ignored). Every problem is reported at once, each with its location, in one `ConfigError`.
 *
 * @since 0.1.0
 */
import {
  Effect,
  FileSystem,
  Formatter,
  type PlatformError,
  Result,
  Schema,
  type SchemaAST,
  SchemaIssue,
  SchemaTransformation
} from "effect"
import { parseCedarXml, xmlLocation } from "./internal/cedarXml.js"
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
import { ConfigError } from "../domain/PeerError.js"
import {
  DEFAULT_CONCURRENCY,
  type PeerSettings,
  resolveSettings,
  type SettingsOverrides,
  Transport
} from "../domain/Settings.js"

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
 * The English day names accepted as `starting_day`, lower case as Cedar Backup requires.
 *
 * @since 0.1.0
 * @category constants
 */
export const VALID_STARTING_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const

// What a literal union that fails says (without it, Schema would name every member).
const oneOf = (values: ReadonlyArray<string>) => ({ message: `must be one of ${values.join(", ")}` })

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

const IgnoreFailures = FailureMode.annotate(oneOf(VALID_FAILURE_MODES))

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

const wholeNumberMessage = (min: number) => `must be a whole number of at least ${min}`

// The JSON side: plain numbers and booleans.
const JsonWholeNumber = (min: number) =>
  Schema.Number.check(Schema.makeFilter((n: number) => (Number.isSafeInteger(n) && n >= min) || wholeNumberMessage(min)))
const JsonSeconds = (positive: boolean) =>
  Schema.Number.check(Schema.makeFilter((n: number) =>
    (Number.isFinite(n) && (positive ? n > 0 : n >= 0)) ||
    (positive ? "must be a number of seconds above 0" : "must be a number of seconds, 0 or more")
  ))
const JsonBoolean = Schema.Boolean.annotate({ message: "must be true or false" })

// The XML side: element text, read into the same numbers and booleans.
const fromText = (parse: (text: string) => number | undefined, message: string): Schema.Codec<number, string> =>
  Schema.String.check(Schema.makeFilter((text: string) => parse(text) !== undefined || message)).pipe(
    Schema.decodeTo(
      Schema.Number,
      SchemaTransformation.transform({ decode: (text: string) => parse(text)!, encode: (value: number) => String(value) })
    )
  )
const parseWhole = (min: number) => (text: string) => /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= min ? Number(text) : undefined
const parseSeconds = (positive: boolean) => (text: string) => {
  const value = parseDuration(text)
  return value !== undefined && (positive ? value > 0 : value >= 0) ? value : undefined
}

// Cedar's readBoolean: Y/y is true, N/n is false.
const YesNo = Schema.Literals(["Y", "y", "N", "n"]).annotate({ message: "must be Y or N" }).pipe(
  Schema.decodeTo(
    Schema.Boolean,
    SchemaTransformation.transform<boolean, "Y" | "y" | "N" | "n">({
      decode: (value) => value === "Y" || value === "y",
      encode: (value) => (value ? "Y" : "N")
    })
  )
)

// How each format writes the numbers and flags of the settings below.
interface Codecs<IC, IB, IS, IF> {
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

const xmlCodecs: Codecs<string, string, string, "Y" | "y" | "N" | "n"> = {
  count: fromText(parseWhole(1), wholeNumberMessage(1)),
  retryCount: fromText(parseWhole(0), wholeNumberMessage(0)),
  bytes: fromText(parseBytes, "must be a number of bytes of at least 1, optionally with K, M, G or T (powers of 1024): 500M, 10G"),
  seconds: fromText(parseSeconds(true), "must be a duration above 0: seconds, or a number with s, m, h or d (90s, 5m, 2h)"),
  delay: fromText(parseSeconds(false), "must be a duration: seconds, or a number with s, m, h or d (90s, 5m, 2h)"),
  flag: YesNo
}


const settingsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
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

const remoteSettingsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
  transport: optional(Transport),
  connectionSharing: optional(c.flag)
})

const optionsFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
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

const XmlOptionsConfig = Schema.Struct(optionsFields(xmlCodecs))

/**
 * @since 0.1.0
 * @category models
 */
export interface OptionsConfig extends Schema.Schema.Type<typeof OptionsConfig> {}

const localPeerFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
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

const XmlLocalPeerConfig = Schema.Struct(localPeerFields(xmlCodecs))

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalPeerConfig extends Schema.Schema.Type<typeof LocalPeerConfig> {}

const remotePeerFields = <IC, IB, IS, IF>(c: Codecs<IC, IB, IS, IF>) => ({
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

const XmlRemotePeerConfig = Schema.Struct(remotePeerFields(xmlCodecs))

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
 * A decoded pool: the file it came from, the options, the staging directory and the effective
 * peer list (`<stage>`'s peers when it has any, else `<peers>`), in document order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolConfig = Schema.Struct({
  source: Schema.String,
  options: OptionsConfig,
  stagingDir: AbsolutePath,
  peers: Schema.Array(PeerConfig)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface PoolConfig extends Schema.Schema.Type<typeof PoolConfig> {}

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

type Format = "json" | "xml"
type Path = ReadonlyArray<PropertyKey>
interface Issue {
  readonly path: Path
  readonly message: string
}

const REMOTE_ONLY = new Set(["backupUser", "rcpCommand", "rshCommand", "cbackCommand", "managed", "managedActions", "transport", "connectionSharing"])

// How each decoded pool was written, so that later checks (Validate) can name a place in the file
// in its own vocabulary. Kept beside the model rather than in it: the model is the same whatever
// the file looked like.
const origins = new WeakMap<PoolConfig, { readonly format: Format; readonly stagePeers: boolean }>()

const location = (format: Format, path: Path): string => {
  if (path.length === 0) return "document"
  if (format === "xml") return xmlLocation(path)
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "")
}

/**
 * Names a place of a decoded pool in the vocabulary of the file it came from:
 * `location(pool, ["options", "workingDir"])` is `options.working_dir` for a `cback3.conf` and
 * `options.workingDir` for JSON; `["peers", i, ...]` is the `i`th peer of `pool.peers`, in the
 * list it was read from (`peers.peer[i]` or `stage.peer[i]` in XML). For a pool that was not
 * decoded here (built or copied by hand), the format follows the source's name as in `load`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const locate = (pool: PoolConfig, path: ReadonlyArray<PropertyKey>): string => {
  const origin = origins.get(pool) ?? { format: pool.source.toLowerCase().endsWith(".json") ? "json" : "xml", stagePeers: false }
  return location(origin.format, path[0] === "peers" && origin.stagePeers ? ["stage", ...path] : path)
}

// Schema's own messages ("Missing key", "Expected no excess property", "Expected string, got 5")
// are replaced by ours, in the file's own vocabulary; a check's message is ours already.
const TYPE_NAMES: Partial<Record<SchemaAST.AST["_tag"], string>> = { String: "string", Number: "number", Boolean: "boolean" }

const ownMessage = (annotations: { readonly message?: unknown } | undefined): string | undefined =>
  typeof annotations?.message === "string" ? annotations.message : undefined

const leafMessage = (format: Format, issue: SchemaIssue.Issue, path: Path, localPeer: boolean): string => {
  switch (issue._tag) {
    case "MissingKey":
      return "is required"
    case "UnexpectedKey": {
      const key = path[path.length - 1]
      return localPeer && typeof key === "string" && REMOTE_ONLY.has(key) ? "is only allowed on a remote peer" : "is not a known field"
    }
    case "InvalidType": {
      const own = ownMessage(issue.ast.annotations)
      if (own !== undefined) return own
      if (issue.ast._tag === "Objects") return format === "xml" ? "must hold elements, not text" : "must be an object"
      if (issue.ast._tag === "Arrays") return "must be a list"
      const type = TYPE_NAMES[issue.ast._tag]
      if (type !== undefined && "input" in issue) return `must be a ${type}, not ${Formatter.format(issue.input)}`
      break
    }
    case "AnyOf": {
      const own = ownMessage(issue.ast.annotations)
      if (own !== undefined) return own
      const members = issue.ast.types
      if (members.length > 0 && members.every((member): member is SchemaAST.Literal => member._tag === "Literal")) {
        return oneOf(members.map((member) => String(member.literal))).message
      }
      break
    }
    case "Filter": {
      const own = SchemaIssue.defaultCheckHook(issue)
      if (own !== undefined) return own
      break
    }
  }
  return SchemaIssue.makeFormatterStandardSchemaV1()(issue).issues[0]?.message ?? "is not valid"
}

// Flattens a decoding failure into located problems, in the order Schema found them: excess keys
// of an object first, then its fields in declaration order.
const flatten = (
  format: Format,
  issue: SchemaIssue.Issue,
  path: Path,
  localPeer: boolean,
  out: Array<Issue>
): void => {
  switch (issue._tag) {
    case "Pointer":
      return flatten(format, issue.issue, [...path, ...issue.path], localPeer, out)
    case "Composite":
      return issue.issues.forEach((inner) => flatten(format, inner, path, localPeer, out))
    case "Encoding":
      return flatten(format, issue.issue, path, localPeer, out)
    case "AnyOf":
      if (ownMessage(issue.ast.annotations) === undefined && issue.issues.length > 0) {
        return issue.issues.forEach((inner) => flatten(format, inner, path, localPeer, out))
      }
  }
  out.push({ path, message: leafMessage(format, issue, path, localPeer) })
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const field = (value: unknown, key: string): unknown => (isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined)

// Decodes one part of the document, adding its problems (located under `at`) to `issues`. A value
// that fails several checks reports the first, as each field states one problem.
const decodePart = <A, I>(
  format: Format,
  schema: Schema.Codec<A, I>,
  value: unknown,
  at: Path,
  issues: Array<Issue>,
  localPeer = false
): A | undefined => {
  const result = Schema.decodeUnknownResult(schema, { errors: "all", onExcessProperty: "error", reportInput: true })(value)
  if (Result.isSuccess(result)) return result.success
  const found: Array<Issue> = []
  flatten(format, result.failure.issue, at, localPeer, found)
  const seen = new Set<string>()
  for (const issue of found) {
    const key = JSON.stringify(issue.path.map((k) => typeof k === "symbol" ? String(k) : k))
    if (seen.has(key)) continue
    seen.add(key)
    issues.push(issue)
  }
  return undefined
}

const TypeOnly = Schema.Struct({ type: Schema.Literals(["local", "remote"]).annotate(oneOf(["local", "remote"])) })
const CommonPeer = Schema.Struct({ name: NonBlankString, collectDir: AbsolutePath, ignoreFailures: optional(IgnoreFailures) })

const decodePeer = (format: Format, value: unknown, at: Path, issues: Array<Issue>): PeerConfig | undefined => {
  const type = field(value, "type")
  if (type === "local") {
    return format === "xml"
      ? decodePart(format, XmlLocalPeerConfig, value, at, issues, true)
      : decodePart(format, LocalPeerConfig, value, at, issues, true)
  }
  if (type === "remote") {
    return format === "xml"
      ? decodePart(format, XmlRemotePeerConfig, value, at, issues)
      : decodePart(format, RemotePeerConfig, value, at, issues)
  }
  if (!isRecord(value)) {
    issues.push({ path: at, message: "must be an object" })
    return undefined
  }
  // Without a usable type, still check what every peer has, so that all problems show at once.
  decodePart(format, TypeOnly, type === undefined ? {} : { type }, at, issues)
  const common = Object.fromEntries(
    ["name", "collectDir", "ignoreFailures"].filter((key) => value[key] !== undefined).map((key) => [key, value[key]])
  )
  decodePart(format, CommonPeer, common, at, issues)
  return undefined
}

const PeerList = Schema.Array(Schema.Unknown)

const decodePeerList = (format: Format, value: unknown, at: Path, issues: Array<Issue>): ReadonlyArray<PeerConfig | undefined> => {
  const list = decodePart(format, PeerList, value, at, issues)
  if (list === undefined) return []
  // Like Cedar, names are unique within each list.
  const seen = new Map<string, number>()
  return list.map((value, i) => {
    const peer = decodePeer(format, value, [...at, i], issues)
    const name = field(value, "name")
    if (typeof name !== "string" || name.trim() === "") return peer
    const first = seen.get(name)
    if (first === undefined) seen.set(name, i)
    else issues.push({ path: [...at, i, "name"], message: `duplicate peer name ${JSON.stringify(name)} (also ${location(format, [...at, first])})` })
    return peer
  })
}

const StageSection = Schema.Struct({ stagingDir: AbsolutePath, peers: optional(Schema.Unknown) })

// Cedar: a managed peer needs managed actions, its own or the options' (the commands have defaults here).
const checkManaged = (
  format: Format,
  peers: ReadonlyArray<PeerConfig | undefined>,
  at: Path,
  optionActions: unknown,
  issues: Array<Issue>
): void =>
  peers.forEach((peer, i) => {
    if (peer?.type !== "remote" || !peer.managed) return
    if ((peer.managedActions?.length ?? 0) > 0 || (Array.isArray(optionActions) && optionActions.length > 0)) return
    issues.push({
      path: [...at, i, "managedActions"],
      message: `a managed peer needs at least one managed action, here or in ${location(format, ["options", "managedActions"])}`
    })
  })

const decodePool = (format: Format, raw: unknown, source: string): Result.Result<PoolConfig, ConfigError> => {
  const issues: Array<Issue> = []
  if (!isRecord(raw)) {
    issues.push({ path: [], message: "must be an object" })
  } else {
    const options = raw.options === undefined
      ? (issues.push({ path: ["options"], message: "is required" }), undefined)
      : format === "xml"
      ? decodePart(format, XmlOptionsConfig, raw.options, ["options"], issues)
      : decodePart(format, OptionsConfig, raw.options, ["options"], issues)
    const peers = raw.peers === undefined ? [] : decodePeerList(format, raw.peers, ["peers"], issues)
    const stage = raw.stage === undefined
      ? (issues.push({ path: ["stage"], message: "is required" }), undefined)
      : decodePart(format, StageSection, raw.stage, ["stage"], issues)
    const stagePeersRaw = field(raw.stage, "peers")
    const stagePeers = stagePeersRaw === undefined ? [] : decodePeerList(format, stagePeersRaw, ["stage", "peers"], issues)
    const optionActions = field(raw.options, "managedActions")
    checkManaged(format, peers, ["peers"], optionActions, issues)
    checkManaged(format, stagePeers, ["stage", "peers"], optionActions, issues)
    // <stage>'s peers win over <peers> when it has any (Cedar's StageConfig.hasPeers()).
    const effective = Array.isArray(stagePeersRaw) && stagePeersRaw.length > 0 ? stagePeers : peers
    const anyListed = (Array.isArray(raw.peers) && raw.peers.length > 0) || (Array.isArray(stagePeersRaw) && stagePeersRaw.length > 0)
    if (!anyListed && !issues.some((issue) => issue.path[0] === "peers" || (issue.path[0] === "stage" && issue.path[1] === "peers"))) {
      issues.push({
        path: ["peers"],
        message: format === "xml"
          ? "at least one peer is required, in <peers> or in <stage>"
          : "at least one peer is required, in peers or in stage.peers"
      })
    }
    if (issues.length === 0 && options !== undefined && stage !== undefined) {
      const pool: PoolConfig = { source, options, stagingDir: stage.stagingDir, peers: effective.filter((p) => p !== undefined) }
      origins.set(pool, { format, stagePeers: effective === stagePeers })
      return Result.succeed(pool)
    }
  }
  return Result.fail(new ConfigError({ path: source, problems: issues.map((i) => `${location(format, i.path)}: ${i.message}`) }))
}

/**
 * Decodes a pool from an already parsed JSON value (the JSON format's shape).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeUnknown = (value: unknown, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() => Effect.fromResult(decodePool("json", value, source)))

// JSON.parse does not always say where it stopped, so the offset is found by a small recogniser.
const jsonErrorOffset = (text: string): number | undefined => {
  let i = 0
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++
  }
  const eat = (re: RegExp): boolean => {
    re.lastIndex = i
    const m = text.match(re) // sticky: matches at lastIndex only
    if (m === null) return false
    i += m[0].length
    return true
  }
  const string = (): boolean => eat(/"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y) || (scanBadString(), false)
  // Points at the character that ends a bad string (or at the end of the text).
  const scanBadString = () => {
    i++
    while (i < text.length && text[i] !== '"' && text.charCodeAt(i) >= 0x20) {
      if (text[i] === "\\") {
        if (!eat(/\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y)) return
      } else i++
    }
  }
  const value = (): boolean => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      ws()
      if (text[i] === "}") return (i++, true)
      for (;;) {
        ws()
        if (text[i] !== '"' || !string()) return false
        ws()
        if (text[i] !== ":") return false
        i++
        if (!value()) return false
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "}") return (i++, true)
        else return false
      }
    }
    if (c === "[") {
      i++
      ws()
      if (text[i] === "]") return (i++, true)
      for (;;) {
        if (!value()) return false
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "]") return (i++, true)
        else return false
      }
    }
    if (c === '"') return string()
    return eat(/true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y)
  }
  try {
    if (!value()) return i
    ws()
    return i < text.length ? i : undefined
  } catch {
    return undefined // nesting too deep to follow
  }
}

const lineColumn = (text: string, offset: number): string => {
  const before = text.slice(0, offset).split("\n")
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`
}

const jsonSyntaxProblem = (text: string, error: unknown): string => {
  const offset = jsonErrorOffset(text)
  if (offset === undefined) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/, (\.\.\.)?".*" is not valid JSON$/s, "")
    return `JSON syntax error: ${reason}`
  }
  const found = offset >= text.length ? "end of input" : JSON.stringify(text[offset])
  return `${lineColumn(text, offset)}: JSON syntax error: unexpected ${found}`
}

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
      (raw) => decodePool("xml", raw, source)
    ))
  )

const readProblem = (error: PlatformError.PlatformError): string => {
  const reason = error.reason
  if (reason._tag !== "BadArgument") {
    switch (reason._tag) {
      case "NotFound":
        return "file not found"
      case "PermissionDenied":
        return "permission denied"
      case "BadResource": {
        const code = field(reason.cause, "code")
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

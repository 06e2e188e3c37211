/**
 * The configuration of a pool: one model, decoded with `effect/Schema` from JSON or from Cedar
 * Backup's `cback3.conf` (its `<options>`, `<peers>` and `<stage>` sections; the others are
 * ignored). Every problem is reported at once, each with its location, in one `ConfigError`.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import type { Error as PlatformError } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import { parseCedarXml, xmlLocation } from "./internal/cedarXml.js"
import {
  AbsolutePath,
  ActionName,
  CommandLine,
  FailureMode,
  HostName,
  isPlainFileName,
  NonBlankString,
  RemotePath,
  UserName,
  VALID_FAILURE_MODES
} from "./Peer.js"
import { ConfigError } from "./PeerError.js"

/**
 * The English day names accepted as `starting_day`, lower case as Cedar Backup requires.
 *
 * @since 0.1.0
 * @category constants
 */
export const VALID_STARTING_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const

// A literal union reports one message per member unless its message overrides them.
const oneOf = (values: ReadonlyArray<string>) => () => ({ message: `must be one of ${values.join(", ")}`, override: true })

/**
 * The first day of the backup week (for the `daily`/`weekly` ignore-failure modes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StartingDay = Schema.Literal(...VALID_STARTING_DAYS).annotations({ message: oneOf(VALID_STARTING_DAYS) })

/**
 * @since 0.1.0
 * @category models
 */
export type StartingDay = typeof StartingDay.Type

const IgnoreFailures = FailureMode.annotations({ message: oneOf(VALID_FAILURE_MODES) })

const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { exact: true })

/**
 * The `<options>` section: defaults for every peer and the owner of the staging area. Cedar
 * Backup requires `starting_day`, `working_dir`, `backup_user` and `backup_group`; the commands
 * have defaults (`DEF_RCP_COMMAND`, `DEF_RSH_COMMAND`, `DEF_CBACK_COMMAND`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OptionsConfig = Schema.Struct({
  startingDay: StartingDay,
  workingDir: AbsolutePath,
  backupUser: UserName,
  // Group names follow the same rules as user names on every system cedar-peer runs on.
  backupGroup: UserName,
  rcpCommand: optional(CommandLine),
  rshCommand: optional(CommandLine),
  cbackCommand: optional(NonBlankString),
  managedActions: Schema.optionalWith(Schema.Array(ActionName), { exact: true, default: () => [] })
})

/**
 * @since 0.1.0
 * @category models
 */
export interface OptionsConfig extends Schema.Schema.Type<typeof OptionsConfig> {}

// A local peer's name names its directory in the daily staging directory.
const LocalPeerName = NonBlankString.pipe(
  Schema.filter(isPlainFileName, { message: () => "must be a plain file name (no '/', not '.' or '..'): it names the peer's staging directory" })
)

const localPeerFields = {
  type: Schema.Literal("local"),
  name: LocalPeerName,
  collectDir: AbsolutePath,
  ignoreFailures: optional(IgnoreFailures)
}

/**
 * A peer reached through the local filesystem.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LocalPeerConfig = Schema.Struct(localPeerFields)

/**
 * @since 0.1.0
 * @category models
 */
export interface LocalPeerConfig extends Schema.Schema.Type<typeof LocalPeerConfig> {}

const remotePeerFields = <I>(managed: Schema.Schema<boolean, I>) => ({
  type: Schema.Literal("remote"),
  name: HostName,
  collectDir: RemotePath,
  ignoreFailures: optional(IgnoreFailures),
  backupUser: optional(UserName),
  rcpCommand: optional(CommandLine),
  rshCommand: optional(CommandLine),
  cbackCommand: optional(NonBlankString),
  managed: Schema.optionalWith(managed, { exact: true, default: () => false }),
  managedActions: optional(Schema.Array(ActionName))
})

/**
 * A peer reached with the rcp/rsh commands (`scp`/`ssh` by default). `managed` is a boolean in
 * JSON and `Y`/`N` in XML.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RemotePeerConfig = Schema.Struct(remotePeerFields(Schema.Boolean.annotations({ message: () => "must be true or false" })))

/**
 * @since 0.1.0
 * @category models
 */
export interface RemotePeerConfig extends Schema.Schema.Type<typeof RemotePeerConfig> {}

// Cedar's readBoolean: Y/y is true, N/n is false.
const YesNo = Schema.transform(
  Schema.Literal("Y", "y", "N", "n").annotations({ message: () => ({ message: "must be Y or N", override: true }) }),
  Schema.Boolean,
  { strict: true, decode: (value) => value === "Y" || value === "y", encode: (value) => (value ? "Y" : "N") }
)

const XmlRemotePeerConfig = Schema.Struct(remotePeerFields(YesNo))

/**
 * A local or a remote peer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PeerConfig = Schema.Union(LocalPeerConfig, RemotePeerConfig)

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

type Format = "json" | "xml"
type Path = ReadonlyArray<PropertyKey>
interface Issue {
  readonly path: Path
  readonly message: string
}

const REMOTE_ONLY = new Set(["backupUser", "rcpCommand", "rshCommand", "cbackCommand", "managed", "managedActions"])

const location = (format: Format, path: Path): string => {
  if (path.length === 0) return "document"
  if (format === "xml") return xmlLocation(path)
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "")
}

const issueMessage = (issue: ParseResult.ArrayFormatterIssue, localPeer: boolean): string => {
  if (issue._tag === "Missing") return "is required"
  if (issue._tag === "Unexpected") {
    const key = issue.path[issue.path.length - 1]
    return localPeer && typeof key === "string" && REMOTE_ONLY.has(key) ? "is only allowed on a remote peer" : "is not a known field"
  }
  if (issue._tag === "Type") {
    if (/^Expected (Struct|\{)/.test(issue.message)) return "must be an object"
    if (issue.message.startsWith("Expected ReadonlyArray")) return "must be a list"
    const wrongType = issue.message.match(/^Expected (string|boolean), actual (.*)$/s)
    if (wrongType !== null) return `must be a ${wrongType[1]}, not ${wrongType[2]}`
  }
  return issue.message
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const field = (value: unknown, key: string): unknown => (isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined)

// Decodes one part of the document, adding its problems (located under `at`) to `issues`.
const decodePart = <A, I>(
  schema: Schema.Schema<A, I>,
  value: unknown,
  at: Path,
  issues: Array<Issue>,
  localPeer = false
): A | undefined => {
  const result = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })(value)
  if (Either.isRight(result)) return result.right
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(result.left)) {
    issues.push({ path: [...at, ...issue.path], message: issueMessage(issue, localPeer) })
  }
  return undefined
}

const TypeOnly = Schema.Struct({ type: Schema.Literal("local", "remote").annotations({ message: oneOf(["local", "remote"]) }) })
const CommonPeer = Schema.Struct({ name: NonBlankString, collectDir: AbsolutePath, ignoreFailures: optional(IgnoreFailures) })

const decodePeer = (format: Format, value: unknown, at: Path, issues: Array<Issue>): PeerConfig | undefined => {
  const type = field(value, "type")
  if (type === "local") return decodePart(LocalPeerConfig, value, at, issues, true)
  if (type === "remote") {
    return format === "xml"
      ? decodePart(XmlRemotePeerConfig, value, at, issues)
      : decodePart(RemotePeerConfig, value, at, issues)
  }
  if (!isRecord(value)) {
    issues.push({ path: at, message: "must be an object" })
    return undefined
  }
  // Without a usable type, still check what every peer has, so that all problems show at once.
  decodePart(TypeOnly, type === undefined ? {} : { type }, at, issues)
  const common = Object.fromEntries(
    ["name", "collectDir", "ignoreFailures"].filter((key) => value[key] !== undefined).map((key) => [key, value[key]])
  )
  decodePart(CommonPeer, common, at, issues)
  return undefined
}

const PeerList = Schema.Array(Schema.Unknown)

const decodePeerList = (format: Format, value: unknown, at: Path, issues: Array<Issue>): ReadonlyArray<PeerConfig | undefined> => {
  const list = decodePart(PeerList, value, at, issues)
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

const decodePool = (format: Format, raw: unknown, source: string): Either.Either<PoolConfig, ConfigError> => {
  const issues: Array<Issue> = []
  if (!isRecord(raw)) {
    issues.push({ path: [], message: "must be an object" })
  } else {
    const options = raw.options === undefined
      ? (issues.push({ path: ["options"], message: "is required" }), undefined)
      : decodePart(OptionsConfig, raw.options, ["options"], issues)
    const peers = raw.peers === undefined ? [] : decodePeerList(format, raw.peers, ["peers"], issues)
    const stage = raw.stage === undefined
      ? (issues.push({ path: ["stage"], message: "is required" }), undefined)
      : decodePart(StageSection, raw.stage, ["stage"], issues)
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
      return Either.right({ source, options, stagingDir: stage.stagingDir, peers: effective.filter((p) => p !== undefined) })
    }
  }
  return Either.left(new ConfigError({ path: source, problems: issues.map((i) => `${location(format, i.path)}: ${i.message}`) }))
}

/**
 * Decodes a pool from an already parsed JSON value (the JSON format's shape).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeUnknown = (value: unknown, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() => decodePool("json", value, source))

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
      return Either.left(new ConfigError({ path: source, problems: [jsonSyntaxProblem(text, error)] }))
    }
    return decodePool("json", value, source)
  })

/**
 * Decodes a pool from the text of a Cedar Backup XML config file (`cback3.conf`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const decodeXml = (text: string, source: string): Effect.Effect<PoolConfig, ConfigError> =>
  Effect.suspend(() =>
    Either.flatMap(
      Either.mapLeft(parseCedarXml(text), (problems) => new ConfigError({ path: source, problems })),
      (raw) => decodePool("xml", raw, source)
    )
  )

const readProblem = (error: PlatformError.PlatformError): string => {
  if (error._tag === "SystemError") {
    switch (error.reason) {
      case "NotFound":
        return "file not found"
      case "PermissionDenied":
        return "permission denied"
      case "BadResource": {
        const code = field(error.cause, "code")
        return code === "EISDIR" ? "is a directory, not a file" : code === "ENOTDIR" ? "file not found" : "not a readable file"
      }
    }
  }
  return `cannot read the file: ${error.message}`
}

/**
 * Reads and decodes a config file: `.json` as JSON, anything else as Cedar Backup XML.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (path: string): Effect.Effect<PoolConfig, ConfigError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((error) => new ConfigError({ path, problems: [readProblem(error)] }))
    )
    return yield* (path.toLowerCase().endsWith(".json") ? decodeJson : decodeXml)(text, path)
  })

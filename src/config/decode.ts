/**
 * Decodes the tree both formats are read into (the JSON value, or `cback3.conf` normalised by
 * `internal/cedarXml.ts`) into a `PoolConfig`, reporting every problem at once, each located in
 * the file's own vocabulary: Schema's own messages are replaced by ours, and a problem of a peer
 * names the peer (`peer db1 (line 14) backup_user: …`).
 *
 * @since 1.0.0
 */
import { Formatter, Result, Schema, type SchemaAST, SchemaIssue } from "effect"
import { AbsolutePath, NonBlankString } from "../domain/Peer.js"
import { ConfigError } from "../domain/PeerError.js"
import type { XmlLines } from "./internal/xmlLines.js"
import { type Format, location, type Path, peerPlace, type PeerRef, peerWhere } from "./place.js"
import {
  type ConfigOrigin,
  IgnoreFailures,
  LocalPeerConfig,
  oneOf,
  OptionsConfig,
  type PeerConfig,
  type PoolConfig,
  RemotePeerConfig
} from "./schema.js"
import { XmlLocalPeerConfig, XmlOptionsConfig, XmlRemotePeerConfig } from "./internal/xmlFormat.js"

interface Issue {
  readonly path: Path
  readonly message: string
}

const optional = Schema.optionalKey

const REMOTE_ONLY = new Set(["backupUser", "rcpCommand", "rshCommand", "cbackCommand", "managed", "managedActions", "transport", "connectionSharing"])

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

const decodePeerList = (
  format: Format,
  value: unknown,
  at: Path,
  issues: Array<Issue>,
  refOf: (index: number) => PeerRef
): ReadonlyArray<PeerConfig | undefined> => {
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
    else issues.push({ path: [...at, i, "name"], message: `duplicate peer name ${JSON.stringify(name)} (also ${peerWhere(refOf(first), true)})` })
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

// The peers of each list as people name them: by name, and by line in a cback3.conf.
const peerRefs = (format: Format, raw: Record<string, unknown>, lines: XmlLines | undefined) =>
(list: PeerRef["list"], index: number): PeerRef => {
  const entries = list === "stage" ? field(raw.stage, "peers") : raw.peers
  return {
    format,
    list,
    index,
    name: field(Array.isArray(entries) ? entries[index] : undefined, "name"),
    line: (list === "stage" ? lines?.stagePeers : lines?.peers)?.[index]
  }
}

// A problem's place: a peer's problem names the peer; anything else its path in the file.
const place = (format: Format, path: Path, refOf: ((list: PeerRef["list"], index: number) => PeerRef) | undefined): string => {
  if (refOf !== undefined && path[0] === "peers" && typeof path[1] === "number") return peerPlace(refOf("peers", path[1]), path.slice(2))
  if (refOf !== undefined && path[0] === "stage" && path[1] === "peers" && typeof path[2] === "number") {
    return peerPlace(refOf("stage", path[2]), path.slice(3))
  }
  return location(format, path)
}

/**
 * Decodes the tree of a configuration file (`format` says which vocabulary its problems are named
 * in; `lines`, for a `cback3.conf`, where its elements are).
 *
 * @since 1.0.0
 * @category decoding
 */
export const decodePool = (
  format: Format,
  raw: unknown,
  source: string,
  lines?: XmlLines
): Result.Result<PoolConfig, ConfigError> => {
  const issues: Array<Issue> = []
  const refOf = isRecord(raw) ? peerRefs(format, raw, lines) : undefined
  if (!isRecord(raw) || refOf === undefined) {
    issues.push({ path: [], message: "must be an object" })
  } else {
    const options = raw.options === undefined
      ? (issues.push({ path: ["options"], message: "is required" }), undefined)
      : format === "xml"
      ? decodePart(format, XmlOptionsConfig, raw.options, ["options"], issues)
      : decodePart(format, OptionsConfig, raw.options, ["options"], issues)
    const peers = raw.peers === undefined ? [] : decodePeerList(format, raw.peers, ["peers"], issues, (i) => refOf("peers", i))
    const stage = raw.stage === undefined
      ? (issues.push({ path: ["stage"], message: "is required" }), undefined)
      : decodePart(format, StageSection, raw.stage, ["stage"], issues)
    const stagePeersRaw = field(raw.stage, "peers")
    const stagePeers = stagePeersRaw === undefined ? [] : decodePeerList(format, stagePeersRaw, ["stage", "peers"], issues, (i) => refOf("stage", i))
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
      const peerList = effective === stagePeers ? "stage" : "peers"
      const origin: ConfigOrigin = {
        format,
        peerList,
        ...(lines === undefined ? {} : { lines: { peers: peerList === "stage" ? lines.stagePeers : lines.peers, fields: lines.fields } })
      }
      return Result.succeed({ source, origin, options, stagingDir: stage.stagingDir, peers: effective.filter((p) => p !== undefined) })
    }
  }
  return Result.fail(new ConfigError({ path: source, problems: issues.map((i) => `${place(format, i.path, refOf)}: ${i.message}`) }))
}


/**
 * Names a place of a configuration in the vocabulary of the file it came from, for people: a
 * field by its path (`options.working_dir` in a `cback3.conf`, `options.workingDir` in JSON) and
 * its line, a peer by its name and its line (`peer db1 (line 14) rsh_command`). Load errors and
 * `Validate` name places the same way.
 *
 * @since 1.0.0
 */
import { xmlLocation } from "./internal/cedarXml.js"
import type { ConfigOrigin, PoolConfig } from "./schema.js"

/**
 * The two formats of a configuration file.
 *
 * @since 1.0.0
 * @category models
 */
export type Format = ConfigOrigin["format"]

/**
 * A path in the normalised tree both formats decode into (`["peers", 2, "collectDir"]`).
 *
 * @since 1.0.0
 * @category models
 */
export type Path = ReadonlyArray<PropertyKey>

/**
 * A path as the file writes it: `peers.peer[2].collect_dir` in XML, `peers[2].collectDir` in JSON.
 *
 * @since 1.0.0
 * @category accessors
 */
export const location = (format: Format, path: Path): string => {
  if (path.length === 0) return "document"
  if (format === "xml") return xmlLocation(path)
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "")
}

/**
 * One peer of a list of a configuration file: which list, its index there, its name as written
 * (anything, when it is not a usable name) and its line when known.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerRef {
  readonly format: Format
  readonly list: ConfigOrigin["peerList"]
  readonly index: number
  readonly name: unknown
  readonly line: number | undefined
}

const nameOf = (name: unknown): string | undefined => {
  if (typeof name !== "string" || name.trim() === "") return undefined
  // a name that would read as several words or lines is quoted
  if (/^[^\s\p{C}"()]+$/u.test(name)) return name
  return JSON.stringify(name).replace(/\p{C}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
}

const listName = (format: Format, list: PeerRef["list"]): string =>
  format === "xml" ? (list === "stage" ? "stage.peer" : "peers.peer") : (list === "stage" ? "stage.peers" : "peers")

/**
 * Where a peer is in its file: its line in a `cback3.conf`, else its list and 1-based position
 * (`peers #2`, `stage.peers #1`); with `position`, both (`peer #2, line 14`), for peers that may
 * share a line.
 *
 * @since 1.0.0
 * @category accessors
 */
export const peerWhere = (peer: PeerRef, position = false): string =>
  peer.line === undefined
    ? `${listName(peer.format, peer.list)} #${peer.index + 1}`
    : position
    ? `peer #${peer.index + 1}, line ${peer.line}`
    : `line ${peer.line}`

/**
 * A peer and a field of it, for people: `peer db1 (line 14) rsh_command`,
 * `peer alpha (peers #1) collectDir`; a peer without a usable name by its 1-based position,
 * `peer #6 (line 40) name`, `peer #6 (peers) name`.
 *
 * @since 1.0.0
 * @category accessors
 */
export const peerPlace = (peer: PeerRef, field: Path): string => {
  const name = nameOf(peer.name)
  const where = name !== undefined || peer.line !== undefined ? peerWhere(peer) : listName(peer.format, peer.list)
  const fieldText = field.length === 0 ? "" : location(peer.format, ["peers", 0, ...field]).replace(/^.*?\]\.?/, "")
  return `peer ${name ?? `#${peer.index + 1}`} (${where})${fieldText === "" ? "" : ` ${fieldText}`}`
}

// A pool built by hand: the format follows the source's name, as `load` reads it.
const originOf = (pool: PoolConfig): ConfigOrigin =>
  pool.origin ?? { format: pool.source.toLowerCase().endsWith(".json") ? "json" : "xml", peerList: "peers" }

/**
 * Names a place of a pool in the vocabulary of the file it came from:
 * `locate(pool, ["options", "workingDir"])` is `options.working_dir` for a `cback3.conf` and
 * `options.workingDir` for JSON; `["peers", i, ...]` is the `i`th peer of `pool.peers`, in the
 * list it was read from (`peers.peer[i]` or `stage.peer[i]` in XML). For a pool without an
 * `origin` (built by hand), the format follows the source's name as in `load`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const locate = (pool: PoolConfig, path: Path): string => {
  const origin = originOf(pool)
  return location(origin.format, path[0] === "peers" && origin.peerList === "stage" ? ["stage", ...path] : path)
}

/**
 * Where a problem of a pool is, for people: a peer by its name and its line (or its place in the
 * list) as `peerPlace` says it, any other field by `locate` and, in a `cback3.conf`, its line.
 *
 * @since 1.0.0
 * @category accessors
 */
export const placeOf = (pool: PoolConfig, path: Path): string => {
  const origin = originOf(pool)
  if (path[0] === "peers" && typeof path[1] === "number") {
    const index = path[1]
    const ref = { format: origin.format, list: origin.peerList, index, name: pool.peers[index]?.name, line: origin.lines?.peers[index] }
    return peerPlace(ref, path.slice(2))
  }
  const located = locate(pool, path)
  const [section, field] = located.split(".")
  const line = section !== undefined && field !== undefined ? origin.lines?.fields[`${section}.${field}`] : undefined
  return line === undefined ? located : `${located} (line ${line})`
}

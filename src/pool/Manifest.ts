/**
 * The verification manifest of a daily directory: the SHA-256 of every file staged with
 * `verify`, one line per file in `sha256sum` form, so that `cedar-peer verify DAILY_DIR` (or
 * `sha256sum -c`, for plain names) can re-check the staged copies later.
 *
 * `<daily>/cedar-peer.sha256` holds lines `HEX  PEER/NAME`, NAME shown as `Peer.showName` shows
 * it; a line whose name holds an escape (`\\`, `\xHH`) starts with a backslash, as sha256sum
 * marks its escaped lines. The file is replaced atomically (written aside, then renamed).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import type { Ownership } from "../domain/Peer.js"
import { isPlainFileNameBytes, unescapeName } from "../domain/Peer.js"
import { FileOperationFailed } from "../domain/PeerError.js"
import { type Directory, type DiskError, type NotRegularFile, StagingDisk } from "../disk/StagingDisk.js"

/**
 * The manifest's file name in a daily directory.
 *
 * @since 0.2.0
 * @category constants
 */
export const FILE_NAME = "cedar-peer.sha256"

/**
 * The largest manifest read (64 MiB: about 600,000 files at 110 bytes a line). The manifest is
 * in a directory the backup user may once have owned, so a larger one is refused unread.
 *
 * @since 1.0.0
 * @category constants
 */
export const MAX_BYTES = 64 * 1024 * 1024

// `\` + hash + two spaces + a peer and a file name of at most 255 bytes each, escaped (4 characters a byte)
const MAX_LINE = 1 + 64 + 2 + 4 * 255 + 1 + 4 * 255

/**
 * One manifest line: the path under the daily directory as shown (`peer/name`) and its SHA-256.
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry {
  readonly path: string
  readonly sha256: string
}

/**
 * The hashes of one peer's staged files (names as `Peer.showName` shows them).
 *
 * @since 0.2.0
 * @category models
 */
export interface PeerHashes {
  readonly peer: string
  readonly hashes: ReadonlyArray<{ readonly name: string; readonly sha256: string }>
}

/**
 * The manifest text of some entries.
 *
 * @since 0.2.0
 * @category constructors
 */
export const format = (entries: ReadonlyArray<Entry>): string =>
  entries.map((e) => `${e.path.includes("\\") ? "\\" : ""}${e.sha256}  ${e.path}\n`).join("")

/**
 * The peer directory and file name a manifest path names, when it is one plain name under one
 * plain name (`PEER/NAME`, NAME as `Peer.showName` shows it); anything else (`../x`, `/etc/x`,
 * `a/b/c`, an escaped `/`) names nothing.
 *
 * @since 1.0.0
 * @category constructors
 */
export const splitPath = (path: string): { readonly peer: string; readonly name: Uint8Array } | undefined => {
  const slash = path.indexOf("/")
  if (slash < 0) return undefined
  const peer = path.slice(0, slash)
  const name = unescapeName(path.slice(slash + 1))
  return isPlainFileNameBytes(new TextEncoder().encode(peer)) && isPlainFileNameBytes(name) ? { peer, name } : undefined
}

/**
 * The entries of a manifest text; lines that are not `HEX  PEER/NAME` (a path that leaves the
 * daily directory included) are returned apart, by number.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parse = (text: string): { readonly entries: ReadonlyArray<Entry>; readonly badLines: ReadonlyArray<number> } => {
  const entries: Array<Entry> = []
  const badLines: Array<number> = []
  text.split("\n").forEach((line, i) => {
    if (line === "") return
    const match = line.length > MAX_LINE ? null : line.match(/^\\?([0-9a-f]{64}) [ *](.+)$/)
    if (match === null || splitPath(match[2]!) === undefined) badLines.push(i + 1)
    else entries.push({ sha256: match[1]!, path: match[2]! })
  })
  return { entries, badLines }
}

const MASTER = "master"

/** The manifest of a daily directory held open, read without following a link or blocking, bounded; none: empty. */
const readManifest = (disk: StagingDisk["Service"], daily: Directory, shown: string) =>
  disk.readFile(daily, FILE_NAME, MAX_BYTES).pipe(
    Effect.map((bytes) => new TextDecoder().decode(bytes)),
    Effect.catchIf(
      (error): error is DiskError => error._tag === "DiskError" && error.code === "ENOENT",
      () => Effect.succeed(undefined)
    ),
    Effect.mapError((cause: DiskError | NotRegularFile) => new FileOperationFailed({ peer: MASTER, operation: "open", path: shown, cause }))
  )

/**
 * Writes the hashes of the peers given into the daily directory's manifest, keeping the lines of
 * other peers (staged by an earlier run of the day); returns the manifest's path. The manifest
 * found there must be a regular file of at most `MAX_BYTES` (a link, a fifo or a larger file is
 * refused, unread, with `FileOperationFailed`).
 *
 * @since 0.2.0
 * @category operations
 */
export const update = (
  dailyDir: string,
  peers: ReadonlyArray<PeerHashes>,
  ownership?: Ownership,
  /**
   * the daily directory as the staging disk holds it open, when not to be opened by its path:
   * the pool passes its own, so a renamed parent cannot redirect the read, the write or the chown
   */
  through?: Directory
): Effect.Effect<string, FileOperationFailed, StagingDisk> =>
  Effect.gen(function*() {
    const disk = yield* StagingDisk
    const manifest = `${dailyDir.replace(/\/+$/, "")}/${FILE_NAME}`
    const daily = through ?? (yield* disk.openDirectory(dailyDir).pipe(
      Effect.mapError((cause) => new FileOperationFailed({ peer: MASTER, operation: "open", path: dailyDir, cause }))
    ))
    const previous = parse((yield* readManifest(disk, daily, manifest)) ?? "").entries
    const replaced = new Set(peers.map((p) => `${p.peer}/`))
    const kept = previous.filter((e) => ![...replaced].some((prefix) => e.path.startsWith(prefix)))
    const fresh = peers.flatMap((p) => [...p.hashes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((h) => ({ path: `${p.peer}/${h.name}`, sha256: h.sha256 })))
    // written aside, created exclusively (never through a planted link) in the daily dir, which
    // only root may write, then renamed over the manifest
    yield* disk.replaceFile(daily, FILE_NAME, new TextEncoder().encode(format([...kept, ...fresh])), { permissions: 0o644, ownership }).pipe(
      Effect.mapError((cause) => new FileOperationFailed({ peer: MASTER, operation: operationOf(cause), path: cause.path, cause }))
    )
    return manifest
  }).pipe(Effect.scoped)

const operationOf = (error: DiskError): FileOperationFailed["operation"] =>
  error.operation === "chown" || error.operation === "chmod" || error.operation === "rename" || error.operation === "open"
    ? error.operation
    : "create"

/**
 * What re-checking a manifest found.
 *
 * @since 0.2.0
 * @category models
 */
export interface VerifyReport {
  readonly manifest: string
  readonly ok: boolean
  readonly checked: number
  readonly mismatches: ReadonlyArray<{ readonly file: string; readonly expected: string; readonly actual: string }>
  readonly missing: ReadonlyArray<string>
  /** manifest lines that could not be read (line numbers) */
  readonly badLines: ReadonlyArray<number>
}

// A file the manifest names, hashed through its peer directory (opened once, without following
// a link, relative to the daily directory held open); a file that is not a regular one is missing.
const hashEntry = (disk: StagingDisk["Service"], peers: ReadonlyMap<string, Directory | undefined>, entry: Entry) => {
  const { name, peer } = splitPath(entry.path)!
  const directory = peers.get(peer)
  return directory === undefined
    ? Effect.succeedNone
    : disk.hashFiles(directory, [name]).pipe(Effect.map((hashes) => hashes[0]!), Effect.option)
}

/**
 * Re-checks every file a daily directory's manifest names: a file whose SHA-256 differs is a
 * mismatch, a file that is gone (or no longer a regular file) is missing. Only files directly in
 * a peer directory of the daily directory are looked at, none through a link; any other line is
 * unreadable, as is a manifest over `MAX_BYTES` or one that is not a regular file.
 *
 * @since 0.2.0
 * @category operations
 */
export const verify = (dailyDir: string): Effect.Effect<VerifyReport, FileOperationFailed, StagingDisk> =>
  Effect.gen(function*() {
    const disk = yield* StagingDisk
    const manifest = `${dailyDir.replace(/\/+$/, "")}/${FILE_NAME}`
    const notFound = (cause: unknown) => new FileOperationFailed({ peer: MASTER, operation: "open", path: manifest, cause })
    const daily = yield* disk.openDirectory(dailyDir).pipe(Effect.mapError(notFound))
    const text = yield* readManifest(disk, daily, manifest)
    if (text === undefined) return yield* notFound(new Error("no such file or directory"))
    const { badLines, entries } = parse(text)
    const mismatches: Array<{ file: string; expected: string; actual: string }> = []
    const missing: Array<string> = []
    const peers = new Map<string, Directory | undefined>()
    for (const entry of entries) {
      const { peer } = splitPath(entry.path)!
      if (peers.has(peer)) continue
      const opened = yield* disk.openSubdirectory(daily, peer).pipe(Effect.option)
      peers.set(peer, opened._tag === "Some" ? opened.value.directory : undefined)
    }
    yield* Effect.forEach(entries, (entry) =>
      Effect.map(hashEntry(disk, peers, entry), (actual) => {
        if (actual._tag === "None") missing.push(entry.path)
        else if (actual.value !== entry.sha256) mismatches.push({ file: entry.path, expected: entry.sha256, actual: actual.value })
      }), { concurrency: 4, discard: true })
    return {
      manifest,
      ok: mismatches.length === 0 && missing.length === 0 && badLines.length === 0,
      checked: entries.length,
      mismatches,
      missing,
      badLines
    }
  }).pipe(Effect.scoped)

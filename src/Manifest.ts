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
import { Effect, FileSystem, Path } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { constants } from "node:fs"
import * as fsp from "node:fs/promises"
import type { Ownership } from "./Peer.js"
import { unescapeName } from "./Peer.js"
import { FileOperationFailed } from "./PeerError.js"

/**
 * The manifest's file name in a daily directory.
 *
 * @since 0.2.0
 * @category constants
 */
export const FILE_NAME = "cedar-peer.sha256"

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
 * The entries of a manifest text; lines that are not `HEX  PATH` are returned apart, by number.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parse = (text: string): { readonly entries: ReadonlyArray<Entry>; readonly badLines: ReadonlyArray<number> } => {
  const entries: Array<Entry> = []
  const badLines: Array<number> = []
  text.split("\n").forEach((line, i) => {
    if (line === "") return
    const match = line.match(/^\\?([0-9a-f]{64}) [ *](.+)$/)
    if (match === null) badLines.push(i + 1)
    else entries.push({ sha256: match[1]!, path: match[2]! })
  })
  return { entries, badLines }
}

const MASTER = "master"

/**
 * Writes the hashes of the peers given into the daily directory's manifest, keeping the lines of
 * other peers (staged by an earlier run of the day); returns the manifest's path.
 *
 * @since 0.2.0
 * @category operations
 */
export const update = (
  dailyDir: string,
  peers: ReadonlyArray<PeerHashes>,
  ownership?: Ownership,
  /**
   * where the daily directory is reached for reading and writing, when not by its path: the pool
   * passes the directory it holds open, so a renamed parent cannot redirect the chown
   */
  through?: string
): Effect.Effect<string, FileOperationFailed, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const manifest = path.join(dailyDir, FILE_NAME)
    const at = (name: string) => path.join(through ?? dailyDir, name)
    const failed = (operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
      new FileOperationFailed({ peer: MASTER, operation, path: file, cause })
    const previous = (yield* fs.exists(at(FILE_NAME)).pipe(Effect.orElseSucceed(() => false)))
      ? parse(yield* fs.readFileString(at(FILE_NAME)).pipe(Effect.mapError(failed("open", manifest)))).entries
      : []
    const replaced = new Set(peers.map((p) => `${p.peer}/`))
    const kept = previous.filter((e) => ![...replaced].some((prefix) => e.path.startsWith(prefix)))
    const fresh = peers.flatMap((p) => [...p.hashes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((h) => ({ path: `${p.peer}/${h.name}`, sha256: h.sha256 })))
    const draftName = `.${FILE_NAME}.${randomBytes(6).toString("hex")}.tmp`
    const draft = path.join(dailyDir, draftName)
    // created exclusively (never through a planted link) in the daily dir, which only root may write
    yield* fs.writeFileString(at(draftName), format([...kept, ...fresh]), { flag: "wx", mode: 0o644 }).pipe(
      Effect.mapError(failed("create", draft))
    )
    yield* Effect.gen(function*() {
      if (ownership !== undefined) {
        yield* fs.chown(at(draftName), ownership.uid, ownership.gid).pipe(Effect.mapError(failed("chown", draft)))
      }
      yield* fs.rename(at(draftName), at(FILE_NAME)).pipe(Effect.mapError(failed("rename", manifest)))
    }).pipe(Effect.onError(() => fs.remove(at(draftName)).pipe(Effect.ignore)))
    return manifest
  })

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

// opened without following a link or blocking on a fifo; anything but a regular file counts as missing
const sha256Of = async (file: Buffer) => {
  const handle = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  try {
    if (!(await handle.stat()).isFile()) throw new Error("not a regular file")
    const hash = createHash("sha256")
    for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer)
    return hash.digest("hex")
  } finally {
    await handle.close()
  }
}

/**
 * Re-checks every file a daily directory's manifest names: a file whose SHA-256 differs is a
 * mismatch, a file that is gone (or no longer a regular file) is missing.
 *
 * @since 0.2.0
 * @category operations
 */
export const verify = (dailyDir: string): Effect.Effect<VerifyReport, FileOperationFailed> =>
  Effect.gen(function*() {
    const manifest = `${dailyDir.replace(/\/+$/, "")}/${FILE_NAME}`
    const text = yield* Effect.tryPromise({
      try: () => fsp.readFile(manifest, "utf8"),
      catch: (cause) => new FileOperationFailed({ peer: MASTER, operation: "open", path: manifest, cause })
    })
    const { badLines, entries } = parse(text)
    const mismatches: Array<{ file: string; expected: string; actual: string }> = []
    const missing: Array<string> = []
    const base = Buffer.from(`${dailyDir.replace(/\/+$/, "")}/`)
    yield* Effect.forEach(entries, (entry) =>
      Effect.tryPromise(() => sha256Of(Buffer.concat([base, unescapeName(entry.path)]))).pipe(
        Effect.match({
          onFailure: () => {
            missing.push(entry.path)
          },
          onSuccess: (actual) => {
            if (actual !== entry.sha256) mismatches.push({ file: entry.path, expected: entry.sha256, actual })
          }
        })
      ), { concurrency: 4, discard: true })
    return {
      manifest,
      ok: mismatches.length === 0 && missing.length === 0 && badLines.length === 0,
      checked: entries.length,
      mismatches,
      missing,
      badLines
    }
  })

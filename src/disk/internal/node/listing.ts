// Listing a held directory without following any entry: every entry (`list`), the regular files
// compactly (`listFiles`), or how much it holds now (`usage`).
import { Effect } from "effect"
import * as NFS from "node:fs"
import { entryTypeOf } from "../../entryType.js"
import { NameListBuilder } from "../../NameList.js"
import { type Directory, type DirectoryEntry, DiskError, type FileListing, type Usage } from "../../StagingDisk.js"
import { attempt, blockerType, syncOperation } from "./errno.js"
import { heldOf, pathIn, shownIn } from "./held.js"

/** Listed names are kept in buffers of this size, each name a view of one. */
const NAME_CHUNK = 64 * 1024
/** `usage` lets other fibers run after looking at this many entries. */
const USAGE_BATCH = 2000

/** What an entry is when the listing did not say (file systems that do not fill d_type), looked at without following it. */
const typeIn = (directory: Directory, name: Buffer) => {
  const path = pathIn(directory, name)
  return path instanceof DiskError ? "Unknown" : blockerType(path)
}

/** The size of a regular file found by a listing, looked at without following it. */
const lstatIn = (directory: Directory, name: Buffer) => {
  const path = pathIn(directory, name)
  return path instanceof DiskError ? path : attempt("stat", shownIn(directory, name), () => NFS.lstatSync(path))
}

// Read through a directory stream, a few entries at a time, names as latin1 (one char per byte,
// so exact), each returned as a view of a shared chunk: neither an array of every entry's Dirent
// at once nor a Buffer of its own per name (~200 bytes each), which a collect dir of 100,000
// files would turn into tens of megabytes.
export const list = (directory: Directory, options?: { readonly sizes?: boolean | undefined }) =>
  syncOperation("list", directory.shown, () => {
    const held = heldOf(directory)
    if (held instanceof DiskError) return held
    const stream = NFS.opendirSync(held.path, { encoding: "latin1", bufferSize: 128 })
    const entries: Array<DirectoryEntry> = []
    let chunk = Buffer.allocUnsafeSlow(NAME_CHUNK)
    let used = 0
    try {
      for (let entry = stream.readSync(); entry !== null; entry = stream.readSync()) {
        const length = entry.name.length
        if (used + length > chunk.length) {
          chunk = Buffer.allocUnsafeSlow(Math.max(NAME_CHUNK, length))
          used = 0
        }
        const name = chunk.subarray(used, used += chunk.write(entry.name, used, "latin1"))
        let type = entryTypeOf(entry)
        if (type === "Unknown") type = typeIn(directory, name)
        if (options?.sizes !== true || type !== "File") {
          entries.push({ name, type })
          continue
        }
        const stats = lstatIn(directory, name)
        if (stats instanceof DiskError) return stats
        entries.push({ name, type: entryTypeOf(stats), size: stats.size })
      }
    } finally {
      stream.closeSync()
    }
    return entries as ReadonlyArray<DirectoryEntry>
  })

// As `list` reads, but a regular file costs only its name's bytes and an offset (see NameList),
// and reading stops as soon as the file count passes the limit.
export const listFiles = (
  directory: Directory,
  options?: { readonly sizes?: boolean | undefined; readonly maxFiles?: number | undefined }
) =>
  syncOperation("list", directory.shown, () => {
    const held = heldOf(directory)
    if (held instanceof DiskError) return held
    const stream = NFS.opendirSync(held.path, { encoding: "latin1", bufferSize: 128 })
    const files = new NameListBuilder()
    const others: Array<DirectoryEntry> = []
    const maxFiles = options?.maxFiles
    let bytes = 0
    try {
      for (let entry = stream.readSync(); entry !== null; entry = stream.readSync()) {
        let type = entryTypeOf(entry)
        if (type === "Unknown") type = typeIn(directory, Buffer.from(entry.name, "latin1"))
        if (type === "File" && options?.sizes === true) {
          const stats = lstatIn(directory, Buffer.from(entry.name, "latin1"))
          if (stats instanceof DiskError) return stats
          type = entryTypeOf(stats)
          if (type === "File") bytes += stats.size
        }
        if (type !== "File") {
          others.push({ name: Buffer.from(entry.name, "latin1"), type })
          continue
        }
        files.push(entry.name)
        if (maxFiles !== undefined && files.length > maxFiles) break
      }
    } finally {
      stream.closeSync()
    }
    others.sort((a, b) => Buffer.compare(a.name, b.name))
    const truncated = maxFiles !== undefined && files.length > maxFiles
    const listing: FileListing = { files: files.build().sorted(), bytes, others, truncated }
    return listing
  })

// Each entry is looked at synchronously, a few microseconds each where a thread-pool round trip
// costs tens, and the fiber yields every `USAGE_BATCH` entries so a huge directory does not hold
// up the others.
export const usage = (directory: Directory): Effect.Effect<Usage, DiskError> =>
  Effect.gen(function*() {
    const held = heldOf(directory)
    if (held instanceof DiskError) return yield* held
    const names = yield* syncOperation("list", directory.shown, () =>
      attempt("list", directory.shown, () => NFS.readdirSync(held.path, { encoding: "buffer" })))
    let bytes = 0
    for (let i = 0; i < names.length; i++) {
      if (i > 0 && i % USAGE_BATCH === 0) yield* Effect.yieldNow
      try {
        bytes += NFS.lstatSync(Buffer.concat([held.prefix, names[i]!])).size
      } catch {
        // gone since the listing: not counted
      }
    }
    return { files: names.length, bytes }
  })

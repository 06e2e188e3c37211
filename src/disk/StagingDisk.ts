/**
 * The filesystem operations of the staging hot path, safe to run as root over directories other
 * users can write: no operation follows a symbolic link it did not expect, names are bytes, and
 * directories are held open so that a rename of one of their parents cannot redirect a write.
 *
 * Effect's `FileSystem` has no lstat, no `O_NOFOLLOW`, no descriptor-relative operations and only
 * string paths, so staging has this small service of its own: `NodeStagingDisk.layer` over
 * `node:fs` in production, `MemoryStagingDisk` (in `cedar-peer/testing`) in tests.
 *
 * @since 0.2.0
 */
import type { Effect, Scope } from "effect"
import { Context, Schema } from "effect"
import type { Ownership } from "../domain/Peer.js"

/**
 * A file name as the kernel stores it: bytes, which need not be UTF-8.
 *
 * @since 0.2.0
 * @category models
 */
export type FileName = Uint8Array

/**
 * A list of file names, read by position: an array of names, or a `NameList`.
 *
 * @since 1.0.0
 * @category models
 */
export interface FileNames {
  readonly length: number
  at(index: number): FileName | undefined
}

/** Names are packed into buffers of this size, never across two (a name is at most 255 bytes). */
const NAME_CHUNK = 1024 * 1024

/**
 * File names packed into a few large buffers, each read back as a view of one: a million names
 * take their bytes and eight more each, where an array of a million `Uint8Array`s takes over
 * 100 MB.
 *
 * @since 1.0.0
 * @category models
 */
export class NameList implements FileNames {
  constructor(
    private readonly chunks: ReadonlyArray<Buffer>,
    /** where name `i` starts and ends, counting chunk `c` from `c * NAME_CHUNK` */
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
    readonly length: number
  ) {}

  /** The names of an array, packed. */
  static of(names: ReadonlyArray<FileName>): NameList {
    const builder = new NameListBuilder()
    for (const name of names) builder.push(name)
    return builder.build()
  }

  at(index: number): FileName | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined
    const start = this.starts[index]!
    const offset = start % NAME_CHUNK
    return this.chunks[(start - offset) / NAME_CHUNK]!.subarray(offset, offset + this.ends[index]! - start)
  }

  /** The same names sorted by their bytes (as `Buffer.compare` orders them); the bytes are shared, not copied. */
  sorted(): NameList {
    const { chunks, starts, ends } = this
    const order = new Uint32Array(this.length)
    for (let i = 0; i < order.length; i++) order[i] = i
    order.sort((a, b) => {
      const sa = starts[a]!
      const sb = starts[b]!
      const oa = sa % NAME_CHUNK
      const ob = sb % NAME_CHUNK
      return chunks[(sa - oa) / NAME_CHUNK]!.compare(chunks[(sb - ob) / NAME_CHUNK]!, ob, ob + ends[b]! - sb, oa, oa + ends[a]! - sa)
    })
    const sortedStarts = new Uint32Array(this.length)
    const sortedEnds = new Uint32Array(this.length)
    for (let i = 0; i < order.length; i++) {
      sortedStarts[i] = starts[order[i]!]!
      sortedEnds[i] = ends[order[i]!]!
    }
    return new NameList(chunks, sortedStarts, sortedEnds, this.length)
  }
}

/**
 * Builds a `NameList` one name at a time; the name buffers are never copied or regrown.
 *
 * @since 1.0.0
 * @category constructors
 */
export class NameListBuilder {
  private readonly chunks: Array<Buffer> = []
  private starts: Uint32Array = new Uint32Array(1024)
  private ends: Uint32Array = new Uint32Array(1024)
  /** bytes used in the last chunk (none yet: a chunk is made by the first push) */
  private used = NAME_CHUNK
  private count = 0

  get length(): number {
    return this.count
  }

  /** Appends a name, given as bytes or as a latin1 string (one character per byte). */
  push(name: FileName | string): void {
    const size = name.length
    if (size > NAME_CHUNK) throw new RangeError(`a file name of ${size} bytes`)
    if (this.used + size > NAME_CHUNK) {
      this.chunks.push(Buffer.allocUnsafeSlow(NAME_CHUNK))
      this.used = 0
    }
    if (this.count === this.starts.length) {
      this.starts = grown(this.starts)
      this.ends = grown(this.ends)
    }
    const chunk = this.chunks[this.chunks.length - 1]!
    if (typeof name === "string") chunk.write(name, this.used, "latin1")
    else chunk.set(name, this.used)
    const start = (this.chunks.length - 1) * NAME_CHUNK + this.used
    this.used += size
    this.starts[this.count] = start
    this.ends[this.count++] = start + size
  }

  /** The list of the names pushed so far. */
  build(): NameList {
    return new NameList(this.chunks.slice(), this.starts.subarray(0, this.count), this.ends.subarray(0, this.count), this.count)
  }
}

const grown = (array: Uint32Array): Uint32Array => {
  const bigger = new Uint32Array(array.length * 2)
  bigger.set(array)
  return bigger
}

/**
 * An open directory. Operations address entries relative to it, so renaming or replacing one of
 * its parents after it was opened changes nothing. `shown` is its path for messages.
 *
 * @since 0.2.0
 * @category models
 */
export interface Directory {
  readonly shown: string
  /** implementation detail of the service that opened it (e.g. `/proc/self/fd/N`) */
  readonly handle: string
}

/**
 * What a directory entry is, read without following it.
 *
 * @since 0.2.0
 * @category models
 */
export type EntryType = "File" | "Directory" | "SymbolicLink" | "FIFO" | "Socket" | "BlockDevice" | "CharacterDevice" | "Unknown"

/**
 * What stood where a regular file (or a directory) was expected: an entry type, or `HardLink` for
 * a regular file with more than one link.
 *
 * @since 1.0.0
 * @category schemas
 */
export const FoundType = Schema.Literals([
  "File",
  "Directory",
  "SymbolicLink",
  "FIFO",
  "Socket",
  "BlockDevice",
  "CharacterDevice",
  "Unknown",
  "HardLink"
])

/**
 * @since 1.0.0
 * @category models
 */
export type FoundType = typeof FoundType.Type

/**
 * One entry of a directory.
 *
 * @since 0.2.0
 * @category models
 */
export interface DirectoryEntry {
  readonly name: FileName
  readonly type: EntryType
  /** the size in bytes, when asked for (`list(directory, { sizes: true })`), for regular files */
  readonly size?: number | undefined
}

/**
 * A low-level failure of the staging disk, with the operation, the path (for messages) and the
 * errno code (`ENOSPC`, `EACCES`, …) when there is one. Peers map it to their own tagged errors.
 *
 * @since 0.2.0
 * @category errors
 */
export class DiskError extends Schema.TaggedError<DiskError>()("DiskError", {
  operation: Schema.String,
  path: Schema.String,
  code: Schema.optional(Schema.String),
  detail: Schema.String,
  /** the name of the batch's file it concerns (copies, commits) */
  entry: Schema.optional(Schema.Uint8Array)
}) {
  override get message(): string {
    return `${this.path}: ${this.operation} failed: ${this.detail}`
  }
}

/**
 * An entry that had to be a regular file (or a directory) was something else when opened, e.g.
 * a file swapped for a symbolic link after the listing.
 *
 * @since 0.2.0
 * @category errors
 */
export class NotRegularFile extends Schema.TaggedError<NotRegularFile>()("NotRegularFile", {
  name: Schema.Uint8Array,
  path: Schema.String,
  type: FoundType
}) {
  override get message(): string {
    return `${this.path}: is a ${this.type}, not a regular file`
  }
}

/**
 * What happens to each file written: ownership by descriptor or lchown, permission bits.
 *
 * @since 0.2.0
 * @category models
 */
export interface FileAttributes {
  readonly ownership?: Ownership | undefined
  /** permission bits; absent: the source's (copies) or 0644 (new files) */
  readonly permissions?: number | undefined
}

/**
 * The outcome of copying or adopting a batch of files.
 *
 * @since 0.2.0
 * @category models
 */
export interface BatchTotals {
  readonly count: number
  /** bytes actually written (copies) or found (adopted files), not a listing's sizes */
  readonly bytes: number
}

/**
 * A copy went over the byte limit it was given; it stopped there.
 *
 * @since 0.2.0
 * @category errors
 */
export class ByteLimitReached extends Schema.TaggedError<ByteLimitReached>()("ByteLimitReached", {
  max: Schema.Number,
  /** bytes copied when the copy stopped (more than `max`) */
  bytes: Schema.Number
}) {
  override get message(): string {
    return `more than ${this.max} bytes (${this.bytes} copied when stopped)`
  }
}

/**
 * How `copyFiles` runs.
 *
 * @since 0.2.0
 * @category models
 */
export interface CopyOptions {
  /** called after each file with the totals so far */
  readonly onProgress?: ((totals: BatchTotals) => void) | undefined
  /** stop with `ByteLimitReached` as soon as more than this many bytes were copied */
  readonly maxBytes?: number | undefined
  /** also return the SHA-256 (hex) of the bytes read from each source, in `names` order */
  readonly hash?: boolean | undefined
}

/**
 * The outcome of `copyFiles`.
 *
 * @since 0.2.0
 * @category models
 */
export interface CopyTotals extends BatchTotals {
  /** with `hash`: the SHA-256 (hex) of what was read from each source, in `names` order */
  readonly hashes?: ReadonlyArray<string> | undefined
}

/**
 * A directory's regular files, listed compactly (`listFiles`).
 *
 * @since 1.0.0
 * @category models
 */
export interface FileListing {
  /** the regular files' names, sorted by their bytes (at most `maxFiles + 1` of them) */
  readonly files: NameList
  /** their bytes, when sizes were asked for (0 otherwise) */
  readonly bytes: number
  /** every entry that is not a regular file, sorted by name */
  readonly others: ReadonlyArray<DirectoryEntry>
  /** listing stopped as soon as there were more than `maxFiles` regular files */
  readonly truncated: boolean
}

/**
 * The `FileListing` of entries listed by `list`, for a disk that has no cheaper way to make one.
 *
 * @since 1.0.0
 * @category constructors
 */
export const fileListingOf = (entries: ReadonlyArray<DirectoryEntry>, maxFiles?: number): FileListing => {
  const builder = new NameListBuilder()
  const others: Array<DirectoryEntry> = []
  let bytes = 0
  for (const entry of entries) {
    if (entry.type !== "File") others.push(entry)
    else if (maxFiles === undefined || builder.length <= maxFiles) {
      builder.push(entry.name)
      bytes += entry.size ?? 0
    }
  }
  const truncated = maxFiles !== undefined && builder.length > maxFiles
  others.sort((a, b) => Buffer.compare(a.name, b.name))
  return { files: builder.build().sorted(), bytes, others, truncated }
}

/**
 * How `makePrivateDirectory` makes a directory.
 *
 * @since 0.2.1
 * @category models
 */
export interface PrivateDirectoryOptions {
  /** permission bits (default 0700), e.g. 0711 for a directory another user only traverses */
  readonly mode?: number | undefined
  /** a short name without the maker's mark, for a directory whose path must stay short */
  readonly short?: boolean | undefined
}

/**
 * The staging disk's operations.
 *
 * @since 0.2.0
 * @category services
 */
export interface StagingDiskService {
  /** Opens an existing directory named by an administrator (following links, as configured). */
  readonly openDirectory: (path: string) => Effect.Effect<Directory, DiskError, Scope.Scope>
  /**
   * Opens the subdirectory `name` of `parent` without following a link. A link or a
   * non-directory there is `NotRegularFile` (with its type). With `create`, a missing directory
   * is made first, and the directory (new or found) is given that mode and ownership on the open
   * directory, so nobody else keeps control of a directory this process goes on to write into.
   */
  readonly openSubdirectory: (
    parent: Directory,
    name: string,
    create?: { readonly mode: number; readonly ownership?: Ownership | undefined }
  ) => Effect.Effect<{ readonly directory: Directory; readonly created: boolean }, DiskError | NotRegularFile, Scope.Scope>
  /**
   * A fresh private directory inside `parent`, made, moded and owned through its descriptor (mode
   * 0700 unless `options.mode` says otherwise; owned by `owner` or by the process), whose name
   * marks this process as its maker so that a later run can remove it once this process is gone
   * (`options.short`: a short unmarked name, for a socket path, which a later run removes once a
   * day old). When the scope closes it is emptied through its own descriptor, never following a
   * link, then removed.
   */
  readonly makePrivateDirectory: (
    parent: Directory,
    owner?: Ownership,
    options?: PrivateDirectoryOptions
  ) => Effect.Effect<Directory, DiskError, Scope.Scope>
  /** Lists a directory's entries without following any of them; with `sizes`, regular files' sizes too. */
  readonly list: (
    directory: Directory,
    options?: { readonly sizes?: boolean | undefined }
  ) => Effect.Effect<ReadonlyArray<DirectoryEntry>, DiskError>
  /**
   * Lists a directory's regular files compactly, sorted by name, without following any entry;
   * with `sizes`, their sizes too. With `maxFiles`, stops reading as soon as more than that many
   * regular files are found (`truncated`), so a huge directory over the limit costs no more.
   */
  readonly listFiles: (
    directory: Directory,
    options?: { readonly sizes?: boolean | undefined; readonly maxFiles?: number | undefined }
  ) => Effect.Effect<FileListing, DiskError>
  /**
   * Copies each named file of `from` into `to` under the same name: opened without following a
   * link or blocking on a fifo, checked to be a regular file once open, copied from that open
   * file, created exclusively in `to`. Counts the bytes written. Stops at the first failure.
   */
  readonly copyFiles: (
    from: Directory,
    names: FileNames,
    to: Directory,
    attributes: FileAttributes,
    options?: CopyOptions
  ) => Effect.Effect<CopyTotals, DiskError | NotRegularFile | ByteLimitReached>
  /** The SHA-256 (hex) of each named regular file of `directory`, opened without following a link. */
  readonly hashFiles: (
    directory: Directory,
    names: FileNames
  ) => Effect.Effect<ReadonlyArray<string>, DiskError | NotRegularFile>
  /**
   * The content of the regular file `name` of `directory`, opened without following a link or
   * blocking on a fifo (else `NotRegularFile`); a file larger than `maxBytes` is not read
   * (`DiskError`, code `EFBIG`); a missing one is a `DiskError` with code `ENOENT`.
   */
  readonly readFile: (
    directory: Directory,
    name: string,
    maxBytes: number
  ) => Effect.Effect<Uint8Array, DiskError | NotRegularFile>
  /**
   * Takes the named files of a directory written by someone else (a copy command): each must be
   * a regular file with one link (else `NotRegularFile`, type `HardLink` for more links), opened
   * without following; ownership and permissions are set on the open file. Counts their bytes.
   */
  readonly adoptFiles: (
    directory: Directory,
    names: ReadonlyArray<FileName>,
    attributes: FileAttributes
  ) => Effect.Effect<BatchTotals, DiskError | NotRegularFile>
  /**
   * Puts `from`, a private directory of `parent` (made by `makePrivateDirectory`), in place of the
   * empty directory `name` of `parent` in one rename, after giving it `mode` and `ownership`: the
   * entry `name` goes from empty to everything `from` holds in one step, and `from` is then the
   * directory at `name`. Where `name` is not an empty directory (or the rename fails otherwise)
   * nothing moves: a `DiskError` (`ENOTEMPTY`, `EEXIST`, `ENOTDIR`, …).
   */
  readonly replaceEmptyDirectory: (
    parent: Directory,
    from: Directory,
    name: string,
    attributes: { readonly mode: number; readonly ownership?: Ownership | undefined }
  ) => Effect.Effect<void, DiskError>
  /** Makes `directory` owned by the process again (mode 0700), so its former owner can no longer change it. */
  readonly reclaim: (directory: Directory) => Effect.Effect<void, DiskError>
  /**
   * Renames each named file of `from` into `to`, replacing what is there; not interruptible
   * midway. On a failure the files before the failing one have moved, the others not.
   */
  readonly commit: (
    from: Directory,
    names: FileNames,
    to: Directory
  ) => Effect.Effect<void, DiskError>
  /**
   * Creates an empty file `name` in `directory`, or empties the one there, without following a
   * link; an existing entry must be a regular file with one link.
   */
  readonly writeEmptyFile: (
    directory: Directory,
    name: string,
    attributes: FileAttributes
  ) => Effect.Effect<void, DiskError | NotRegularFile>
  /**
   * Removes the private directories of runs whose process is gone (and the temporary files of
   * cedar-peer 0.1.0); returns the names removed, shown.
   */
  readonly removeLeftovers: (directory: Directory) => Effect.Effect<ReadonlyArray<string>, DiskError>
}

/**
 * The staging disk service: `NodeStagingDisk.layer` provides it over `node:fs`.
 *
 * @since 0.2.0
 * @category services
 */
export class StagingDisk extends Context.Service<StagingDisk, StagingDiskService>()("cedar-peer/StagingDisk") {}

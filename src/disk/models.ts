// The values the staging disk takes and gives: names as bytes, entries and what was found where a
// file was expected, its errors, the options and totals of a batch, and the writers of new files.
import { Schema } from "effect"
import { EntryKind, type Ownership } from "../domain/Peer.js"
import type { NameList } from "./NameList.js"

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

/**
 * What stood where a regular file (or a directory) was expected: an entry type, or `HardLink` for
 * a regular file with more than one link. The kinds of `Peer.EntryKind` a disk can find, and
 * `File`.
 *
 * @since 1.0.0
 * @category schemas
 */
export const FoundType = Schema.Literals([
  "File",
  ...EntryKind.pick(["Directory", "SymbolicLink", "FIFO", "Socket", "BlockDevice", "CharacterDevice", "Unknown", "HardLink"]).literals
])

/**
 * @since 1.0.0
 * @category models
 */
export type FoundType = typeof FoundType.Type

/**
 * What a directory entry is, read without following it: a `FoundType` but `HardLink`, which is
 * what a regular file is found to be, not a type of its own.
 *
 * @since 0.2.0
 * @category models
 */
export type EntryType = Exclude<FoundType, "HardLink">

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
 * Files made one after another in one directory (`createFiles`), each written chunk by chunk.
 * Every call is one plain synchronous call, so an archive of many small files costs its system
 * calls and nothing more: no effect and no promise per file or per chunk.
 *
 * @since 1.0.0
 * @category models
 */
export interface FileCreator {
  /**
   * Creates the file `name` for writing: exclusively (an entry already there is a `DiskError`
   * with code `EEXIST`), never through a link, readable by the process alone until `finish`.
   * A failure is returned, not thrown; once the scope of `createFiles` has closed, every call fails.
   */
  readonly create: (name: FileName) => FileWriter | DiskError
}

/**
 * A file a `FileCreator` made and holds open, written chunk by chunk.
 *
 * @since 1.0.0
 * @category models
 */
export interface FileWriter {
  /** Appends all of `chunk`; a failure is returned, not thrown (a file that failed takes no more writes). */
  readonly write: (chunk: Uint8Array) => DiskError | undefined
  /** Gives the open file its ownership and permissions (absent: 0644), then closes it; a failure is returned. */
  readonly finish: (attributes: FileAttributes) => DiskError | undefined
}

/**
 * What a directory holds now (`usage`): its entries, and their sizes in bytes.
 *
 * @since 1.0.0
 * @category models
 */
export interface Usage {
  readonly files: number
  readonly bytes: number
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

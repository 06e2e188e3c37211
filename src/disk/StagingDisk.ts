/**
 * The filesystem operations of the staging hot path, safe to run as root over directories other
 * users can write: no operation follows a symbolic link it did not expect, names are bytes, and
 * directories are held open so that a rename of one of their parents cannot redirect a write.
 *
 * Effect's `FileSystem` has no lstat, no `O_NOFOLLOW`, no descriptor-relative operations and only
 * string paths, hence this service: `NodeStagingDisk.layer` in production, `MemoryStagingDisk` in tests.
 *
 * @since 0.2.0
 */
import { Context, type Effect, Schema, type Scope } from "effect"
import type { Directory } from "../domain/Directory.js"
import { EntryKind, type Ownership } from "../domain/Peer.js"
import type { NameList } from "./NameList.js"

export type { Directory } from "../domain/Directory.js"
export { NameList, NameListBuilder } from "./NameList.js"

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
 * A file `createFile` made and holds open, written chunk by chunk: each `write` is one plain
 * synchronous call (a stream's chunks cost the write and nothing more: no effect, no promise).
 *
 * @since 1.0.0
 * @category models
 */
export interface FileWriter {
  /** Appends all of `chunk`; a failure is returned, not thrown (a file that failed takes no more writes). */
  readonly write: (chunk: Uint8Array) => DiskError | undefined
  /** Gives the open file its ownership and permissions (absent: 0644), then closes it. */
  readonly finish: (attributes: FileAttributes) => Effect.Effect<void, DiskError>
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

/**
 * The staging disk's operations.
 *
 * @since 0.2.0
 * @category services
 */
export interface StagingDiskShape {
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
   * Creates the file `name` in `directory` for writing: exclusively (an entry already there is a
   * `DiskError` with code `EEXIST`), never through a link, readable by the process alone until
   * `finish`. Closed with the scope (unfinished: as written so far).
   */
  readonly createFile: (directory: Directory, name: FileName) => Effect.Effect<FileWriter, DiskError, Scope.Scope>
  /**
   * Replaces the file `name` of `directory` with `content` in one step: written to a fresh file
   * created exclusively beside it (never through a link), given `attributes`, then renamed over
   * `name` (a link there is replaced, never followed). On a failure the fresh file is removed.
   */
  readonly replaceFile: (
    directory: Directory,
    name: string,
    content: Uint8Array,
    attributes: FileAttributes
  ) => Effect.Effect<void, DiskError>
  /**
   * Counts a directory's entries and their sizes now, looking at each without following it
   * (entries that vanish meanwhile are left out); a huge directory does not hold up other fibers.
   */
  readonly usage: (directory: Directory) => Effect.Effect<Usage, DiskError>
  /**
   * Removes the private directories of runs whose process is gone (and the temporary files of
   * cedar-peer 0.1.0); returns the names removed, shown.
   */
  readonly removeLeftovers: (directory: Directory) => Effect.Effect<ReadonlyArray<string>, DiskError>
}

/**
 * The 0.2 name of `StagingDiskShape`.
 *
 * @since 0.2.0
 * @category services
 * @deprecated use `StagingDiskShape`
 */
export type StagingDiskService = StagingDiskShape

/**
 * The staging disk service: `NodeStagingDisk.layer` provides it over `node:fs`.
 *
 * @since 0.2.0
 * @category services
 */
export class StagingDisk extends Context.Service<StagingDisk, StagingDiskShape>()("cedar-peer/StagingDisk") {}

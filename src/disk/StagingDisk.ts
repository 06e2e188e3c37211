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
import { Context, type Effect, type Scope } from "effect"
import type { Directory } from "../domain/Directory.js"
import type { Ownership } from "../domain/Peer.js"
import type {
  BatchTotals,
  ByteLimitReached,
  CopyOptions,
  CopyTotals,
  DirectoryEntry,
  DiskError,
  FileAttributes,
  FileCreator,
  FileListing,
  FileName,
  FileNames,
  NotRegularFile,
  PrivateDirectoryOptions,
  Usage
} from "./models.js"

export type { Directory } from "../domain/Directory.js"
export * from "./models.js"
export { NameList, NameListBuilder } from "./NameList.js"

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
   * Creates files in `directory`, one `create` at a time (see `FileCreator`). The files still
   * open when the scope closes are closed as written so far, unfinished.
   */
  readonly createFiles: (directory: Directory) => Effect.Effect<FileCreator, never, Scope.Scope>
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

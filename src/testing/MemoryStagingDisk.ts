/**
 * An in-memory `StagingDisk` for tests, over a memfs `Volume` — the one of a `MemoryFileSystem`
 * when given, so files arranged through `FileSystem` are seen here and the other way round.
 *
 * It keeps the Node implementation's rules (nothing followed, regular files only, exclusive
 * creation, private directories removed whole, byte names) and adds hooks: `before` runs an
 * effect before an operation on a path (e.g. to swap a file for a symbolic link between the
 * listing and its copy, deterministically), `fail` makes an operation fail with an errno code.
 *
 * Names that are not UTF-8 are kept in the volume with each invalid byte as a lone surrogate
 * (U+DC80–U+DCFF, Python's "surrogateescape"); `memoryName` gives that form of a byte name.
 * Known differences from a real disk: a directory is pinned by its inode number, so one renamed
 * or replaced after it was opened makes later operations fail (on a real disk they would go on
 * in the moved directory); no fifos, sockets or devices.
 *
 * @since 0.2.0
 */
import type { Effect } from "effect"
import { Layer } from "effect"
import { Volume } from "memfs"
import { ownMark, processStartTime } from "../disk/privateDir.js"
import { type FileName, type FileNames, StagingDisk, type StagingDiskShape } from "../disk/StagingDisk.js"
import * as Directories from "./internal/memoryDirectories.js"
import type { Memory } from "./internal/memoryDisk.js"
import * as Files from "./internal/memoryFiles.js"
import * as Names from "./internal/memoryNames.js"

/**
 * The operations the hooks see. `path` is the volume path of the entry (the source for
 * `copyFile`, with `toPath` its copy; the file being moved for `rename`, with `toPath` its
 * final path; the file replaced for `replaceFile`, with `toPath` the fresh file written first).
 * `createFile` is one file made by `createFiles`' creator and `write` one chunk written to it,
 * and `chown`/`chmod` come from its `finish` too: synchronous calls, so only `fail` is asked for
 * them there, not `before`.
 *
 * @since 0.2.0
 * @category models
 */
export type Operation =
  | "openDirectory"
  | "openSubdirectory"
  | "makePrivateDirectory"
  | "list"
  | "copyFile"
  | "hash"
  | "readFile"
  | "adopt"
  | "replaceEmptyDirectory"
  | "reclaim"
  | "rename"
  | "writeEmptyFile"
  | "createFile"
  | "write"
  | "replaceFile"
  | "usage"
  | "chown"
  | "chmod"
  | "removeLeftovers"
  | "remove"

/**
 * The volume and hooks of a memory staging disk.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** the volume to work on (e.g. a `MemoryFileSystem`'s); a fresh one when absent */
  readonly volume?: Volume | undefined
  /** called before every operation (before `fail`); the returned effect runs first, e.g. to pause or swap */
  readonly before?: ((operation: Operation, path: string, toPath?: string) => Effect.Effect<void> | undefined) | undefined
  /**
   * called before every operation; an errno code (`"ENOSPC"`) makes it fail with that code. The
   * tags of Effect's `SystemError` are understood too (`"PermissionDenied"` is EACCES, `"NotFound"`
   * ENOENT, …), so one `fail` function can serve a `MemoryFileSystem` and this disk.
   */
  readonly fail?: ((operation: Operation, path: string, toPath?: string) => string | undefined) | undefined
  /** this process's maker mark in private directory names (`<pid>-<start>`; default: the real one) */
  readonly mark?: string | undefined
  /** the start time of a running pid, for `removeLeftovers` (default: read from /proc) */
  readonly startTimeOf?: ((pid: number) => string | undefined) | undefined
  /** the uid and gid `reclaim` gives a directory back to (default 0, 0) */
  readonly process?: { readonly uid: number; readonly gid: number } | undefined
}

/**
 * A memory staging disk: its layer, the service, and the volume.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryStagingDisk {
  /** always this one disk (its volume, hooks and open directories): make one `MemoryStagingDisk` per test */
  readonly layer: Layer.Layer<StagingDisk>
  readonly disk: StagingDiskShape
  readonly volume: Volume
}

/**
 * How a byte name is kept in the volume: as UTF-8 text, with each byte of an invalid sequence as
 * a lone surrogate U+DC80–U+DCFF.
 *
 * @since 0.2.0
 * @category constructors
 */
export const memoryName: (name: FileName) => string = Names.memoryName

/**
 * The bytes of a name kept in the volume (the inverse of `memoryName`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const nameOf: (stored: string) => FileName = Names.nameOf

// a memory disk holds few files: its operations work on plain arrays
const arrayOf = (names: FileNames): ReadonlyArray<FileName> => Array.from({ length: names.length }, (_, i) => names.at(i)!)

/**
 * Makes a memory staging disk. Make one per test (over that test's volume): its `layer` always
 * provides this one disk, and the hooks it was made with.
 *
 * @example
 * // the collect file "b" becomes a link to a secret just before it is copied
 * const memory = MemoryFileSystem.make({ files: { "/collect/a": "1", "/collect/b": "2", "/secret": "s" } })
 * const disk = MemoryStagingDisk.make({
 *   volume: memory.volume,
 *   before: (op, path) =>
 *     op === "copyFile" && path === "/collect/b"
 *       ? Effect.sync(() => { memory.volume.unlinkSync(path); memory.volume.symlinkSync("/secret", path) })
 *       : undefined
 * })
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options = {}): MemoryStagingDisk => {
  const memory: Memory = {
    volume: options.volume ?? new Volume(),
    options,
    mark: options.mark ?? ownMark(),
    startTimeOf: options.startTimeOf ?? processStartTime,
    owner: options.process ?? { uid: 0, gid: 0 }
  }
  const disk: StagingDiskShape = {
    openDirectory: (path) => Directories.openDirectory(memory, path),
    openSubdirectory: (parent, name, create) => Directories.openSubdirectory(memory, parent, name, create),
    makePrivateDirectory: (parent, owner, options) => Directories.makePrivateDirectory(memory, parent, owner, options),
    list: (directory, listOptions) => Directories.list(memory, directory, listOptions?.sizes === true),
    listFiles: (directory, listOptions) => Directories.listFiles(memory, directory, listOptions?.sizes === true, listOptions?.maxFiles),
    usage: (directory) => Directories.usage(memory, directory),
    copyFiles: (from, names, to, attributes, copyOptions) => Files.copyFiles(memory, from, arrayOf(names), to, attributes, copyOptions ?? {}),
    hashFiles: (directory, names) => Files.hashFiles(memory, directory, arrayOf(names)),
    readFile: (directory, name, maxBytes) => Files.readFile(memory, directory, name, maxBytes),
    adoptFiles: (directory, names, attributes) => Files.adoptFiles(memory, directory, names, attributes),
    replaceEmptyDirectory: (parent, from, name, attributes) => Directories.replaceEmptyDirectory(memory, parent, from, name, attributes),
    reclaim: (directory) => Directories.reclaim(memory, directory),
    commit: (from, names, to) => Files.commit(memory, from, arrayOf(names), to),
    writeEmptyFile: (directory, name, attributes) => Files.writeEmptyFile(memory, directory, name, attributes),
    createFiles: (directory) => Files.createFiles(memory, directory),
    replaceFile: (directory, name, content, attributes) => Files.replaceFile(memory, directory, name, content, attributes),
    removeLeftovers: (directory) => Directories.removeLeftovers(memory, directory)
  }
  return { layer: Layer.succeed(StagingDisk, disk), disk, volume: memory.volume }
}

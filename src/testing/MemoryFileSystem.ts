/**
 * An in-memory `FileSystem` for tests, built on memfs's `Volume`, with fault injection: a test can
 * make any operation on any path fail with a chosen `SystemError` tag, or hold it on an effect
 * (to interrupt an operation half-way).
 *
 * Errors are `PlatformError`s mapped like @effect/platform-node maps errno codes (`reason._tag`:
 * ENOENT → NotFound, EACCES/EPERM → PermissionDenied, EEXIST → AlreadyExists, EISDIR/ENOTDIR/ELOOP →
 * BadResource, EBUSY → Busy, others → Unknown). Sizes, inodes, link counts and devices are `bigint`,
 * as in Effect 4's `File.Info`. Known differences from a real disk: no FIFOs, sockets or devices;
 * memfs checks permission bits for every user, root included; `watch` fails with `BadArgument`.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Layer, PlatformError, Stream } from "effect"
import { Volume } from "memfs"
import { open } from "./internal/memoryFileHandle.js"
import {
  basename,
  dirname,
  errnoError,
  isDirectory,
  joinPath,
  makeFileInfo,
  makeRun,
  makeTempDirectory,
  makeTempFile,
  type MemfsStats,
  type Memory,
  remove,
  typeOf
} from "./internal/memoryVolume.js"

/**
 * The name of a `FileSystem` method, as seen by the `fail` and `before` hooks. (`glob`, `exists`,
 * `readFileString`, `stream`, `sink` and `writeFileString` are built on these and reach the hooks
 * through them.)
 *
 * @since 0.1.0
 * @category models
 */
export type Operation =
  | "access"
  | "copy"
  | "copyFile"
  | "chmod"
  | "chown"
  | "link"
  | "lstat"
  | "makeDirectory"
  | "makeTempDirectory"
  | "makeTempFile"
  | "open"
  | "readDirectory"
  | "readDirectoryEntries"
  | "readFile"
  | "readLink"
  | "realPath"
  | "remove"
  | "rename"
  | "stat"
  | "symlink"
  | "truncate"
  | "utimes"
  | "writeFile"

/**
 * The initial tree and the fault hooks of a memory file system.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** files to create, absolute path → content; parent directories are created as needed */
  readonly files?: Record<string, string | Uint8Array> | undefined
  /** empty directories to create (recursively) */
  readonly directories?: ReadonlyArray<string> | undefined
  /** symbolic links to create, link path → target (the target need not exist) */
  readonly symlinks?: Record<string, string> | undefined
  /** applied to the mode of every file and directory created, like a process umask (default `0o022`) */
  readonly umask?: number | undefined
  /**
   * called before every operation; a tag makes it fail with a `PlatformError` whose `reason` is a
   * `SystemError` of that tag (`"PermissionDenied"`, `"NotFound"`, …) instead of running
   */
  readonly fail?:
    | ((operation: Operation, path: string, toPath?: string) => PlatformError.SystemErrorTag | undefined)
    | undefined
  /** called before every operation (and before `fail`); the returned effect runs first, e.g. to pause it */
  readonly before?: ((operation: Operation, path: string, toPath?: string) => Effect.Effect<void> | undefined) | undefined
}

/**
 * A memory file system: its layer, the `FileSystem` itself, and the memfs volume behind it (for
 * arranging and inspecting the tree synchronously, without hooks).
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryFileSystem {
  /** always this one volume, however often it is provided: make one `MemoryFileSystem` per test */
  readonly layer: Layer.Layer<FileSystem.FileSystem>
  readonly fileSystem: FileSystem.FileSystem
  readonly volume: Volume
}
const rename = (memory: Memory, oldPath: string, newPath: string) =>
  memory.run("rename", oldPath, newPath, () => {
    const { volume } = memory
    // memfs lets a file replace a directory; a real disk refuses (EISDIR / ENOTDIR).
    const fromDir = isDirectory(volume, oldPath)
    if (volume.existsSync(newPath) && isDirectory(volume, newPath) !== fromDir) {
      throw errnoError(fromDir ? "ENOTDIR" : "EISDIR", "rename", newPath)
    }
    // memfs does not follow a symlinked parent directory in rename; a real disk does.
    const viaRealParent = (path: string) => joinPath(String(volume.realpathSync(dirname(path))), basename(path))
    volume.renameSync(viaRealParent(oldPath), viaRealParent(newPath))
  })

const readDirectoryEntries = (memory: Memory, path: string) =>
  memory.run("readDirectoryEntries", path, undefined, () =>
    (memory.volume.readdirSync(path, { withFileTypes: true }) as Array<{ name: unknown } & Parameters<typeof typeOf>[0]>)
      .map((entry): FileSystem.DirectoryEntry => ({ name: String(entry.name), type: typeOf(entry) })))

/** The memfs volume as Effect 4's `FileSystem`: every method through `memory.run`. */
const makeFileSystem = (memory: Memory): FileSystem.FileSystem => {
  const { volume, run } = memory
  return FileSystem.make({
    access: (path, opts) =>
      run("access", path, undefined, () => volume.accessSync(path, (opts?.readable ? 4 : 0) | (opts?.writable ? 2 : 0))),
    copy: (fromPath, toPath, opts) =>
      run("copy", fromPath, toPath, () =>
        volume.cpSync(fromPath, toPath, {
          force: opts?.overwrite ?? false,
          preserveTimestamps: opts?.preserveTimestamps ?? false,
          recursive: true
        })),
    copyFile: (fromPath, toPath) => run("copyFile", fromPath, toPath, () => volume.copyFileSync(fromPath, toPath)),
    chmod: (path, mode) => run("chmod", path, undefined, () => volume.chmodSync(path, mode)),
    chown: (path, uid, gid) => run("chown", path, undefined, () => volume.chownSync(path, uid, gid)),
    link: (fromPath, toPath) => run("link", fromPath, toPath, () => volume.linkSync(fromPath, toPath)),
    lstat: (path) => run("lstat", path, undefined, () => makeFileInfo(volume.lstatSync(path) as unknown as MemfsStats)),
    makeDirectory: (path, opts) =>
      run("makeDirectory", path, undefined, () => {
        volume.mkdirSync(path, { recursive: opts?.recursive ?? false, mode: memory.dirMode(opts?.mode) })
      }),
    makeTempDirectory: (opts) => makeTempDirectory(memory, "makeTempDirectory", opts),
    makeTempDirectoryScoped: (opts) =>
      Effect.acquireRelease(
        makeTempDirectory(memory, "makeTempDirectory", opts),
        (directory) => Effect.orDie(remove(memory, directory, { recursive: true, force: true }))
      ),
    makeTempFile: (opts) => makeTempFile(memory, opts),
    makeTempFileScoped: (opts) =>
      Effect.acquireRelease(
        makeTempFile(memory, opts),
        (file) => Effect.orDie(remove(memory, dirname(file), { recursive: true, force: true }))
      ),
    open: open(memory),
    readDirectory: (path, opts) =>
      run("readDirectory", path, undefined, () =>
        (volume.readdirSync(path, { recursive: opts?.recursive ?? false }) as Array<unknown>).map(String)),
    readDirectoryEntries: (path) => readDirectoryEntries(memory, path),
    readFile: (path) => run("readFile", path, undefined, () => new Uint8Array(volume.readFileSync(path) as Buffer)),
    readLink: (path) => run("readLink", path, undefined, () => String(volume.readlinkSync(path))),
    realPath: (path) => run("realPath", path, undefined, () => String(volume.realpathSync(path))),
    remove: (path, opts) => remove(memory, path, opts),
    rename: (oldPath, newPath) => rename(memory, oldPath, newPath),
    stat: (path) => run("stat", path, undefined, () => makeFileInfo(volume.statSync(path) as unknown as MemfsStats)),
    symlink: (target, path) => run("symlink", path, target, () => volume.symlinkSync(target, path)),
    truncate: (path, length) => run("truncate", path, undefined, () => volume.truncateSync(path, length)),
    utimes: (path, atime, mtime) => run("utimes", path, undefined, () => volume.utimesSync(path, atime, mtime)),
    watch: (path) =>
      Stream.fail(PlatformError.badArgument({
        module: "FileSystem",
        method: "watch",
        description: `MemoryFileSystem cannot watch ${path}`
      })),
    writeFile: (path, data, opts) =>
      run("writeFile", path, undefined, () =>
        volume.writeFileSync(path, data, {
          ...(opts?.flag === undefined ? {} : { flag: opts.flag }),
          mode: memory.fileMode(opts?.mode)
        }))
  })
}

/**
 * Makes a memory file system holding `options.files`, `directories` and `symlinks`, with the
 * fault hooks of `options`. Make one per test: its `layer` always provides this one volume.
 *
 * @example
 * // the second copyFile fails as if with EACCES
 * let copies = 0
 * const memory = MemoryFileSystem.make({
 *   files: { "/collect/a": "1", "/collect/b": "2" },
 *   directories: ["/stage"],
 *   fail: (op) => (op === "copyFile" && ++copies === 2 ? "PermissionDenied" : undefined)
 * })
 * // error.reason._tag === "PermissionDenied"
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): MemoryFileSystem => {
  const volume = new Volume()
  // memfs has no umask: without one every new file would be 0o666, unlike on a real disk.
  const umask = options.umask ?? 0o022
  const fileMode = (mode: number | undefined) => (mode ?? 0o666) & ~umask
  const dirMode = (mode: number | undefined) => (mode ?? 0o777) & ~umask
  for (const dir of options.directories ?? []) volume.mkdirSync(dir, { recursive: true, mode: dirMode(undefined) })
  for (const [file, content] of Object.entries(options.files ?? {})) {
    volume.mkdirSync(dirname(file), { recursive: true, mode: dirMode(undefined) })
    volume.writeFileSync(file, content, { mode: fileMode(undefined) })
  }
  for (const [link, target] of Object.entries(options.symlinks ?? {})) {
    volume.mkdirSync(dirname(link), { recursive: true, mode: dirMode(undefined) })
    volume.symlinkSync(target, link)
  }
  const fileSystem = makeFileSystem({ volume, run: makeRun(options), fileMode, dirMode })
  return { layer: Layer.succeed(FileSystem.FileSystem, fileSystem), fileSystem, volume }
}

/**
 * A memory `FileSystem` layer holding `files` (absolute path → content), without fault hooks. The
 * layer is fresh: each `Effect.provide` of it (even of one value kept across tests) builds a new
 * volume from `files`, never one an earlier test wrote to.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (files?: Record<string, string | Uint8Array>): Layer.Layer<FileSystem.FileSystem> =>
  Layer.fresh(Layer.sync(FileSystem.FileSystem, () => make({ files }).fileSystem))

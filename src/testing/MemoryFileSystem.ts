/**
 * An in-memory `FileSystem` for tests, built on memfs's `Volume`, with fault injection: a test can
 * make any operation on any path fail with a chosen `SystemError` reason, or hold it on an effect
 * (to interrupt an operation half-way).
 *
 * Errors are mapped like @effect/platform-node maps errno codes (ENOENT → NotFound, EACCES →
 * PermissionDenied, EEXIST → AlreadyExists, EISDIR/ENOTDIR/ELOOP → BadResource, EBUSY → Busy, others
 * → Unknown). Known differences from a real disk: no FIFOs, sockets or devices; memfs checks
 * permission bits for every user, root included; `watch` fails with `BadArgument`.
 *
 * @since 0.1.0
 */
import { Error as PlatformError, FileSystem } from "@effect/platform"
import { Effect, Layer, Option, Stream } from "effect"
import { Volume } from "memfs"

/**
 * The name of a `FileSystem` method, as seen by the `fail` and `before` hooks.
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
  | "makeDirectory"
  | "makeTempDirectory"
  | "makeTempFile"
  | "open"
  | "readDirectory"
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
  /** called before every operation; a reason makes it fail with that `SystemError` instead of running */
  readonly fail?: ((operation: Operation, path: string, toPath?: string) => PlatformError.SystemErrorReason | undefined) | undefined
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
  readonly layer: Layer.Layer<FileSystem.FileSystem>
  readonly fileSystem: FileSystem.FileSystem
  readonly volume: Volume
}

const reasonOf = (code: unknown): PlatformError.SystemErrorReason => {
  switch (code) {
    case "ENOENT":
      return "NotFound"
    case "EACCES":
    case "EPERM":
      return "PermissionDenied"
    case "EEXIST":
      return "AlreadyExists"
    case "EISDIR":
    case "ENOTDIR":
    case "ELOOP":
      return "BadResource"
    case "EBUSY":
      return "Busy"
    default:
      return "Unknown"
  }
}

const toPlatformError = (method: string, path: string | number, error: unknown): PlatformError.PlatformError => {
  const code = typeof error === "object" && error !== null && "code" in error ? (error as { code: unknown }).code : undefined
  if (typeof code !== "string") {
    return new PlatformError.BadArgument({ module: "FileSystem", method, cause: error })
  }
  const syscall = (error as { syscall?: unknown }).syscall
  return new PlatformError.SystemError({
    reason: reasonOf(code),
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    ...(typeof syscall === "string" ? { syscall } : {}),
    description: error instanceof Error ? error.message : String(code),
    cause: error
  })
}

const errnoError = (code: string, syscall: string, path: string): Error =>
  Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path })

const randomHex = (bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++) out += Math.floor(Math.random() * 256).toString(16).padStart(2, "0")
  return out
}

const dirname = (path: string): string => {
  const i = path.replace(/\/+$/, "").lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

const basename = (path: string): string => path.replace(/\/+$/, "").slice(path.replace(/\/+$/, "").lastIndexOf("/") + 1)

const joinPath = (dir: string, name: string): string => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

const makeFileInfo = (stat: {
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
  isBlockDevice(): boolean
  isCharacterDevice(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  mtime: Date
  atime: Date
  birthtime: Date
  dev: number | bigint
  rdev: number | bigint
  ino: number | bigint
  mode: number | bigint
  nlink: number | bigint
  uid: number | bigint
  gid: number | bigint
  size: number | bigint
  blksize: number | bigint
  blocks: number | bigint
}): FileSystem.File.Info => ({
  type: stat.isFile()
    ? "File"
    : stat.isDirectory()
    ? "Directory"
    : stat.isSymbolicLink()
    ? "SymbolicLink"
    : stat.isBlockDevice()
    ? "BlockDevice"
    : stat.isCharacterDevice()
    ? "CharacterDevice"
    : stat.isFIFO()
    ? "FIFO"
    : stat.isSocket()
    ? "Socket"
    : "Unknown",
  mtime: Option.some(stat.mtime),
  atime: Option.some(stat.atime),
  birthtime: Option.some(stat.birthtime),
  dev: Number(stat.dev),
  rdev: Option.some(Number(stat.rdev)),
  ino: Option.some(Number(stat.ino)),
  mode: Number(stat.mode),
  nlink: Option.some(Number(stat.nlink)),
  uid: Option.some(Number(stat.uid)),
  gid: Option.some(Number(stat.gid)),
  size: FileSystem.Size(stat.size),
  blksize: Option.some(FileSystem.Size(stat.blksize)),
  blocks: Option.some(Number(stat.blocks))
})

/**
 * Makes a memory file system holding `options.files`, `directories` and `symlinks`, with the
 * fault hooks of `options`.
 *
 * @example
 * // the second copyFile fails as if with EACCES
 * let copies = 0
 * const memory = MemoryFileSystem.make({
 *   files: { "/collect/a": "1", "/collect/b": "2" },
 *   directories: ["/stage"],
 *   fail: (op) => (op === "copyFile" && ++copies === 2 ? "PermissionDenied" : undefined)
 * })
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

  // Every operation goes through here: hooks first, then memfs, errors mapped like the Node layer.
  const run = <A>(operation: Operation, path: string, toPath: string | undefined, body: () => A) =>
    Effect.suspend(() => {
      const attempt = Effect.suspend((): Effect.Effect<A, PlatformError.PlatformError> => {
        const reason = options.fail?.(operation, path, toPath)
        if (reason !== undefined) {
          return Effect.fail(
            new PlatformError.SystemError({
              reason,
              module: "FileSystem",
              method: operation,
              pathOrDescriptor: path,
              description: `injected fault: ${operation} ${path}${toPath === undefined ? "" : ` -> ${toPath}`}`
            })
          )
        }
        try {
          return Effect.succeed(body())
        } catch (error) {
          return Effect.fail(toPlatformError(operation, path, error))
        }
      })
      const gate = options.before?.(operation, path, toPath)
      return gate === undefined ? attempt : Effect.zipRight(gate, attempt)
    })

  const isDirectory = (path: string): boolean => {
    try {
      return volume.statSync(path).isDirectory()
    } catch {
      return false
    }
  }

  const makeTempDirectory = (method: Operation, opts?: FileSystem.MakeTempDirectoryOptions) => {
    const directory = opts?.directory ?? "/tmp"
    return run(method, directory, undefined, () => {
      if (opts?.directory === undefined) volume.mkdirSync(directory, { recursive: true, mode: 0o1777 })
      const prefix = opts?.prefix ?? ""
      const made = String(volume.mkdtempSync(prefix === "" ? `${directory.replace(/\/+$/, "")}/` : joinPath(directory, prefix)))
      volume.chmodSync(made, 0o700) // as mkdtemp(3) on a real disk
      return made
    })
  }

  const makeTempFile = (opts?: FileSystem.MakeTempFileOptions) =>
    Effect.flatMap(makeTempDirectory("makeTempFile", opts), (directory) => {
      const file = joinPath(directory, randomHex(6) + (opts?.suffix ?? ""))
      return run("makeTempFile", file, undefined, () => {
        volume.writeFileSync(file, "", { mode: 0o600 })
        return file
      })
    })

  const remove = (path: string, opts?: FileSystem.RemoveOptions) =>
    run("remove", path, undefined, () => volume.rmSync(path, { recursive: opts?.recursive ?? false, force: opts?.force ?? false }))

  const open = (path: string, opts?: FileSystem.OpenFileOptions) =>
    Effect.map(
      Effect.acquireRelease(
        run("open", path, undefined, () => volume.openSync(path, opts?.flag ?? "r", fileMode(opts?.mode))),
        (fd) => Effect.sync(() => volume.closeSync(fd))
      ),
      (fd) => makeFile(fd, opts?.flag?.startsWith("a") ?? false)
    )

  const makeFile = (fd: number, append: boolean): FileSystem.File => {
    let position = 0n
    const semaphore = Effect.unsafeMakeSemaphore(1)
    const onFd = <A>(method: string, body: () => A) =>
      Effect.try({ try: body, catch: (error) => toPlatformError(method, fd, error) })
    const writeAllChunk = (buffer: Uint8Array): Effect.Effect<void, PlatformError.PlatformError> =>
      Effect.flatMap(
        onFd("writeAll", () => volume.writeSync(fd, buffer, 0, buffer.length, append ? null : Number(position))),
        (written) => {
          if (written === 0) {
            return Effect.fail(
              new PlatformError.SystemError({
                module: "FileSystem",
                method: "writeAll",
                reason: "WriteZero",
                pathOrDescriptor: fd,
                description: "write returned 0 bytes written"
              })
            )
          }
          if (!append) position += BigInt(written)
          return written < buffer.length ? writeAllChunk(buffer.subarray(written)) : Effect.void
        }
      )
    return {
      [FileSystem.FileTypeId]: FileSystem.FileTypeId,
      fd: FileSystem.FileDescriptor(fd),
      stat: onFd("stat", () => makeFileInfo(volume.fstatSync(fd))),
      sync: onFd("sync", () => volume.fsyncSync(fd)),
      seek: (offset, from) =>
        semaphore.withPermits(1)(Effect.sync(() => {
          position = from === "start" ? FileSystem.Size(offset) : position + FileSystem.Size(offset)
        })),
      read: (buffer) =>
        semaphore.withPermits(1)(Effect.map(
          onFd("read", () => volume.readSync(fd, buffer, 0, buffer.length, Number(position))),
          (read) => {
            position += BigInt(read)
            return FileSystem.Size(read)
          }
        )),
      readAlloc: (size) =>
        semaphore.withPermits(1)(Effect.map(
          onFd("readAlloc", () => {
            const buffer = new Uint8Array(Number(size))
            const read = volume.readSync(fd, buffer, 0, buffer.length, Number(position))
            return buffer.subarray(0, read)
          }),
          (buffer) => {
            if (buffer.length === 0) return Option.none()
            position += BigInt(buffer.length)
            return Option.some(buffer)
          }
        )),
      truncate: (length) =>
        semaphore.withPermits(1)(Effect.map(
          onFd("truncate", () => volume.ftruncateSync(fd, length === undefined ? undefined : Number(length))),
          () => {
            const size = BigInt(length ?? 0)
            if (!append && position > size) position = size
          }
        )),
      write: (buffer) =>
        semaphore.withPermits(1)(Effect.map(
          onFd("write", () => volume.writeSync(fd, buffer, 0, buffer.length, append ? null : Number(position))),
          (written) => {
            if (!append) position += BigInt(written)
            return FileSystem.Size(written)
          }
        )),
      writeAll: (buffer) => semaphore.withPermits(1)(writeAllChunk(buffer))
    }
  }

  const fileSystem = FileSystem.make({
    access: (path, opts) =>
      run("access", path, undefined, () =>
        volume.accessSync(path, (opts?.readable ? 4 : 0) | (opts?.writable ? 2 : 0))),
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
    makeDirectory: (path, opts) =>
      run("makeDirectory", path, undefined, () => {
        volume.mkdirSync(path, { recursive: opts?.recursive ?? false, mode: dirMode(opts?.mode) })
      }),
    makeTempDirectory: (opts) => makeTempDirectory("makeTempDirectory", opts),
    makeTempDirectoryScoped: (opts) =>
      Effect.acquireRelease(
        makeTempDirectory("makeTempDirectory", opts),
        (directory) => Effect.orDie(remove(directory, { recursive: true }))
      ),
    makeTempFile,
    makeTempFileScoped: (opts) =>
      Effect.acquireRelease(makeTempFile(opts), (file) => Effect.orDie(remove(dirname(file), { recursive: true }))),
    open,
    readDirectory: (path, opts) =>
      run("readDirectory", path, undefined, () =>
        (volume.readdirSync(path, { recursive: opts?.recursive ?? false }) as Array<unknown>).map(String)),
    readFile: (path) => run("readFile", path, undefined, () => new Uint8Array(volume.readFileSync(path) as Buffer)),
    readLink: (path) => run("readLink", path, undefined, () => String(volume.readlinkSync(path))),
    realPath: (path) => run("realPath", path, undefined, () => String(volume.realpathSync(path))),
    remove,
    rename: (oldPath, newPath) =>
      run("rename", oldPath, newPath, () => {
        // memfs lets a file replace a directory; a real disk refuses (EISDIR / ENOTDIR).
        const fromDir = isDirectory(oldPath)
        if (volume.existsSync(newPath) && isDirectory(newPath) !== fromDir) {
          throw errnoError(fromDir ? "ENOTDIR" : "EISDIR", "rename", newPath)
        }
        // memfs does not follow a symlinked parent directory in rename; a real disk does.
        const viaRealParent = (path: string) => joinPath(String(volume.realpathSync(dirname(path))), basename(path))
        volume.renameSync(viaRealParent(oldPath), viaRealParent(newPath))
      }),
    stat: (path) => run("stat", path, undefined, () => makeFileInfo(volume.statSync(path))),
    symlink: (target, path) => run("symlink", path, target, () => volume.symlinkSync(target, path)),
    truncate: (path, length) =>
      run("truncate", path, undefined, () => volume.truncateSync(path, length === undefined ? undefined : Number(length))),
    utimes: (path, atime, mtime) => run("utimes", path, undefined, () => volume.utimesSync(path, atime, mtime)),
    watch: (path) =>
      Stream.fail(
        new PlatformError.BadArgument({
          module: "FileSystem",
          method: "watch",
          description: `MemoryFileSystem cannot watch ${path}`
        })
      ),
    writeFile: (path, data, opts) =>
      run("writeFile", path, undefined, () =>
        volume.writeFileSync(path, data, {
          ...(opts?.flag === undefined ? {} : { flag: opts.flag }),
          mode: fileMode(opts?.mode)
        }))
  })

  return { layer: Layer.succeed(FileSystem.FileSystem, fileSystem), fileSystem, volume }
}

/**
 * A memory `FileSystem` layer holding `files` (absolute path → content), without fault hooks.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (files?: Record<string, string | Uint8Array>): Layer.Layer<FileSystem.FileSystem> =>
  make({ files }).layer

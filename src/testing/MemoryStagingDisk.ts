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
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { Volume } from "memfs"
import { leftover, makerIsGone, ownMark, privateName, processStartTime, shortPrivateName } from "../internal/privateDir.js"
import { showName } from "../Peer.js"
import {
  ByteLimitReached,
  type CopyOptions,
  type Directory,
  type DirectoryEntry,
  DiskError,
  type EntryType,
  type FileAttributes,
  type FileName,
  NotRegularFile,
  StagingDisk,
  type StagingDiskService
} from "../StagingDisk.js"

/**
 * The operations the hooks see. `path` is the volume path of the entry (the source for
 * `copyFile`, with `toPath` its copy; the file being moved for `rename`, with `toPath` its
 * final path).
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
  | "adopt"
  | "replaceEmptyDirectory"
  | "reclaim"
  | "rename"
  | "writeEmptyFile"
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
   * platform's reasons are understood too (`"PermissionDenied"` is EACCES, `"NotFound"` ENOENT, …).
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
  readonly layer: Layer.Layer<StagingDisk>
  readonly disk: StagingDiskService
  readonly volume: Volume
}

const REASONS: Record<string, string> = {
  PermissionDenied: "EACCES",
  NotFound: "ENOENT",
  AlreadyExists: "EEXIST",
  BadResource: "ENOTDIR",
  Busy: "EBUSY",
  Unknown: "EIO"
}

const DETAILS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  ENOTEMPTY: "directory not empty",
  ENOTDIR: "not a directory",
  EIO: "i/o error"
}

const utf8 = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

/**
 * How a byte name is kept in the volume: as UTF-8 text, with each byte of an invalid sequence as
 * a lone surrogate U+DC80–U+DCFF.
 *
 * @since 0.2.0
 * @category constructors
 */
export const memoryName = (name: FileName): string => {
  let out = ""
  let i = 0
  while (i < name.length) {
    const b = name[i]!
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (width >= 1 && i + width <= name.length) {
      try {
        out += utf8.decode(name.subarray(i, i + width))
        i += width
        continue
      } catch {
        // an invalid sequence: its first byte is escaped below
      }
    }
    out += String.fromCharCode(0xdc00 + b)
    i += 1
  }
  return out
}

/**
 * The bytes of a name kept in the volume (the inverse of `memoryName`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const nameOf = (stored: string): FileName => {
  const bytes: Array<number> = []
  for (const char of stored) {
    const cp = char.codePointAt(0)!
    if (cp >= 0xdc80 && cp <= 0xdcff) bytes.push(cp - 0xdc00)
    else bytes.push(...encoder.encode(char))
  }
  return Uint8Array.from(bytes)
}

interface Stat {
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isBlockDevice(): boolean
  isCharacterDevice(): boolean
  ino: number | bigint
  mtimeMs: number
  nlink: number | bigint
  mode: number | bigint
  uid: number | bigint
}

const typeOf = (stat: Stat): EntryType =>
  stat.isFile()
    ? "File"
    : stat.isDirectory()
    ? "Directory"
    : stat.isSymbolicLink()
    ? "SymbolicLink"
    : stat.isFIFO()
    ? "FIFO"
    : stat.isSocket()
    ? "Socket"
    : stat.isBlockDevice()
    ? "BlockDevice"
    : stat.isCharacterDevice()
    ? "CharacterDevice"
    : "Unknown"

const isPlainName = (name: string) => name.length > 0 && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0")

type Tagged = DiskError | NotRegularFile | ByteLimitReached
const isTagged = (error: unknown): error is Tagged =>
  error instanceof DiskError || error instanceof NotRegularFile || error instanceof ByteLimitReached

/**
 * Makes a memory staging disk.
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
  const volume = options.volume ?? new Volume()
  const mark = options.mark ?? ownMark()
  const startTimeOf = options.startTimeOf ?? processStartTime
  const owner = options.process ?? { uid: 0, gid: 0 }
  const pinned = new WeakMap<Directory, { readonly path: string; readonly ino: number }>()

  const errno = (operation: string, path: string, code: string, detail?: string) =>
    new DiskError({ operation, path, code, detail: detail ?? DETAILS[code] ?? code.toLowerCase() })

  const fromVolume = (operation: string, path: string, error: unknown): DiskError => {
    if (error instanceof DiskError) return error
    const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "EIO"
    return errno(operation, path, code)
  }

  // Every operation goes through here: hooks first, then the body; errors become tagged values.
  const run = <A, E extends Tagged = DiskError>(operation: Operation, path: string, toPath: string | undefined, body: () => A) =>
    Effect.suspend(() => {
      const attempt = Effect.suspend((): Effect.Effect<A, E> => {
        const injected = options.fail?.(operation, path, toPath)
        if (injected !== undefined) {
          const code = REASONS[injected] ?? injected
          return Effect.fail(errno(operation, path, code, `injected fault: ${DETAILS[code] ?? code}`) as E)
        }
        try {
          return Effect.succeed(body())
        } catch (error) {
          return Effect.fail((isTagged(error) ? error : fromVolume(operation, path, error)) as E)
        }
      })
      const gate = options.before?.(operation, path, toPath)
      return gate === undefined ? attempt : Effect.zipRight(gate, attempt)
    })

  const lstat = (path: string): Stat | undefined => {
    try {
      return volume.lstatSync(path) as unknown as Stat
    } catch {
      return undefined
    }
  }

  /** The volume path of an open directory, failing if it was moved or replaced since it was opened. */
  const where = (directory: Directory): string => {
    const pin = pinned.get(directory)
    if (pin === undefined) throw errno("open", directory.shown, "EBADF", "not a directory opened by this staging disk")
    const now = lstat(pin.path)
    if (now === undefined || !now.isDirectory() || Number(now.ino) !== pin.ino) {
      throw errno("open", directory.shown, "ENOENT", "moved or replaced since it was opened")
    }
    return pin.path
  }

  /** `use` with the path `directory` is pinned at; one moved or replaced since it was opened fails. */
  const atPath = <A, E>(directory: Directory, use: (path: string) => Effect.Effect<A, E>): Effect.Effect<A, E | DiskError> =>
    Effect.suspend((): Effect.Effect<A, E | DiskError> => {
      let path: string
      try {
        path = where(directory)
      } catch (error) {
        return Effect.fail(error as DiskError)
      }
      return use(path)
    })

  const join = (dir: string, name: string) => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)
  const shownIn = (directory: Directory, name: FileName | string) =>
    `${directory.shown.replace(/\/+$/, "")}/${typeof name === "string" ? name : showName(name)}`

  const pin = (shown: string, path: string): Directory => {
    const directory: Directory = { shown, handle: path }
    pinned.set(directory, { path, ino: Number((volume.lstatSync(path) as unknown as Stat).ino) })
    return directory
  }

  const entryPath = (directory: Directory, name: FileName | string): string => {
    const stored = typeof name === "string" ? name : memoryName(name)
    if (!isPlainName(stored)) throw errno("open", shownIn(directory, name), "EINVAL", "not a single plain file name")
    return join(where(directory), stored)
  }

  const openDirectory = (path: string) =>
    run("openDirectory", path, undefined, () => {
      const real = String(volume.realpathSync(path))
      if (!(volume.statSync(real) as unknown as Stat).isDirectory()) throw errno("open", path, "ENOTDIR", "not a directory")
      return pin(path, real)
    })

  const openSubdirectory: StagingDiskService["openSubdirectory"] = (parent, name, create) =>
    Effect.suspend(() => {
      let path: string
      try {
        path = entryPath(parent, name)
      } catch (error) {
        return Effect.fail(error as DiskError)
      }
      const shown = shownIn(parent, name)
      return run<{ directory: Directory; created: boolean }, DiskError | NotRegularFile>("openSubdirectory", path, undefined, () => {
        let found = lstat(path)
        let created = false
        if (found === undefined && create !== undefined) {
          volume.mkdirSync(path, { mode: create.mode })
          created = true
          found = lstat(path)
        }
        if (found === undefined) throw errno("open", shown, "ENOENT")
        if (!found.isDirectory()) throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: typeOf(found) })
        if (create !== undefined) {
          if (create.ownership !== undefined) volume.chownSync(path, create.ownership.uid, create.ownership.gid)
          volume.chmodSync(path, create.mode)
        }
        return { directory: pin(shown, path), created }
      })
    })

  const remove = (path: string) =>
    run("remove", path, undefined, () => volume.rmSync(path, { recursive: true, force: true })).pipe(
      Effect.catchAll((error) => Effect.logWarning(`cannot remove ${path}: ${error.detail}`))
    )

  /** Each private directory's name in its parent, for `replaceEmptyDirectory`. */
  const privateNames = new WeakMap<Directory, { readonly parent: Directory; readonly name: string }>()

  const makePrivateDirectory: StagingDiskService["makePrivateDirectory"] = (parent, privateOwner, options) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        const name = options?.short === true ? shortPrivateName() : privateName(mark)
        let path: string
        try {
          path = entryPath(parent, name)
        } catch (error) {
          return Effect.fail(error as DiskError)
        }
        return run("makePrivateDirectory", path, undefined, () => {
          volume.mkdirSync(path, { mode: 0o700 })
          volume.chmodSync(path, options?.mode ?? 0o700)
          if (privateOwner !== undefined) volume.chownSync(path, privateOwner.uid, privateOwner.gid)
          const directory = pin(shownIn(parent, name), path)
          privateNames.set(directory, { parent, name })
          return directory
        })
      }),
      (directory) => remove(directory.handle)
    )

  const list: StagingDiskService["list"] = (directory, listOptions) =>
    atPath(directory, (path) =>
      run("list", path, undefined, () =>
        (volume.readdirSync(path) as Array<unknown>).map(String).map((stored): DirectoryEntry => {
          const found = lstat(join(path, stored)) as (Stat & { size: number | bigint }) | undefined
          const type = found === undefined ? "Unknown" : typeOf(found)
          return listOptions?.sizes === true && type === "File"
            ? { name: nameOf(stored), type, size: Number(found!.size) }
            : { name: nameOf(stored), type }
        })))

  /** The content of a regular file, looked at without following a link. */
  const readRegular = (directory: Directory, name: FileName): { path: string; content: Uint8Array; stat: Stat } => {
    const path = entryPath(directory, name)
    const found = lstat(path)
    if (found === undefined) throw errno("open", shownIn(directory, name), "ENOENT")
    if (!found.isFile()) throw new NotRegularFile({ name, path: shownIn(directory, name), type: typeOf(found) })
    return { path, content: new Uint8Array(volume.readFileSync(path) as Buffer), stat: found }
  }

  const copyFiles: StagingDiskService["copyFiles"] = (from, names, to, attributes, copyOptions: CopyOptions = {}) =>
    Effect.gen(function*() {
      let bytes = 0
      let count = 0
      const hashes: Array<string> = []
      for (const name of names) {
        const source = yield* Effect.try({ try: () => entryPath(from, name), catch: (e) => e as DiskError })
        const target = yield* Effect.try({ try: () => entryPath(to, name), catch: (e) => e as DiskError })
        const copied = yield* run<{ readonly size: number; readonly mode: number; readonly content: Uint8Array }, Tagged>(
          "copyFile",
          source,
          target,
          () => {
            const { content, stat } = readRegular(from, name)
            if (lstat(target) !== undefined) throw errno("create", shownIn(to, name), "EEXIST")
            volume.writeFileSync(target, content, { mode: 0o600, flag: "wx" })
            return { size: content.length, mode: Number(stat.mode) & 0o777, content }
          }
        ).pipe(Effect.mapError((error) => (error._tag === "DiskError" ? new DiskError({ ...error, entry: name }) : error)))
        bytes += copied.size
        if (copyOptions.maxBytes !== undefined && bytes > copyOptions.maxBytes) {
          return yield* new ByteLimitReached({ max: copyOptions.maxBytes, bytes })
        }
        yield* setAttributes(target, attributes, copied.mode).pipe(
          Effect.mapError((error) => new DiskError({ ...error, entry: name }))
        )
        if (copyOptions.hash === true) hashes.push(createHash("sha256").update(copied.content).digest("hex"))
        count += 1
        copyOptions.onProgress?.({ count, bytes })
      }
      return copyOptions.hash === true ? { count, bytes, hashes } : { count, bytes }
    })

  const setAttributes = (path: string, attributes: FileAttributes, mode: number) =>
    Effect.zipRight(
      attributes.ownership === undefined
        ? Effect.void
        : run("chown", path, undefined, () => volume.chownSync(path, attributes.ownership!.uid, attributes.ownership!.gid)),
      run("chmod", path, undefined, () => volume.chmodSync(path, attributes.permissions ?? mode))
    )

  const hashFiles: StagingDiskService["hashFiles"] = (directory, names) =>
    Effect.forEach(names, (name) =>
      Effect.flatMap(Effect.try({ try: () => entryPath(directory, name), catch: (e) => e as DiskError }), (path) =>
        run<string, DiskError | NotRegularFile>("hash", path, undefined, () =>
          createHash("sha256").update(readRegular(directory, name).content).digest("hex"))))

  const adoptFiles: StagingDiskService["adoptFiles"] = (directory, names, attributes) =>
    Effect.gen(function*() {
      let bytes = 0
      for (const name of names) {
        const path = yield* Effect.try({ try: () => entryPath(directory, name), catch: (e) => e as DiskError })
        const found = yield* run<Stat & { size: number }, DiskError | NotRegularFile>("adopt", path, undefined, () => {
          const { content, stat } = readRegular(directory, name)
          if (Number(stat.nlink) !== 1) throw new NotRegularFile({ name, path: shownIn(directory, name), type: "HardLink" })
          return Object.assign(stat, { size: content.length })
        })
        yield* setAttributes(path, attributes, Number(found.mode) & 0o777)
        bytes += found.size
      }
      return { count: names.length, bytes }
    })

  const replaceEmptyDirectory: StagingDiskService["replaceEmptyDirectory"] = (parent, from, name, attributes) =>
    Effect.suspend(() => {
      let source: string
      let target: string
      const made = privateNames.get(from)
      try {
        if (made === undefined || made.parent !== parent) {
          throw errno("rename", shownIn(parent, name), "EINVAL", "not a private directory of this parent")
        }
        source = where(from)
        target = entryPath(parent, name)
      } catch (error) {
        return Effect.fail(error as DiskError)
      }
      return run("replaceEmptyDirectory", source, target, () => {
        // as rename(2): only an empty directory is replaced
        const found = lstat(target)
        if (found !== undefined && !found.isDirectory()) throw errno("rename", shownIn(parent, name), "ENOTDIR")
        if (found !== undefined && (volume.readdirSync(target) as Array<unknown>).length > 0) {
          throw errno("rename", shownIn(parent, name), "ENOTEMPTY")
        }
        if (attributes.ownership !== undefined) volume.chownSync(source, attributes.ownership.uid, attributes.ownership.gid)
        volume.chmodSync(source, attributes.mode)
        if (found !== undefined) volume.rmdirSync(target)
        volume.renameSync(source, target)
        // the open directory moved with it (what was open at `name` is gone)
        pinned.set(from, { path: target, ino: Number((volume.lstatSync(target) as unknown as Stat).ino) })
      })
    }).pipe(Effect.uninterruptible)

  const reclaim = (directory: Directory) =>
    atPath(directory, (path) =>
      run("reclaim", path, undefined, () => {
        volume.chownSync(path, owner.uid, owner.gid)
        volume.chmodSync(path, 0o700)
      }))

  const commit: StagingDiskService["commit"] = (from, names, to) =>
    Effect.forEach(names, (name) =>
      Effect.flatMap(
        Effect.try({ try: () => [entryPath(from, name), entryPath(to, name)] as const, catch: (e) => e as DiskError }),
        ([source, target]) =>
          run("rename", source, target, () => {
            // as rename(2): a file never replaces a directory
            if (lstat(target)?.isDirectory() === true) throw errno("rename", shownIn(to, name), "EISDIR", "is a directory")
            volume.renameSync(source, target)
          }).pipe(
            Effect.mapError((error) => new DiskError({ ...error, operation: "rename", path: shownIn(to, name), entry: name }))
          )
      ), { discard: true }).pipe(Effect.uninterruptible)

  const writeEmptyFile: StagingDiskService["writeEmptyFile"] = (directory, name, attributes) =>
    Effect.gen(function*() {
      const path = yield* Effect.try({ try: () => entryPath(directory, name), catch: (e) => e as DiskError })
      yield* run<void, DiskError | NotRegularFile>("writeEmptyFile", path, undefined, () => {
        const found = lstat(path)
        const shown = shownIn(directory, name)
        if (found !== undefined && !found.isFile()) throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: typeOf(found) })
        if (found !== undefined && Number(found.nlink) !== 1) {
          throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: "HardLink" })
        }
        volume.writeFileSync(path, "", { mode: 0o644 })
      })
      yield* setAttributes(path, attributes, 0o644)
    })

  const removeLeftovers = (directory: Directory) =>
    Effect.gen(function*() {
      const path = yield* Effect.try({ try: () => where(directory), catch: (e) => e as DiskError })
      return yield* run("removeLeftovers", path, undefined, () => {
        const removed: Array<string> = []
        for (const stored of (volume.readdirSync(path) as Array<unknown>).map(String)) {
          const info = lstat(join(path, stored))
          const found = leftover(stored, info?.isDirectory() ?? false)
          if (found === undefined || !makerIsGone(found, startTimeOf, info?.mtimeMs)) continue
          volume.rmSync(join(path, stored), { recursive: true, force: true })
          removed.push(showName(nameOf(stored)))
        }
        return removed
      })
    })

  const disk: StagingDiskService = {
    openDirectory: (path) => Effect.acquireRelease(openDirectory(path), () => Effect.void),
    openSubdirectory: (parent, name, create) =>
      Effect.acquireRelease(openSubdirectory(parent, name, create), () => Effect.void),
    makePrivateDirectory,
    list,
    copyFiles,
    hashFiles,
    adoptFiles,
    replaceEmptyDirectory,
    reclaim,
    commit,
    writeEmptyFile,
    removeLeftovers
  }
  return { layer: Layer.succeed(StagingDisk, disk), disk, volume }
}

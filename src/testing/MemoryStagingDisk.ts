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
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import { Volume } from "memfs"
import { leftover, makerIsGone, ownMark, privateName, processStartTime, shortPrivateName } from "../disk/privateDir.js"
import { showName } from "../domain/Peer.js"
import type { Ownership } from "../domain/Peer.js"
import {
  ByteLimitReached,
  type CopyOptions,
  type CopyTotals,
  type Directory,
  type DirectoryEntry,
  DiskError,
  type EntryType,
  type FileAttributes,
  type FileName,
  type FileNames,
  fileListingOf,
  NotRegularFile,
  type PrivateDirectoryOptions,
  StagingDisk,
  type StagingDiskService
} from "../disk/StagingDisk.js"

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
  | "readFile"
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
  readonly disk: StagingDiskService
  readonly volume: Volume
}

const REASONS: Record<string, string> = {
  PermissionDenied: "EACCES",
  NotFound: "ENOENT",
  AlreadyExists: "EEXIST",
  BadResource: "ENOTDIR",
  Busy: "EBUSY",
  TimedOut: "ETIMEDOUT",
  WouldBlock: "EAGAIN",
  InvalidData: "EINVAL",
  UnexpectedEof: "EIO",
  WriteZero: "EIO",
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

/** What every operation shares: the volume, the hooks, and the directories this disk opened. */
interface Memory {
  readonly volume: Volume
  readonly options: Options
  readonly mark: string
  readonly startTimeOf: (pid: number) => string | undefined
  readonly owner: { readonly uid: number; readonly gid: number }
  /** each open directory's volume path and inode, checked at every use */
  readonly pinned: WeakMap<Directory, { readonly path: string; readonly ino: number }>
  /** each private directory's name in its parent, for `replaceEmptyDirectory` */
  readonly privateNames: WeakMap<Directory, { readonly parent: Directory; readonly name: string }>
}

const errno = (operation: string, path: string, code: string, detail?: string) =>
  new DiskError({ operation, path, code, detail: detail ?? DETAILS[code] ?? code.toLowerCase() })

const fromVolume = (operation: string, path: string, error: unknown): DiskError => {
  if (error instanceof DiskError) return error
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "EIO"
  return errno(operation, path, code)
}

/** The same failure, about the batch's file `entry`. */
const withEntry = <E extends Tagged>(error: E, entry: FileName): E | DiskError =>
  error._tag === "DiskError" ? new DiskError({ ...error, entry }) : error

// Every operation goes through here: hooks first, then the body; errors become tagged values.
const run = <A, E extends Tagged = DiskError>(
  memory: Memory,
  operation: Operation,
  path: string,
  toPath: string | undefined,
  body: () => A
): Effect.Effect<A, E | DiskError> =>
  Effect.suspend(() => {
    const attempt = Effect.suspend((): Effect.Effect<A, E | DiskError> => {
      const injected = memory.options.fail?.(operation, path, toPath)
      if (injected !== undefined) {
        const code = REASONS[injected] ?? injected
        return Effect.fail(errno(operation, path, code, `injected fault: ${DETAILS[code] ?? code}`))
      }
      try {
        return Effect.succeed(body())
      } catch (error) {
        return Effect.fail(isTagged(error) ? (error as E) : fromVolume(operation, path, error))
      }
    })
    const gate = memory.options.before?.(operation, path, toPath)
    return gate === undefined ? attempt : Effect.andThen(gate, attempt)
  })

/** A synchronous step that throws a tagged error, as an effect. */
const attempt = <A>(body: () => A): Effect.Effect<A, DiskError> => Effect.try({ try: body, catch: (error) => error as DiskError })

const lstat = (volume: Volume, path: string): Stat | undefined => {
  try {
    return volume.lstatSync(path) as unknown as Stat
  } catch {
    return undefined
  }
}

/** The volume path of an open directory, failing if it was moved or replaced since it was opened. */
const where = (memory: Memory, directory: Directory): string => {
  const pin = memory.pinned.get(directory)
  if (pin === undefined) throw errno("open", directory.shown, "EBADF", "not a directory opened by this staging disk")
  const now = lstat(memory.volume, pin.path)
  if (now === undefined || !now.isDirectory() || Number(now.ino) !== pin.ino) {
    throw errno("open", directory.shown, "ENOENT", "moved or replaced since it was opened")
  }
  return pin.path
}

const join = (dir: string, name: string) => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

const shownIn = (directory: Directory, name: FileName | string) =>
  `${directory.shown.replace(/\/+$/, "")}/${typeof name === "string" ? name : showName(name)}`

const pin = (memory: Memory, shown: string, path: string): Directory => {
  const directory: Directory = { shown, handle: path }
  memory.pinned.set(directory, { path, ino: Number((memory.volume.lstatSync(path) as unknown as Stat).ino) })
  return directory
}

/** The volume path of entry `name` of an open directory; only a single plain name is one. */
const entryPath = (memory: Memory, directory: Directory, name: FileName | string): string => {
  const stored = typeof name === "string" ? name : memoryName(name)
  if (!isPlainName(stored)) throw errno("open", shownIn(directory, name), "EINVAL", "not a single plain file name")
  return join(where(memory, directory), stored)
}

/** The content of a regular file, looked at without following a link. */
const readRegular = (memory: Memory, directory: Directory, name: FileName) => {
  const path = entryPath(memory, directory, name)
  const found = lstat(memory.volume, path)
  if (found === undefined) throw errno("open", shownIn(directory, name), "ENOENT")
  if (!found.isFile()) throw new NotRegularFile({ name, path: shownIn(directory, name), type: typeOf(found) })
  return { path, content: new Uint8Array(memory.volume.readFileSync(path) as Buffer), stat: found }
}

const setAttributes = (memory: Memory, path: string, attributes: FileAttributes, mode: number) =>
  Effect.andThen(
    attributes.ownership === undefined
      ? Effect.void
      : run(memory, "chown", path, undefined, () => memory.volume.chownSync(path, attributes.ownership!.uid, attributes.ownership!.gid)),
    run(memory, "chmod", path, undefined, () => memory.volume.chmodSync(path, attributes.permissions ?? mode))
  )

const sha256 = (content: Uint8Array) => createHash("sha256").update(content).digest("hex")

const openDirectory = (memory: Memory, path: string) =>
  run(memory, "openDirectory", path, undefined, () => {
    const real = String(memory.volume.realpathSync(path))
    if (!(memory.volume.statSync(real) as unknown as Stat).isDirectory()) throw errno("open", path, "ENOTDIR", "not a directory")
    return pin(memory, path, real)
  })

const openSubdirectory = (
  memory: Memory,
  parent: Directory,
  name: string,
  create: Parameters<StagingDiskService["openSubdirectory"]>[2]
) =>
  Effect.flatMap(attempt(() => entryPath(memory, parent, name)), (path) => {
    const shown = shownIn(parent, name)
    const { volume } = memory
    return run<{ readonly directory: Directory; readonly created: boolean }, NotRegularFile>(memory, "openSubdirectory", path, undefined, () => {
      let found = lstat(volume, path)
      let created = false
      if (found === undefined && create !== undefined) {
        volume.mkdirSync(path, { mode: create.mode })
        created = true
        found = lstat(volume, path)
      }
      if (found === undefined) throw errno("open", shown, "ENOENT")
      if (!found.isDirectory()) throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: typeOf(found) })
      if (create !== undefined) {
        if (create.ownership !== undefined) volume.chownSync(path, create.ownership.uid, create.ownership.gid)
        volume.chmodSync(path, create.mode)
      }
      return { directory: pin(memory, shown, path), created }
    })
  })

const remove = (memory: Memory, path: string) =>
  run(memory, "remove", path, undefined, () => memory.volume.rmSync(path, { recursive: true, force: true })).pipe(
    Effect.catch((error) => Effect.logWarning(`cannot remove ${path}: ${error.detail}`))
  )

const makePrivateDirectory = (
  memory: Memory,
  parent: Directory,
  privateOwner: Ownership | undefined,
  options: PrivateDirectoryOptions | undefined
): Effect.Effect<Directory, DiskError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const name = options?.short === true ? shortPrivateName() : privateName(memory.mark)
      return Effect.flatMap(attempt(() => entryPath(memory, parent, name)), (path) =>
        run(memory, "makePrivateDirectory", path, undefined, () => {
          memory.volume.mkdirSync(path, { mode: 0o700 })
          memory.volume.chmodSync(path, options?.mode ?? 0o700)
          if (privateOwner !== undefined) memory.volume.chownSync(path, privateOwner.uid, privateOwner.gid)
          const directory = pin(memory, shownIn(parent, name), path)
          memory.privateNames.set(directory, { parent, name })
          return directory
        }))
    }),
    (directory) => remove(memory, directory.handle)
  )

const list = (memory: Memory, directory: Directory, sizes: boolean) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "list", path, undefined, () =>
      (memory.volume.readdirSync(path) as Array<unknown>).map(String).map((stored): DirectoryEntry => {
        const found = lstat(memory.volume, join(path, stored)) as (Stat & { size: number | bigint }) | undefined
        const type = found === undefined ? "Unknown" : typeOf(found)
        return sizes && type === "File" ? { name: nameOf(stored), type, size: Number(found!.size) } : { name: nameOf(stored), type }
      })))

/** Copies one file of `from` into `to`: its size, permission bits and content. */
const copyOne = (memory: Memory, from: Directory, to: Directory, name: FileName) =>
  Effect.flatMap(attempt(() => [entryPath(memory, from, name), entryPath(memory, to, name)] as const), ([source, target]) =>
    run<{ readonly target: string; readonly size: number; readonly mode: number; readonly content: Uint8Array }, NotRegularFile>(
      memory,
      "copyFile",
      source,
      target,
      () => {
        const { content, stat } = readRegular(memory, from, name)
        if (lstat(memory.volume, target) !== undefined) throw errno("create", shownIn(to, name), "EEXIST")
        memory.volume.writeFileSync(target, content, { mode: 0o600, flag: "wx" })
        return { target, size: content.length, mode: Number(stat.mode) & 0o777, content }
      }
    )).pipe(Effect.mapError((error) => withEntry(error, name)))

const copyFiles = (
  memory: Memory,
  from: Directory,
  names: ReadonlyArray<FileName>,
  to: Directory,
  attributes: FileAttributes,
  copyOptions: CopyOptions
): Effect.Effect<CopyTotals, DiskError | NotRegularFile | ByteLimitReached> =>
  Effect.gen(function*() {
    let bytes = 0
    let count = 0
    const hashes: Array<string> = []
    for (const name of names) {
      const copied = yield* copyOne(memory, from, to, name)
      bytes += copied.size
      if (copyOptions.maxBytes !== undefined && bytes > copyOptions.maxBytes) {
        return yield* new ByteLimitReached({ max: copyOptions.maxBytes, bytes })
      }
      yield* setAttributes(memory, copied.target, attributes, copied.mode).pipe(Effect.mapError((error) => withEntry(error, name)))
      if (copyOptions.hash === true) hashes.push(sha256(copied.content))
      count += 1
      copyOptions.onProgress?.({ count, bytes })
    }
    return copyOptions.hash === true ? { count, bytes, hashes } : { count, bytes }
  })

const hashFiles = (memory: Memory, directory: Directory, names: ReadonlyArray<FileName>) =>
  Effect.forEach(names, (name) =>
    Effect.flatMap(attempt(() => entryPath(memory, directory, name)), (path) =>
      run<string, NotRegularFile>(memory, "hash", path, undefined, () => sha256(readRegular(memory, directory, name).content))))

const readFile = (memory: Memory, directory: Directory, name: string, maxBytes: number) =>
  Effect.flatMap(attempt(() => entryPath(memory, directory, name)), (path) =>
    run<Uint8Array, NotRegularFile>(memory, "readFile", path, undefined, () => {
      const found = lstat(memory.volume, path)
      const shown = shownIn(directory, name)
      if (found !== undefined && found.isFile() && Number((found as Stat & { size: number | bigint }).size) > maxBytes) {
        throw errno("read", shown, "EFBIG", `larger than the ${maxBytes} bytes allowed`)
      }
      return readRegular(memory, directory, encoder.encode(name)).content
    }))

const adoptFiles = (memory: Memory, directory: Directory, names: ReadonlyArray<FileName>, attributes: FileAttributes) =>
  Effect.gen(function*() {
    let bytes = 0
    for (const name of names) {
      const path = yield* attempt(() => entryPath(memory, directory, name))
      const found = yield* run<{ readonly size: number; readonly mode: number }, NotRegularFile>(memory, "adopt", path, undefined, () => {
        const { content, stat } = readRegular(memory, directory, name)
        if (Number(stat.nlink) !== 1) throw new NotRegularFile({ name, path: shownIn(directory, name), type: "HardLink" })
        return { size: content.length, mode: Number(stat.mode) & 0o777 }
      })
      yield* setAttributes(memory, path, attributes, found.mode)
      bytes += found.size
    }
    return { count: names.length, bytes }
  })

const replaceEmptyDirectory = (
  memory: Memory,
  parent: Directory,
  from: Directory,
  name: string,
  attributes: Parameters<StagingDiskService["replaceEmptyDirectory"]>[3]
) =>
  Effect.flatMap(
    attempt(() => {
      const made = memory.privateNames.get(from)
      if (made === undefined || made.parent !== parent) {
        throw errno("rename", shownIn(parent, name), "EINVAL", "not a private directory of this parent")
      }
      return [where(memory, from), entryPath(memory, parent, name)] as const
    }),
    ([source, target]) =>
      run(memory, "replaceEmptyDirectory", source, target, () => {
        const { volume } = memory
        // as rename(2): only an empty directory is replaced
        const found = lstat(volume, target)
        if (found !== undefined && !found.isDirectory()) throw errno("rename", shownIn(parent, name), "ENOTDIR")
        if (found !== undefined && (volume.readdirSync(target) as Array<unknown>).length > 0) {
          throw errno("rename", shownIn(parent, name), "ENOTEMPTY")
        }
        if (attributes.ownership !== undefined) volume.chownSync(source, attributes.ownership.uid, attributes.ownership.gid)
        volume.chmodSync(source, attributes.mode)
        if (found !== undefined) volume.rmdirSync(target)
        volume.renameSync(source, target)
        // the open directory moved with it (what was open at `name` is gone)
        memory.pinned.set(from, { path: target, ino: Number((volume.lstatSync(target) as unknown as Stat).ino) })
      })
  ).pipe(Effect.uninterruptible)

const reclaim = (memory: Memory, directory: Directory) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "reclaim", path, undefined, () => {
      memory.volume.chownSync(path, memory.owner.uid, memory.owner.gid)
      memory.volume.chmodSync(path, 0o700)
    }))

const commit = (memory: Memory, from: Directory, names: ReadonlyArray<FileName>, to: Directory) =>
  Effect.forEach(names, (name) =>
    Effect.flatMap(attempt(() => [entryPath(memory, from, name), entryPath(memory, to, name)] as const), ([source, target]) =>
      run(memory, "rename", source, target, () => {
        // as rename(2): a file never replaces a directory
        if (lstat(memory.volume, target)?.isDirectory() === true) throw errno("rename", shownIn(to, name), "EISDIR", "is a directory")
        memory.volume.renameSync(source, target)
      }).pipe(
        Effect.mapError((error) => new DiskError({ ...error, operation: "rename", path: shownIn(to, name), entry: name }))
      )), { discard: true }).pipe(Effect.uninterruptible)

const writeEmptyFile = (memory: Memory, directory: Directory, name: string, attributes: FileAttributes) =>
  Effect.gen(function*() {
    const path = yield* attempt(() => entryPath(memory, directory, name))
    yield* run<void, NotRegularFile>(memory, "writeEmptyFile", path, undefined, () => {
      const found = lstat(memory.volume, path)
      const shown = shownIn(directory, name)
      if (found !== undefined && !found.isFile()) throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: typeOf(found) })
      if (found !== undefined && Number(found.nlink) !== 1) {
        throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: "HardLink" })
      }
      memory.volume.writeFileSync(path, "", { mode: 0o644 })
    })
    yield* setAttributes(memory, path, attributes, 0o644)
  })

const removeLeftovers = (memory: Memory, directory: Directory) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "removeLeftovers", path, undefined, () => {
      const { volume } = memory
      const removed: Array<string> = []
      for (const stored of (volume.readdirSync(path) as Array<unknown>).map(String)) {
        const info = lstat(volume, join(path, stored))
        const found = leftover(stored, info?.isDirectory() ?? false)
        if (found === undefined || !makerIsGone(found, memory.startTimeOf, info?.mtimeMs)) continue
        volume.rmSync(join(path, stored), { recursive: true, force: true })
        removed.push(showName(nameOf(stored)))
      }
      return removed
    }))

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
// a memory disk holds few files: its operations work on plain arrays
const arrayOf = (names: FileNames): ReadonlyArray<FileName> => Array.from({ length: names.length }, (_, i) => names.at(i)!)

export const make = (options: Options = {}): MemoryStagingDisk => {
  const memory: Memory = {
    volume: options.volume ?? new Volume(),
    options,
    mark: options.mark ?? ownMark(),
    startTimeOf: options.startTimeOf ?? processStartTime,
    owner: options.process ?? { uid: 0, gid: 0 },
    pinned: new WeakMap(),
    privateNames: new WeakMap()
  }
  const disk: StagingDiskService = {
    openDirectory: (path) => Effect.acquireRelease(openDirectory(memory, path), () => Effect.void),
    openSubdirectory: (parent, name, create) => Effect.acquireRelease(openSubdirectory(memory, parent, name, create), () => Effect.void),
    makePrivateDirectory: (parent, owner, options) => makePrivateDirectory(memory, parent, owner, options),
    list: (directory, listOptions) => list(memory, directory, listOptions?.sizes === true),
    listFiles: (directory, listOptions) =>
      Effect.map(list(memory, directory, listOptions?.sizes === true), (entries) => fileListingOf(entries, listOptions?.maxFiles)),
    copyFiles: (from, names, to, attributes, copyOptions) => copyFiles(memory, from, arrayOf(names), to, attributes, copyOptions ?? {}),
    hashFiles: (directory, names) => hashFiles(memory, directory, arrayOf(names)),
    readFile: (directory, name, maxBytes) => readFile(memory, directory, name, maxBytes),
    adoptFiles: (directory, names, attributes) => adoptFiles(memory, directory, names, attributes),
    replaceEmptyDirectory: (parent, from, name, attributes) => replaceEmptyDirectory(memory, parent, from, name, attributes),
    reclaim: (directory) => reclaim(memory, directory),
    commit: (from, names, to) => commit(memory, from, arrayOf(names), to),
    writeEmptyFile: (directory, name, attributes) => writeEmptyFile(memory, directory, name, attributes),
    removeLeftovers: (directory) => removeLeftovers(memory, directory)
  }
  return { layer: Layer.succeed(StagingDisk, disk), disk, volume: memory.volume }
}

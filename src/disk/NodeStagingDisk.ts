/**
 * The staging disk over `node:fs`, for Linux. Every directory is held open (`O_DIRECTORY`, and
 * `O_NOFOLLOW` for anything below a directory the administrator named) and its entries are
 * addressed as `/proc/self/fd/<fd>/<name>`, with names as bytes: renaming or replacing a parent
 * after it was opened redirects nothing, and no final component is ever followed.
 *
 * Files are copied from the opened source to the exclusively created target, never with
 * `fs.copyFile`: libuv's copy loops forever when the source shrinks during the copy (a peer user
 * truncating a file would hang the run), and it reopens the source by path. Small files are copied
 * with synchronous calls (a thread-pool round trip per call costs more than the call); big ones
 * by the kernel (`copy_file_range`), through a `cat` given the two open descriptors, which stops
 * at the source's end however it moves, and is watched against the byte limit while it runs; the
 * ones between, and any when `cat` cannot run or a hash is wanted, asynchronously through a
 * buffer. The whole batch is one interruptible effect.
 *
 * @since 0.2.0
 */
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { createHash, type Hash } from "node:crypto"
import * as NFS from "node:fs"
import { showName } from "../domain/Peer.js"
import { readOpenFile } from "./configuredFile.js"
import { leftover, makerIsGone, ownMark, privateName, processStartTime, shortPrivateName } from "./privateDir.js"
import {
  ByteLimitReached,
  type CopyOptions,
  type CopyTotals,
  type Directory,
  type DirectoryEntry,
  DiskError,
  type EntryType,
  type FileAttributes,
  type FileListing,
  type FileName,
  type FileNames,
  NameListBuilder,
  NotRegularFile,
  StagingDisk,
  type StagingDiskService
} from "./StagingDisk.js"

const C = NFS.constants
// (libuv opens every descriptor close-on-exec already)
const DIRECTORY = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW
const READ = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY
const CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NOCTTY
const EMPTY_FILE = C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY

/** Files up to this size are copied with synchronous calls, larger ones through the thread pool. */
const SMALL_FILE = 256 * 1024
/** Files from this size on are copied by the kernel (see the module comment): a process is cheap next to them. */
const OFFLOAD_FILE = 16 * 1024 * 1024
/** How often (ms) a kernel copy's target is looked at against the byte limit. */
const OFFLOAD_WATCH_MS = 100
const BUFFER_SIZE = 1024 * 1024
/** Files copied at once: enough to overlap large files' I/O, few enough to bound descriptors and buffers. */
const CONCURRENCY = 4
/** Listed names are kept in buffers of this size, each name a view of one. */
const NAME_CHUNK = 64 * 1024
/** Synchronous work runs at most this long (ms) before the event loop gets a turn. */
const SLICE_MS = 10

const utf8 = new TextEncoder()

const bytesOf = (name: FileName | string): Uint8Array => (typeof name === "string" ? utf8.encode(name) : name)

const isPlainName = (name: Uint8Array): boolean => {
  if (name.length === 0) return false
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) return false
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f || name[i] === 0) return false
  }
  return true
}

interface Typed {
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isBlockDevice(): boolean
  isCharacterDevice(): boolean
}

const typeOfStats = (stats: Typed): EntryType =>
  stats.isFile()
    ? "File"
    : stats.isDirectory()
    ? "Directory"
    : stats.isSymbolicLink()
    ? "SymbolicLink"
    : stats.isFIFO()
    ? "FIFO"
    : stats.isSocket()
    ? "Socket"
    : stats.isBlockDevice()
    ? "BlockDevice"
    : stats.isCharacterDevice()
    ? "CharacterDevice"
    : "Unknown"

const describe = (error: unknown): { code?: string; detail: string } => {
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined
  const message = error instanceof Error ? error.message : String(error)
  // "ENOSPC: no space left on device, write" without the /proc path it names
  const found = message.match(/^[A-Z0-9]+: (.*?), [a-z_]+(?: '.*)?$/s)
  return { ...(code === undefined ? {} : { code }), detail: found === null ? message : found[1]! }
}

const diskError = (operation: string, path: string, error: unknown): DiskError =>
  error instanceof DiskError ? error : new DiskError({ operation, path, ...describe(error) })

type Tagged = DiskError | NotRegularFile | ByteLimitReached
const isTagged = (error: unknown): error is Tagged =>
  error instanceof DiskError || error instanceof NotRegularFile || error instanceof ByteLimitReached

/**
 * Runs a synchronous step, turning a thrown errno into a `DiskError` for `operation` on `path`
 * (a function where the path would be worked out for every file of a batch only to go unused).
 */
const step = <A>(operation: string, path: string | (() => string), body: () => A): A => {
  try {
    return body()
  } catch (error) {
    throw isTagged(error) ? error : diskError(operation, typeof path === "string" ? path : path(), error)
  }
}

const closeQuietly = (fd: number) => {
  try {
    NFS.closeSync(fd)
  } catch {
    // nothing left to do with it
  }
}

const readAsync = (fd: number, buffer: Buffer) =>
  new Promise<number>((resolve, reject) => NFS.read(fd, buffer, 0, buffer.length, null, (e, n) => (e ? reject(e) : resolve(n))))

const writeAsync = (fd: number, buffer: Buffer, offset: number, length: number) =>
  new Promise<number>((resolve, reject) => NFS.write(fd, buffer, offset, length, null, (e, n) => (e ? reject(e) : resolve(n))))

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Thrown inside a copy loop when its effect was interrupted; never reaches a caller. */
const ABORTED = Symbol("aborted")

/**
 * Copies the rest of `source` to `target` in the kernel: `cat` with the two descriptors as its
 * standard input and output uses `copy_file_range` when both are regular files, so no byte
 * passes through this process, and it ends at the source's end even when the source shrinks or
 * grows meanwhile. Resolves to the bytes the target holds, or `undefined` when `cat` could not be
 * started (the caller copies itself). Killed when `signal` aborts, or with the error `tooBig`
 * returns for the target's size as it grows.
 */
const kernelCopy = (source: number, target: number, tooBig: (size: number) => unknown, signal: AbortSignal) =>
  new Promise<number | undefined>((resolve, reject) => {
    let stderr = ""
    let stopped: unknown
    const child = spawn("cat", [], { stdio: [source, target, "pipe"] })
    const stop = (why: unknown) => {
      stopped ??= why
      child.kill("SIGKILL")
    }
    const onAbort = () => stop(ABORTED)
    signal.addEventListener("abort", onAbort)
    const watch = setInterval(() => {
      try {
        const refused = tooBig(NFS.fstatSync(target).size)
        if (refused !== undefined) stop(refused)
      } catch (error) {
        stop(error)
      }
    }, OFFLOAD_WATCH_MS)
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    const done = () => {
      clearInterval(watch)
      signal.removeEventListener("abort", onAbort)
    }
    child.on("error", (error) => {
      done()
      if ((error as { code?: string }).code === "ENOENT" && stopped === undefined) resolve(undefined)
      else reject(stopped ?? error)
    })
    child.on("close", (code) => {
      done()
      if (stopped !== undefined) return reject(stopped)
      if (code !== 0) {
        const detail = stderr.trim().replace(/^cat: /, "") || `cat exited with status ${code}`
        const errno = /no space left/i.test(detail) ? { code: "ENOSPC" } : {}
        return reject(new DiskError({ operation: "copy", path: "", detail, ...errno }))
      }
      try {
        resolve(NFS.fstatSync(target).size)
      } catch (error) {
        reject(error)
      }
    })
  })

/**
 * Makes the Node staging disk. The process uid and gid are those `reclaim` gives back.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): StagingDiskService => {
  /** Each open directory's descriptor, and `<handle>/` as bytes, the start of its entries' paths. */
  const descriptors = new WeakMap<Directory, { readonly fd: number; readonly prefix: Buffer }>()
  const mark = ownMark()

  const register = (shown: string, fd: number): Directory => {
    const directory: Directory = { shown, handle: `/proc/self/fd/${fd}` }
    descriptors.set(directory, { fd, prefix: Buffer.from(`${directory.handle}/`) })
    return directory
  }

  const release = (directory: Directory) =>
    Effect.sync(() => {
      const open = descriptors.get(directory)
      if (open !== undefined) closeQuietly(open.fd)
      descriptors.delete(directory)
    })

  const openOf = (directory: Directory) => {
    const open = descriptors.get(directory)
    if (open === undefined) {
      throw new DiskError({ operation: "open", path: directory.shown, detail: "not a directory opened by this staging disk" })
    }
    return open
  }

  const fdOf = (directory: Directory): number => openOf(directory).fd

  const pathIn = (directory: Directory, name: FileName | string): Buffer => {
    const { prefix } = openOf(directory)
    const bytes = bytesOf(name)
    if (!isPlainName(bytes)) {
      throw new DiskError({ operation: "open", path: shownIn(directory, name), detail: "not a single plain file name" })
    }
    const path = Buffer.allocUnsafe(prefix.length + bytes.length)
    prefix.copy(path, 0)
    path.set(bytes, prefix.length)
    return path
  }

  const shownIn = (directory: Directory, name: FileName | string) =>
    `${directory.shown.replace(/\/+$/, "")}/${typeof name === "string" ? name : showName(name)}`

  /** The type of what stops an `O_NOFOLLOW` open of a file or directory. */
  const blockerType = (path: Buffer): EntryType => {
    try {
      return typeOfStats(NFS.lstatSync(path))
    } catch {
      return "Unknown"
    }
  }

  const openDirectory = (path: string) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => register(path, NFS.openSync(path, C.O_RDONLY | C.O_DIRECTORY)),
        catch: (error) => diskError("open", path, error)
      }),
      release
    )

  const openSubdirectory: StagingDiskService["openSubdirectory"] = (parent, name, create) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => {
          const path = pathIn(parent, name)
          const shown = shownIn(parent, name)
          let created = false
          const open = () => {
            try {
              return NFS.openSync(path, DIRECTORY)
            } catch (error) {
              const code = (error as { code?: string }).code
              if (code === "ELOOP" || code === "ENOTDIR") {
                throw new NotRegularFile({ name: bytesOf(name), path: shown, type: blockerType(path) })
              }
              throw diskError("open", shown, error)
            }
          }
          let fd: number
          try {
            fd = open()
          } catch (error) {
            if (create === undefined || !(error instanceof DiskError) || error.code !== "ENOENT") throw error
            step("makeDirectory", shown, () => NFS.mkdirSync(path, { mode: create.mode }))
            created = true
            fd = open()
          }
          if (create !== undefined) {
            try {
              if (create.ownership !== undefined) step("chown", shown, () => NFS.fchownSync(fd, create.ownership!.uid, create.ownership!.gid))
              step("chmod", shown, () => NFS.fchmodSync(fd, create.mode))
            } catch (error) {
              closeQuietly(fd)
              throw error
            }
          }
          return { directory: register(shown, fd), created }
        },
        catch: (error) => (isTagged(error) ? error as DiskError | NotRegularFile : diskError("open", parent.shown, error))
      }),
      ({ directory }) => release(directory)
    )

  // Removes an entry of any kind below a directory this process holds: a directory is emptied
  // through its own descriptor, so a subdirectory swapped for a link meanwhile is unlinked, never followed.
  const removeEntry = (parentPath: string, name: Buffer): void => {
    const path = Buffer.concat([Buffer.from(`${parentPath}/`), name])
    try {
      NFS.unlinkSync(path)
      return
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === "ENOENT") return
      if (code !== "EISDIR" && code !== "EPERM") throw error
    }
    let fd: number
    try {
      fd = NFS.openSync(path, DIRECTORY)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code === "ELOOP" || code === "ENOTDIR") return removeEntry(parentPath, name)
      throw error
    }
    try {
      emptyDirectory(fd)
    } finally {
      closeQuietly(fd)
    }
    NFS.rmdirSync(path)
  }

  /** Removes everything in the directory open as `fd`, walking by descriptor. */
  const emptyDirectory = (fd: number): void => {
    const own = `/proc/self/fd/${fd}`
    for (const child of NFS.readdirSync(own, { encoding: "buffer" })) removeEntry(own, child)
  }

  /** Each private directory's name in its parent, for `replaceEmptyDirectory`, until it has replaced one. */
  const privateNames = new WeakMap<Directory, { readonly parent: Directory; readonly name: Buffer }>()

  /** Makes a fresh private directory in `parent`, retrying a short name that is taken. */
  const makeFreshDirectory = (parent: Directory, short: boolean): string => {
    for (let attempt = 0;; attempt++) {
      const name = short ? shortPrivateName() : privateName(mark)
      try {
        NFS.mkdirSync(pathIn(parent, name), { mode: 0o700 })
        return name
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST" || attempt >= 10) throw diskError("makeDirectory", shownIn(parent, name), error)
      }
    }
  }

  // Made by path, then held by descriptor: everything after the mkdir happens on the descriptor,
  // so a directory renamed away and replaced meanwhile (the parent may be another user's) is
  // refused, never moded or chowned. The clean-up empties it through the same descriptor and then
  // removes the name, which rmdir(2) does only for an empty directory: if the name now holds
  // something else, that stays.
  const makePrivateDirectory: StagingDiskService["makePrivateDirectory"] = (parent, owner, options) =>
    Effect.acquireRelease(
      Effect.try({
        try: () => {
          const name = makeFreshDirectory(parent, options?.short === true)
          const path = pathIn(parent, name)
          const shown = shownIn(parent, name)
          const fd = step("open", shown, () => NFS.openSync(path, DIRECTORY))
          try {
            // what was opened must be what this process just made: its own, and empty
            const stats = step("stat", shown, () => NFS.fstatSync(fd))
            if (!stats.isDirectory() || stats.uid !== process.geteuid!() || stats.nlink !== 2) {
              throw new DiskError({ operation: "makeDirectory", path: shown, detail: "replaced while being made" })
            }
            step("chmod", shown, () => NFS.fchmodSync(fd, options?.mode ?? 0o700))
            if (owner !== undefined) step("chown", shown, () => NFS.fchownSync(fd, owner.uid, owner.gid))
          } catch (error) {
            closeQuietly(fd)
            throw error
          }
          const directory = register(shown, fd)
          privateNames.set(directory, { parent, name: Buffer.from(name) })
          return { directory, name: Buffer.from(name), parent }
        },
        catch: (error) => diskError("makeDirectory", parent.shown, error)
      }),
      ({ directory, name, parent }) =>
        Effect.try({
          try: () => {
            // once it has replaced a directory it is that directory: nothing to remove
            if (!privateNames.has(directory)) return
            privateNames.delete(directory)
            emptyDirectory(fdOf(directory))
            NFS.rmdirSync(pathIn(parent, name))
          },
          catch: (error) => diskError("remove", directory.shown, error)
        }).pipe(
          Effect.catch((error) => Effect.logWarning(`cannot remove ${directory.shown}: ${error.detail}`)),
          Effect.andThen(release(directory))
        )
    ).pipe(Effect.map(({ directory }) => directory))

  const list: StagingDiskService["list"] = (directory, options) =>
    Effect.try({
      try: () => {
        fdOf(directory)
        // Read through a directory stream, a few entries at a time, names as latin1 (one char per
        // byte, so exact), each returned as a view of a shared chunk: neither an array of every
        // entry's Dirent at once nor a Buffer of its own per name (~200 bytes each), which a
        // collect dir of 100,000 files would turn into tens of megabytes.
        const stream = NFS.opendirSync(directory.handle, { encoding: "latin1", bufferSize: 128 })
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
            let type = typeOfStats(entry)
            // file systems that do not fill d_type: look without following
            if (type === "Unknown") type = blockerType(pathIn(directory, name))
            if (options?.sizes !== true || type !== "File") {
              entries.push({ name, type })
              continue
            }
            const stats = step("stat", shownIn(directory, name), () => NFS.lstatSync(pathIn(directory, name)))
            entries.push({ name, type: typeOfStats(stats), size: stats.size })
          }
        } finally {
          stream.closeSync()
        }
        return entries
      },
      catch: (error) => diskError("list", directory.shown, error)
    })

  const listFiles: StagingDiskService["listFiles"] = (directory, options) =>
    Effect.try({
      try: () => {
        fdOf(directory)
        // As `list` reads, but a regular file costs only its name's bytes and an offset (see
        // NameList), and reading stops as soon as the file count passes the limit.
        const stream = NFS.opendirSync(directory.handle, { encoding: "latin1", bufferSize: 128 })
        const files = new NameListBuilder()
        const others: Array<DirectoryEntry> = []
        const maxFiles = options?.maxFiles
        let bytes = 0
        try {
          for (let entry = stream.readSync(); entry !== null; entry = stream.readSync()) {
            let type = typeOfStats(entry)
            if (type === "Unknown") type = blockerType(pathIn(directory, Buffer.from(entry.name, "latin1")))
            if (type === "File" && options?.sizes === true) {
              const name = Buffer.from(entry.name, "latin1")
              const stats = step("stat", shownIn(directory, name), () => NFS.lstatSync(pathIn(directory, name)))
              type = typeOfStats(stats)
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
      },
      catch: (error) => diskError("list", directory.shown, error)
    })

  /** Opens `name` in `directory` for reading without following a link or blocking; it must be a regular file. */
  const openRegular = (directory: Directory, name: FileName): { fd: number; stats: NFS.Stats } => {
    const path = pathIn(directory, name)
    const shown = () => shownIn(directory, name)
    let fd: number
    try {
      fd = NFS.openSync(path, READ)
    } catch (error) {
      const code = (error as { code?: string }).code
      // ELOOP: a link; ENXIO: a socket (or a fifo-like thing without a peer)
      if (code === "ELOOP" || code === "ENXIO") throw new NotRegularFile({ name, path: shown(), type: blockerType(path) })
      throw diskError("open", shown(), error)
    }
    try {
      const stats = step("stat", shown, () => NFS.fstatSync(fd))
      if (!stats.isFile()) throw new NotRegularFile({ name, path: shown(), type: typeOfStats(stats) })
      return { fd, stats }
    } catch (error) {
      closeQuietly(fd)
      throw error
    }
  }

  const readFile: StagingDiskService["readFile"] = (directory, name, maxBytes) =>
    Effect.try({
      try: () => {
        const { fd } = openRegular(directory, bytesOf(name))
        try {
          return new Uint8Array(readOpenFile(fd, shownIn(directory, name), maxBytes))
        } finally {
          closeQuietly(fd)
        }
      },
      catch: (error) => (error instanceof NotRegularFile ? error : diskError("read", shownIn(directory, name), error))
    })

  const copyFiles: StagingDiskService["copyFiles"] = (from, names, to, attributes, options: CopyOptions = {}) =>
    Effect.callback<CopyTotals, Tagged>((resume, signal) => {
      const done = runCopy(from, names, to, attributes, options, signal).then(
        (totals) => resume(Effect.succeed(totals)),
        (error) => resume(Effect.fail(isTagged(error) ? error : diskError("copy", from.shown, error)))
      )
      // interrupted: the loops stop at their next check; wait for them so nothing is written afterwards
      return Effect.promise(() => done)
    })

  const runCopy = async (
    from: Directory,
    names: FileNames,
    to: Directory,
    attributes: FileAttributes,
    options: CopyOptions,
    signal: AbortSignal
  ): Promise<CopyTotals> => {
    let next = 0
    let count = 0
    let bytes = 0
    let failure: { error: unknown } | undefined
    let sliceStart = performance.now()
    const hashes: Array<string> | undefined = options.hash === true ? new Array<string>(names.length) : undefined
    const maxBytes = options.maxBytes

    const account = (n: number) => {
      bytes += n
      if (maxBytes !== undefined && bytes > maxBytes) throw new ByteLimitReached({ max: maxBytes, bytes })
    }

    const copyOne = async (index: number, buffer: Buffer) => {
      const name = names.at(index)!
      const { fd: source, stats } = openRegular(from, name)
      let target = -1
      const shown = () => shownIn(to, name)
      try {
        const hash: Hash | undefined = hashes === undefined ? undefined : createHash("sha256")
        target = step("create", shown, () => NFS.openSync(pathIn(to, name), CREATE, 0o600))
        const readShown = () => shownIn(from, name)
        if (stats.size <= SMALL_FILE) {
          for (;;) {
            const read = step("read", readShown, () => NFS.readSync(source, buffer, 0, buffer.length, null))
            if (read === 0) break
            let written = 0
            while (written < read) written += step("write", shown, () => NFS.writeSync(target, buffer, written, read - written))
            hash?.update(buffer.subarray(0, read))
            account(read)
            // a short read of a regular file is its end, as of now
            if (read < buffer.length) break
          }
        } else {
          const tooBig = (size: number) =>
            maxBytes !== undefined && bytes + size > maxBytes ? new ByteLimitReached({ max: maxBytes, bytes: bytes + size }) : undefined
          const copied = stats.size >= OFFLOAD_FILE && hash === undefined
            ? await kernelCopy(source, target, tooBig, signal).catch((error) => {
              throw error instanceof DiskError ? new DiskError({ ...error, path: shown() }) : isTagged(error) || error === ABORTED ? error : diskError("copy", shown(), error)
            })
            : undefined
          if (copied !== undefined) account(copied)
          else for (;;) {
            if (signal.aborted) throw ABORTED
            const read = await readAsync(source, buffer).catch((error) => {
              throw diskError("read", readShown(), error)
            })
            if (read === 0) break
            let written = 0
            while (written < read) {
              written += await writeAsync(target, buffer, written, read - written).catch((error) => {
                throw diskError("write", shown(), error)
              })
            }
            hash?.update(buffer.subarray(0, read))
            account(read)
          }
        }
        if (attributes.ownership !== undefined) {
          step("chown", shown, () => NFS.fchownSync(target, attributes.ownership!.uid, attributes.ownership!.gid))
        }
        // after chown, which clears set-id bits anyway; a copy never gets set-id or sticky bits of its own
        step("chmod", shown, () => NFS.fchmodSync(target, attributes.permissions ?? (stats.mode & 0o777)))
        if (hashes !== undefined) hashes[index] = hash!.digest("hex")
      } finally {
        closeQuietly(source)
        if (target !== -1) closeQuietly(target)
      }
    }

    const worker = async () => {
      const buffer = Buffer.allocUnsafe(BUFFER_SIZE)
      while (next < names.length && failure === undefined) {
        if (signal.aborted) throw ABORTED
        const index = next++
        try {
          await copyOne(index, buffer)
        } catch (error) {
          failure ??= { error: error instanceof DiskError ? new DiskError({ ...error, entry: names.at(index)! }) : error }
          return
        }
        count += 1
        options.onProgress?.({ count, bytes })
        if (performance.now() - sliceStart > SLICE_MS) {
          await yieldToEventLoop()
          sliceStart = performance.now()
        }
      }
    }

    const settled = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker))
    if (failure !== undefined) throw failure.error
    const aborted = settled.find((s) => s.status === "rejected")
    if (aborted !== undefined) throw (aborted as PromiseRejectedResult).reason
    return hashes === undefined ? { count, bytes } : { count, bytes, hashes }
  }

  const hashFiles: StagingDiskService["hashFiles"] = (directory, names) =>
    Effect.callback<ReadonlyArray<string>, DiskError | NotRegularFile>((resume, signal) => {
      const run = async () => {
        const buffer = Buffer.allocUnsafe(BUFFER_SIZE)
        const out: Array<string> = []
        for (let i = 0; i < names.length; i++) {
          const name = names.at(i)!
          if (signal.aborted) throw ABORTED
          const { fd } = openRegular(directory, name)
          try {
            const hash = createHash("sha256")
            for (;;) {
              const read = await readAsync(fd, buffer).catch((error) => {
                throw diskError("read", shownIn(directory, name), error)
              })
              if (read === 0) break
              hash.update(buffer.subarray(0, read))
            }
            out.push(hash.digest("hex"))
          } finally {
            closeQuietly(fd)
          }
        }
        return out
      }
      const done = run().then(
        (hashes) => resume(Effect.succeed(hashes)),
        (error) => resume(Effect.fail(isTagged(error) ? error as DiskError | NotRegularFile : diskError("read", directory.shown, error)))
      )
      return Effect.promise(() => done)
    })

  const adoptFiles: StagingDiskService["adoptFiles"] = (directory, names, attributes) =>
    Effect.try({
      try: () => {
        let bytes = 0
        for (const name of names) {
          const { fd, stats } = openRegular(directory, name)
          const shown = () => shownIn(directory, name)
          try {
            if (stats.nlink !== 1) throw new NotRegularFile({ name, path: shown(), type: "HardLink" })
            // usually already so (scp ran as the backup user): two calls a file saved
            const owner = attributes.ownership
            const chown = owner !== undefined && (stats.uid !== owner.uid || stats.gid !== owner.gid)
            if (chown) step("chown", shown, () => NFS.fchownSync(fd, owner.uid, owner.gid))
            // no set-id or sticky bit survives; after a chown the mode is set again whatever it was
            const mode = attributes.permissions ?? (stats.mode & 0o777)
            if (chown || (stats.mode & 0o7777) !== mode) step("chmod", shown, () => NFS.fchmodSync(fd, mode))
            bytes += stats.size
          } finally {
            closeQuietly(fd)
          }
        }
        return { count: names.length, bytes }
      },
      catch: (error) => (isTagged(error) ? error as DiskError | NotRegularFile : diskError("adopt", directory.shown, error))
    })

  const replaceEmptyDirectory: StagingDiskService["replaceEmptyDirectory"] = (parent, from, name, attributes) =>
    Effect.try({
      try: () => {
        const made = privateNames.get(from)
        const shown = shownIn(parent, name)
        if (made === undefined || made.parent !== parent) {
          throw new DiskError({ operation: "rename", path: shown, detail: "not a private directory of this parent" })
        }
        const fd = fdOf(from)
        if (attributes.ownership !== undefined) step("chown", from.shown, () => NFS.fchownSync(fd, attributes.ownership!.uid, attributes.ownership!.gid))
        step("chmod", from.shown, () => NFS.fchmodSync(fd, attributes.mode))
        // rename(2) replaces an empty directory and refuses anything else: no check to race with
        step("rename", shown, () => NFS.renameSync(pathIn(parent, made.name), pathIn(parent, name)))
        privateNames.delete(from)
      },
      catch: (error) => diskError("rename", shownIn(parent, name), error)
    }).pipe(Effect.uninterruptible)

  const reclaim = (directory: Directory) =>
    Effect.try({
      try: () => {
        const fd = fdOf(directory)
        step("chown", directory.shown, () => NFS.fchownSync(fd, process.geteuid!(), process.getegid!()))
        step("chmod", directory.shown, () => NFS.fchmodSync(fd, 0o700))
      },
      catch: (error) => diskError("chown", directory.shown, error)
    })

  const commit: StagingDiskService["commit"] = (from, names, to) =>
    Effect.try({
      try: () => {
        for (let i = 0; i < names.length; i++) {
          const name = names.at(i)!
          try {
            NFS.renameSync(pathIn(from, name), pathIn(to, name))
          } catch (error) {
            throw new DiskError({ ...diskError("rename", shownIn(to, name), error), entry: name })
          }
        }
      },
      catch: (error) => diskError("rename", to.shown, error)
    }).pipe(Effect.uninterruptible)

  const writeEmptyFile: StagingDiskService["writeEmptyFile"] = (directory, name, attributes) =>
    Effect.try({
      try: () => {
        const path = pathIn(directory, name)
        const shown = shownIn(directory, name)
        let fd: number
        try {
          fd = NFS.openSync(path, EMPTY_FILE, 0o644)
        } catch (error) {
          const code = (error as { code?: string }).code
          if (code === "ELOOP" || code === "ENXIO" || code === "EISDIR") {
            throw new NotRegularFile({ name: bytesOf(name), path: shown, type: blockerType(path) })
          }
          throw diskError("create", shown, error)
        }
        try {
          const stats = step("stat", shown, () => NFS.fstatSync(fd))
          if (!stats.isFile()) throw new NotRegularFile({ name: bytesOf(name), path: shown, type: typeOfStats(stats) })
          // truncated only once known to be this directory's own file, not a hard link to another one
          if (stats.nlink !== 1) throw new NotRegularFile({ name: bytesOf(name), path: shown, type: "HardLink" })
          step("create", shown, () => NFS.ftruncateSync(fd, 0))
          if (attributes.ownership !== undefined) {
            step("chown", shown, () => NFS.fchownSync(fd, attributes.ownership!.uid, attributes.ownership!.gid))
          }
          step("chmod", shown, () => NFS.fchmodSync(fd, attributes.permissions ?? 0o644))
        } finally {
          closeQuietly(fd)
        }
      },
      catch: (error) => (isTagged(error) ? error as DiskError | NotRegularFile : diskError("create", directory.shown, error))
    })

  const modifiedTime = (dir: string, name: Buffer): number | undefined => {
    try {
      return NFS.lstatSync(Buffer.concat([Buffer.from(`${dir}/`), name])).mtimeMs
    } catch {
      return undefined
    }
  }

  const removeLeftovers = (directory: Directory) =>
    Effect.try({
      try: () => {
        fdOf(directory)
        const removed: Array<string> = []
        for (const entry of NFS.readdirSync(directory.handle, { encoding: "buffer", withFileTypes: true })) {
          const name = entry.name.toString("latin1")
          const found = leftover(name, entry.isDirectory())
          if (found === undefined) continue
          const modified = found._tag === "Unmarked" ? modifiedTime(directory.handle, entry.name) : undefined
          if (!makerIsGone(found, processStartTime, modified)) continue
          step("remove", shownIn(directory, entry.name), () => removeEntry(directory.handle, entry.name))
          removed.push(showName(entry.name))
        }
        return removed
      },
      catch: (error) => diskError("remove", directory.shown, error)
    })

  return {
    openDirectory,
    openSubdirectory,
    makePrivateDirectory,
    list,
    listFiles,
    copyFiles,
    hashFiles,
    readFile,
    adoptFiles,
    replaceEmptyDirectory,
    reclaim,
    commit,
    writeEmptyFile,
    removeLeftovers
  }
}

/**
 * The staging disk over `node:fs` (Linux: it needs `/proc/self/fd`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<StagingDisk> = Layer.sync(StagingDisk, make)

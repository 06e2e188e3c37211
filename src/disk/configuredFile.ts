// Files root opens at a path the administrator gave (--metrics-file, --log-file) but in a
// directory another user may write: the final name is never followed (a planted link would
// send root's read or write to any file), no open blocks (a planted fifo would hang the run
// where no signal reaches it: a thread blocked in open(2)), what was opened is checked to be a
// regular file on its descriptor, and reads stop at a size given up front. The directories on
// the way are the administrator's and are followed, as configured.
import * as NFS from "node:fs"
import { entryTypeOf } from "./entryType.js"
import { DiskError, type EntryType, NotRegularFile } from "./StagingDisk.js"

const C = NFS.constants
/** Added to every open here: no link at the final name, no blocking on a fifo, no controlling terminal. */
export const SAFE_OPEN = C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined

const detailOf = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return message.match(/^[A-Z0-9]+: (.*?), [a-z_]+(?: '.*)?$/s)?.[1] ?? message
}

const failure = (operation: string, path: string, error: unknown): DiskError => {
  const code = codeOf(error)
  return new DiskError({ operation, path, ...(code === undefined ? {} : { code }), detail: detailOf(error) })
}

const typeAt = (path: string): EntryType => {
  try {
    return entryTypeOf(NFS.lstatSync(path))
  } catch {
    return "Unknown"
  }
}

const closeQuietly = (fd: number) => {
  try {
    NFS.closeSync(fd)
  } catch {
    // nothing left to do with it
  }
}

/**
 * Opens `path` with `flags` (plus `SAFE_OPEN`); what is there must be a regular file, else
 * `NotRegularFile` with what it is. Throws; the caller maps.
 */
export const openRegularFile = (path: string, flags: number, mode = 0o600): number => {
  let fd: number
  try {
    fd = NFS.openSync(path, flags | SAFE_OPEN, mode)
  } catch (error) {
    const code = codeOf(error)
    // ELOOP: a link at the final name; ENXIO: a socket, or a fifo nobody reads (opened to write)
    if (code === "ELOOP" || code === "ENXIO") throw new NotRegularFile({ name: Buffer.from(path), path, type: typeAt(path) })
    throw failure("open", path, error)
  }
  try {
    const stats = NFS.fstatSync(fd)
    if (!stats.isFile()) {
      throw new NotRegularFile({ name: Buffer.from(path), path, type: stats.isFIFO() ? "FIFO" : typeAt(path) })
    }
    return fd
  } catch (error) {
    closeQuietly(fd)
    throw error instanceof NotRegularFile ? error : failure("stat", path, error)
  }
}

/**
 * The whole content of an open regular file, refused (`DiskError`, code `EFBIG`) when it is
 * larger than `maxBytes`, by its size before reading and by what is read (a file still growing).
 */
export const readOpenFile = (fd: number, path: string, maxBytes: number): Buffer => {
  const tooBig = () => new DiskError({ operation: "read", path, code: "EFBIG", detail: `larger than the ${maxBytes} bytes allowed` })
  const size = NFS.fstatSync(fd).size
  if (size > maxBytes) throw tooBig()
  const chunks: Array<Buffer> = []
  let total = 0
  // one read of the size found, one more to see the end (or a file still growing, up to the bound)
  let chunk = Buffer.allocUnsafe(size + 1)
  for (;;) {
    const read = NFS.readSync(fd, chunk, 0, chunk.length, null)
    if (read === 0) break
    total += read
    if (total > maxBytes) throw tooBig()
    chunks.push(chunk.subarray(0, read))
    if (read === chunk.length) chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes - total + 1))
    else chunk = chunk.subarray(read)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * Reads the regular file at `path`, at most `maxBytes`; `undefined` when nothing is there.
 * Throws `NotRegularFile` (a link, a fifo, …) or `DiskError`.
 */
export const readRegularFile = (path: string, maxBytes: number): Buffer | undefined => {
  let fd: number
  try {
    fd = openRegularFile(path, C.O_RDONLY)
  } catch (error) {
    if (error instanceof DiskError && error.code === "ENOENT") return undefined
    throw error
  }
  try {
    return readOpenFile(fd, path, maxBytes)
  } catch (error) {
    throw error instanceof NotRegularFile || error instanceof DiskError ? error : failure("read", path, error)
  } finally {
    closeQuietly(fd)
  }
}

/** Opens the regular file at `path` for appending, created with `mode` when missing. */
export const openForAppend = (path: string, mode: number): number =>
  openRegularFile(path, C.O_WRONLY | C.O_APPEND | C.O_CREAT, mode)

/**
 * Replaces the file `name` of the directory `dir` with `content` (mode `mode`): written to a new
 * file created exclusively, with a name nobody can guess, relative to the directory held open,
 * then renamed over `name` there (a link at `name` is replaced, never followed). `tempName`
 * gives the new file's name from a random part.
 */
export const replaceFile = (
  dir: string,
  name: string,
  content: string | Uint8Array,
  mode: number,
  tempName: (random: string) => string
): void => {
  const dirFd = (() => {
    try {
      return NFS.openSync(dir, C.O_RDONLY | C.O_DIRECTORY)
    } catch (error) {
      throw failure("open", dir, error)
    }
  })()
  try {
    const held = `/proc/self/fd/${dirFd}`
    const temp = tempName(randomPart())
    const shownTemp = `${dir.replace(/\/+$/, "")}/${temp}`
    let fd: number
    try {
      fd = NFS.openSync(`${held}/${temp}`, C.O_WRONLY | C.O_CREAT | C.O_EXCL | SAFE_OPEN, mode)
    } catch (error) {
      throw failure("create", shownTemp, error)
    }
    try {
      try {
        NFS.fchmodSync(fd, mode) // whatever the umask
        NFS.writeFileSync(fd, content)
      } finally {
        closeQuietly(fd)
      }
      NFS.renameSync(`${held}/${temp}`, `${held}/${name}`)
    } catch (error) {
      try {
        NFS.unlinkSync(`${held}/${temp}`)
      } catch {
        // already gone
      }
      throw failure("rename", `${dir.replace(/\/+$/, "")}/${name}`, error)
    }
  } finally {
    closeQuietly(dirFd)
  }
}

const randomPart = (): string => {
  const bytes = new Uint8Array(6)
  crypto.getRandomValues(bytes)
  return Buffer.from(bytes).toString("hex")
}

// What every operation of the memory staging disk shares: the volume and hooks, the directories
// it opened (each pinned by its volume path and inode), and the run of an operation through the
// hooks, with errors as tagged values.
import { Effect } from "effect"
import type { Volume } from "memfs"
import { isPlainFileName, showName } from "../../domain/Peer.js"
import { entryTypeOf, type Typed } from "../../disk/entryType.js"
import { ByteLimitReached, type Directory, DiskError, type EntryType, type FileName, NotRegularFile } from "../../disk/StagingDisk.js"
import type { Operation, Options } from "../MemoryStagingDisk.js"
import { memoryName } from "./memoryNames.js"

export const REASONS: Record<string, string> = {
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

export const DETAILS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
  EEXIST: "file already exists",
  ENOTEMPTY: "directory not empty",
  ENOTDIR: "not a directory",
  EIO: "i/o error"
}

/** What memfs's stats answer. */
export interface Stat extends Typed {
  ino: number | bigint
  mtimeMs: number
  nlink: number | bigint
  mode: number | bigint
  uid: number | bigint
  size: number | bigint
}

export const typeOf = (stat: Stat): EntryType => entryTypeOf(stat)

export type Tagged = DiskError | NotRegularFile | ByteLimitReached
const isTagged = (error: unknown): error is Tagged =>
  error instanceof DiskError || error instanceof NotRegularFile || error instanceof ByteLimitReached

/** What every operation shares: the volume, the hooks, and this disk's clock of makers. */
export interface Memory {
  readonly volume: Volume
  readonly options: Options
  readonly mark: string
  readonly startTimeOf: (pid: number) => string | undefined
  readonly owner: { readonly uid: number; readonly gid: number }
}

/**
 * A directory this disk opened: where it is in the volume and its inode, checked at every use
 * (moved with it by `replaceEmptyDirectory`), and, for a private directory not yet put in place,
 * where it was made.
 */
export class MemoryDirectory implements Directory {
  made: { readonly parent: MemoryDirectory; readonly path: string } | undefined = undefined
  constructor(readonly memory: Memory, readonly shown: string, public path: string, public ino: number) {}
}

export const errno = (operation: string, path: string, code: string, detail?: string) =>
  new DiskError({ operation, path, code, detail: detail ?? DETAILS[code] ?? code.toLowerCase() })

const fromVolume = (operation: string, path: string, error: unknown): DiskError => {
  if (error instanceof DiskError) return error
  const code = typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : "EIO"
  return errno(operation, path, code)
}

/** The same failure, about the batch's file `entry`. */
export const withEntry = <E extends Tagged>(error: E, entry: FileName): E | DiskError =>
  error._tag === "DiskError" ? new DiskError({ ...error, entry }) : error

/** The errno code `fail` injects into `operation` on `path`, as a failure; none: `undefined`. */
export const injected = (memory: Memory, operation: Operation, path: string, toPath?: string): DiskError | undefined => {
  const code = memory.options.fail?.(operation, path, toPath)
  if (code === undefined) return undefined
  const errnoCode = REASONS[code] ?? code
  return errno(operation, path, errnoCode, `injected fault: ${DETAILS[errnoCode] ?? errnoCode}`)
}

// Every operation goes through here: hooks first, then the body; errors become tagged values.
export const run = <A, E extends Tagged = DiskError>(
  memory: Memory,
  operation: Operation,
  path: string,
  toPath: string | undefined,
  body: () => A
): Effect.Effect<A, E | DiskError> =>
  Effect.suspend(() => {
    const attempt = Effect.suspend((): Effect.Effect<A, E | DiskError> => {
      const fault = injected(memory, operation, path, toPath)
      if (fault !== undefined) return Effect.fail(fault)
      try {
        return Effect.succeed(body())
      } catch (error) {
        return Effect.fail(isTagged(error) ? (error as E) : fromVolume(operation, path, error))
      }
    })
    const gate = memory.options.before?.(operation, path, toPath)
    return gate === undefined ? attempt : Effect.andThen(gate, attempt)
  })

/**
 * `run` for a synchronous call of the disk's contract (a `FileCreator`'s): `fail` is asked, a
 * `before` hook cannot run; the failure is returned, named by `shown`.
 */
export const runNow = (memory: Memory, operation: Operation, path: string, shown: string, body: () => void): DiskError | undefined => {
  const fault = injected(memory, operation, path)
  if (fault !== undefined) return fault
  try {
    body()
    return undefined
  } catch (error) {
    return fromVolume(operation, shown, error)
  }
}

/** A synchronous step that throws a tagged error, as an effect. */
export const attempt = <A>(body: () => A): Effect.Effect<A, DiskError> => Effect.try({ try: body, catch: (error) => error as DiskError })

export const lstat = (volume: Volume, path: string): Stat | undefined => {
  try {
    return volume.lstatSync(path) as unknown as Stat
  } catch {
    return undefined
  }
}

/** The directory as this disk holds it, failing if it is another's or was moved or replaced since it was opened. */
export const held = (memory: Memory, directory: Directory): MemoryDirectory => {
  if (!(directory instanceof MemoryDirectory) || directory.memory !== memory) {
    throw errno("open", directory.shown, "EBADF", "not a directory opened by this staging disk")
  }
  const now = lstat(memory.volume, directory.path)
  if (now === undefined || !now.isDirectory() || Number(now.ino) !== directory.ino) {
    throw errno("open", directory.shown, "ENOENT", "moved or replaced since it was opened")
  }
  return directory
}

/** The volume path of an open directory (see `held`). */
export const where = (memory: Memory, directory: Directory): string => held(memory, directory).path

export const join = (dir: string, name: string) => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

export const shownIn = (directory: Directory, name: FileName | string) =>
  `${directory.shown.replace(/\/+$/, "")}/${typeof name === "string" ? name : showName(name)}`

export const pin = (memory: Memory, shown: string, path: string): MemoryDirectory =>
  new MemoryDirectory(memory, shown, path, Number((memory.volume.lstatSync(path) as unknown as Stat).ino))

/** The volume path of entry `name` of an open directory; only a single plain name is one. */
export const entryPath = (memory: Memory, directory: Directory, name: FileName | string): string => {
  const stored = typeof name === "string" ? name : memoryName(name)
  if (!isPlainFileName(stored)) throw errno("open", shownIn(directory, name), "EINVAL", "not a single plain file name")
  return join(where(memory, directory), stored)
}

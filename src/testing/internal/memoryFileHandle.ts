// Open files of the memory FileSystem: `open`'s flags, and a file with its own position, like the
// Node layer's.
import { Effect, FileSystem, Option, PlatformError, Semaphore } from "effect"
import { fs as memfs, Volume } from "memfs"
import { makeFileInfo, type MemfsStats, type Memory, toPlatformError } from "./memoryVolume.js"

export const openFlagBits = (flag: FileSystem.OpenFlag): number => {
  const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } = memfs.constants
  switch (flag) {
    case "r":
      return O_RDONLY
    case "r+":
      return O_RDWR
    case "w":
      return O_TRUNC | O_CREAT | O_WRONLY
    case "wx":
      return O_TRUNC | O_CREAT | O_WRONLY | O_EXCL
    case "w+":
      return O_TRUNC | O_CREAT | O_RDWR
    case "wx+":
      return O_TRUNC | O_CREAT | O_RDWR | O_EXCL
    case "a":
      return O_APPEND | O_CREAT | O_WRONLY
    case "ax":
      return O_APPEND | O_CREAT | O_WRONLY | O_EXCL
    case "a+":
      return O_APPEND | O_CREAT | O_RDWR
    case "ax+":
      return O_APPEND | O_CREAT | O_RDWR | O_EXCL
  }
}

export const open: (memory: Memory) => FileSystem.FileSystem["open"] = (memory) => (path, opts) => {
  const flag = opts?.flag ?? "r"
  // noFollow: O_NOFOLLOW, so a symbolic link at `path` is ELOOP (BadResource), as on Linux
  const flags = opts?.noFollow === true ? openFlagBits(flag) | memfs.constants.O_NOFOLLOW : flag
  return Effect.map(
    Effect.acquireRelease(
      memory.run("open", path, undefined, () => memory.volume.openSync(path, flags, memory.fileMode(opts?.mode))),
      (fd) => Effect.sync(() => memory.volume.closeSync(fd))
    ),
    (fd) => makeFile(memory.volume, fd, flag.startsWith("a"))
  )
}

export const negativePosition = (method: string) =>
  PlatformError.badArgument({ module: "FileSystem", method, description: "Cannot read before the start of the file" })

/** An open file of the volume, with its own position, like the Node layer's. */
export const makeFile = (volume: Volume, fd: number, append: boolean): FileSystem.File => {
  let position = 0n
  const semaphore = Semaphore.makeUnsafe(1)
  const locked = semaphore.withPermits(1)
  const onFd = <A>(method: string, body: () => A) =>
    Effect.try({ try: body, catch: (error) => toPlatformError(method, fd, error) })
  const writeAllChunk = (buffer: Uint8Array): Effect.Effect<void, PlatformError.PlatformError> =>
    Effect.flatMap(
      onFd("writeAll", () => volume.writeSync(fd, buffer, 0, buffer.length, append ? null : Number(position))),
      (written) => {
        if (written === 0) {
          return Effect.fail(PlatformError.systemError({
            module: "FileSystem",
            method: "writeAll",
            _tag: "WriteZero",
            pathOrDescriptor: fd,
            description: "write returned 0 bytes written"
          }))
        }
        if (!append) position += BigInt(written)
        return written < buffer.length ? writeAllChunk(buffer.subarray(written)) : Effect.void
      }
    )
  const readAt = (method: string, buffer: Uint8Array, at: bigint) =>
    onFd(method, () => volume.readSync(fd, buffer, 0, buffer.length, Number(at)))
  return {
    [FileSystem.FileTypeId]: FileSystem.FileTypeId,
    stat: onFd("stat", () => makeFileInfo(volume.fstatSync(fd) as unknown as MemfsStats)),
    sync: onFd("sync", () => volume.fsyncSync(fd)),
    seek: (offset, from) =>
      locked(Effect.suspend(() => {
        const next = from === "start" ? offset : position + offset
        if (next < 0n) {
          return Effect.fail(PlatformError.badArgument({
            module: "FileSystem",
            method: "seek",
            description: "Cannot seek before the start of the file"
          }))
        }
        position = next
        return Effect.succeed(next)
      })),
    read: (buffer, options) =>
      locked(Effect.suspend(() => {
        const explicit = options?.position
        if (explicit !== undefined) return explicit < 0n ? Effect.fail(negativePosition("read")) : readAt("read", buffer, explicit)
        return Effect.map(readAt("read", buffer, position), (read) => {
          position += BigInt(read)
          return read
        })
      })),
    readAlloc: (size, options) =>
      locked(Effect.suspend(() => {
        if (!Number.isInteger(size) || size < 0) {
          return Effect.fail(PlatformError.badArgument({
            module: "FileSystem",
            method: "readAlloc",
            description: "size must be a non-negative integer"
          }))
        }
        const explicit = options?.position
        if (explicit !== undefined && explicit < 0n) return Effect.fail(negativePosition("readAlloc"))
        const buffer = new Uint8Array(size)
        return Effect.map(readAt("readAlloc", buffer, explicit ?? position), (read) => {
          if (read === 0) return Option.none()
          if (explicit === undefined) position += BigInt(read)
          return Option.some(buffer.subarray(0, read))
        })
      })),
    truncate: (length) =>
      locked(Effect.map(
        onFd("truncate", () => volume.ftruncateSync(fd, length)),
        () => {
          const size = BigInt(length ?? 0)
          if (!append && position > size) position = size
        }
      )),
    write: (buffer) =>
      locked(Effect.map(
        onFd("write", () => volume.writeSync(fd, buffer, 0, buffer.length, append ? null : Number(position))),
        (written) => {
          if (!append) position += BigInt(written)
          return written
        }
      )),
    writeAll: (buffer) => buffer.length === 0 ? Effect.void : locked(writeAllChunk(buffer))
  }
}

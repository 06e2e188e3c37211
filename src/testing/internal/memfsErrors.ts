// The memfs volume's errors, paths and stats as Effect 4's Node layer gives them, so that code
// under test sees the same PlatformError tags and File.Info shapes on the memory file system.
import { ByteSize, type FileSystem, Option, PlatformError } from "effect"

export const tagOf = (code: unknown): PlatformError.SystemErrorTag => {
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

export const toPlatformError = (method: string, path: string | number, error: unknown): PlatformError.PlatformError => {
  const code = typeof error === "object" && error !== null && "code" in error ? (error as { code: unknown }).code : undefined
  if (typeof code !== "string") {
    return PlatformError.badArgument({
      module: "FileSystem",
      method,
      description: error instanceof Error ? error.message : String(error),
      cause: error
    })
  }
  const syscall = (error as { syscall?: unknown }).syscall
  return PlatformError.systemError({
    _tag: tagOf(code),
    module: "FileSystem",
    method,
    pathOrDescriptor: path,
    ...(typeof syscall === "string" ? { syscall } : {}),
    description: error instanceof Error ? error.message : code,
    cause: error
  })
}

export const errnoError = (code: string, syscall: string, path: string): Error =>
  Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path })

export const randomHex = (bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++) out += Math.floor(Math.random() * 256).toString(16).padStart(2, "0")
  return out
}

export const dirname = (path: string): string => {
  const i = path.replace(/\/+$/, "").lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}

export const basename = (path: string): string => path.replace(/\/+$/, "").slice(path.replace(/\/+$/, "").lastIndexOf("/") + 1)

export const joinPath = (dir: string, name: string): string => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

export interface MemfsStats {
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
}

export const typeOf = (stat: Pick<MemfsStats, "isFile" | "isDirectory" | "isSymbolicLink" | "isBlockDevice" | "isCharacterDevice" | "isFIFO" | "isSocket">): FileSystem.File.Type =>
  stat.isFile()
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
    : "Unknown"

// As Effect 4's Node layer: devices, inodes, link counts, blocks and sizes are bigint; ids and mode numbers.
export const makeFileInfo = (stat: MemfsStats): FileSystem.File.Info => ({
  type: typeOf(stat),
  mtime: Option.some(stat.mtime),
  atime: Option.some(stat.atime),
  birthtime: Option.some(stat.birthtime),
  dev: BigInt(stat.dev),
  rdev: Option.some(BigInt(stat.rdev)),
  ino: Option.some(BigInt(stat.ino)),
  mode: Number(stat.mode),
  nlink: Option.some(BigInt(stat.nlink)),
  uid: Option.some(Number(stat.uid)),
  gid: Option.some(Number(stat.gid)),
  size: ByteSize.bytes(BigInt(stat.size)),
  blksize: Option.some(ByteSize.bytes(BigInt(stat.blksize))),
  blocks: Option.some(BigInt(stat.blocks))
})

// The memfs volume under the memory FileSystem: errno codes as Effect's platform errors (mapped
// as @effect/platform-node maps them), paths, stats as Effect 4's `File.Info`, and the run of
// every operation through the hooks.
import { ByteSize, Effect, FileSystem, Option, PlatformError } from "effect"
import type { Volume } from "memfs"
import type { Operation, Options } from "../MemoryFileSystem.js"

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

/** What every operation below shares: the volume, the hooks and the umask. */
export interface Memory {
  readonly volume: Volume
  readonly run: <A>(operation: Operation, path: string, toPath: string | undefined, body: () => A) => Effect.Effect<A, PlatformError.PlatformError>
  readonly fileMode: (mode: number | undefined) => number
  readonly dirMode: (mode: number | undefined) => number
}

// Every operation goes through here: hooks first, then memfs, errors mapped like the Node layer.
export const makeRun = (options: Options): Memory["run"] => (operation, path, toPath, body) =>
  Effect.suspend(() => {
    const attempt = Effect.suspend(() => {
      const tag = options.fail?.(operation, path, toPath)
      if (tag !== undefined) {
        return Effect.fail(PlatformError.systemError({
          _tag: tag,
          module: "FileSystem",
          method: operation,
          pathOrDescriptor: path,
          description: `injected fault: ${operation} ${path}${toPath === undefined ? "" : ` -> ${toPath}`}`
        }))
      }
      try {
        return Effect.succeed(body())
      } catch (error) {
        return Effect.fail(toPlatformError(operation, path, error))
      }
    })
    const gate = options.before?.(operation, path, toPath)
    return gate === undefined ? attempt : Effect.andThen(gate, attempt)
  })

export const isDirectory = (volume: Volume, path: string): boolean => {
  try {
    return volume.statSync(path).isDirectory()
  } catch {
    return false
  }
}

export const makeTempDirectory = (memory: Memory, method: Operation, opts?: { readonly directory?: string | undefined; readonly prefix?: string | undefined }) => {
  const directory = opts?.directory ?? "/tmp"
  return memory.run(method, directory, undefined, () => {
    if (opts?.directory === undefined) memory.volume.mkdirSync(directory, { recursive: true, mode: 0o1777 })
    const prefix = opts?.prefix ?? ""
    const made = String(
      memory.volume.mkdtempSync(prefix === "" ? `${directory.replace(/\/+$/, "")}/` : joinPath(directory, prefix))
    )
    memory.volume.chmodSync(made, 0o700) // as mkdtemp(3) on a real disk
    return made
  })
}

export const makeTempFile = (
  memory: Memory,
  opts?: { readonly directory?: string | undefined; readonly prefix?: string | undefined; readonly suffix?: string | undefined }
) =>
  Effect.flatMap(makeTempDirectory(memory, "makeTempFile", opts), (directory) => {
    const file = joinPath(directory, randomHex(6) + (opts?.suffix ?? ""))
    return memory.run("makeTempFile", file, undefined, () => {
      memory.volume.writeFileSync(file, "", { mode: 0o600 })
      return file
    })
  })

export const remove = (memory: Memory, path: string, opts?: { readonly recursive?: boolean | undefined; readonly force?: boolean | undefined }) =>
  memory.run("remove", path, undefined, () =>
    memory.volume.rmSync(path, { recursive: opts?.recursive ?? false, force: opts?.force ?? false }))

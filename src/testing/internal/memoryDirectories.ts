// The memory disk's directories: opening, private directories (made, put in place, reclaimed,
// removed), listings and leftovers.
import { Effect } from "effect"
import type { Scope } from "effect"
import type { Ownership } from "../../domain/Peer.js"
import { showName } from "../../domain/Peer.js"
import { isRemovableLeftover, privateName, shortPrivateName } from "../../disk/privateDir.js"
import { NameListBuilder } from "../../disk/NameList.js"
import {
  type Directory,
  type DirectoryEntry,
  type DiskError,
  type FileListing,
  NotRegularFile,
  type PrivateDirectoryOptions,
  type Usage
} from "../../disk/StagingDisk.js"
import {
  attempt,
  entryPath,
  errno,
  held,
  join,
  lstat,
  type Memory,
  MemoryDirectory,
  pin,
  run,
  shownIn,
  type Stat,
  typeOf,
  where
} from "./memoryDisk.js"
import { nameOf } from "./memoryNames.js"

const encoder = new TextEncoder()

export const openDirectory = (memory: Memory, path: string) =>
  run(memory, "openDirectory", path, undefined, (): Directory => {
    const real = String(memory.volume.realpathSync(path))
    if (!(memory.volume.statSync(real) as unknown as Stat).isDirectory()) throw errno("open", path, "ENOTDIR", "not a directory")
    return pin(memory, path, real)
  })

export const openSubdirectory = (
  memory: Memory,
  parent: Directory,
  name: string,
  create: { readonly mode: number; readonly ownership?: Ownership | undefined } | undefined
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

export const makePrivateDirectory = (
  memory: Memory,
  parent: Directory,
  privateOwner: Ownership | undefined,
  options: PrivateDirectoryOptions | undefined
): Effect.Effect<Directory, DiskError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const name = options?.short === true ? shortPrivateName() : privateName(memory.mark)
      return Effect.flatMap(attempt(() => [entryPath(memory, parent, name), held(memory, parent)] as const), ([path, madeIn]) =>
        run(memory, "makePrivateDirectory", path, undefined, () => {
          memory.volume.mkdirSync(path, { mode: 0o700 })
          memory.volume.chmodSync(path, options?.mode ?? 0o700)
          if (privateOwner !== undefined) memory.volume.chownSync(path, privateOwner.uid, privateOwner.gid)
          const directory = pin(memory, shownIn(parent, name), path)
          directory.made = { parent: madeIn, path }
          return directory
        }))
    }),
    // once it has replaced a directory it is that directory: nothing to remove
    (directory) => directory.made === undefined ? Effect.void : remove(memory, directory.made.path)
  )

export const replaceEmptyDirectory = (
  memory: Memory,
  parent: Directory,
  from: Directory,
  name: string,
  attributes: { readonly mode: number; readonly ownership?: Ownership | undefined }
) =>
  Effect.flatMap(
    attempt(() => {
      const made = from instanceof MemoryDirectory ? from.made : undefined
      if (made === undefined || made.parent !== parent) {
        throw errno("rename", shownIn(parent, name), "EINVAL", "not a private directory of this parent")
      }
      return [held(memory, from), entryPath(memory, parent, name)] as const
    }),
    ([source, target]) =>
      run(memory, "replaceEmptyDirectory", source.path, target, () => {
        const { volume } = memory
        // as rename(2): only an empty directory is replaced
        const found = lstat(volume, target)
        if (found !== undefined && !found.isDirectory()) throw errno("rename", shownIn(parent, name), "ENOTDIR")
        if (found !== undefined && (volume.readdirSync(target) as Array<unknown>).length > 0) {
          throw errno("rename", shownIn(parent, name), "ENOTEMPTY")
        }
        if (attributes.ownership !== undefined) volume.chownSync(source.path, attributes.ownership.uid, attributes.ownership.gid)
        volume.chmodSync(source.path, attributes.mode)
        if (found !== undefined) volume.rmdirSync(target)
        volume.renameSync(source.path, target)
        // the open directory moved with it (what was open at `name` is gone)
        source.path = target
        source.ino = Number((volume.lstatSync(target) as unknown as Stat).ino)
        source.made = undefined
      })
  ).pipe(Effect.uninterruptible)

export const reclaim = (memory: Memory, directory: Directory) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "reclaim", path, undefined, () => {
      memory.volume.chownSync(path, memory.owner.uid, memory.owner.gid)
      memory.volume.chmodSync(path, 0o700)
    }))

export const list = (memory: Memory, directory: Directory, sizes: boolean) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "list", path, undefined, () =>
      (memory.volume.readdirSync(path) as Array<unknown>).map(String).map((stored): DirectoryEntry => {
        const found = lstat(memory.volume, join(path, stored))
        const type = found === undefined ? "Unknown" : typeOf(found)
        return sizes && type === "File" ? { name: nameOf(stored), type, size: Number(found!.size) } : { name: nameOf(stored), type }
      })))

export const usage = (memory: Memory, directory: Directory) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "usage", path, undefined, (): Usage => {
      const names = (memory.volume.readdirSync(path) as Array<unknown>).map(String)
      const bytes = names.reduce((total, stored) => total + Number(lstat(memory.volume, join(path, stored))?.size ?? 0), 0)
      return { files: names.length, bytes }
    }))

export const removeLeftovers = (memory: Memory, directory: Directory) =>
  Effect.flatMap(attempt(() => where(memory, directory)), (path) =>
    run(memory, "removeLeftovers", path, undefined, () => {
      const { volume } = memory
      const removed: Array<string> = []
      for (const stored of (volume.readdirSync(path) as Array<unknown>).map(String)) {
        const info = lstat(volume, join(path, stored))
        if (!isRemovableLeftover(stored, info?.isDirectory() ?? false, () => info?.mtimeMs, memory.startTimeOf)) continue
        volume.rmSync(join(path, stored), { recursive: true, force: true })
        removed.push(showName(nameOf(stored)))
      }
      return removed as ReadonlyArray<string>
    }))

/** A `FileListing` made from `list` (a memory disk holds few files: no cheaper way needed). */
export const listFiles = (memory: Memory, directory: Directory, sizes: boolean, maxFiles: number | undefined) =>
  Effect.map(list(memory, directory, sizes), (entries): FileListing => {
    const builder = new NameListBuilder()
    const others: Array<DirectoryEntry> = []
    let bytes = 0
    for (const entry of entries) {
      if (entry.type !== "File") others.push(entry)
      else if (maxFiles === undefined || builder.length <= maxFiles) {
        builder.push(entry.name)
        bytes += entry.size ?? 0
      }
    }
    const truncated = maxFiles !== undefined && builder.length > maxFiles
    others.sort((a, b) => Buffer.compare(a.name, b.name))
    return { files: builder.build().sorted(), bytes, others, truncated }
  })

// Private directories: made fresh with a name that marks this process as their maker, held by
// descriptor, removed whole with their scope (or put in place of an empty directory); and the
// leftovers of runs that are gone, removed.
import { Effect } from "effect"
import * as NFS from "node:fs"
import { type Ownership, showName } from "../../../domain/Peer.js"
import { isRemovableLeftover, ownMark, privateName, shortPrivateName } from "../../privateDir.js"
import { type Directory, DiskError, type PrivateDirectoryOptions } from "../../StagingDisk.js"
import { attempt, closeQuietly, codeOf, diskError, syncOperation } from "./errno.js"
import { DIRECTORY, HeldDirectory, heldOf, pathIn, release, shownIn } from "./held.js"

/** This process's maker mark, read once. */
const mark = ownMark()

// Removes an entry of any kind below a directory this process holds: a directory is emptied
// through its own descriptor, so a subdirectory swapped for a link meanwhile is unlinked, never
// followed. Throws what node:fs throws.
const removeEntry = (parentPath: string, name: Buffer): void => {
  const path = Buffer.concat([Buffer.from(`${parentPath}/`), name])
  try {
    NFS.unlinkSync(path)
    return
  } catch (error) {
    const code = codeOf(error)
    if (code === "ENOENT") return
    if (code !== "EISDIR" && code !== "EPERM") throw error
  }
  let fd: number
  try {
    fd = NFS.openSync(path, DIRECTORY)
  } catch (error) {
    const code = codeOf(error)
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

/** Makes a fresh private directory in `parent`, retrying a short name that is taken. */
const makeFreshDirectory = (parent: HeldDirectory, short: boolean): { readonly name: Buffer; readonly path: Buffer } | DiskError => {
  for (let attempts = 0;; attempts++) {
    const name = short ? shortPrivateName() : privateName(mark)
    const path = pathIn(parent, name)
    if (path instanceof DiskError) return path
    try {
      NFS.mkdirSync(path, { mode: 0o700 })
      return { name: Buffer.from(name), path }
    } catch (error) {
      if (codeOf(error) !== "EEXIST" || attempts >= 10) return diskError("makeDirectory", shownIn(parent, name), error)
    }
  }
}

// Made by path, then held by descriptor: everything after the mkdir happens on the descriptor,
// so a directory renamed away and replaced meanwhile (the parent may be another user's) is
// refused, never moded or chowned.
const makeHeld = (parent: Directory, owner: Ownership | undefined, options: PrivateDirectoryOptions | undefined) => {
  const held = heldOf(parent)
  if (held instanceof DiskError) return held
  const made = makeFreshDirectory(held, options?.short === true)
  if (made instanceof DiskError) return made
  const shown = shownIn(parent, made.name)
  const fd = attempt("open", shown, () => NFS.openSync(made.path, DIRECTORY))
  if (fd instanceof DiskError) return fd
  // what was opened must be what this process just made: its own, and empty
  const stats = attempt("stat", shown, () => NFS.fstatSync(fd))
  const failed = stats instanceof DiskError
    ? stats
    : !stats.isDirectory() || stats.uid !== process.geteuid!() || stats.nlink !== 2
    ? new DiskError({ operation: "makeDirectory", path: shown, detail: "replaced while being made" })
    : attempt("chmod", shown, () => NFS.fchmodSync(fd, options?.mode ?? 0o700)) ??
      (owner === undefined ? undefined : attempt("chown", shown, () => NFS.fchownSync(fd, owner.uid, owner.gid)))
  if (failed !== undefined) {
    closeQuietly(fd)
    return failed
  }
  const directory = new HeldDirectory(shown, fd)
  directory.made = { parent: held, name: made.name }
  return directory
}

// The clean-up empties it through the same descriptor and then removes the name, which rmdir(2)
// does only for an empty directory: if the name now holds something else, that stays.
const removePrivate = (directory: HeldDirectory) =>
  syncOperation("remove", directory.shown, () => {
    const made = directory.made
    // once it has replaced a directory it is that directory: nothing to remove
    if (made === undefined) return
    directory.made = undefined
    const path = pathIn(made.parent, made.name)
    if (path instanceof DiskError) return path
    return attempt("remove", directory.shown, () => {
      emptyDirectory(directory.fd)
      NFS.rmdirSync(path)
    })
  }).pipe(
    Effect.catch((error) => Effect.logWarning(`cannot remove ${directory.shown}: ${error.detail}`)),
    Effect.andThen(release(directory))
  )

export const makePrivateDirectory = (parent: Directory, owner?: Ownership, options?: PrivateDirectoryOptions) =>
  Effect.acquireRelease(
    syncOperation("makeDirectory", parent.shown, () => makeHeld(parent, owner, options)),
    removePrivate
  )

export const replaceEmptyDirectory = (
  parent: Directory,
  from: Directory,
  name: string,
  attributes: { readonly mode: number; readonly ownership?: Ownership | undefined }
) =>
  syncOperation("rename", shownIn(parent, name), () => {
    const shown = shownIn(parent, name)
    const held = heldOf(from)
    if (held instanceof DiskError) return held
    const made = held.made
    if (made === undefined || made.parent !== parent) {
      return new DiskError({ operation: "rename", path: shown, detail: "not a private directory of this parent" })
    }
    const owner = attributes.ownership
    const source = pathIn(parent, made.name)
    if (source instanceof DiskError) return source
    const target = pathIn(parent, name)
    if (target instanceof DiskError) return target
    const failed = (owner === undefined ? undefined : attempt("chown", from.shown, () => NFS.fchownSync(held.fd, owner.uid, owner.gid))) ??
      attempt("chmod", from.shown, () => NFS.fchmodSync(held.fd, attributes.mode)) ??
      // rename(2) replaces an empty directory and refuses anything else: no check to race with
      attempt("rename", shown, () => NFS.renameSync(source, target))
    if (failed !== undefined) return failed
    held.made = undefined
  }).pipe(Effect.uninterruptible)

export const reclaim = (directory: Directory) =>
  syncOperation("chown", directory.shown, () => {
    const held = heldOf(directory)
    if (held instanceof DiskError) return held
    return attempt("chown", directory.shown, () => NFS.fchownSync(held.fd, process.geteuid!(), process.getegid!())) ??
      attempt("chmod", directory.shown, () => NFS.fchmodSync(held.fd, 0o700))
  })

const modifiedTime = (dir: string, name: Buffer): number | undefined => {
  try {
    return NFS.lstatSync(Buffer.concat([Buffer.from(`${dir}/`), name])).mtimeMs
  } catch {
    return undefined
  }
}

export const removeLeftovers = (directory: Directory) =>
  syncOperation("remove", directory.shown, () => {
    const held = heldOf(directory)
    if (held instanceof DiskError) return held
    const entries = attempt("remove", directory.shown, () => NFS.readdirSync(held.path, { encoding: "buffer", withFileTypes: true }))
    if (entries instanceof DiskError) return entries
    const removed: Array<string> = []
    for (const entry of entries) {
      const name = entry.name.toString("latin1")
      if (!isRemovableLeftover(name, entry.isDirectory(), () => modifiedTime(held.path, entry.name))) continue
      const failed = attempt("remove", shownIn(directory, entry.name), () => removeEntry(held.path, entry.name))
      if (failed !== undefined) return failed
      removed.push(showName(entry.name))
    }
    return removed as ReadonlyArray<string>
  })

// Directories held open: each is its descriptor, and its entries are addressed as
// `/proc/self/fd/<fd>/<name>` with names as bytes, so renaming or replacing a parent after it was
// opened redirects nothing. Opening one (by the administrator's path, or below one without
// following a link) and closing it with its scope.
import { Effect } from "effect"
import * as NFS from "node:fs"
import { isPlainFileNameBytes, type Ownership, showName } from "../../../domain/Peer.js"
import { type Directory, DiskError, type FileName, NotRegularFile } from "../../StagingDisk.js"
import { attempt, blockerType, closeQuietly, codeOf, diskError, isFailure, syncOperation } from "./errno.js"

const C = NFS.constants
// (libuv opens every descriptor close-on-exec already)
export const DIRECTORY = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW

const utf8 = new TextEncoder()

export const bytesOf = (name: FileName | string): Uint8Array => (typeof name === "string" ? utf8.encode(name) : name)

/**
 * A directory this disk opened: the descriptor it holds and what goes with it, carried by the
 * value the caller holds, so no registry on the side has to be kept in step with it.
 */
export class HeldDirectory implements Directory {
  /** `/proc/self/fd/<fd>/` as bytes: the start of its entries' paths */
  readonly prefix: Buffer
  /** closed with its scope: no operation takes it afterwards (the number may be reused) */
  closed = false
  /**
   * Where a private directory made by `makePrivateDirectory` is, until it has taken the place of
   * another one (`replaceEmptyDirectory`): then it is that directory, and nothing is removed.
   */
  made: { readonly parent: HeldDirectory; readonly name: Buffer } | undefined = undefined

  constructor(readonly shown: string, readonly fd: number) {
    this.prefix = Buffer.from(`/proc/self/fd/${fd}/`)
  }

  /** The directory's own path through its descriptor. */
  get path(): string {
    return `/proc/self/fd/${this.fd}`
  }
}

/** The directory as this disk holds it; a directory of another disk, or one closed, is refused. */
export const heldOf = (directory: Directory): HeldDirectory | DiskError =>
  directory instanceof HeldDirectory && !directory.closed
    ? directory
    : new DiskError({ operation: "open", path: directory.shown, detail: "not a directory opened by this staging disk" })

export const shownIn = (directory: Directory, name: FileName | string) =>
  `${directory.shown.replace(/\/+$/, "")}/${typeof name === "string" ? name : showName(name)}`

/** The path of entry `name` of an open directory through its descriptor; only a single plain name is one. */
export const pathIn = (directory: Directory, name: FileName | string): Buffer | DiskError => {
  const held = heldOf(directory)
  if (held instanceof DiskError) return held
  const bytes = bytesOf(name)
  if (!isPlainFileNameBytes(bytes)) {
    return new DiskError({ operation: "open", path: shownIn(directory, name), detail: "not a single plain file name" })
  }
  const path = Buffer.allocUnsafe(held.prefix.length + bytes.length)
  held.prefix.copy(path, 0)
  path.set(bytes, held.prefix.length)
  return path
}

export const release = (directory: HeldDirectory) =>
  Effect.sync(() => {
    if (directory.closed) return
    directory.closed = true
    closeQuietly(directory.fd)
  })

export const openDirectory = (path: string) =>
  Effect.acquireRelease(
    syncOperation("open", path, () => attempt("open", path, () => new HeldDirectory(path, NFS.openSync(path, C.O_RDONLY | C.O_DIRECTORY)))),
    release
  )

/** Opens the directory at `path` without following a link; a link or a non-directory there is `NotRegularFile`. */
const openBelow = (path: Buffer, name: string, shown: string): number | DiskError | NotRegularFile => {
  try {
    return NFS.openSync(path, DIRECTORY)
  } catch (error) {
    const code = codeOf(error)
    if (code === "ELOOP" || code === "ENOTDIR") return new NotRegularFile({ name: bytesOf(name), path: shown, type: blockerType(path) })
    return diskError("open", shown, error)
  }
}

const openOrCreate = (
  parent: Directory,
  name: string,
  create: { readonly mode: number; readonly ownership?: Ownership | undefined } | undefined
) => {
  const path = pathIn(parent, name)
  if (path instanceof DiskError) return path
  const shown = shownIn(parent, name)
  let created = false
  let fd = openBelow(path, name, shown)
  if (create !== undefined && fd instanceof DiskError && fd.code === "ENOENT") {
    const made = attempt("makeDirectory", shown, () => NFS.mkdirSync(path, { mode: create.mode }))
    if (made instanceof DiskError) return made
    created = true
    fd = openBelow(path, name, shown)
  }
  if (isFailure(fd)) return fd
  if (create !== undefined) {
    // the directory, new or found, is given its mode and owner on the open directory
    const owner = create.ownership
    const failed = (owner === undefined ? undefined : attempt("chown", shown, () => NFS.fchownSync(fd, owner.uid, owner.gid))) ??
      attempt("chmod", shown, () => NFS.fchmodSync(fd, create.mode))
    if (failed instanceof DiskError) {
      closeQuietly(fd)
      return failed
    }
  }
  return { directory: new HeldDirectory(shown, fd), created }
}

export const openSubdirectory = (
  parent: Directory,
  name: string,
  create?: { readonly mode: number; readonly ownership?: Ownership | undefined }
) =>
  Effect.acquireRelease(
    syncOperation("open", parent.shown, () => openOrCreate(parent, name, create)),
    ({ directory }) => release(directory)
  )

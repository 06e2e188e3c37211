// Regular files of held directories: opened without following a link or blocking on a fifo and
// checked once open; read, adopted, renamed into place, emptied, created and written, replaced.
import { Effect } from "effect"
import type { Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as NFS from "node:fs"
import { readOpenFile } from "../../configuredFile.js"
import { entryTypeOf } from "../../entryType.js"
import {
  type Directory,
  DiskError,
  type FileAttributes,
  type FileCreator,
  type FileName,
  type FileNames,
  type FileWriter,
  NotRegularFile
} from "../../StagingDisk.js"
import { attempt, blockerType, closeQuietly, codeOf, diskError, isFailure, syncOperation } from "./errno.js"
import { bytesOf, pathIn, shownIn } from "./held.js"

const C = NFS.constants
const READ = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY
export const CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NOCTTY
const EMPTY_FILE = C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY

/** A regular file open for reading, and what fstat said of it then. */
export interface OpenFile {
  readonly fd: number
  readonly stats: NFS.Stats
}

/** Opens `name` in `directory` for reading without following a link or blocking; it must be a regular file. */
export const openRegular = (directory: Directory, name: FileName): OpenFile | DiskError | NotRegularFile => {
  const path = pathIn(directory, name)
  if (path instanceof DiskError) return path
  let fd: number
  try {
    fd = NFS.openSync(path, READ)
  } catch (error) {
    const code = codeOf(error)
    // ELOOP: a link; ENXIO: a socket (or a fifo-like thing without a peer)
    if (code === "ELOOP" || code === "ENXIO") return new NotRegularFile({ name, path: shownIn(directory, name), type: blockerType(path) })
    return diskError("open", shownIn(directory, name), error)
  }
  const stats = attempt("stat", () => shownIn(directory, name), () => NFS.fstatSync(fd))
  if (stats instanceof DiskError || !stats.isFile()) {
    closeQuietly(fd)
    return stats instanceof DiskError ? stats : new NotRegularFile({ name, path: shownIn(directory, name), type: entryTypeOf(stats) })
  }
  return { fd, stats }
}

export const readFile = (directory: Directory, name: string, maxBytes: number) =>
  syncOperation("read", shownIn(directory, name), () => {
    const opened = openRegular(directory, bytesOf(name))
    if (isFailure(opened)) return opened
    try {
      return new Uint8Array(readOpenFile(opened.fd, shownIn(directory, name), maxBytes))
    } finally {
      closeQuietly(opened.fd)
    }
  })

/** Sets what `attributes` ask on an open file; `chown` only when `always` or the owner differs. */
const setAttributes = (fd: number, shown: () => string, attributes: FileAttributes, mode: number, stats?: NFS.Stats) => {
  const owner = attributes.ownership
  const chown = owner !== undefined && (stats === undefined || stats.uid !== owner.uid || stats.gid !== owner.gid)
  if (chown) {
    const failed = attempt("chown", shown, () => NFS.fchownSync(fd, owner.uid, owner.gid))
    if (failed !== undefined) return failed
  }
  // no set-id or sticky bit survives; after a chown the mode is set again whatever it was
  if (stats === undefined || chown || (stats.mode & 0o7777) !== mode) return attempt("chmod", shown, () => NFS.fchmodSync(fd, mode))
  return undefined
}

export const adoptFiles = (directory: Directory, names: ReadonlyArray<FileName>, attributes: FileAttributes) =>
  syncOperation("adopt", directory.shown, () => {
    let bytes = 0
    for (const name of names) {
      const opened = openRegular(directory, name)
      if (isFailure(opened)) return opened
      const { fd, stats } = opened
      const shown = () => shownIn(directory, name)
      // usually already so (scp ran as the backup user): two calls a file saved
      const failed = stats.nlink !== 1
        ? new NotRegularFile({ name, path: shown(), type: "HardLink" })
        : setAttributes(fd, shown, attributes, attributes.permissions ?? (stats.mode & 0o777), stats)
      closeQuietly(fd)
      if (failed !== undefined) return failed
      bytes += stats.size
    }
    return { count: names.length, bytes }
  })

export const commit = (from: Directory, names: FileNames, to: Directory) =>
  syncOperation("rename", to.shown, () => {
    for (let i = 0; i < names.length; i++) {
      const name = names.at(i)!
      const source = pathIn(from, name)
      const target = pathIn(to, name)
      const failed = source instanceof DiskError
        ? source
        : target instanceof DiskError
        ? target
        : attempt("rename", () => shownIn(to, name), () => NFS.renameSync(source, target))
      if (failed !== undefined) return new DiskError({ ...failed, entry: name })
    }
  }).pipe(Effect.uninterruptible)

export const writeEmptyFile = (directory: Directory, name: string, attributes: FileAttributes) =>
  syncOperation("create", directory.shown, () => {
    const path = pathIn(directory, name)
    if (path instanceof DiskError) return path
    const shown = shownIn(directory, name)
    let fd: number
    try {
      fd = NFS.openSync(path, EMPTY_FILE, 0o644)
    } catch (error) {
      const code = codeOf(error)
      if (code === "ELOOP" || code === "ENXIO" || code === "EISDIR") {
        return new NotRegularFile({ name: bytesOf(name), path: shown, type: blockerType(path) })
      }
      return diskError("create", shown, error)
    }
    try {
      const stats = attempt("stat", shown, () => NFS.fstatSync(fd))
      if (stats instanceof DiskError) return stats
      if (!stats.isFile()) return new NotRegularFile({ name: bytesOf(name), path: shown, type: entryTypeOf(stats) })
      // truncated only once known to be this directory's own file, not a hard link to another one
      if (stats.nlink !== 1) return new NotRegularFile({ name: bytesOf(name), path: shown, type: "HardLink" })
      return attempt("create", shown, () => NFS.ftruncateSync(fd, 0)) ??
        setAttributes(fd, () => shown, attributes, attributes.permissions ?? 0o644)
    } finally {
      closeQuietly(fd)
    }
  })

/** A file a `NodeFileCreator` made: its descriptor, written with plain synchronous calls. */
class NodeFileWriter implements FileWriter {
  /** closed (finished, or its creator closed): nothing more is written to the number, which may be reused */
  private closed = false
  constructor(private readonly fd: number, private readonly shown: string, private readonly onClose: (writer: NodeFileWriter) => void) {}

  write(chunk: Uint8Array): DiskError | undefined {
    if (this.closed) return new DiskError({ operation: "write", path: this.shown, code: "EBADF", detail: "closed" })
    try {
      let written = 0
      while (written < chunk.length) written += NFS.writeSync(this.fd, chunk, written, chunk.length - written)
      return undefined
    } catch (error) {
      return diskError("write", this.shown, error)
    }
  }

  finish(attributes: FileAttributes): DiskError | undefined {
    if (this.closed) return new DiskError({ operation: "write", path: this.shown, code: "EBADF", detail: "closed" })
    const failed = setAttributes(this.fd, () => this.shown, attributes, attributes.permissions ?? 0o644)
    this.close()
    return failed instanceof DiskError ? failed : undefined
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    closeQuietly(this.fd)
    this.onClose(this)
  }
}

// Created exclusively, never through a link, readable by root alone until finished. Written
// synchronously: for the many small files of a backup a thread-pool round trip per call costs
// more than the write itself, and a big file's chunks cost no more than their write.
class NodeFileCreator implements FileCreator {
  private readonly open = new Set<NodeFileWriter>()
  private closed = false
  private readonly forget = (writer: NodeFileWriter) => void this.open.delete(writer)
  constructor(private readonly directory: Directory) {}

  create(name: FileName): FileWriter | DiskError {
    const shown = shownIn(this.directory, name)
    if (this.closed) return new DiskError({ operation: "create", path: shown, code: "EBADF", detail: "closed" })
    const path = pathIn(this.directory, name)
    if (path instanceof DiskError) return path
    const fd = attempt("create", shown, () => NFS.openSync(path, CREATE, 0o600))
    if (fd instanceof DiskError) return fd
    const writer = new NodeFileWriter(fd, shown, this.forget)
    this.open.add(writer)
    return writer
  }

  close(): void {
    this.closed = true
    for (const writer of [...this.open]) writer.close()
  }
}

export const createFiles = (directory: Directory): Effect.Effect<FileCreator, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => new NodeFileCreator(directory)), (creator) => Effect.sync(() => creator.close()))

export const replaceFile = (directory: Directory, name: string, content: Uint8Array, attributes: FileAttributes) =>
  syncOperation("create", shownIn(directory, name), () => {
    const draftName = `.${name}.${randomBytes(6).toString("hex")}.tmp`
    const draft = pathIn(directory, draftName)
    if (draft instanceof DiskError) return draft
    const target = pathIn(directory, name)
    if (target instanceof DiskError) return target
    const shownDraft = shownIn(directory, draftName)
    const fd = attempt("create", shownDraft, () => NFS.openSync(draft, CREATE, 0o600))
    if (fd instanceof DiskError) return fd
    const written = attempt("write", shownDraft, () => NFS.writeFileSync(fd, content)) ??
      setAttributes(fd, () => shownDraft, attributes, attributes.permissions ?? 0o644)
    closeQuietly(fd)
    const failed = written ?? attempt("rename", shownIn(directory, name), () => NFS.renameSync(draft, target))
    if (failed !== undefined) {
      attempt("remove", shownDraft, () => NFS.unlinkSync(draft))
      return failed
    }
  })

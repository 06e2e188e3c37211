// The memory disk's regular files: copied, hashed, read, adopted, renamed into place, emptied,
// created and written, replaced. Nothing is followed, regular files only, creation exclusive.
import { Effect } from "effect"
import type { Scope } from "effect"
import { createHash, randomBytes } from "node:crypto"
import {
  ByteLimitReached,
  type CopyOptions,
  type CopyTotals,
  type Directory,
  DiskError,
  type FileAttributes,
  type FileCreator,
  type FileName,
  type FileWriter,
  NotRegularFile
} from "../../disk/StagingDisk.js"
import { attempt, entryPath, errno, lstat, type Memory, run, runNow, shownIn, typeOf, withEntry } from "./memoryDisk.js"

const encoder = new TextEncoder()

/** The content of a regular file, looked at without following a link. */
const readRegular = (memory: Memory, directory: Directory, name: FileName) => {
  const path = entryPath(memory, directory, name)
  const found = lstat(memory.volume, path)
  if (found === undefined) throw errno("open", shownIn(directory, name), "ENOENT")
  if (!found.isFile()) throw new NotRegularFile({ name, path: shownIn(directory, name), type: typeOf(found) })
  return { path, content: new Uint8Array(memory.volume.readFileSync(path) as Buffer), stat: found }
}

const setAttributes = (memory: Memory, path: string, attributes: FileAttributes, mode: number) =>
  Effect.andThen(
    attributes.ownership === undefined
      ? Effect.void
      : run(memory, "chown", path, undefined, () => memory.volume.chownSync(path, attributes.ownership!.uid, attributes.ownership!.gid)),
    run(memory, "chmod", path, undefined, () => memory.volume.chmodSync(path, attributes.permissions ?? mode))
  )

const sha256 = (content: Uint8Array) => createHash("sha256").update(content).digest("hex")

/** Copies one file of `from` into `to`: its size, permission bits and content. */
const copyOne = (memory: Memory, from: Directory, to: Directory, name: FileName) =>
  Effect.flatMap(attempt(() => [entryPath(memory, from, name), entryPath(memory, to, name)] as const), ([source, target]) =>
    run<{ readonly target: string; readonly size: number; readonly mode: number; readonly content: Uint8Array }, NotRegularFile>(
      memory,
      "copyFile",
      source,
      target,
      () => {
        const { content, stat } = readRegular(memory, from, name)
        if (lstat(memory.volume, target) !== undefined) throw errno("create", shownIn(to, name), "EEXIST")
        memory.volume.writeFileSync(target, content, { mode: 0o600, flag: "wx" })
        return { target, size: content.length, mode: Number(stat.mode) & 0o777, content }
      }
    )).pipe(Effect.mapError((error) => withEntry(error, name)))

export const copyFiles = (
  memory: Memory,
  from: Directory,
  names: ReadonlyArray<FileName>,
  to: Directory,
  attributes: FileAttributes,
  copyOptions: CopyOptions
): Effect.Effect<CopyTotals, DiskError | NotRegularFile | ByteLimitReached> =>
  Effect.gen(function*() {
    let bytes = 0
    let count = 0
    const hashes: Array<string> = []
    for (const name of names) {
      const copied = yield* copyOne(memory, from, to, name)
      bytes += copied.size
      if (copyOptions.maxBytes !== undefined && bytes > copyOptions.maxBytes) {
        return yield* new ByteLimitReached({ max: copyOptions.maxBytes, bytes })
      }
      yield* setAttributes(memory, copied.target, attributes, copied.mode).pipe(Effect.mapError((error) => withEntry(error, name)))
      if (copyOptions.hash === true) hashes.push(sha256(copied.content))
      count += 1
      copyOptions.onProgress?.({ count, bytes })
    }
    return copyOptions.hash === true ? { count, bytes, hashes } : { count, bytes }
  })

export const hashFiles = (memory: Memory, directory: Directory, names: ReadonlyArray<FileName>) =>
  Effect.forEach(names, (name) =>
    Effect.flatMap(attempt(() => entryPath(memory, directory, name)), (path) =>
      run<string, NotRegularFile>(memory, "hash", path, undefined, () => sha256(readRegular(memory, directory, name).content))))

export const readFile = (memory: Memory, directory: Directory, name: string, maxBytes: number) =>
  Effect.flatMap(attempt(() => entryPath(memory, directory, name)), (path) =>
    run<Uint8Array, NotRegularFile>(memory, "readFile", path, undefined, () => {
      const found = lstat(memory.volume, path)
      const shown = shownIn(directory, name)
      if (found !== undefined && found.isFile() && Number(found.size) > maxBytes) {
        throw errno("read", shown, "EFBIG", `larger than the ${maxBytes} bytes allowed`)
      }
      return readRegular(memory, directory, encoder.encode(name)).content
    }))

export const adoptFiles = (memory: Memory, directory: Directory, names: ReadonlyArray<FileName>, attributes: FileAttributes) =>
  Effect.gen(function*() {
    let bytes = 0
    for (const name of names) {
      const path = yield* attempt(() => entryPath(memory, directory, name))
      const found = yield* run<{ readonly size: number; readonly mode: number }, NotRegularFile>(memory, "adopt", path, undefined, () => {
        const { content, stat } = readRegular(memory, directory, name)
        if (Number(stat.nlink) !== 1) throw new NotRegularFile({ name, path: shownIn(directory, name), type: "HardLink" })
        return { size: content.length, mode: Number(stat.mode) & 0o777 }
      })
      yield* setAttributes(memory, path, attributes, found.mode)
      bytes += found.size
    }
    return { count: names.length, bytes }
  })

export const commit = (memory: Memory, from: Directory, names: ReadonlyArray<FileName>, to: Directory) =>
  Effect.forEach(names, (name) =>
    Effect.flatMap(attempt(() => [entryPath(memory, from, name), entryPath(memory, to, name)] as const), ([source, target]) =>
      run(memory, "rename", source, target, () => {
        // as rename(2): a file never replaces a directory
        if (lstat(memory.volume, target)?.isDirectory() === true) throw errno("rename", shownIn(to, name), "EISDIR", "is a directory")
        memory.volume.renameSync(source, target)
      }).pipe(
        Effect.mapError((error) => new DiskError({ ...error, operation: "rename", path: shownIn(to, name), entry: name }))
      )), { discard: true }).pipe(Effect.uninterruptible)

export const writeEmptyFile = (memory: Memory, directory: Directory, name: string, attributes: FileAttributes) =>
  Effect.gen(function*() {
    const path = yield* attempt(() => entryPath(memory, directory, name))
    yield* run<void, NotRegularFile>(memory, "writeEmptyFile", path, undefined, () => {
      const found = lstat(memory.volume, path)
      const shown = shownIn(directory, name)
      if (found !== undefined && !found.isFile()) throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: typeOf(found) })
      if (found !== undefined && Number(found.nlink) !== 1) {
        throw new NotRegularFile({ name: encoder.encode(name), path: shown, type: "HardLink" })
      }
      memory.volume.writeFileSync(path, "", { mode: 0o644 })
    })
    yield* setAttributes(memory, path, attributes, 0o644)
  })

/** `setAttributes` as one synchronous call (`fail` is asked, a `before` hook cannot run). */
const setAttributesNow = (memory: Memory, path: string, shown: string, attributes: FileAttributes): DiskError | undefined =>
  (attributes.ownership === undefined
    ? undefined
    : runNow(memory, "chown", path, shown, () => memory.volume.chownSync(path, attributes.ownership!.uid, attributes.ownership!.gid))) ??
    runNow(memory, "chmod", path, shown, () => memory.volume.chmodSync(path, attributes.permissions ?? 0o644))

/** Writes into the volume's open file; `fail` is asked for every `write` (a `before` hook cannot run in a synchronous call). */
const writerOf = (memory: Memory, fd: number, path: string, shown: string, onClose: (close: () => void) => void) => {
  let closed = false
  const close = () => {
    if (closed) return
    closed = true
    memory.volume.closeSync(fd)
    onClose(close)
  }
  const writer: FileWriter = {
    write: (chunk) => (closed ? errno("write", shown, "EBADF", "closed") : runNow(memory, "write", path, shown, () => memory.volume.writeSync(fd, chunk))),
    finish: (attributes) => {
      if (closed) return errno("write", shown, "EBADF", "closed")
      const failed = setAttributesNow(memory, path, shown, attributes)
      close()
      return failed
    }
  }
  return { writer, close }
}

/** Files made one after another in `directory`; every call synchronous, so `fail` is asked for each, not `before`. */
export const createFiles = (memory: Memory, directory: Directory): Effect.Effect<FileCreator, never, Scope.Scope> => {
  const open = new Set<() => void>()
  let closed = false
  const create = (name: FileName): FileWriter | DiskError => {
    const shown = shownIn(directory, name)
    if (closed) return errno("create", shown, "EBADF", "closed")
    let path: string
    try {
      path = entryPath(memory, directory, name)
    } catch (error) {
      return error as DiskError
    }
    let made: ReturnType<typeof writerOf> | undefined
    const failed = runNow(memory, "createFile", path, shown, () => {
      if (lstat(memory.volume, path) !== undefined) throw errno("create", shown, "EEXIST")
      made = writerOf(memory, memory.volume.openSync(path, "wx", 0o600), path, shown, (close) => open.delete(close))
    })
    if (failed !== undefined || made === undefined) return failed ?? errno("create", shown, "EIO")
    open.add(made.close)
    return made.writer
  }
  return Effect.acquireRelease(Effect.sync((): FileCreator => ({ create })), () =>
    Effect.sync(() => {
      closed = true
      for (const close of [...open]) close()
    }))
}

export const replaceFile = (memory: Memory, directory: Directory, name: string, content: Uint8Array, attributes: FileAttributes) =>
  Effect.gen(function*() {
    const path = yield* attempt(() => entryPath(memory, directory, name))
    const draft = yield* attempt(() => entryPath(memory, directory, `.${name}.${randomBytes(6).toString("hex")}.tmp`))
    yield* run(memory, "replaceFile", path, draft, () => memory.volume.writeFileSync(draft, content, { mode: 0o600, flag: "wx" }))
    yield* setAttributes(memory, draft, attributes, 0o644).pipe(
      Effect.andThen(run(memory, "rename", draft, path, () => {
        // as rename(2): a file never replaces a directory
        if (lstat(memory.volume, path)?.isDirectory() === true) throw errno("rename", shownIn(directory, name), "EISDIR", "is a directory")
        memory.volume.renameSync(draft, path)
      })),
      Effect.onError(() => Effect.sync(() => memory.volume.rmSync(draft, { force: true })))
    )
  })

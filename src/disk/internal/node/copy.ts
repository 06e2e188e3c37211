// Copying and hashing batches of files. Each file is copied from the opened source to the target
// created exclusively, never with `fs.copyFile`: libuv's copy loops forever when the source
// shrinks during the copy (a peer user truncating a file would hang the run), and it reopens the
// source by path. Small files are copied with synchronous calls in time slices (a thread-pool
// round trip per call costs more than the call); big ones by the kernel (`copy_file_range`),
// through a `cat` given the two open descriptors, which stops at the source's end however it
// moves, watched against the byte limit while it runs; the ones between, and any when `cat`
// cannot run or a hash is wanted, asynchronously through a buffer. The whole batch is one
// interruptible effect. Every step's failure is a value, handed back to the batch, which stops
// at the first one.
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createHash, type Hash } from "node:crypto"
import * as NFS from "node:fs"
import {
  ByteLimitReached,
  type CopyOptions,
  type CopyTotals,
  type Directory,
  DiskError,
  type FileAttributes,
  type FileNames,
  type NotRegularFile
} from "../../StagingDisk.js"
import { attempt, closeQuietly, diskError, type Failure, isFailure } from "./errno.js"
import { CREATE, type OpenFile, openRegular } from "./files.js"
import { pathIn, shownIn } from "./held.js"

/** Files up to this size are copied with synchronous calls, larger ones through the thread pool. */
const SMALL_FILE = 256 * 1024
/** Files from this size on are copied by the kernel (see above): a process is cheap next to them. */
const OFFLOAD_FILE = 16 * 1024 * 1024
/** How often (ms) a kernel copy's target is looked at against the byte limit. */
const OFFLOAD_WATCH_MS = 100
const BUFFER_SIZE = 1024 * 1024
/** Files copied at once: enough to overlap large files' I/O, few enough to bound descriptors and buffers. */
const CONCURRENCY = 4
/** Synchronous work runs at most this long (ms) before the event loop gets a turn. */
const SLICE_MS = 10

/** The copy's effect was interrupted: the loops stop at their next look; never reaches a caller. */
const ABORTED = Symbol("aborted")
type Aborted = typeof ABORTED

const readAsync = (fd: number, buffer: Buffer, shown: () => string) =>
  new Promise<number | DiskError>((resolve) =>
    NFS.read(fd, buffer, 0, buffer.length, null, (e, n) => resolve(e ? diskError("read", shown(), e) : n))
  )

const writeAsync = (fd: number, buffer: Buffer, offset: number, length: number, shown: () => string) =>
  new Promise<number | DiskError>((resolve) =>
    NFS.write(fd, buffer, offset, length, null, (e, n) => resolve(e ? diskError("write", shown(), e) : n))
  )

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Copies the rest of `source` to `target` in the kernel: `cat` with the two descriptors as its
 * standard input and output uses `copy_file_range` when both are regular files, so no byte
 * passes through this process, and it ends at the source's end even when the source shrinks or
 * grows meanwhile. Resolves to the bytes the target holds, `undefined` when `cat` could not be
 * started (the caller copies itself), or why it stopped: killed when `signal` aborts, or with
 * the failure `tooBig` returns for the target's size as it grows.
 */
const kernelCopy = (source: number, target: number, shown: () => string, tooBig: (size: number) => Failure | undefined, signal: AbortSignal) =>
  new Promise<number | undefined | Failure | Aborted>((resolve) => {
    let stderr = ""
    let stopped: Failure | Aborted | undefined
    const child = spawn("cat", [], { stdio: [source, target, "pipe"] })
    const stop = (why: Failure | Aborted) => {
      stopped ??= why
      child.kill("SIGKILL")
    }
    const onAbort = () => stop(ABORTED)
    signal.addEventListener("abort", onAbort)
    const watch = setInterval(() => {
      const size = attempt("copy", shown, () => NFS.fstatSync(target).size)
      const refused = size instanceof DiskError ? size : tooBig(size)
      if (refused !== undefined) stop(refused)
    }, OFFLOAD_WATCH_MS)
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    const done = () => {
      clearInterval(watch)
      signal.removeEventListener("abort", onAbort)
    }
    child.on("error", (error) => {
      done()
      if ((error as { code?: string }).code === "ENOENT" && stopped === undefined) resolve(undefined)
      else resolve(stopped ?? diskError("copy", shown(), error))
    })
    child.on("close", (code) => {
      done()
      if (stopped !== undefined) return resolve(stopped)
      if (code !== 0) {
        const detail = stderr.trim().replace(/^cat: /, "") || `cat exited with status ${code}`
        const errno = /no space left/i.test(detail) ? { code: "ENOSPC" } : {}
        return resolve(new DiskError({ operation: "copy", path: shown(), detail, ...errno }))
      }
      resolve(attempt("copy", shown, () => NFS.fstatSync(target).size))
    })
  })

/** One batch's progress, shared by its workers. */
interface Batch {
  readonly names: FileNames
  readonly from: Directory
  readonly to: Directory
  readonly attributes: FileAttributes
  readonly maxBytes: number | undefined
  readonly hashes: Array<string> | undefined
  readonly signal: AbortSignal
  next: number
  count: number
  bytes: number
  /** the first failure (or the interruption): the workers stop taking files */
  stop: Failure | Aborted | undefined
  sliceStart: number
}

/** Counts `n` more bytes; past the limit, the failure that says so. */
const account = (batch: Batch, n: number): ByteLimitReached | undefined => {
  batch.bytes += n
  return batch.maxBytes !== undefined && batch.bytes > batch.maxBytes ? new ByteLimitReached({ max: batch.maxBytes, bytes: batch.bytes }) : undefined
}

/** A small file: synchronous reads and writes through the worker's buffer. */
const copySmall = (batch: Batch, source: number, target: number, buffer: Buffer, hash: Hash | undefined, readShown: () => string, shown: () => string) => {
  for (;;) {
    const read = attempt("read", readShown, () => NFS.readSync(source, buffer, 0, buffer.length, null))
    if (read instanceof DiskError) return read
    if (read === 0) return undefined
    let written = 0
    while (written < read) {
      const n = attempt("write", shown, () => NFS.writeSync(target, buffer, written, read - written))
      if (n instanceof DiskError) return n
      written += n
    }
    hash?.update(buffer.subarray(0, read))
    const over = account(batch, read)
    if (over !== undefined) return over
    // a short read of a regular file is its end, as of now
    if (read < buffer.length) return undefined
  }
}

/** A mid-size file (or a big one `cat` could not take): asynchronous reads and writes through the buffer. */
const copyThroughBuffer = async (batch: Batch, source: number, target: number, buffer: Buffer, hash: Hash | undefined, readShown: () => string, shown: () => string) => {
  for (;;) {
    if (batch.signal.aborted) return ABORTED
    const read = await readAsync(source, buffer, readShown)
    if (read instanceof DiskError) return read
    if (read === 0) return undefined
    let written = 0
    while (written < read) {
      const n = await writeAsync(target, buffer, written, read - written, shown)
      if (n instanceof DiskError) return n
      written += n
    }
    hash?.update(buffer.subarray(0, read))
    const over = account(batch, read)
    if (over !== undefined) return over
  }
}

/** Copies the content of the open `source` into `target`, by the tier its size says. */
const copyContent = async (batch: Batch, opened: OpenFile, target: number, buffer: Buffer, hash: Hash | undefined, readShown: () => string, shown: () => string) => {
  if (opened.stats.size <= SMALL_FILE) return copySmall(batch, opened.fd, target, buffer, hash, readShown, shown)
  if (opened.stats.size >= OFFLOAD_FILE && hash === undefined) {
    const tooBig = (size: number) =>
      batch.maxBytes !== undefined && batch.bytes + size > batch.maxBytes ? new ByteLimitReached({ max: batch.maxBytes, bytes: batch.bytes + size }) : undefined
    const copied = await kernelCopy(opened.fd, target, shown, tooBig, batch.signal)
    if (typeof copied === "number") return account(batch, copied)
    if (copied !== undefined) return copied
  }
  return copyThroughBuffer(batch, opened.fd, target, buffer, hash, readShown, shown)
}

/** Copies the batch's file `index`; its failure, if any. */
const copyOne = async (batch: Batch, index: number, buffer: Buffer): Promise<Failure | Aborted | undefined> => {
  const { from, to, attributes } = batch
  const name = batch.names.at(index)!
  const opened = openRegular(from, name)
  if (isFailure(opened)) return opened
  const shown = () => shownIn(to, name)
  const targetPath = pathIn(to, name)
  const target = targetPath instanceof DiskError ? targetPath : attempt("create", shown, () => NFS.openSync(targetPath, CREATE, 0o600))
  if (target instanceof DiskError) {
    closeQuietly(opened.fd)
    return target
  }
  try {
    const hash = batch.hashes === undefined ? undefined : createHash("sha256")
    const failed = await copyContent(batch, opened, target, buffer, hash, () => shownIn(from, name), shown)
    if (failed !== undefined) return failed
    const owner = attributes.ownership
    // after chown, which clears set-id bits anyway; a copy never gets set-id or sticky bits of its own
    const unset = (owner === undefined ? undefined : attempt("chown", shown, () => NFS.fchownSync(target, owner.uid, owner.gid))) ??
      attempt("chmod", shown, () => NFS.fchmodSync(target, attributes.permissions ?? (opened.stats.mode & 0o777)))
    if (unset !== undefined) return unset
    if (batch.hashes !== undefined) batch.hashes[index] = hash!.digest("hex")
    return undefined
  } finally {
    closeQuietly(opened.fd)
    closeQuietly(target)
  }
}

/** Takes the batch's next file until none is left or the batch stops. */
const worker = async (batch: Batch, onProgress: CopyOptions["onProgress"]) => {
  const buffer = Buffer.allocUnsafe(BUFFER_SIZE)
  while (batch.next < batch.names.length && batch.stop === undefined) {
    if (batch.signal.aborted) {
      batch.stop ??= ABORTED
      return
    }
    const index = batch.next++
    const failed = await copyOne(batch, index, buffer)
    if (failed !== undefined) {
      batch.stop ??= failed instanceof DiskError ? new DiskError({ ...failed, entry: batch.names.at(index)! }) : failed
      return
    }
    batch.count += 1
    onProgress?.({ count: batch.count, bytes: batch.bytes })
    if (performance.now() - batch.sliceStart > SLICE_MS) {
      await yieldToEventLoop()
      batch.sliceStart = performance.now()
    }
  }
}

export const copyFiles = (from: Directory, names: FileNames, to: Directory, attributes: FileAttributes, options: CopyOptions = {}) =>
  Effect.callback<CopyTotals, DiskError | NotRegularFile | ByteLimitReached>((resume, signal) => {
    const batch: Batch = {
      names,
      from,
      to,
      attributes,
      maxBytes: options.maxBytes,
      hashes: options.hash === true ? new Array<string>(names.length) : undefined,
      signal,
      next: 0,
      count: 0,
      bytes: 0,
      stop: undefined,
      sliceStart: performance.now()
    }
    const done = Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, () => worker(batch, options.onProgress))).then(
      () => {
        // interrupted: nothing is resumed (the effect is gone)
        if (batch.stop === ABORTED) return
        if (batch.stop !== undefined) return resume(Effect.fail(batch.stop))
        const { count, bytes, hashes } = batch
        resume(Effect.succeed(hashes === undefined ? { count, bytes } : { count, bytes, hashes }))
      },
      (defect: unknown) => resume(Effect.fail(diskError("copy", from.shown, defect)))
    )
    // interrupted: the loops stop at their next look; wait for them so nothing is written afterwards
    return Effect.promise(() => done)
  })

export const hashFiles = (directory: Directory, names: FileNames) =>
  Effect.callback<ReadonlyArray<string>, DiskError | NotRegularFile>((resume, signal) => {
    const hashOne = async (name: Uint8Array, buffer: Buffer): Promise<string | DiskError | NotRegularFile | Aborted> => {
      const opened = openRegular(directory, name)
      if (isFailure(opened)) return opened
      try {
        const hash = createHash("sha256")
        for (;;) {
          if (signal.aborted) return ABORTED
          const read = await readAsync(opened.fd, buffer, () => shownIn(directory, name))
          if (read instanceof DiskError) return read
          if (read === 0) return hash.digest("hex")
          hash.update(buffer.subarray(0, read))
        }
      } finally {
        closeQuietly(opened.fd)
      }
    }
    const run = async () => {
      const buffer = Buffer.allocUnsafe(BUFFER_SIZE)
      const out: Array<string> = []
      for (let i = 0; i < names.length; i++) {
        const hashed = await hashOne(names.at(i)!, buffer)
        if (typeof hashed !== "string") return hashed
        out.push(hashed)
      }
      return out
    }
    const done = run().then(
      (result) => {
        if (result === ABORTED) return
        resume(Array.isArray(result) ? Effect.succeed(result) : Effect.fail(result as DiskError | NotRegularFile))
      },
      (defect: unknown) => resume(Effect.fail(diskError("read", directory.shown, defect)))
    )
    return Effect.promise(() => done)
  })

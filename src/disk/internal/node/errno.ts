// How the Node disk meets node:fs: a thrown errno becomes a `DiskError` value where the call is
// made, and the operations hand failures on as values, never throwing a tagged error.
import { Effect } from "effect"
import * as NFS from "node:fs"
import { entryTypeOf } from "../../entryType.js"
import { ByteLimitReached, DiskError, type EntryType, NotRegularFile } from "../../StagingDisk.js"

/** What an operation of the staging disk can fail with. */
export type Failure = DiskError | NotRegularFile | ByteLimitReached

export const isFailure = (value: unknown): value is Failure =>
  value instanceof DiskError || value instanceof NotRegularFile || value instanceof ByteLimitReached

export const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined

const describe = (error: unknown): { code?: string; detail: string } => {
  const code = codeOf(error)
  const message = error instanceof Error ? error.message : String(error)
  // "ENOSPC: no space left on device, write" without the /proc path it names
  const found = message.match(/^[A-Z0-9]+: (.*?), [a-z_]+(?: '.*)?$/s)
  return { ...(code === undefined ? {} : { code }), detail: found === null ? message : found[1]! }
}

/** The `DiskError` of a node:fs failure of `operation` on `path`. */
export const diskError = (operation: string, path: string, error: unknown): DiskError =>
  error instanceof DiskError ? error : new DiskError({ operation, path, ...describe(error) })

/**
 * Runs one node:fs call; what it throws is returned as the `DiskError` of `operation` on `path`
 * (a function where the path would be worked out for every file of a batch only to go unused).
 */
export const attempt = <A>(operation: string, path: string | (() => string), body: () => A): A | DiskError => {
  try {
    return body()
  } catch (error) {
    return diskError(operation, typeof path === "string" ? path : path(), error)
  }
}

/**
 * A synchronous operation as an effect: `body` returns its result or its failure; anything it
 * throws unexpectedly is the `DiskError` of `operation` on `path`.
 */
export const syncOperation = <R>(
  operation: string,
  path: string,
  body: () => R
): Effect.Effect<Exclude<R, Failure>, Extract<R, Failure> | DiskError> =>
  Effect.suspend((): Effect.Effect<Exclude<R, Failure>, Extract<R, Failure> | DiskError> => {
    let result: R
    try {
      result = body()
    } catch (error) {
      return Effect.fail(diskError(operation, path, error))
    }
    return isFailure(result) ? Effect.fail(result as Extract<R, Failure>) : Effect.succeed(result as Exclude<R, Failure>)
  })

export const closeQuietly = (fd: number) => {
  try {
    NFS.closeSync(fd)
  } catch {
    // nothing left to do with it
  }
}

/** The type of what stops an `O_NOFOLLOW` open of a file or directory. */
export const blockerType = (path: Buffer): EntryType => {
  try {
    return entryTypeOf(NFS.lstatSync(path))
  } catch {
    return "Unknown"
  }
}

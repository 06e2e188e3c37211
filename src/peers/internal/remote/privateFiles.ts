// The remote transports' own view of the private directory they fill, over node:fs: how much is
// there while a copy runs, and a file created there exclusively. Names are
// bytes (Buffer paths), nothing is followed. The directory is this run's private one: made by
// root, mode 0700, and (for scp) taken back from the copy's user before anything is trusted.
import { Effect } from "effect"
import { constants, lstatSync, openSync, readdirSync, writeSync } from "node:fs"
import type { FileName } from "../../../disk/StagingDisk.js"

/** The path of `name` in `dir`, as bytes. */
export const pathOf = (dir: string, name: FileName): Buffer =>
  Buffer.concat([Buffer.from(dir.endsWith("/") ? dir : `${dir}/`), Buffer.from(name)])

/**
 * Entries and bytes in `dir` now (entries that vanish while counted are left out). Each entry is
 * looked at synchronously, a few microseconds each where a thread-pool round trip costs tens, and
 * the fiber yields every `USAGE_BATCH` entries so a huge directory does not hold up the others.
 */
export const usage = (dir: string): Effect.Effect<{ readonly files: number; readonly bytes: number }, unknown> =>
  Effect.gen(function*() {
    const names = yield* Effect.try(() => readdirSync(dir, { encoding: "buffer" }))
    let bytes = 0
    for (let i = 0; i < names.length; i++) {
      if (i > 0 && i % USAGE_BATCH === 0) yield* Effect.yieldNow
      try {
        bytes += lstatSync(pathOf(dir, names[i]!)).size
      } catch {
        // gone since the listing: not counted
      }
    }
    return { files: names.length, bytes }
  })

const USAGE_BATCH = 2000

/**
 * Creates `name` in `dir`: must not exist yet, never through a link, readable by root alone. A
 * descriptor, written synchronously: for the many small files of a backup, a thread-pool round
 * trip per call costs more than the write itself.
 */
export const createExclusive = (dir: string, name: FileName): number =>
  openSync(pathOf(dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)

/** Writes all of `chunk` to `fd`. */
export const writeAll = (fd: number, chunk: Uint8Array): void => {
  let written = 0
  while (written < chunk.length) written += writeSync(fd, chunk, written, chunk.length - written)
}

/** The errno code of a node:fs failure, when there is one. */
export const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined

/** A node:fs failure's message. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

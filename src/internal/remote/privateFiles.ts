// The remote transports' own view of the private directory they fill, over node:fs: how much is
// there while a copy runs, and a file created there exclusively. Names are
// bytes (Buffer paths), nothing is followed. The directory is this run's private one: made by
// root, mode 0700, and (for scp) taken back from the copy's user before anything is trusted.
import { constants, openSync, writeSync } from "node:fs"
import { lstat, readdir } from "node:fs/promises"
import type { FileName } from "../../StagingDisk.js"

/** The path of `name` in `dir`, as bytes. */
export const pathOf = (dir: string, name: FileName): Buffer =>
  Buffer.concat([Buffer.from(dir.endsWith("/") ? dir : `${dir}/`), Buffer.from(name)])

/** Entries and bytes in `dir` now (entries that vanish while counted are left out). */
export const usage = async (dir: string): Promise<{ readonly files: number; readonly bytes: number }> => {
  const names = await readdir(dir, { encoding: "buffer" })
  let bytes = 0
  for (const name of names) {
    try {
      bytes += (await lstat(pathOf(dir, name))).size
    } catch {
      // gone since the listing: not counted
    }
  }
  return { files: names.length, bytes }
}

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

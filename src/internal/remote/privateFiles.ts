// The remote transports' own view of the private directory they fill, over node:fs: how much is
// there while a copy runs, a file created there exclusively, a landed file's SHA-256. Names are
// bytes (Buffer paths), nothing is followed. The directory is this run's private one: made by
// root, mode 0700, and (for scp) taken back from the copy's user before anything is trusted.
import { createHash } from "node:crypto"
import { constants } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import { lstat, open, readdir } from "node:fs/promises"
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

/** Creates `name` in `dir`: must not exist yet, never through a link, readable by root alone. */
export const createExclusive = (dir: string, name: FileName): Promise<FileHandle> =>
  open(pathOf(dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)

/** The SHA-256 (hex) of `name` in `dir`, opened without following a link or blocking on a fifo. */
export const sha256Of = async (dir: string, name: FileName): Promise<string> => {
  const file = await open(pathOf(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  try {
    const hash = createHash("sha256")
    const buffer = Buffer.allocUnsafe(1 << 20)
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
    }
    return hash.digest("hex")
  } finally {
    await file.close()
  }
}

/** The errno code of a node:fs failure, when there is one. */
export const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined

/** A node:fs failure's message. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * The staging disk over `node:fs`, for Linux. Every directory is held open (`O_DIRECTORY`, and
 * `O_NOFOLLOW` for anything below a directory the administrator named) and its entries are
 * addressed as `/proc/self/fd/<fd>/<name>`, with names as bytes: renaming or replacing a parent
 * after it was opened redirects nothing, and no final component is ever followed.
 *
 * One function per operation, in `internal/node/`: held directories (`held`), private
 * directories and leftovers (`privateDirectories`), listings (`listing`), regular files
 * (`files`), batch copies and hashes (`copy`, which tells how files are copied).
 *
 * @since 0.2.0
 */
import { Layer } from "effect"
import { copyFiles, hashFiles } from "./internal/node/copy.js"
import { adoptFiles, commit, createFiles, readFile, replaceFile, writeEmptyFile } from "./internal/node/files.js"
import { openDirectory, openSubdirectory } from "./internal/node/held.js"
import { list, listFiles, usage } from "./internal/node/listing.js"
import { makePrivateDirectory, reclaim, removeLeftovers, replaceEmptyDirectory } from "./internal/node/privateDirectories.js"
import { StagingDisk, type StagingDiskShape } from "./StagingDisk.js"

/**
 * Makes the Node staging disk. The process uid and gid are those `reclaim` gives back.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): StagingDiskShape => ({
  openDirectory,
  openSubdirectory,
  makePrivateDirectory,
  list,
  listFiles,
  usage,
  copyFiles,
  hashFiles,
  readFile,
  adoptFiles,
  replaceEmptyDirectory,
  reclaim,
  commit,
  writeEmptyFile,
  createFiles,
  replaceFile,
  removeLeftovers
})

/**
 * The staging disk over `node:fs` (Linux: it needs `/proc/self/fd`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<StagingDisk> = Layer.sync(StagingDisk, make)

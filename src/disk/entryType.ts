// What an entry is, from what lstat(2) or a directory listing says of it: one reading for the
// Node disk, the configured files and the memory disk.
import type { EntryType } from "./StagingDisk.js"

/** What `fs.Stats`, `fs.Dirent` and memfs's stats answer. */
export interface Typed {
  isFile(): boolean
  isDirectory(): boolean
  isSymbolicLink(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isBlockDevice(): boolean
  isCharacterDevice(): boolean
}

/** The entry type of a stat or a directory entry. */
export const entryTypeOf = (stats: Typed): EntryType =>
  stats.isFile()
    ? "File"
    : stats.isDirectory()
    ? "Directory"
    : stats.isSymbolicLink()
    ? "SymbolicLink"
    : stats.isFIFO()
    ? "FIFO"
    : stats.isSocket()
    ? "Socket"
    : stats.isBlockDevice()
    ? "BlockDevice"
    : stats.isCharacterDevice()
    ? "CharacterDevice"
    : "Unknown"

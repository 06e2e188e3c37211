// Byte names in a memfs volume: names that are not UTF-8 are kept with each invalid byte as a
// lone surrogate (U+DC80–U+DCFF, Python's "surrogateescape").
import type { FileName } from "../../disk/StagingDisk.js"

const utf8 = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

/** How a byte name is kept in the volume (see `MemoryStagingDisk.memoryName`). */
export const memoryName = (name: FileName): string => {
  let out = ""
  let i = 0
  while (i < name.length) {
    const b = name[i]!
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (width >= 1 && i + width <= name.length) {
      try {
        out += utf8.decode(name.subarray(i, i + width))
        i += width
        continue
      } catch {
        // an invalid sequence: its first byte is escaped below
      }
    }
    out += String.fromCharCode(0xdc00 + b)
    i += 1
  }
  return out
}

/** The bytes of a name kept in the volume (the inverse of `memoryName`). */
export const nameOf = (stored: string): FileName => {
  const bytes: Array<number> = []
  for (const char of stored) {
    const cp = char.codePointAt(0)!
    if (cp >= 0xdc80 && cp <= 0xdcff) bytes.push(cp - 0xdc00)
    else bytes.push(...encoder.encode(char))
  }
  return Uint8Array.from(bytes)
}

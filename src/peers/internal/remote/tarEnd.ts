// Where a tar stream ends. The unpacker (tar-stream) skips a zero block where a header is due and
// reads on, and takes a stream that stops between two members as complete: a peer could append
// members after the end-of-archive marker, or cut the archive short and exit 0. This walks the
// same blocks alongside it (header, then the data its size announces, as tar-stream reads them),
// and says what is wrong: no end-of-archive marker when the stream ends, or anything but zero
// padding after it.

const BLOCK = 512

/**
 * What may follow the end-of-archive marker: the zero padding tar adds up to its record size
 * (10 KiB by default, more with a large blocking factor). Past this, the peer is not padding.
 */
const MAX_PADDING = 1024 * 1024

/** Long headers announce their data's size; tar-stream refuses more than this. */
const MAX_LONG_HEADER = 4 * 1024 * 1024

const ZERO = 0x30

/** A header field as tar writes it: octal digits (spaces or NULs around), or base-256 when its top bit is set. */
const numberAt = (block: Uint8Array, offset: number, length: number): number => {
  const field = block.subarray(offset, offset + length)
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] !== 0x80) return Number.NaN // negative: no valid size
    let value = 0
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!
    return value
  }
  let i = 0
  while (i < field.length && field[i] === 0x20) i++
  let end = field.indexOf(0x20, i)
  if (end === -1) end = field.length
  while (i < end && field[i] === 0) i++
  const text = Buffer.from(field.subarray(i, end)).toString("latin1").replace(/\0.*$/s, "")
  return text === "" ? 0 : parseInt(text, 8)
}

/** A block tar-stream reads as no header at all: every byte zero but the checksum field's. */
const isNullHeader = (block: Uint8Array): boolean => {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0 && (i < 148 || i >= 156)) return false
  return true
}

/** `size=` of a PAX record set, parsed as tar-stream parses it. */
const paxSize = (data: Buffer): string | undefined => {
  let rest = data
  let size: string | undefined
  while (rest.length > 0) {
    const space = rest.indexOf(0x20)
    const length = parseInt(rest.subarray(0, space === -1 ? rest.length : space).toString(), 10)
    if (!length) break
    const record = rest.subarray(space + 1, length - 1).toString()
    const eq = record.indexOf("=")
    if (eq === -1) break
    if (record.slice(0, eq) === "size") size = record.slice(eq + 1)
    rest = rest.subarray(length)
  }
  return size
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK

/** Follows a tar stream's blocks as they are fed; each call says what is wrong, if anything. */
export interface ArchiveEnd {
  /** the next chunk of the stream; a problem as soon as something follows the end-of-archive marker */
  readonly push: (chunk: Uint8Array) => string | undefined
  /** the stream ended; a problem if no end-of-archive marker came */
  readonly end: () => string | undefined
}

export const makeArchiveEnd = (): ArchiveEnd => {
  const header = new Uint8Array(BLOCK)
  let filled = 0
  /** bytes of the current member's data (with its padding) still to pass */
  let skip = 0
  /** a PAX header's data, kept to learn the size it gives the next member */
  let pax: { readonly global: boolean; readonly chunks: Array<Buffer>; readonly size: number } | undefined
  let localSize: string | undefined
  let globalSize: string | undefined
  /** bytes seen since the end-of-archive marker began; -1 before it */
  let after = -1
  /** tar-stream will fail on this stream anyway (a header it cannot read): not ours to judge */
  let unreadable = false

  const onHeader = (): string | undefined => {
    if (isNullHeader(header)) {
      after = 0
      return undefined
    }
    const flag = header[156]!
    const size = numberAt(header, 124, 12)
    if (!(size >= 0)) {
      unreadable = true
      return undefined
    }
    // GNU long name or link, PAX header: data that describes the next member
    if (flag === 0x4c || flag === 0x4b || flag === 0x78 || flag === 0x67) {
      if (size > MAX_LONG_HEADER) {
        unreadable = true
        return undefined
      }
      if (flag === 0x78 || flag === 0x67) pax = { global: flag === 0x67, chunks: [], size }
      skip = padded(size)
      if (skip === 0) endPax()
      return undefined
    }
    const override = localSize ?? globalSize
    localSize = undefined
    const memberSize = override === undefined || override === "" ? size : parseInt(override, 10)
    if (!(memberSize >= 0)) {
      unreadable = true
      return undefined
    }
    // tar-stream reads no data for a directory (its type, or an old tar's name ending in '/')
    const nameEnd = header.subarray(0, 100).indexOf(0)
    const lastOfName = header[(nameEnd === -1 ? 100 : nameEnd) - 1]
    const directory = flag === 0x35 || ((flag === 0 || flag === ZERO) && lastOfName === 0x2f)
    skip = directory ? 0 : padded(memberSize)
    return undefined
  }

  const endPax = () => {
    if (pax === undefined) return
    const size = paxSize(Buffer.concat(pax.chunks).subarray(0, pax.size))
    if (size !== undefined) {
      if (pax.global) globalSize = size
      else localSize = size
    }
    pax = undefined
  }

  const push = (chunk: Uint8Array): string | undefined => {
    if (unreadable) return undefined
    let at = 0
    while (at < chunk.length) {
      if (after >= 0) {
        for (let i = at; i < chunk.length; i++) {
          if (chunk[i] !== 0) return "data after the end-of-archive marker"
        }
        after += chunk.length - at
        return after > MAX_PADDING ? `more than ${MAX_PADDING} bytes after the end-of-archive marker` : undefined
      }
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at)
        if (pax !== undefined) pax.chunks.push(Buffer.from(chunk.subarray(at, at + n)))
        skip -= n
        at += n
        if (skip === 0) endPax()
        continue
      }
      const n = Math.min(BLOCK - filled, chunk.length - at)
      header.set(chunk.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === BLOCK) {
        filled = 0
        const problem = onHeader()
        if (problem !== undefined || unreadable) return problem
      }
    }
    return undefined
  }

  // tar writes two zero blocks; anything short of them is a stream cut off
  const end = (): string | undefined =>
    unreadable || after >= BLOCK ? undefined : "no end-of-archive marker: the stream was cut short"

  return { push, end }
}

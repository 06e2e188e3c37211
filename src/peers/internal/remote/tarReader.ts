// Reads a tar stream as it arrives, chunk by chunk, with plain synchronous calls: each member's
// header, then its data as slices of the chunks (no copy), then its end, handed to a visitor that
// may stop the reading at any of them. It reads what GNU tar writes (`--format=gnu`: long names
// in `L` members, base-256 sizes past 8 GiB) and the ustar and PAX members another tar writes,
// checks every header's checksum, and holds the stream to its end: two zero blocks, then nothing
// but zero padding. One reader frames the members and judges the end, so the two cannot disagree
// on where a member's data stops.

const BLOCK = 512

/**
 * What may follow the end-of-archive marker: the zero padding tar adds up to its record size
 * (10 KiB by default, more with a large blocking factor). Past this, the peer is not padding.
 */
const MAX_PADDING = 1024 * 1024

/**
 * The most a long name or a PAX header may hold: it is kept in memory until its member comes, and
 * a refused name is shown whole in the peer's error. GNU tar writes names up to PATH_MAX (4 KiB);
 * the PAX headers of another tar hold a few records.
 */
export const MAX_META = 64 * 1024

/** A member's type, in the words of the entry kinds the transport reports. */
export type TarType =
  | "file"
  | "link"
  | "symlink"
  | "character-device"
  | "block-device"
  | "directory"
  | "fifo"
  | "unknown"

const TYPES: Readonly<Record<number, TarType>> = {
  0x00: "file",
  0x30: "file",
  0x37: "file", // contiguous file: a regular file to every tar but one
  0x31: "link",
  0x32: "symlink",
  0x33: "character-device",
  0x34: "block-device",
  0x35: "directory",
  0x36: "fifo"
}

/** One member as its header (and the long name or PAX records before it) describes it. */
export interface TarHeader {
  /** the name as sent: raw bytes */
  readonly name: Uint8Array
  readonly type: TarType
  /** bytes of data that follow: exactly these reach `data` before `end` */
  readonly size: number
  /** the permission bits */
  readonly mode: number
}

/** The reader's consumer. A value returned by any call stops the reading, and `push` returns it. */
export interface TarVisitor<Stop> {
  readonly header: (header: TarHeader) => Stop | undefined
  readonly data: (chunk: Uint8Array) => Stop | undefined
  readonly end: () => Stop | undefined
}

/** A stream that is not a tar archive as tar writes it. */
export interface Corrupt {
  readonly _tag: "Corrupt"
  readonly detail: string
}

const corrupt = (detail: string): Corrupt => ({ _tag: "Corrupt", detail })

/** A number field: octal digits (spaces or NULs around them), or base-256 when its top bit is set. */
export const numberAt = (block: Uint8Array, offset: number, length: number): number => {
  const first = block[offset]!
  if ((first & 0x80) !== 0) {
    if (first !== 0x80) return Number.NaN // negative, or more than any size
    let value = 0
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + block[i]!
    return Number.isSafeInteger(value) ? value : Number.NaN
  }
  let i = offset
  const end = offset + length
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++
  let value = 0
  let digits = 0
  for (; i < end && block[i] !== 0x20 && block[i] !== 0; i++) {
    const digit = block[i]! - 0x30
    if (digit < 0 || digit > 7) return Number.NaN
    value = value * 8 + digit
    digits++
  }
  // what follows the digits is padding only
  for (; i < end; i++) if (block[i] !== 0x20 && block[i] !== 0) return Number.NaN
  return digits === 0 ? 0 : value
}

/** The checksum a header should carry: its bytes summed with the checksum field as spaces. */
const checksums = (block: Uint8Array): readonly [unsigned: number, signed: number] => {
  let unsigned = 8 * 0x20
  let signed = 8 * 0x20
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue
    unsigned += block[i]!
    signed += (block[i]! << 24) >> 24
  }
  return [unsigned, signed]
}

const isZero = (bytes: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false
  return true
}

/** A NUL-terminated field's bytes (all of it when no NUL ends it). */
const field = (bytes: Uint8Array, offset: number, length: number): Uint8Array => {
  const end = bytes.subarray(offset, offset + length).indexOf(0)
  return bytes.subarray(offset, end === -1 ? offset + length : offset + end)
}

const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72] // "ustar"

/** "ustar\0" with version "00" (POSIX), "ustar  \0" (GNU); anything else is no tar header. */
const formatOf = (block: Uint8Array): "posix" | "gnu" | undefined => {
  for (let i = 0; i < USTAR.length; i++) if (block[257 + i] !== USTAR[i]) return undefined
  if (block[262] === 0 && block[263] === 0x30 && block[264] === 0x30) return "posix"
  if (block[262] === 0x20 && block[263] === 0x20 && block[264] === 0) return "gnu"
  return undefined
}

/** The `path` and `size` of a PAX extended header's records (`<length> <key>=<value>\n`). */
const paxRecords = (data: Uint8Array): { path?: Uint8Array; size?: number } | Corrupt => {
  const found: { path?: Uint8Array; size?: number } = {}
  let at = 0
  while (at < data.length) {
    if (data[at] === 0) break // NUL padding after the last record
    const space = data.indexOf(0x20, at)
    const length = space === -1 ? Number.NaN : Number(Buffer.from(data.subarray(at, space)).toString("latin1"))
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      return corrupt("invalid PAX record")
    }
    const record = data.subarray(space + 1, at + length - 1)
    const eq = record.indexOf(0x3d)
    if (eq === -1) return corrupt("invalid PAX record")
    const key = Buffer.from(record.subarray(0, eq)).toString("latin1")
    const value = record.subarray(eq + 1)
    if (key === "path") found.path = Uint8Array.from(value)
    if (key === "size") {
      const text = Buffer.from(value).toString("latin1")
      const size = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN
      if (!Number.isSafeInteger(size)) return corrupt("invalid PAX size")
      found.size = size
    }
    at += length
  }
  return found
}

const META_WORDS: Readonly<Record<number, string>> = { 0x4c: "a long name", 0x4b: "a long link target", 0x78: "a PAX header", 0x67: "a global PAX header" }

/** What the bytes now arriving are. */
type State =
  | { readonly _tag: "Header" }
  /** a member's data: `left` of it to the visitor, then `padding` to skip */
  | { _tag: "Data"; left: number; readonly padding: number }
  /** a long name or PAX header's data, kept for the next member */
  | { readonly _tag: "Meta"; readonly flag: number; readonly data: Uint8Array; filled: number }
  | { _tag: "Skip"; left: number }
  /** after the first zero block: how many bytes since it began */
  | { _tag: "End"; after: number }

/**
 * A tar stream's reader. `push` each chunk as it comes, then `end` once the stream has ended; both
 * return what stopped the reading — the visitor's value, or `Corrupt` — or `undefined` to go on.
 * After a stop the reader takes nothing more.
 */
export class TarReader<Stop> {
  private readonly block = new Uint8Array(BLOCK)
  private filled = 0
  private state: State = { _tag: "Header" }
  /** the next member's name from a GNU long-name member */
  private longName: Uint8Array | undefined
  /** the next member's PAX records, and those of every member after a global header */
  private local: { path?: Uint8Array; size?: number } = {}
  private global: { path?: Uint8Array; size?: number } = {}
  private stopped: Stop | Corrupt | undefined

  constructor(private readonly visitor: TarVisitor<Stop>) {}

  push(chunk: Uint8Array): Stop | Corrupt | undefined {
    if (this.stopped !== undefined) return this.stopped
    let at = 0
    while (at < chunk.length && this.stopped === undefined) at = this.step(chunk, at)
    return this.stopped
  }

  /** The stream has ended: it must have ended with the end-of-archive marker. */
  end(): Stop | Corrupt | undefined {
    if (this.stopped !== undefined) return this.stopped
    // tar writes two zero blocks; anything short of them is a stream cut off
    const state = this.state
    if (state._tag !== "End" || state.after < 2 * BLOCK) this.stopped = corrupt("no end-of-archive marker: the stream was cut short")
    return this.stopped
  }

  /** Takes what it can of `chunk` from `at` on; returns where it stopped. */
  private step(chunk: Uint8Array, at: number): number {
    const state = this.state
    switch (state._tag) {
      case "Data": {
        const n = Math.min(state.left, chunk.length - at)
        if (n > 0) {
          state.left -= n
          this.stopped = this.visitor.data(chunk.subarray(at, at + n))
          if (this.stopped !== undefined) return at + n
        }
        if (state.left === 0) {
          this.stopped = this.visitor.end()
          this.state = state.padding === 0 ? { _tag: "Header" } : { _tag: "Skip", left: state.padding }
        }
        return at + n
      }
      case "Skip": {
        const n = Math.min(state.left, chunk.length - at)
        state.left -= n
        if (state.left === 0) this.state = { _tag: "Header" }
        return at + n
      }
      case "Meta": {
        const n = Math.min(state.data.length - state.filled, chunk.length - at)
        state.data.set(chunk.subarray(at, at + n), state.filled)
        state.filled += n
        if (state.filled === state.data.length) this.endMeta(state.flag, state.data)
        return at + n
      }
      case "End": {
        if (!isZero(chunk, at, chunk.length)) {
          this.stopped = corrupt("data after the end-of-archive marker")
          return chunk.length
        }
        state.after += chunk.length - at
        if (state.after > BLOCK + MAX_PADDING) this.stopped = corrupt(`more than ${MAX_PADDING} bytes after the end-of-archive marker`)
        return chunk.length
      }
      case "Header": {
        const n = Math.min(BLOCK - this.filled, chunk.length - at)
        this.block.set(chunk.subarray(at, at + n), this.filled)
        this.filled += n
        if (this.filled === BLOCK) {
          this.filled = 0
          this.onHeader()
        }
        return at + n
      }
    }
  }

  private onHeader(): void {
    const block = this.block
    if (isZero(block, 0, BLOCK)) {
      this.state = { _tag: "End", after: BLOCK }
      return
    }
    const stored = numberAt(block, 148, 8)
    const [unsigned, signed] = checksums(block)
    if (stored !== unsigned && stored !== signed) return void (this.stopped = corrupt("invalid tar header: its checksum does not match"))
    const format = formatOf(block)
    if (format === undefined) return void (this.stopped = corrupt("invalid tar header: not a ustar or GNU header"))
    const flag = block[156]!
    const headerSize = numberAt(block, 124, 12)
    if (!(headerSize >= 0)) return void (this.stopped = corrupt("invalid tar header: its size is not a number"))
    // GNU long name (L) or link target (K), PAX header (x) or global one (g): data about the next member
    if (flag === 0x4c || flag === 0x4b || flag === 0x78 || flag === 0x67) {
      if (headerSize > MAX_META) return void (this.stopped = corrupt(`${META_WORDS[flag]} of more than ${MAX_META} bytes`))
      const data = new Uint8Array(headerSize)
      this.state = { _tag: "Meta", flag, data, filled: 0 }
      if (headerSize === 0) this.endMeta(flag, data)
      return
    }
    this.onMember(block, format, flag, headerSize)
  }

  private onMember(block: Uint8Array, format: "posix" | "gnu", flag: number, headerSize: number): void {
    // a member's own PAX records win over the global ones, and are used up by it
    const paxPath = this.local.path ?? this.global.path
    const paxSize = this.local.size ?? this.global.size
    if (this.local.path !== undefined || this.local.size !== undefined) this.local = {}
    let name: Uint8Array
    if (paxPath !== undefined) name = paxPath
    else if (this.longName !== undefined) name = this.longName
    else {
      const short = field(block, 0, 100)
      const prefix = format === "posix" ? field(block, 345, 155) : new Uint8Array(0)
      name = prefix.length === 0 ? Uint8Array.from(short) : Buffer.concat([prefix, Buffer.from("/"), short])
    }
    this.longName = undefined
    let type = TYPES[flag] ?? "unknown"
    // an old tar's directory: a plain member whose name ends in '/'
    if (type === "file" && (flag === 0 || flag === 0x30) && name[name.length - 1] === 0x2f) type = "directory"
    const size = paxSize ?? headerSize
    const mode = numberAt(block, 100, 8)
    if (!(mode >= 0)) return void (this.stopped = corrupt("invalid tar header: its mode is not a number"))
    this.stopped = this.visitor.header({ name, type, size, mode })
    if (this.stopped !== undefined) return
    // every member's data is framed by its size, whatever its type (GNU tar gives links and
    // directories none): the visitor refuses what it does not take from the header
    const padding = (BLOCK - (size % BLOCK)) % BLOCK
    if (size === 0) {
      this.stopped = this.visitor.end()
      this.state = { _tag: "Header" }
    } else {
      this.state = { _tag: "Data", left: size, padding }
    }
  }

  private endMeta(flag: number, data: Uint8Array): void {
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK
    this.state = padding === 0 ? { _tag: "Header" } : { _tag: "Skip", left: padding }
    if (flag === 0x4c) this.longName = field(data, 0, data.length)
    if (flag === 0x78 || flag === 0x67) {
      const records = paxRecords(data)
      if ("_tag" in records) return void (this.stopped = records)
      if (flag === 0x78) this.local = records
      else this.global = { ...this.global, ...records }
    }
    // K: the next member is a link, which the visitor refuses by its type; its target is not needed
  }
}

/**
 * Compact lists of file names: a directory of a million files listed without a million
 * `Uint8Array`s. Re-exported by `StagingDisk`, whose listings use it.
 *
 * @since 1.0.0
 */
/** Names are packed into buffers of this size, never across two (a name is at most 255 bytes). */
const NAME_CHUNK = 1024 * 1024

/**
 * File names packed into a few large buffers, each read back as a view of one: a million names
 * take their bytes and eight more each, where an array of a million `Uint8Array`s takes over
 * 100 MB.
 *
 * @since 1.0.0
 * @category models
 */
export class NameList {
  constructor(
    private readonly chunks: ReadonlyArray<Buffer>,
    /** where name `i` starts and ends, counting chunk `c` from `c * NAME_CHUNK` */
    private readonly starts: Uint32Array,
    private readonly ends: Uint32Array,
    readonly length: number
  ) {}

  /** The names of an array, packed. */
  static of(names: ReadonlyArray<Uint8Array>): NameList {
    const builder = new NameListBuilder()
    for (const name of names) builder.push(name)
    return builder.build()
  }

  at(index: number): Uint8Array | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined
    const start = this.starts[index]!
    const offset = start % NAME_CHUNK
    return this.chunks[(start - offset) / NAME_CHUNK]!.subarray(offset, offset + this.ends[index]! - start)
  }

  /** The same names sorted by their bytes (as `Buffer.compare` orders them); the bytes are shared, not copied. */
  sorted(): NameList {
    const { chunks, starts, ends } = this
    const order = new Uint32Array(this.length)
    for (let i = 0; i < order.length; i++) order[i] = i
    order.sort((a, b) => {
      const sa = starts[a]!
      const sb = starts[b]!
      const oa = sa % NAME_CHUNK
      const ob = sb % NAME_CHUNK
      return chunks[(sa - oa) / NAME_CHUNK]!.compare(chunks[(sb - ob) / NAME_CHUNK]!, ob, ob + ends[b]! - sb, oa, oa + ends[a]! - sa)
    })
    const sortedStarts = new Uint32Array(this.length)
    const sortedEnds = new Uint32Array(this.length)
    for (let i = 0; i < order.length; i++) {
      sortedStarts[i] = starts[order[i]!]!
      sortedEnds[i] = ends[order[i]!]!
    }
    return new NameList(chunks, sortedStarts, sortedEnds, this.length)
  }
}

/**
 * Builds a `NameList` one name at a time; the name buffers are never copied or regrown.
 *
 * @since 1.0.0
 * @category constructors
 */
export class NameListBuilder {
  private readonly chunks: Array<Buffer> = []
  private starts: Uint32Array = new Uint32Array(1024)
  private ends: Uint32Array = new Uint32Array(1024)
  /** bytes used in the last chunk (none yet: a chunk is made by the first push) */
  private used = NAME_CHUNK
  private count = 0

  get length(): number {
    return this.count
  }

  /** Appends a name, given as bytes or as a latin1 string (one character per byte). */
  push(name: Uint8Array | string): void {
    const size = name.length
    if (size > NAME_CHUNK) throw new RangeError(`a file name of ${size} bytes`)
    if (this.used + size > NAME_CHUNK) {
      this.chunks.push(Buffer.allocUnsafeSlow(NAME_CHUNK))
      this.used = 0
    }
    if (this.count === this.starts.length) {
      this.starts = grown(this.starts)
      this.ends = grown(this.ends)
    }
    const chunk = this.chunks[this.chunks.length - 1]!
    if (typeof name === "string") chunk.write(name, this.used, "latin1")
    else chunk.set(name, this.used)
    const start = (this.chunks.length - 1) * NAME_CHUNK + this.used
    this.used += size
    this.starts[this.count] = start
    this.ends[this.count++] = start + size
  }

  /** The list of the names pushed so far. */
  build(): NameList {
    return new NameList(this.chunks.slice(), this.starts.subarray(0, this.count), this.ends.subarray(0, this.count), this.count)
  }
}

const grown = (array: Uint32Array): Uint32Array => {
  const bigger = new Uint32Array(array.length * 2)
  bigger.set(array)
  return bigger
}

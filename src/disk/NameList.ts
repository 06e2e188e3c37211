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
    return sortedNames(this)
  }
}

/**
 * `list.sorted()`, quicksort allowed `depthLimit` levels (default: twice the expected depth)
 * before heapsort takes the range over; a test reaches the heapsort with 0. Not re-exported.
 */
export const sortedNames = (list: NameList, depthLimit = 2 * Math.floor(Math.log2(list.length + 1))): NameList => {
  // the class's own fields: this function is its `sorted`, kept apart for the depth limit only
  const chunks = list["chunks"]
  const starts = list["starts"]
  const ends = list["ends"]
  const order = new Uint32Array(list.length)
  for (let i = 0; i < order.length; i++) order[i] = i
  sortOrder(order, chunks, starts, ends, depthLimit)
  const sortedStarts = new Uint32Array(list.length)
  for (let i = 0; i < order.length; i++) sortedStarts[i] = starts[order[i]!]!
  // the order becomes the ends in place (each slot read before it is written): a million
  // names then need one more array of offsets while they are sorted, not two
  const sortedEnds = order
  for (let i = 0; i < order.length; i++) sortedEnds[i] = ends[order[i]!]!
  return new NameList(chunks, sortedStarts, sortedEnds, list.length)
}

/** Ranges this short are sorted by insertion. */
const SHORT_RANGE = 16

/**
 * Sorts `order` (indexes of names) in place by the names' bytes, as `Buffer.compare` orders
 * them: an introsort (quicksort, heapsort past twice the expected depth, insertion for short
 * ranges). Not `order.sort(compare)`: V8 copies the array into two heap arrays for that (16 MB
 * for a million names, most of what listing them held at its peak), and `Buffer.compare` through
 * the binding costs more than comparing the few bytes two names differ in here.
 */
const sortOrder = (
  order: Uint32Array,
  chunks: ReadonlyArray<Buffer>,
  starts: Uint32Array,
  ends: Uint32Array,
  depthLimit: number
): void => {
  const compare = (a: number, b: number): number => {
    const sa = starts[a]!
    const sb = starts[b]!
    const oa = sa % NAME_CHUNK
    const ob = sb % NAME_CHUNK
    const ca = chunks[(sa - oa) / NAME_CHUNK]!
    const cb = chunks[(sb - ob) / NAME_CHUNK]!
    const la = ends[a]! - sa
    const lb = ends[b]! - sb
    const common = la < lb ? la : lb
    for (let i = 0; i < common; i++) {
      const d = ca[oa + i]! - cb[ob + i]!
      if (d !== 0) return d
    }
    return la - lb
  }
  const swap = (i: number, j: number) => {
    const t = order[i]!
    order[i] = order[j]!
    order[j] = t
  }
  const insertion = (lo: number, hi: number) => {
    for (let i = lo + 1; i <= hi; i++) {
      const x = order[i]!
      let j = i - 1
      while (j >= lo && compare(order[j]!, x) > 0) {
        order[j + 1] = order[j]!
        j--
      }
      order[j + 1] = x
    }
  }
  const heapsort = (lo: number, hi: number) => {
    const size = hi - lo + 1
    const sift = (root: number, end: number) => {
      for (;;) {
        let child = 2 * root + 1
        if (child >= end) return
        if (child + 1 < end && compare(order[lo + child]!, order[lo + child + 1]!) < 0) child++
        if (compare(order[lo + root]!, order[lo + child]!) >= 0) return
        swap(lo + root, lo + child)
        root = child
      }
    }
    for (let i = (size >> 1) - 1; i >= 0; i--) sift(i, size)
    for (let end = size - 1; end > 0; end--) {
      swap(lo, lo + end)
      sift(0, end)
    }
  }
  const quick = (lo: number, hi: number, depth: number): void => {
    while (hi - lo > SHORT_RANGE) {
      if (depth-- === 0) return heapsort(lo, hi)
      const mid = lo + ((hi - lo) >> 1)
      if (compare(order[mid]!, order[lo]!) < 0) swap(mid, lo)
      if (compare(order[hi]!, order[lo]!) < 0) swap(hi, lo)
      if (compare(order[hi]!, order[mid]!) < 0) swap(hi, mid)
      const pivot = order[mid]!
      let i = lo
      let j = hi
      while (i <= j) {
        while (compare(order[i]!, pivot) < 0) i++
        while (compare(order[j]!, pivot) > 0) j--
        if (i <= j) swap(i++, j--)
      }
      // the shorter side first, by recursion: the stack stays within log2(n) frames
      if (j - lo < hi - i) {
        quick(lo, j, depth)
        lo = i
      } else {
        quick(i, hi, depth)
        hi = j
      }
    }
    insertion(lo, hi)
  }
  quick(0, order.length - 1, depthLimit)
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

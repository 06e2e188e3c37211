// The tar transport's reader against archives GNU tar itself writes (as the peer's `tar
// --format=gnu` does), ustar/PAX archives another writer makes, and hand-made broken ones: fed
// in chunks of every awkward size, it must give each member's exact name bytes, type, mode and
// data, and call out a stream that is corrupt, cut short or carries anything after its end.
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tar from "tar-stream"
import { afterAll, describe, expect, it } from "vitest"
import { MAX_META, numberAt, type TarHeader, TarReader } from "../../src/peers/internal/remote/tarReader.js"

interface Member {
  readonly name: string
  readonly type: TarHeader["type"]
  readonly size: number
  readonly mode: number
  readonly data: Buffer
}

/** Reads `archive` fed in chunks of `size` bytes; what it gave, and how it ended. */
const read = (archive: Uint8Array, size = archive.length, stopAt?: string) => {
  const members: Array<Member> = []
  let current: { header: TarHeader; chunks: Array<Buffer> } | undefined
  const reader = new TarReader<{ readonly _tag: "Stopped"; readonly name: string }>({
    header: (header) => {
      const name = Buffer.from(header.name).toString("latin1")
      if (name === stopAt) return { _tag: "Stopped", name }
      current = { header, chunks: [] }
      return undefined
    },
    data: (chunk) => void current!.chunks.push(Buffer.from(chunk)),
    end: () => {
      const { header, chunks } = current!
      members.push({ name: Buffer.from(header.name).toString("latin1"), type: header.type, size: header.size, mode: header.mode, data: Buffer.concat(chunks) })
      current = undefined
      return undefined
    }
  })
  for (let at = 0; at < archive.length; at += size) {
    const stopped = reader.push(archive.subarray(at, at + size))
    if (stopped !== undefined) return { members, ended: stopped, reader }
  }
  return { members, ended: reader.end(), reader }
}

const root = mkdtempSync(join(tmpdir(), "cedar-tar-reader-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** What the peer's tar writes for `files` (name → content), through `find | tar -T -` as the transport runs it. */
const gnuTar = (files: ReadonlyArray<readonly [name: Buffer, content: Buffer, mode: number]>): Buffer => {
  const dir = mkdtempSync(join(root, "src-"))
  for (const [name, content, mode] of files) writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), name]), content, { mode })
  const list = Buffer.concat(files.map(([name]) => Buffer.concat([Buffer.from("./"), name, Buffer.from([0])])))
  return execFileSync("tar", ["-c", "-f", "-", "--format=gnu", "--null", "--no-recursion", "-T", "-"], { cwd: dir, input: list, maxBuffer: 1 << 26 })
}

const pack = (entries: ReadonlyArray<{ header: Partial<tar.Header> & Pick<tar.Header, "name">; content?: Buffer }>): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const packer = tar.pack()
    const chunks: Array<Buffer> = []
    packer.on("data", (chunk) => void chunks.push(chunk as Buffer))
    packer.on("end", () => resolve(Buffer.concat(chunks)))
    packer.on("error", reject)
    for (const { header, content } of entries) packer.entry(header, content ?? Buffer.alloc(0))
    packer.finalize()
  })

/** Sets a header block's checksum field as tar does (six octal digits, NUL, space). */
const resum = (archive: Buffer, at: number) => {
  archive.fill(0x20, at + 148, at + 156)
  let sum = 0
  for (let i = at; i < at + 512; i++) sum += archive[i]!
  archive.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, "latin1")
}

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff))

describe("TarReader", () => {
  const longName = Buffer.from(`${"a".repeat(140)}.tar.gz`)
  const exactly100 = Buffer.from("b".repeat(100))
  const latin1 = Buffer.from([0x63, 0xe9, 0x2e, 0x74, 0x78, 0x74]) // "cé.txt" in latin1: not UTF-8
  const files = [
    [Buffer.from("empty"), Buffer.alloc(0), 0o600],
    [Buffer.from("one"), bytes(1, 1), 0o644],
    [Buffer.from("block"), bytes(512, 2), 0o640],
    [Buffer.from("-dash"), bytes(70_000, 3), 0o755],
    [longName, bytes(1_000, 4), 0o644],
    [exactly100, bytes(513, 5), 0o644],
    [latin1, bytes(10, 6), 0o644]
  ] as const

  it.each([1, 7, 511, 512, 513, 4096, 65536, Number.MAX_SAFE_INTEGER])("reads GNU tar's archive fed %d bytes at a time", (size) => {
    const archive = gnuTar(files)
    const { members, ended } = read(archive, size)
    expect(ended).toBeUndefined()
    expect(members.map((m) => [m.name, m.type, m.mode, m.size])).toEqual(
      files.map(([name, content, mode]) => [`./${name.toString("latin1")}`, "file", mode, content.length])
    )
    members.forEach((member, i) => expect(member.data.equals(files[i]![1])).toBe(true))
  })

  it("reads a size in base-256, as GNU tar writes sizes from 8 GiB on", () => {
    const archive = gnuTar([[Buffer.from("big"), bytes(600, 7), 0o644]])
    archive.fill(0, 124, 136)
    archive[124] = 0x80
    archive.writeUIntBE(600, 130, 6)
    resum(archive, 0)
    const { members, ended } = read(archive, 100)
    expect(ended).toBeUndefined()
    expect(members[0]!.size).toBe(600)
    expect(members[0]!.data.equals(bytes(600, 7))).toBe(true)
    expect(numberAt(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]), 0, 12)).toBe(8 * 2 ** 30)
    expect(numberAt(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 12)).toBeNaN()
  })

  it.each([
    ["a changed byte (the checksum no longer matches)", (a: Buffer) => void (a[10] = a[10]! ^ 1), /checksum/],
    ["no ustar magic", (a: Buffer) => (a.fill(0, 257, 265), resum(a, 0)), /not a ustar or GNU header/],
    ["a size that is not octal", (a: Buffer) => (a.write("0000000009x\0", 124, "latin1"), resum(a, 0)), /size is not a number/],
    ["a negative base-256 size", (a: Buffer) => (a.fill(0xff, 124, 136), resum(a, 0)), /size is not a number/],
    ["a mode that is not octal", (a: Buffer) => (a.write("00006x4\0", 100, "latin1"), resum(a, 0)), /mode is not a number/]
  ])("calls a header with %s corrupt, before its member reaches the visitor", (_what, spoil, message) => {
    const archive = gnuTar([[Buffer.from("f"), bytes(20, 8), 0o644]])
    spoil(archive)
    const { members, ended } = read(archive, 300)
    expect(members).toEqual([])
    expect(ended).toMatchObject({ _tag: "Corrupt", detail: expect.stringMatching(message) })
  })

  it("takes the types a peer could send from the header, the old directory form included", async () => {
    const archive = await pack([
      { header: { name: "d", type: "directory" } },
      { header: { name: "l", type: "symlink", linkname: "/etc/shadow" } },
      { header: { name: "h", type: "link", linkname: "d" } },
      { header: { name: "p", type: "fifo" } },
      { header: { name: "c", type: "character-device" } },
      { header: { name: "b", type: "block-device" } },
      { header: { name: "old/", type: "file" } },
      { header: { name: "x", type: "contiguous-file" }, content: Buffer.from("x") }
    ])
    // a type tar-stream has no name for: a GNU volume label ('V')
    const label = Buffer.from(archive.subarray(0, 512))
    label.write("label\0", 0, "latin1")
    label[156] = 0x56
    resum(label, 0)
    const { members, ended } = read(Buffer.concat([label, archive]), 1000)
    expect(ended).toBeUndefined()
    expect(members.map((m) => [m.name, m.type])).toEqual([
      ["label", "unknown"],
      ["d", "directory"],
      ["l", "symlink"],
      ["h", "link"],
      ["p", "fifo"],
      ["c", "character-device"],
      ["b", "block-device"],
      ["old/", "directory"],
      ["x", "file"]
    ])
  })

  it("joins a ustar prefix to its name, and takes a PAX path and size over the header's", async () => {
    const prefixed = `${"p".repeat(120)}/name`
    const paxed = "q".repeat(300)
    const archive = await pack([
      { header: { name: prefixed, size: 3 }, content: Buffer.from("abc") },
      { header: { name: paxed, size: 4 }, content: Buffer.from("defg") }
    ])
    const { members, ended } = read(archive, 333)
    expect(ended).toBeUndefined()
    expect(members.map((m) => [m.name, m.data.toString()])).toEqual([[prefixed, "abc"], [paxed, "defg"]])
  })

  it("uses a PAX header up with its member, and applies a global one to every member after it", async () => {
    const long = "g".repeat(300)
    const archive = await pack([
      { header: { name: long, size: 1 }, content: Buffer.from("1") },
      { header: { name: "short", size: 1 }, content: Buffer.from("2") }
    ])
    expect(read(archive).members.map((m) => m.name)).toEqual([long, "short"])
    // the same PAX header made global ('g'): its path now names the member after it too
    const global = Buffer.from(archive)
    expect(global[156]).toBe(0x78)
    global[156] = 0x67
    resum(global, 0)
    const { members, ended } = read(global, 200)
    expect(ended).toBeUndefined()
    expect(members.map((m) => [m.name, m.data.toString()])).toEqual([[long, "1"], [long, "2"]])
  })

  it("refuses a PAX record that does not parse, and a long name of more than 64 KiB", async () => {
    const archive = await pack([{ header: { name: "r".repeat(300), size: 1 }, content: Buffer.from("r") }])
    const broken = Buffer.from(archive)
    broken.write("99", 512, "latin1") // the first record's length, now past its end
    expect(read(broken).ended).toMatchObject({ _tag: "Corrupt", detail: "invalid PAX record" })
    const long = gnuTar([[longName, bytes(1, 9), 0o644]])
    long.write(`${(MAX_META + 1).toString(8).padStart(11, "0")}\0`, 124, "latin1") // the L member's size: one byte too many
    resum(long, 0)
    expect(read(long).ended).toMatchObject({ _tag: "Corrupt", detail: `a long name of more than ${MAX_META} bytes` })
  })

  it("needs both end-of-archive blocks, and nothing but zero padding after them", () => {
    const archive = gnuTar([[Buffer.from("f"), bytes(600, 10), 0o644]])
    // what GNU tar wrote: header, 2 blocks of data, 2 zero blocks, zero padding to 10 KiB
    expect(archive.length).toBe(10_240)
    const cut = /no end-of-archive marker: the stream was cut short/
    expect(read(archive.subarray(0, 1536)).ended).toMatchObject({ _tag: "Corrupt", detail: expect.stringMatching(cut) })
    expect(read(archive.subarray(0, 2048)).ended).toMatchObject({ _tag: "Corrupt", detail: expect.stringMatching(cut) })
    expect(read(archive.subarray(0, 700)).ended).toMatchObject({ _tag: "Corrupt", detail: expect.stringMatching(cut) })
    expect(read(archive.subarray(0, 2560)).ended).toBeUndefined()
    const after = Buffer.from(archive)
    after[9000] = 1
    expect(read(after, 777).ended).toMatchObject({ _tag: "Corrupt", detail: "data after the end-of-archive marker" })
    // a member after a single zero block is no member: the marker has begun
    const sneaked = Buffer.concat([archive.subarray(0, 2048), archive.subarray(0, 1536)])
    expect(read(sneaked).ended).toMatchObject({ _tag: "Corrupt", detail: "data after the end-of-archive marker" })
    expect(read(Buffer.concat([archive, Buffer.alloc(1024 * 1024 - 8192)])).ended).toBeUndefined()
    expect(read(Buffer.concat([archive, Buffer.alloc(1024 * 1024)]), 65536).ended).toMatchObject({
      _tag: "Corrupt",
      detail: "more than 1048576 bytes after the end-of-archive marker"
    })
    expect(read(Buffer.alloc(0)).ended).toMatchObject({ _tag: "Corrupt", detail: expect.stringMatching(cut) })
  })

  it("never throws on a mangled archive, and never hands a member more or less data than its header said", () => {
    const archive = gnuTar(files)
    // a fixed seed: the same 3,000 mangled archives every run
    let seed = 20261207
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    let whole = 0
    for (let round = 0; round < 3000; round++) {
      const mangled = Buffer.from(archive)
      for (let flips = 1 + random(4); flips > 0; flips--) mangled[random(mangled.length)] = random(256)
      const cut = random(3) === 0 ? mangled.subarray(0, random(mangled.length)) : mangled
      const delivered: Array<number> = []
      let declared = 0
      const reader = new TarReader<never>({
        header: (header) => {
          declared = header.size
          delivered.push(0)
          return undefined
        },
        data: (chunk) => {
          delivered[delivered.length - 1]! += chunk.length
          expect(delivered.at(-1)).toBeLessThanOrEqual(declared)
          return undefined
        },
        end: () => {
          expect(delivered.at(-1)).toBe(declared)
          return undefined
        }
      })
      let ended: ReturnType<typeof reader.end> = undefined
      for (let at = 0; at < cut.length && ended === undefined;) {
        const size = 1 + random(2000)
        ended = reader.push(cut.subarray(at, at + size))
        at += size
      }
      ended ??= reader.end()
      if (ended === undefined) whole++
      else expect(ended._tag).toBe("Corrupt")
    }
    // most flips land in data or padding, which no header covers: those archives still read whole
    expect(whole).toBeGreaterThan(0)
    expect(whole).toBeLessThan(3000)
  })

  it("stops where the visitor says, and takes nothing more", () => {
    const archive = gnuTar([[Buffer.from("a"), bytes(10, 11), 0o644], [Buffer.from("b"), bytes(10, 12), 0o644], [Buffer.from("c"), bytes(10, 13), 0o644]])
    const { members, ended, reader } = read(archive, 100, "./b")
    expect(members.map((m) => m.name)).toEqual(["./a"])
    expect(ended).toEqual({ _tag: "Stopped", name: "./b" })
    expect(reader.push(archive)).toEqual({ _tag: "Stopped", name: "./b" })
    expect(reader.end()).toEqual({ _tag: "Stopped", name: "./b" })
  })
})

// A huge collect dir listed compactly: names packed (NameList), the listing stopped as soon as
// the file limit is passed. Memory is measured by bench/listing-memory.sh, not here.
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as LocalPeer from "../src/peers/LocalPeer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import { sortedNames } from "../src/disk/NameList.js"
import { NameList, StagingDisk } from "../src/disk/StagingDisk.js"
import { showName } from "../src/domain/Peer.js"
import { reportWithShownFiles } from "../src/peers/internal/shownFiles.js"
import { xorshift32 } from "./support/seeded.js"

const Live = LocalPeer.LocalPeers.layer.pipe(Layer.provideMerge(NodeStagingDisk.layer), Layer.provideMerge(NodeServices.layer))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NFS.realpathSync(NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-listing-")))),
  (root) => Effect.sync(() => NFS.rmSync(root, { recursive: true, force: true }))
)

// seeded (xorshift32), so a failure reproduces
const randomNames = (count: number, seed: number): Array<Uint8Array> => {
  const next = xorshift32(seed)
  return Array.from({ length: count }, () => Uint8Array.from({ length: 1 + (next() % 255) }, () => 1 + (next() % 255)))
}

describe("NameList", () => {
  it("gives back every name, and sorts as Buffer.compare does, across its buffers", () => {
    // about 2.5 MB of names: more than two of the list's buffers
    const names = randomNames(20_000, 0x5eed)
    const list = NameList.of(names)
    expect(list.length).toBe(names.length)
    for (let i = 0; i < names.length; i++) expect(Buffer.from(list.at(i)!).equals(Buffer.from(names[i]!))).toBe(true)
    const sorted = list.sorted()
    const expected = [...names].sort(Buffer.compare)
    for (let i = 0; i < expected.length; i++) expect(Buffer.from(sorted.at(i)!).equals(Buffer.from(expected[i]!))).toBe(true)
    expect([list.at(-1), list.at(names.length), list.at(0.5)]).toEqual([undefined, undefined, undefined])
  })

  it("sorts runs that are ordered, reversed, repeated or prefixes of one another as Buffer.compare does", () => {
    const next = xorshift32(0xd0d0)
    const few = Array.from({ length: 5_000 }, () => Uint8Array.from({ length: next() % 4 }, () => 97 + (next() % 3)))
    const ordered = Array.from({ length: 3_000 }, (_, i) => Buffer.from(`file-${String(i).padStart(7, "0")}.dat`))
    const cases = [few, ordered, [...ordered].reverse(), Array.from({ length: 2_000 }, () => Buffer.from("same")), [], [Buffer.from("x")]]
    for (const names of cases) {
      const sorted = NameList.of(names).sorted()
      const expected = [...names].sort(Buffer.compare).map((name) => Buffer.from(name).toString("latin1"))
      expect(Array.from({ length: sorted.length }, (_, i) => Buffer.from(sorted.at(i)!).toString("latin1"))).toEqual(expected)
    }
  })

  it("sorts the same when quicksort gives its ranges to heapsort at once, or after a level or two", () => {
    // Heapsort takes over only past twice the expected depth, which the inputs above never reach.
    const next = xorshift32(0x4ea9)
    const few = Array.from({ length: 3_000 }, () => Uint8Array.from({ length: next() % 4 }, () => 97 + (next() % 3)))
    const ordered = Array.from({ length: 1_000 }, (_, i) => Buffer.from(`file-${String(i).padStart(7, "0")}.dat`))
    const cases = [randomNames(4_000, 0x4ea9), few, ordered, [...ordered].reverse(), Array.from({ length: 500 }, () => Buffer.from("same")), [], [
      Buffer.from("x")
    ]]
    for (const depthLimit of [0, 1, 2]) {
      for (const names of cases) {
        const sorted = sortedNames(NameList.of(names), depthLimit)
        const expected = [...names].sort(Buffer.compare).map((name) => Buffer.from(name).toString("latin1"))
        expect(Array.from({ length: sorted.length }, (_, i) => Buffer.from(sorted.at(i)!).toString("latin1"))).toEqual(expected)
      }
    }
  })
})

describe("a report's files shown from the packed names", () => {
  it("reads, spreads, compares and prints as the plain report would, made once", () => {
    const names = [...randomNames(300, 0xf11e5), Buffer.from("plain.dat"), Buffer.from("caf\xe9", "latin1")]
    const list = NameList.of(names).sorted()
    const shown = Array.from({ length: list.length }, (_, i) => showName(list.at(i)!))
    const skipped = [{ name: "sub", kind: "Directory" as const }]
    const report = reportWithShownFiles({ count: 302, bytes: 7 }, list, skipped)
    const plain = { count: 302, bytes: 7, files: shown, skipped }
    expect(report.files).toBe(report.files)
    expect(report.files).toEqual(shown)
    expect(report).toEqual(plain)
    expect({ ...report }).toEqual(plain)
    expect(JSON.stringify(report)).toBe(JSON.stringify(plain))
    expect(Object.keys(report)).toEqual(["count", "bytes", "files", "skipped"])
  })

  it("with hashes, pairs each shown name with its hash, in the files' order", () => {
    const list = NameList.of([Buffer.from("b"), Buffer.from("a")]).sorted()
    const report = reportWithShownFiles({ count: 2, bytes: 2 }, list, [], ["ha", "hb"])
    const plain = { count: 2, bytes: 2, files: ["a", "b"], skipped: [], hashes: [{ name: "a", sha256: "ha" }, { name: "b", sha256: "hb" }] }
    expect(JSON.stringify(report)).toBe(JSON.stringify(plain))
    expect(report).toEqual(plain)
  })
})

describe("listing a collect dir", () => {
  it.effect("listFiles stops as soon as there are more regular files than maxFiles", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      for (let i = 0; i < 200; i++) NFS.writeFileSync(NPath.join(dir, `f${i}`), "x")
      NFS.mkdirSync(NPath.join(dir, "sub"))
      const disk = yield* StagingDisk
      const opened = yield* disk.openDirectory(dir)
      const limited = yield* disk.listFiles(opened, { maxFiles: 10 })
      expect([limited.files.length, limited.truncated]).toEqual([11, true])
      const all = yield* disk.listFiles(opened, { sizes: true })
      expect([all.files.length, all.truncated, all.bytes, all.others.map((e) => e.type)]).toEqual([200, false, 200, ["Directory"]])
      expect(Buffer.from(all.files.at(0)!).toString()).toBe("f0")
      expect(Buffer.from(all.files.at(199)!).toString()).toBe("f99")
    }).pipe(Effect.scoped, Effect.provide(Live)))

  it.effect("a stage over --max-files says 'at least max + 1' without listing the rest, and stages nothing", () =>
    Effect.gen(function*() {
      const root = yield* tempDir
      const collect = NPath.join(root, "collect")
      const target = NPath.join(root, "target")
      NFS.mkdirSync(collect)
      NFS.mkdirSync(target)
      for (let i = 0; i < 500; i++) NFS.writeFileSync(NPath.join(collect, `f${i}`), "x")
      const peer = yield* LocalPeer.make({ name: "big", collectDir: collect })
      const error = yield* Effect.flip((yield* LocalPeer.LocalPeers).stagePeer(peer, target, { maxFiles: 20 }))
      expect(error._tag === "LimitExceeded" && [error.limit, error.max, error.value]).toEqual(["maxFiles", 20, 21])
      expect(error.message).toContain("at least 21 files")
      expect(NFS.readdirSync(target)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Live)))
})

// One contract for both staging disks (Node over a real temp dir, memory over a memfs volume),
// then what only one of them can show: real-disk races and the memory hooks.
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FileSystem, Layer, Scope } from "effect"
import { createHash } from "node:crypto"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import { Volume } from "memfs"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import { DiskError, type FileWriter, StagingDisk, type StagingDiskShape } from "../src/disk/StagingDisk.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

const bytes = (text: string) => new TextEncoder().encode(text)
const LATIN1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9]) // "caf\xe9", not UTF-8
const sha256 = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex")

/** A place to arrange files for one implementation: a root, a sync fs API, and paths from byte names. */
interface Arena {
  readonly root: string
  readonly fs: typeof NFS
  readonly disk: StagingDiskShape
  /** the path (string or Buffer) of root/parts... with byte parts kept exact */
  readonly at: (...parts: Array<string | Uint8Array>) => string | Buffer
  readonly realDisk: boolean
}

const nodeArena = Effect.acquireRelease(
  Effect.sync((): Arena => {
    const root = NFS.realpathSync(NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-disk-")))
    return {
      root,
      fs: NFS,
      disk: NodeStagingDisk.make(),
      realDisk: true,
      at: (...parts) => Buffer.concat([Buffer.from(root), ...parts.flatMap((p) => [Buffer.from("/"), typeof p === "string" ? Buffer.from(p) : Buffer.from(p)])])
    }
  }),
  (arena) => Effect.sync(() => NFS.rmSync(arena.root, { recursive: true, force: true }))
)

const memoryArena = Effect.sync((): Arena => {
  const volume = new Volume()
  volume.mkdirSync("/root", { recursive: true })
  return {
    root: "/root",
    fs: volume as unknown as typeof NFS,
    disk: MemoryStagingDisk.make({ volume }).disk,
    realDisk: false,
    at: (...parts) => ["/root", ...parts.map((p) => (typeof p === "string" ? p : MemoryStagingDisk.memoryName(p)))].join("/")
  }
})

const modeOf = (arena: Arena, ...parts: Array<string | Uint8Array>) => Number(arena.fs.lstatSync(arena.at(...parts)).mode) & 0o7777
const contentOf = (arena: Arena, ...parts: Array<string | Uint8Array>) => String(arena.fs.readFileSync(arena.at(...parts), "utf8"))

const contract = (title: string, makeArena: Effect.Effect<Arena, never, Scope.Scope>) =>
  describe(`${title}: the staging disk contract`, () => {
    const setup = Effect.gen(function*() {
      const arena = yield* makeArena
      const { fs, at } = arena
      fs.mkdirSync(at("src"))
      fs.mkdirSync(at("dst"))
      fs.writeFileSync(at("src", "a"), "alpha")
      fs.writeFileSync(at("src", "b"), "bravo!")
      fs.chmodSync(at("src", "b"), 0o4751)
      fs.writeFileSync(at("src", LATIN1), "latin")
      fs.mkdirSync(at("src", "sub"))
      fs.symlinkSync(arena.realDisk ? "/etc/passwd" : "/root/src/a", at("src", "link"))
      const src = yield* arena.disk.openDirectory(`${arena.root}/src`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      return { arena, src, dst }
    })

    it.effect("lists byte names with their types, following nothing", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        const entries = yield* arena.disk.list(src)
        const seen = entries.map((e) => [Buffer.from(e.name).toString("hex"), e.type]).sort()
        expect(seen).toEqual([
          [Buffer.from("a").toString("hex"), "File"],
          [Buffer.from("b").toString("hex"), "File"],
          [Buffer.from(LATIN1).toString("hex"), "File"],
          [Buffer.from("link").toString("hex"), "SymbolicLink"],
          [Buffer.from("sub").toString("hex"), "Directory"]
        ].sort())
      }))

    it.effect("copies regular files byte for byte, counts bytes written, drops set-id bits, hashes what it read", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const progress: Array<number> = []
        const totals = yield* arena.disk.copyFiles(src, [bytes("a"), bytes("b"), LATIN1], dst, {}, {
          hash: true,
          onProgress: (t) => progress.push(t.count)
        })
        expect(totals).toEqual({ count: 3, bytes: 16, hashes: [sha256("alpha"), sha256("bravo!"), sha256("latin")] })
        expect(progress).toEqual([1, 2, 3])
        expect([contentOf(arena, "dst", "a"), contentOf(arena, "dst", "b"), contentOf(arena, "dst", LATIN1)]).toEqual([
          "alpha",
          "bravo!",
          "latin"
        ])
        expect(modeOf(arena, "dst", "b")).toBe(0o751)
        expect(yield* arena.disk.hashFiles(dst, [bytes("a"), LATIN1])).toEqual([sha256("alpha"), sha256("latin")])
      }))

    it.effect("reads a regular file up to a bound; a link, a directory, a missing or a larger file is not read", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        expect(new TextDecoder().decode(yield* arena.disk.readFile(src, "b", 6))).toBe("bravo!")
        expect(yield* Effect.flip(arena.disk.readFile(src, "b", 5))).toMatchObject({ _tag: "DiskError", code: "EFBIG" })
        expect(yield* Effect.flip(arena.disk.readFile(src, "link", 100))).toMatchObject({ _tag: "NotRegularFile", type: "SymbolicLink" })
        expect(yield* Effect.flip(arena.disk.readFile(src, "sub", 100))).toMatchObject({ _tag: "NotRegularFile", type: "Directory" })
        expect(yield* Effect.flip(arena.disk.readFile(src, "gone", 100))).toMatchObject({ _tag: "DiskError", code: "ENOENT" })
        expect(yield* Effect.flip(arena.disk.readFile(src, "../src/a", 100))).toMatchObject({ _tag: "DiskError" })
      }))

    it.effect("refuses any name that is not one plain component, before touching the disk", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const names = [bytes(""), bytes("."), bytes(".."), bytes("../a"), bytes("sub/a"), bytes("a\0b"), bytes("/etc/passwd")]
        for (const name of names) {
          const copy = yield* Effect.flip(arena.disk.copyFiles(src, [name], dst, {}))
          expect(copy).toMatchObject({ _tag: "DiskError", detail: expect.stringContaining("not a single plain file name") })
          const commit = yield* Effect.flip(arena.disk.commit(src, [name], dst))
          expect(commit).toMatchObject({ _tag: "DiskError", detail: expect.stringContaining("not a single plain file name") })
        }
        // names that only look odd are plain: a leading dot, dots inside, a backslash
        for (const name of ["..a", ".hidden", "a..b", "back\\slash"]) arena.fs.writeFileSync(arena.at("src", name), name)
        const totals = yield* arena.disk.copyFiles(src, ["..a", ".hidden", "a..b", "back\\slash"].map(bytes), dst, {})
        expect(totals.count).toBe(4)
        expect(arena.fs.readdirSync(arena.at("dst")).length).toBe(4)
      }))

    it.effect("replaceEmptyDirectory: a private directory takes the place of an empty one in one step, with its mode", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        const parent = yield* arena.disk.openDirectory(arena.root)
        arena.fs.mkdirSync(arena.at("peer"))
        yield* Effect.scoped(Effect.gen(function*() {
          const gathered = yield* arena.disk.makePrivateDirectory(parent)
          yield* arena.disk.copyFiles(src, [bytes("a"), LATIN1], gathered, {})
          yield* arena.disk.replaceEmptyDirectory(parent, gathered, "peer", { mode: 0o750 })
          expect(arena.fs.readdirSync(arena.at("peer")).length).toBe(2)
          expect(modeOf(arena, "peer")).toBe(0o750)
          expect(arena.fs.readdirSync(arena.at()).map(String).filter((n) => n.startsWith(".cedar-peer-"))).toEqual([])
          // the private directory, still open, is the one at "peer" now
          expect((yield* arena.disk.list(gathered)).length).toBe(2)
        }))
        // its clean-up, at the end of its scope, removes nothing of what landed
        expect(arena.fs.readdirSync(arena.at("peer")).length).toBe(2)
        expect(contentOf(arena, "peer", LATIN1)).toBe("latin")
      }))

    it.effect("replaceEmptyDirectory: moves nothing where the place is not an empty directory", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        const parent = yield* arena.disk.openDirectory(arena.root)
        arena.fs.mkdirSync(arena.at("full"))
        arena.fs.writeFileSync(arena.at("full", "kept"), "kept")
        arena.fs.writeFileSync(arena.at("file"), "a file")
        const gathered = yield* arena.disk.makePrivateDirectory(parent)
        yield* arena.disk.copyFiles(src, [bytes("a")], gathered, {})
        const notEmpty = yield* Effect.flip(arena.disk.replaceEmptyDirectory(parent, gathered, "full", { mode: 0o750 }))
        expect(["ENOTEMPTY", "EEXIST"]).toContain(notEmpty.code)
        const notDirectory = yield* Effect.flip(arena.disk.replaceEmptyDirectory(parent, gathered, "file", { mode: 0o750 }))
        expect(notDirectory.code).toBe("ENOTDIR")
        expect(arena.fs.readdirSync(arena.at("full")).map(String)).toEqual(["kept"])
        expect(contentOf(arena, "file")).toBe("a file")
        // still where it was, files and all
        expect((yield* arena.disk.list(gathered)).map((e) => Buffer.from(e.name).toString())).toEqual(["a"])
        // only a private directory of that very parent
        const elsewhere = yield* arena.disk.makePrivateDirectory(src)
        const refused = yield* Effect.flip(arena.disk.replaceEmptyDirectory(parent, elsewhere, "full", { mode: 0o750 }))
        expect(refused.detail).toContain("not a private directory of this parent")
      }))

    it.effect("applies permissions and ownership", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        yield* arena.disk.copyFiles(src, [bytes("a")], dst, { permissions: 0o640, ownership: { uid: 1234, gid: 4321 } })
        const info = arena.fs.lstatSync(arena.at("dst", "a"))
        expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o7777]).toEqual([1234, 4321, 0o640])
      }))

    it.effect("refuses a link or a directory as NotRegularFile naming it, and never replaces a target", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const link = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("link")], dst, {}))
        expect(link._tag === "NotRegularFile" && [Buffer.from(link.name).toString(), link.type]).toEqual(["link", "SymbolicLink"])
        const dir = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("sub")], dst, {}))
        expect(dir._tag === "NotRegularFile" && dir.type).toBe("Directory")
        arena.fs.writeFileSync(arena.at("dst", "a"), "there before")
        const exists = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("a")], dst, {}))
        expect(exists._tag === "DiskError" && exists.code).toBe("EEXIST")
        expect(contentOf(arena, "dst", "a")).toBe("there before")
        const missing = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("nope")], dst, {}))
        expect(missing._tag === "DiskError" && [missing.code, missing.path]).toEqual(["ENOENT", `${arena.root}/src/nope`])
        const bad = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("../src/a")], dst, {}))
        expect(bad._tag).toBe("DiskError")
      }))

    it.effect("stops with ByteLimitReached once more than maxBytes were copied", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const error = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("a"), bytes("b")], dst, {}, { maxBytes: 8 }))
        expect(error._tag === "ByteLimitReached" && [error.max, error.bytes]).toEqual([8, 11])
      }))

    it.effect("makes a private 0700 directory named after its maker and removes it whole with its scope", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const scope = yield* Scope.make()
        const priv = yield* Scope.provide(scope)(arena.disk.makePrivateDirectory(dst))
        const names = arena.fs.readdirSync(arena.at("dst")).map(String)
        expect(names).toHaveLength(1)
        expect(names[0]).toMatch(new RegExp(`^\\.cedar-peer-${process.pid}-\\d+-[0-9a-f]{12}$`))
        expect(modeOf(arena, "dst", names[0]!)).toBe(0o700)
        yield* arena.disk.copyFiles(src, [bytes("a"), LATIN1], priv, {})
        expect(yield* arena.disk.removeLeftovers(dst)).toEqual([]) // this process is alive
        yield* Scope.close(scope, Exit.void)
        expect(arena.fs.readdirSync(arena.at("dst"))).toEqual([])
      }))

    it.effect("commits by renaming, replacing what is there; a failing rename stops with the earlier ones done", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        arena.fs.writeFileSync(arena.at("dst", "a"), "old")
        arena.fs.mkdirSync(arena.at("dst", "x"))
        arena.fs.mkdirSync(arena.at("dst", "x", "full"))
        arena.fs.writeFileSync(arena.at("src", "x"), "x")
        yield* arena.disk.commit(src, [bytes("a"), LATIN1], dst)
        expect([contentOf(arena, "dst", "a"), contentOf(arena, "dst", LATIN1)]).toEqual(["alpha", "latin"])
        const error = yield* Effect.flip(arena.disk.commit(src, [bytes("b"), bytes("x")], dst))
        expect(error._tag === "DiskError" && error.operation).toBe("rename")
        expect(contentOf(arena, "dst", "b")).toBe("bravo!")
        expect(arena.fs.lstatSync(arena.at("dst", "x")).isDirectory()).toBe(true)
      }))

    it.effect("writes an empty file, emptying an old one, never through a link or into a hard link", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        arena.fs.writeFileSync(arena.at("dst", "flag"), "stale")
        yield* arena.disk.writeEmptyFile(dst, "flag", { permissions: 0o640, ownership: { uid: 34, gid: 35 } })
        const info = arena.fs.lstatSync(arena.at("dst", "flag"))
        expect([Number(info.size), Number(info.uid), Number(info.mode) & 0o7777]).toEqual([0, 34, 0o640])
        const viaLink = yield* Effect.flip(arena.disk.writeEmptyFile(src, "link", {}))
        expect(viaLink._tag === "NotRegularFile" && viaLink.type).toBe("SymbolicLink")
        arena.fs.linkSync(arena.at("src", "a"), arena.at("dst", "hard"))
        const hard = yield* Effect.flip(arena.disk.writeEmptyFile(dst, "hard", {}))
        expect(hard._tag === "NotRegularFile" && hard.type).toBe("HardLink")
        expect(contentOf(arena, "src", "a")).toBe("alpha")
        const onDir = yield* Effect.flip(arena.disk.writeEmptyFile(src, "sub", {}))
        expect(onDir._tag === "NotRegularFile" && onDir.type).toBe("Directory")
      }))

    it.effect("opens a subdirectory without following a link, creating it with its mode and owner", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const made = yield* arena.disk.openSubdirectory(dst, "2026", { mode: 0o750, ownership: { uid: 0, gid: 34 } })
        expect(made.created).toBe(true)
        const info = arena.fs.lstatSync(arena.at("dst", "2026"))
        expect([Number(info.gid), Number(info.mode) & 0o7777]).toEqual([34, 0o750])
        const again = yield* arena.disk.openSubdirectory(dst, "2026", { mode: 0o750 })
        expect(again.created).toBe(false)
        yield* arena.disk.writeEmptyFile(again.directory, "inside", {})
        expect(arena.fs.readdirSync(arena.at("dst", "2026")).map(String)).toEqual(["inside"])
        const link = yield* Effect.flip(arena.disk.openSubdirectory(src, "link", { mode: 0o750 }))
        expect(link._tag === "NotRegularFile" && link.type).toBe("SymbolicLink")
        const file = yield* Effect.flip(arena.disk.openSubdirectory(src, "a"))
        expect(file._tag === "NotRegularFile" && file.type).toBe("File")
        const missing = yield* Effect.flip(arena.disk.openSubdirectory(src, "none"))
        expect(missing._tag === "DiskError" && missing.code).toBe("ENOENT")
      }))

    it.effect("adopts regular files with one link, setting their attributes; refuses links and hard links", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        const totals = yield* arena.disk.adoptFiles(src, [bytes("a"), LATIN1], { permissions: 0o600, ownership: { uid: 7, gid: 8 } })
        expect(totals).toEqual({ count: 2, bytes: 10 })
        const info = arena.fs.lstatSync(arena.at("src", "a"))
        expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o7777]).toEqual([7, 8, 0o600])
        arena.fs.linkSync(arena.at("src", "b"), arena.at("src", "b2"))
        const hard = yield* Effect.flip(arena.disk.adoptFiles(src, [bytes("b2")], {}))
        expect(hard._tag === "NotRegularFile" && hard.type).toBe("HardLink")
        const link = yield* Effect.flip(arena.disk.adoptFiles(src, [bytes("link")], {}))
        expect(link._tag === "NotRegularFile" && link.type).toBe("SymbolicLink")
      }))

    it.effect("reclaims a directory: owned by the process again, mode 0700", () =>
      Effect.gen(function*() {
        const { arena, dst } = yield* setup
        const priv = yield* arena.disk.makePrivateDirectory(dst, { uid: 1234, gid: 1234 })
        const name = arena.fs.readdirSync(arena.at("dst")).map(String)[0]!
        expect(Number(arena.fs.lstatSync(arena.at("dst", name)).uid)).toBe(1234)
        yield* arena.disk.reclaim(priv)
        const info = arena.fs.lstatSync(arena.at("dst", name))
        expect([Number(info.uid), Number(info.mode) & 0o7777]).toEqual([0, 0o700])
      }))

    it.effect("createFiles: created exclusively, never through a link; written chunk by chunk, finished with its attributes", () =>
      Effect.gen(function*() {
        const { arena, src, dst } = yield* setup
        const { written, creator } = yield* Effect.scoped(Effect.gen(function*() {
          const creator = yield* arena.disk.createFiles(dst)
          const writer = creator.create(LATIN1)
          if (writer instanceof DiskError) return yield* writer
          expect(modeOf(arena, "dst", LATIN1) & 0o077).toBe(0)
          expect([writer.write(bytes("lat")), writer.write(bytes("in"))]).toEqual([undefined, undefined])
          expect(writer.finish({ permissions: 0o644, ownership: { uid: 34, gid: 35 } })).toBeUndefined()
          expect(creator.create(LATIN1)).toMatchObject({ _tag: "DiskError", code: "EEXIST" })
          // the source's entry is a link: refused, never followed
          const inSource = yield* arena.disk.createFiles(src)
          expect(inSource.create(bytes("link"))).toMatchObject({ _tag: "DiskError", code: "EEXIST" })
          const bad = creator.create(bytes("../x"))
          expect(bad).toMatchObject({ _tag: "DiskError" })
          expect((bad as DiskError).detail).toContain("not a single plain file name")
          return { written: writer, creator }
        }))
        expect(contentOf(arena, "dst", LATIN1)).toBe("latin")
        const info = arena.fs.lstatSync(arena.at("dst", LATIN1))
        expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o7777]).toEqual([34, 35, 0o644])
        // a finished writer takes no more, nor does a creator whose scope has closed
        expect(written.write(bytes("more"))).toMatchObject({ _tag: "DiskError", code: "EBADF" })
        expect(written.finish({})).toMatchObject({ _tag: "DiskError", code: "EBADF" })
        expect(creator.create(bytes("later"))).toMatchObject({ _tag: "DiskError", code: "EBADF" })
        expect(contentOf(arena, "dst", LATIN1)).toBe("latin")
        expect(contentOf(arena, "src", "a")).toBe("alpha")
      }))

    it.effect("createFiles: a file left unfinished is closed with the scope, as written so far, and takes no more", () =>
      Effect.gen(function*() {
        const { arena, dst } = yield* setup
        const writers = yield* Effect.scoped(Effect.gen(function*() {
          const creator = yield* arena.disk.createFiles(dst)
          const made = [creator.create(bytes("half")), creator.create(bytes("none"))]
          for (const writer of made) if (writer instanceof DiskError) return yield* writer
          const [half, none] = made as Array<FileWriter>
          expect(half!.write(bytes("written so far"))).toBeUndefined()
          return [half!, none!]
        }))
        expect(contentOf(arena, "dst", "half")).toBe("written so far")
        expect(contentOf(arena, "dst", "none")).toBe("")
        // never finished: still the process's alone
        expect(modeOf(arena, "dst", "half") & 0o077).toBe(0)
        for (const writer of writers) expect(writer.write(bytes("late"))).toMatchObject({ _tag: "DiskError", code: "EBADF" })
        expect(contentOf(arena, "dst", "half")).toBe("written so far")
      }))

    it.effect("replaceFile: replaces a file or a link in one step, never writing through the link, leaving no draft", () =>
      Effect.gen(function*() {
        const { arena, src } = yield* setup
        yield* arena.disk.replaceFile(src, "a", bytes("new alpha"), { permissions: 0o644, ownership: { uid: 34, gid: 35 } })
        expect(contentOf(arena, "src", "a")).toBe("new alpha")
        const info = arena.fs.lstatSync(arena.at("src", "a"))
        expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o7777]).toEqual([34, 35, 0o644])
        const target = arena.realDisk ? "/etc/passwd" : "/root/src/a"
        const before = String(arena.fs.readFileSync(target, "utf8"))
        yield* arena.disk.replaceFile(src, "link", bytes("in place of the link"), {})
        expect(arena.fs.lstatSync(arena.at("src", "link")).isFile()).toBe(true)
        expect(contentOf(arena, "src", "link")).toBe("in place of the link")
        expect(String(arena.fs.readFileSync(target, "utf8"))).toBe(before)
        const onDir = yield* Effect.flip(arena.disk.replaceFile(src, "sub", bytes("x"), {}))
        expect(onDir._tag).toBe("DiskError")
        expect(arena.fs.lstatSync(arena.at("src", "sub")).isDirectory()).toBe(true)
        expect(arena.fs.readdirSync(arena.at("src")).map(String).filter((n) => n.endsWith(".tmp"))).toEqual([])
      }))

    it.effect("usage: the entries of a directory and their bytes now", () =>
      Effect.gen(function*() {
        const { arena, dst } = yield* setup
        expect(yield* arena.disk.usage(dst)).toEqual({ files: 0, bytes: 0 })
        arena.fs.writeFileSync(arena.at("dst", "one"), "12345")
        arena.fs.writeFileSync(arena.at("dst", LATIN1), "678")
        expect(yield* arena.disk.usage(dst)).toEqual({ files: 2, bytes: 8 })
      }))

    it.effect("removes leftovers of dead runs and of 0.1.0, never a live run's or anything else", () =>
      Effect.gen(function*() {
        const { arena, dst } = yield* setup
        const { fs, at } = arena
        const dead = ".cedar-peer-999999999-1-0123456789ab"
        const reused = `.cedar-peer-${process.pid}-1-0123456789ab` // this pid, another start time
        fs.mkdirSync(at("dst", dead))
        fs.writeFileSync(at("dst", dead, "f"), "x")
        fs.mkdirSync(at("dst", reused))
        fs.writeFileSync(at("dst", ".cedar-peer-0123456789ab-7.tmp"), "x")
        fs.writeFileSync(at("dst", "keep"), "k")
        fs.writeFileSync(at("dst", ".cedar-peer-999999999-1-0123456789ab.file"), "not a directory of ours")
        // mkdtemp directories carry no maker (a live run's control socket dir is one): a day's grace
        fs.mkdirSync(at("dst", ".cedar-peer-AbC123"))
        fs.mkdirSync(at("dst", ".cedar-peer-Old123"))
        const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000)
        fs.utimesSync(at("dst", ".cedar-peer-Old123"), twoDaysAgo, twoDaysAgo)
        yield* arena.disk.makePrivateDirectory(dst)
        const removed = yield* arena.disk.removeLeftovers(dst)
        expect([...removed].sort()).toEqual([".cedar-peer-0123456789ab-7.tmp", ".cedar-peer-Old123", dead, reused].sort())
        const left = fs.readdirSync(at("dst")).map(String).sort()
        expect(left).toHaveLength(4)
        expect(left.filter((n) => !n.startsWith(`.cedar-peer-${process.pid}-`))).toEqual([
          ".cedar-peer-999999999-1-0123456789ab.file",
          ".cedar-peer-AbC123",
          "keep"
        ])
      }))
  })

contract("NodeStagingDisk", nodeArena)
contract("MemoryStagingDisk", memoryArena)

describe("NodeStagingDisk on a real disk", () => {
  it.effect("a directory renamed away and replaced by a link after it was opened redirects nothing", () =>
    Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/dst`)
      NFS.mkdirSync(`${arena.root}/elsewhere`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      NFS.renameSync(`${arena.root}/dst`, `${arena.root}/moved`)
      NFS.symlinkSync(`${arena.root}/elsewhere`, `${arena.root}/dst`)
      yield* arena.disk.writeEmptyFile(dst, "flag", {})
      expect(NFS.readdirSync(`${arena.root}/elsewhere`)).toEqual([])
      expect(NFS.readdirSync(`${arena.root}/moved`)).toEqual(["flag"])
    }))

  it.effect("a fifo is refused without blocking, as is a socket-like entry", () =>
    Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/src`)
      NFS.mkdirSync(`${arena.root}/dst`)
      const { execFileSync } = yield* Effect.promise(() => import("node:child_process"))
      execFileSync("mkfifo", [`${arena.root}/src/fifo`])
      const src = yield* arena.disk.openDirectory(`${arena.root}/src`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      const error = yield* Effect.flip(arena.disk.copyFiles(src, [bytes("fifo")], dst, {}))
      expect(error._tag === "NotRegularFile" && error.type).toBe("FIFO")
      expect(NFS.readdirSync(`${arena.root}/dst`)).toEqual([])
    }))

  it.live("a source that shrinks while it is copied ends the copy (no hang), with the bytes written counted", () =>
    Effect.scoped(Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/src`)
      NFS.mkdirSync(`${arena.root}/dst`)
      NFS.writeFileSync(`${arena.root}/src/big`, Buffer.alloc(64 * 1024 * 1024, 1))
      const src = yield* arena.disk.openDirectory(`${arena.root}/src`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      let truncated = false
      const totals = yield* arena.disk.copyFiles(src, [bytes("big")], dst, {}, {
        onProgress: () => undefined
      }).pipe(
        Effect.tap(() => Effect.void),
        (copy) =>
          Effect.zipWith(
            copy,
            Effect.sync(() => {
              NFS.truncateSync(`${arena.root}/src/big`, 1000)
              truncated = true
            }).pipe(Effect.delay("1 millis")),
            (t) => t,
            { concurrent: true }
          )
      )
      expect(truncated).toBe(true)
      expect(totals.bytes).toBe(NFS.statSync(`${arena.root}/dst/big`).size)
    })), 30_000)

  describe("big files, copied by the kernel through cat", () => {
    /** The command names of this process's live children (from /proc). */
    const childrenOfThisProcess = () =>
      NFS.readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).flatMap((pid) => {
        try {
          const stat = NFS.readFileSync(`/proc/${pid}/stat`, "utf8")
          const command = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
          return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === String(process.pid) ? [command] : []
        } catch {
          return []
        }
      })
    const BIG = 24 * 1024 * 1024
    const withPath = <A, E, R>(dir: string, effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const saved = process.env["PATH"]
          process.env["PATH"] = dir
          return saved
        }),
        () => effect,
        (saved) => Effect.sync(() => void (process.env["PATH"] = saved))
      )
    const bigSetup = Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/src`)
      NFS.mkdirSync(`${arena.root}/dst`)
      NFS.mkdirSync(`${arena.root}/bin`)
      const content = Buffer.alloc(BIG)
      for (let i = 0; i < BIG; i += 4096) content.writeUInt32LE(i, i)
      NFS.writeFileSync(`${arena.root}/src/big`, content, { mode: 0o640 })
      NFS.writeFileSync(`${arena.root}/src/small`, "s")
      // a cat that says it ran, then is the real one
      NFS.writeFileSync(`${arena.root}/bin/cat`, `#!/bin/sh\necho ran >> ${arena.root}/cat.log\nexec /bin/cat "$@"\n`, { mode: 0o755 })
      const src = yield* arena.disk.openDirectory(`${arena.root}/src`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      const ran = () => (NFS.existsSync(`${arena.root}/cat.log`) ? NFS.readFileSync(`${arena.root}/cat.log`, "utf8").trim().split("\n").length : 0)
      return { arena, src, dst, content, ran }
    })

    it.live("same bytes, owner and mode; cat ran for the big file only", () =>
      Effect.scoped(Effect.gen(function*() {
        const { arena, src, dst, content, ran } = yield* bigSetup
        const totals = yield* withPath(
          `${arena.root}/bin:/usr/bin:/bin`,
          arena.disk.copyFiles(src, [bytes("big"), bytes("small")], dst, { ownership: { uid: 4321, gid: 4322 } })
        )
        expect(totals).toEqual({ count: 2, bytes: BIG + 1 })
        expect(NFS.readFileSync(`${arena.root}/dst/big`).equals(content)).toBe(true)
        const info = NFS.statSync(`${arena.root}/dst/big`)
        expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([4321, 4322, 0o640])
        expect(ran()).toBe(1)
      })), 30_000)

    it.live("without a cat to run, the big file is copied through the buffer all the same", () =>
      Effect.scoped(Effect.gen(function*() {
        const { arena, src, dst, content, ran } = yield* bigSetup
        const totals = yield* withPath(`${arena.root}/nowhere`, arena.disk.copyFiles(src, [bytes("big")], dst, {}))
        expect(totals).toEqual({ count: 1, bytes: BIG })
        expect(NFS.readFileSync(`${arena.root}/dst/big`).equals(content)).toBe(true)
        expect(ran()).toBe(0)
      })), 30_000)

    it.live("interrupted, it kills its cat at once and returns; nothing of ours is left running", () =>
      Effect.scoped(Effect.gen(function*() {
        const { arena, src, dst } = yield* bigSetup
        // a cat that never ends: only the interruption can stop the copy
        NFS.writeFileSync(`${arena.root}/bin/cat`, "#!/bin/sh\nexec /bin/sleep 600\n", { mode: 0o755 })
        const started = Date.now()
        const exit = yield* withPath(
          `${arena.root}/bin:/usr/bin:/bin`,
          arena.disk.copyFiles(src, [bytes("big")], dst, {}).pipe(Effect.timeoutOrElse({ duration: "500 millis", orElse: () => Effect.fail("stopped") }), Effect.exit)
        )
        expect(exit).toMatchObject({ _tag: "Failure" })
        expect(Date.now() - started).toBeLessThan(5_000)
        expect(childrenOfThisProcess().filter((command) => command === "sleep")).toEqual([])
      })), 30_000)

    it.live("a byte limit stops it: ByteLimitReached, and no cat left running", () =>
      Effect.scoped(Effect.gen(function*() {
        const { arena, src, dst, ran } = yield* bigSetup
        const error = yield* Effect.flip(withPath(
          `${arena.root}/bin:/usr/bin:/bin`,
          arena.disk.copyFiles(src, [bytes("big")], dst, {}, { maxBytes: 1024 * 1024 })
        ))
        expect(error).toMatchObject({ _tag: "ByteLimitReached", max: 1024 * 1024 })
        expect(ran()).toBe(1)
        expect(childrenOfThisProcess().filter((command) => command === "cat")).toEqual([])
      })), 30_000)
  })

  it.live("interrupting a copy waits for the files in flight, then nothing more is written", () =>
    Effect.scoped(Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/src`)
      NFS.mkdirSync(`${arena.root}/dst`)
      const names: Array<Uint8Array> = []
      for (let i = 0; i < 3000; i++) {
        NFS.writeFileSync(`${arena.root}/src/f${i}`, "x")
        names.push(bytes(`f${i}`))
      }
      const src = yield* arena.disk.openDirectory(`${arena.root}/src`)
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(arena.disk.copyFiles(src, names, dst, {}, {
        onProgress: (t) => {
          if (t.count === 100) Deferred.doneUnsafe(started, Exit.void)
        }
      }))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      const after = NFS.readdirSync(`${arena.root}/dst`).length
      yield* Effect.sleep("50 millis")
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(NFS.readdirSync(`${arena.root}/dst`).length).toBe(after)
      expect(after).toBeLessThan(3000)
    })))

  it.live("a private directory holding 20,000 files and a planted link goes away whole; the link's target stays", () =>
    Effect.scoped(Effect.gen(function*() {
      const arena = yield* nodeArena
      NFS.mkdirSync(`${arena.root}/dst`)
      NFS.mkdirSync(`${arena.root}/precious`)
      NFS.writeFileSync(`${arena.root}/precious/keep`, "k")
      const dst = yield* arena.disk.openDirectory(`${arena.root}/dst`)
      const scope = yield* Scope.make()
      const priv = yield* Scope.provide(scope)(arena.disk.makePrivateDirectory(dst))
      const name = NFS.readdirSync(`${arena.root}/dst`)[0]!
      const full = `${arena.root}/dst/${name}`
      for (let i = 0; i < 20_000; i++) NFS.writeFileSync(`${full}/f${i}`, "")
      NFS.symlinkSync(`${arena.root}/precious`, `${full}/sub`)
      NFS.mkdirSync(`${full}/dir`)
      NFS.symlinkSync(`${arena.root}/precious`, `${full}/dir/deeper`)
      expect(priv.shown).toBe(full)
      yield* Scope.close(scope, Exit.void)
      expect(NFS.readdirSync(`${arena.root}/dst`)).toEqual([])
      expect(NFS.readdirSync(`${arena.root}/precious`)).toEqual(["keep"])
    })), 60_000)
})

describe("MemoryStagingDisk hooks", () => {
  it.effect("before: a file swapped for a link between listing and copy is refused, nothing read through the link", () =>
    Effect.scoped(Effect.gen(function*() {
      const volume = new Volume()
      volume.mkdirSync("/src", { recursive: true })
      volume.mkdirSync("/dst", { recursive: true })
      volume.writeFileSync("/src/a", "a")
      volume.writeFileSync("/src/zz_last", "original")
      volume.writeFileSync("/secret", "shadow")
      const { disk } = MemoryStagingDisk.make({
        volume,
        before: (op, path) =>
          op === "copyFile" && path === "/src/zz_last"
            ? Effect.sync(() => {
              volume.unlinkSync(path)
              volume.symlinkSync("/secret", path)
            })
            : undefined
      })
      const src = yield* disk.openDirectory("/src")
      const dst = yield* disk.openDirectory("/dst")
      const listed = (yield* disk.list(src)).map((e) => [Buffer.from(e.name).toString(), e.type])
      expect(listed.sort()).toEqual([["a", "File"], ["zz_last", "File"]])
      const error = yield* Effect.flip(disk.copyFiles(src, [bytes("a"), bytes("zz_last")], dst, {}))
      expect(error._tag === "NotRegularFile" && [Buffer.from(error.name).toString(), error.type]).toEqual(["zz_last", "SymbolicLink"])
      expect((volume.readdirSync("/dst") as Array<string>).map(String)).toEqual(["a"])
    })))

  it.effect("fail: an injected ENOSPC is a DiskError saying no space left on device", () =>
    Effect.scoped(Effect.gen(function*() {
      const volume = new Volume()
      volume.mkdirSync("/src", { recursive: true })
      volume.mkdirSync("/dst", { recursive: true })
      volume.writeFileSync("/src/a", "a")
      const { disk } = MemoryStagingDisk.make({ volume, fail: (op) => (op === "copyFile" ? "ENOSPC" : undefined) })
      const error = yield* Effect.flip(disk.copyFiles(yield* disk.openDirectory("/src"), [bytes("a")], yield* disk.openDirectory("/dst"), {}))
      expect(error._tag === "DiskError" && [error.code, error.message]).toEqual([
        "ENOSPC",
        "/src/a: copyFile failed: injected fault: no space left on device"
      ])
    })))

  it.effect("fail: a platform reason stands for its errno code; the failed operation did nothing", () =>
    Effect.gen(function*() {
      const volume = new Volume()
      volume.mkdirSync("/dst", { recursive: true })
      const { disk } = MemoryStagingDisk.make({ volume, fail: (op, path) => (op === "writeEmptyFile" && path === "/dst/flag" ? "PermissionDenied" : undefined) })
      const dst = yield* disk.openDirectory("/dst")
      const error = yield* Effect.flip(disk.writeEmptyFile(dst, "flag", {}))
      expect(error._tag === "DiskError" && [error.code, error.operation, error.detail]).toEqual([
        "EACCES",
        "writeEmptyFile",
        "injected fault: permission denied"
      ])
      expect(volume.readdirSync("/dst")).toEqual([])
      yield* disk.writeEmptyFile(dst, "other", {})
      expect(volume.readdirSync("/dst")).toEqual(["other"])
    }))

  it.effect("its layer provides the StagingDisk service over a MemoryFileSystem's volume, both ways", () => {
    const memory = MemoryFileSystem.make({ files: { "/src/a": "alpha" }, directories: ["/dst"] })
    const staging = MemoryStagingDisk.make({ volume: memory.volume })
    return Effect.gen(function*() {
      const disk = yield* StagingDisk
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString("/src/b", "bravo")
      const src = yield* disk.openDirectory("/src")
      const dst = yield* disk.openDirectory("/dst")
      expect(yield* disk.copyFiles(src, [bytes("a"), bytes("b")], dst, {})).toEqual({ count: 2, bytes: 10 })
      expect(yield* fs.readFileString("/dst/b")).toBe("bravo")
      expect(disk).toBe(staging.disk)
    }).pipe(Effect.provide(Layer.merge(staging.layer, memory.layer)))
  })

  it("memoryName and nameOf are inverse, and UTF-8 names stay as they are", () => {
    for (const name of [bytes("plain"), bytes("ünï ファイル"), LATIN1, Uint8Array.from([0xff, 0xc3, 0x28, 0x5c])]) {
      expect(MemoryStagingDisk.nameOf(MemoryStagingDisk.memoryName(name))).toEqual(name)
    }
    expect(MemoryStagingDisk.memoryName(bytes("ünï"))).toBe("ünï")
  })
})

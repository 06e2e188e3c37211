import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as NFS from "node:fs"
import * as net from "node:net"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as LocalPeer from "../src/peers/LocalPeer.js"
import { nameBytes, showName } from "../src/domain/Peer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"

const Live = LocalPeer.LocalPeers.layer.pipe(Layer.provideMerge(NodeStagingDisk.layer), Layer.provideMerge(NodeServices.layer))

/** A fresh directory tree on the real disk, removed when the test's scope closes. */
const tempRoot = Effect.acquireRelease(
  Effect.sync(() => NFS.realpathSync(NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-peer-it-")))),
  (root) => Effect.sync(() => NFS.rmSync(root, { recursive: true, force: true }))
)

const setup = (tree: { files?: Record<string, string>; target?: Record<string, string> }) =>
  Effect.gen(function*() {
    const root = yield* tempRoot
    const collect = NPath.join(root, "collect dir with 'quotes' and ünïcødé")
    const target = NPath.join(root, "stage\nnew line")
    NFS.mkdirSync(collect)
    NFS.mkdirSync(target)
    for (const [name, content] of Object.entries(tree.files ?? {})) NFS.writeFileSync(NPath.join(collect, name), content)
    for (const [name, content] of Object.entries(tree.target ?? {})) NFS.writeFileSync(NPath.join(target, name), content)
    const peer = yield* LocalPeer.make({ name: "alpha", collectDir: collect })
    return { root, collect, target, peer }
  })

/** Every entry of a directory with its mode and content, to compare before and after. */
const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of NFS.readdirSync(dir)) {
    const full = NPath.join(dir, name)
    const info = NFS.lstatSync(full)
    out[name] = info.isFile() ? `${(info.mode & 0o7777).toString(8)}:${NFS.readFileSync(full, "utf8")}` : "<other>"
  }
  return out
}

const HOSTILE = ["a file.txt", "it's \"quoted\"", "ünïcødé-ファイル", "line\nbreak", "$(rm -rf x);`y`*?[z]", "-rf"]

/** How many files the private directory in `target` holds so far (0 before it exists or once gone). */
const privateCount = (target: string): number => {
  const dir = NFS.readdirSync(target).find((n) => n.startsWith(".cedar-peer-"))
  try {
    return dir === undefined ? 0 : NFS.readdirSync(NPath.join(target, dir)).length
  } catch {
    return 0
  }
}

describe("LocalPeers on a real disk", () => {
  it.layer(Live)((it) => {
    it.effect("stages hostile names with content and mode bits, replaces a same-name file, leaves no temp file", () =>
      Effect.gen(function*() {
        const files = Object.fromEntries(HOSTILE.map((name, i) => [name, `content ${i}\n`]))
        const { collect, target, peer } = yield* setup({ files, target: { "a file.txt": "old, longer content", keep: "k" } })
        NFS.chmodSync(NPath.join(collect, "line\nbreak"), 0o600)
        NFS.chmodSync(NPath.join(collect, "-rf"), 0o755)
        const report = yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target)
        expect(report).toEqual({
          count: HOSTILE.length,
          bytes: HOSTILE.reduce((sum, _, i) => sum + `content ${i}\n`.length, 0),
          // names are reported as showName shows them: a control character as \xHH
          files: [...HOSTILE].sort().map((name) => showName(nameBytes(name))),
          skipped: []
        })
        const expected: Record<string, string> = { keep: "644:k" }
        HOSTILE.forEach((name, i) => {
          const mode = name === "line\nbreak" ? "600" : name === "-rf" ? "755" : "644"
          expected[name] = `${mode}:content ${i}\n`
        })
        expect(snapshot(target)).toEqual(expected)
      }))

    it.effect("applies ownership (chown 1234:1234) and permissions", () =>
      Effect.gen(function*() {
        const { target, peer } = yield* setup({ files: { a: "1", b: "22" } })
        yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target, { ownership: { uid: 1234, gid: 1234 }, permissions: 0o640 })
        for (const name of ["a", "b"]) {
          const info = NFS.statSync(NPath.join(target, name))
          expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([1234, 1234, 0o640])
        }
      }))

    it.effect("stages 2,000 files with the exact count and bytes", () =>
      Effect.gen(function*() {
        const files: Record<string, string> = {}
        let bytes = 0
        for (let i = 0; i < 2000; i++) {
          const content = "y".repeat((i * 7) % 101)
          files[`f${String(i).padStart(4, "0")}`] = content
          bytes += content.length
        }
        const { target, peer } = yield* setup({ files })
        const report = yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target)
        expect([report.count, report.bytes]).toEqual([2000, bytes])
        const staged = NFS.readdirSync(target)
        expect(staged.length).toBe(2000)
        expect(staged.filter((name) => name.startsWith(".cedar-peer-"))).toEqual([])
        expect(NFS.statSync(NPath.join(target, "f1999")).size).toBe((1999 * 7) % 101)
      }))

    it.effect("accepts a target that is a symlink to a directory", () =>
      Effect.gen(function*() {
        const { root, target, peer } = yield* setup({ files: { a: "1" } })
        const link = NPath.join(root, "link to stage")
        NFS.symlinkSync(target, link)
        const report = yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, link)
        expect(report.files).toEqual(["a"])
        expect(snapshot(target)).toEqual({ a: "644:1" })
      }))

    it.effect("refuses bad targets and collect dirs with InvalidPath", () =>
      Effect.gen(function*() {
        const local = yield* LocalPeer.LocalPeers
        const { root, target, peer } = yield* setup({ files: { a: "1" } })
        const aFile = NPath.join(root, "plain file")
        NFS.writeFileSync(aFile, "")
        const problem = (e: Effect.Effect<unknown, { _tag: string }>) =>
          Effect.map(Effect.flip(e), (error) => error._tag === "InvalidPath" ? [(error as any).path, (error as any).problem] : error._tag)
        expect(yield* problem(local.stagePeer(peer, "relative/stage"))).toEqual(["relative/stage", "NotAbsolute"])
        expect(yield* problem(local.stagePeer(peer, NPath.join(root, "missing")))).toEqual([NPath.join(root, "missing"), "NotFound"])
        expect(yield* problem(local.stagePeer(peer, aFile))).toEqual([aFile, "NotADirectory"])
        const gone = new LocalPeer.LocalPeer({ name: "beta", collectDir: NPath.join(root, "no collect") })
        expect(yield* problem(local.stagePeer(gone, target))).toEqual([NPath.join(root, "no collect"), "NotFound"])
        const fileCollect = new LocalPeer.LocalPeer({ name: "beta", collectDir: aFile })
        expect(yield* problem(local.stagePeer(fileCollect, target))).toEqual([aFile, "NotADirectory"])
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("refuses a subdirectory, a symlink, a fifo and a socket, listing each, copying nothing", () =>
      Effect.gen(function*() {
        const { collect, target, peer } = yield* setup({ files: { "regular one": "1" }, target: { "regular one": "old" } })
        NFS.mkdirSync(NPath.join(collect, "sub dir"))
        NFS.symlinkSync(NPath.join(collect, "regular one"), NPath.join(collect, "link\nname"))
        execFileSync("mkfifo", ["--", NPath.join(collect, "a fifo")])
        const server = net.createServer()
        yield* Effect.acquireRelease(
          Effect.callback<void>((resume) => {
            server.listen(NPath.join(collect, "sock"), () => {
              resume(Effect.void)
            })
          }),
          () =>
            Effect.callback<void>((resume) => {
              server.close(() => resume(Effect.void))
            })
        )
        const error = yield* Effect.flip((yield* LocalPeer.LocalPeers).stagePeer(peer, target))
        expect(error._tag).toBe("UnsupportedEntry")
        expect(error._tag === "UnsupportedEntry" && error.entries).toEqual([
          { name: "a fifo", kind: "FIFO" },
          { name: "link\\x0aname", kind: "SymbolicLink" },
          { name: "sock", kind: "Socket" },
          { name: "sub dir", kind: "Directory" }
        ])
        expect(snapshot(target)).toEqual({ "regular one": "644:old" })

        // skipUnsupported stages the regular file without ever opening the fifo
        const report = yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target, { skipUnsupported: true })
        expect([report.files, report.skipped.map((s) => s.kind)]).toEqual([
          ["regular one"],
          ["FIFO", "SymbolicLink", "Socket", "Directory"]
        ])
        expect(snapshot(target)).toEqual({ "regular one": "644:1" })
      }))

    it.effect("fails with NothingStaged on an empty collect dir", () =>
      Effect.gen(function*() {
        const { target, peer } = yield* setup({})
        const error = yield* Effect.flip((yield* LocalPeer.LocalPeers).stagePeer(peer, target))
        expect(error._tag).toBe("NothingStaged")
      }))

    it.effect("checks the collect indicator and writes the stage indicator", () =>
      Effect.gen(function*() {
        const local = yield* LocalPeer.LocalPeers
        const { root, collect, peer } = yield* setup({ files: { "cback.stage": "stale" } })
        expect(yield* local.checkCollectIndicator(peer)).toBe(false)
        NFS.writeFileSync(NPath.join(collect, "cback.collect"), "")
        expect(yield* local.checkCollectIndicator(peer)).toBe(true)
        const gone = new LocalPeer.LocalPeer({ name: "beta", collectDir: NPath.join(root, "nope") })
        expect(yield* local.checkCollectIndicator(gone)).toBe(false)
        expect(yield* local.collectIndicatorStatus(gone)).toEqual({ status: "not-ready", reason: "collect directory does not exist" })

        yield* local.writeStageIndicator(peer, undefined, { ownership: { uid: 1234, gid: 1234 }, permissions: 0o600 })
        const info = NFS.statSync(NPath.join(collect, "cback.stage"))
        expect([info.size, info.uid, info.gid, info.mode & 0o7777]).toEqual([0, 1234, 1234, 0o600])
        const missing = yield* Effect.flip(local.writeStageIndicator(gone))
        expect(missing._tag === "InvalidPath" && missing.problem).toBe("NotFound")
        NFS.mkdirSync(NPath.join(collect, "dir.stage"))
        const onDir = yield* Effect.flip(local.writeStageIndicator(peer, "dir.stage"))
        expect(onDir._tag === "FileOperationFailed" && onDir.operation).toBe("create")
      }))
  })

  // Interrupted for real: a concurrent fiber watches the private directory fill and interrupts
  // the stage once it holds some of the files.
  it.live("interruption in the copy phase leaves the target exactly as before, private dir gone", () =>
    Effect.scoped(Effect.gen(function*() {
      const files = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`f${String(i).padStart(4, "0")}`, `n${i}`]))
      const { target, peer } = yield* setup({ files, target: { f0003: "old 3", keep: "k" } })
      const before = snapshot(target)
      const fiber = yield* Effect.forkChild((yield* LocalPeer.LocalPeers).stagePeer(peer, target))
      while (privateCount(target) < 50) yield* Effect.sleep("1 millis")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(snapshot(target)).toEqual(before)
    }).pipe(Effect.provide(Live))), 60_000)

  // The attack for real: a user who can write the collect dir swaps the last file for a link to a
  // secret once the copy is under way. The link is never followed: the peer is refused, or (had
  // the swap come too late) the original content is staged; never the secret.
  it.live("a file swapped for a link to a secret while 8,000 files are copied: refused, the secret never staged", () =>
    Effect.scoped(Effect.gen(function*() {
      const files: Record<string, string> = { zz_last: "original" }
      for (let i = 0; i < 8000; i++) files[`f${String(i).padStart(5, "0")}`] = "x"
      const { root, collect, target, peer } = yield* setup({ files })
      const secret = NPath.join(root, "shadow")
      NFS.writeFileSync(secret, "SECRET", { mode: 0o600 })
      const swapper = yield* Effect.forkChild(Effect.gen(function*() {
        while (privateCount(target) < 200) yield* Effect.sleep("1 millis")
        NFS.rmSync(NPath.join(collect, "zz_last"))
        NFS.symlinkSync(secret, NPath.join(collect, "zz_last"))
      }))
      const outcome = yield* Effect.result((yield* LocalPeer.LocalPeers).stagePeer(peer, target))
      yield* Fiber.join(swapper)
      if (outcome._tag === "Failure") {
        expect(outcome.failure._tag).toBe("UnsupportedEntry")
        expect(outcome.failure._tag === "UnsupportedEntry" && outcome.failure.entries).toEqual([{ name: "zz_last", kind: "SymbolicLink" }])
        expect(NFS.readdirSync(target)).toEqual([])
      } else {
        expect(NFS.readFileSync(NPath.join(target, "zz_last"), "utf8")).toBe("original")
      }
      for (const name of NFS.readdirSync(target)) expect(NFS.readFileSync(NPath.join(target, name), "utf8")).not.toContain("SECRET")
    }).pipe(Effect.provide(Live))), 120_000)

  it.effect("stages names that are not UTF-8 byte for byte, reported escaped", () =>
    Effect.gen(function*() {
      const { collect, target, peer } = yield* setup({ files: { plain: "p" } })
      const latin = Buffer.from([0x63, 0x61, 0x66, 0xe9])
      NFS.writeFileSync(Buffer.concat([Buffer.from(`${collect}/`), latin]), "latin")
      NFS.writeFileSync(Buffer.concat([Buffer.from(`${collect}/`), Buffer.from([0xff, 0x0a])]), "ff")
      const report = yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target)
      expect(report.files).toEqual(["caf\\xe9", "plain", "\\xff\\x0a"])
      const staged = NFS.readdirSync(target, { encoding: "buffer" }).map((n) => n.toString("hex")).sort()
      expect(staged).toEqual(["636166e9", "706c61696e", "ff0a"])
      expect(NFS.readFileSync(Buffer.concat([Buffer.from(`${target}/`), latin]), "utf8")).toBe("latin")
    }).pipe(Effect.provide(Live)))

  it.effect("removes the private directories of dead runs and 0.1.0's temporary files from the target first", () =>
    Effect.gen(function*() {
      const { target, peer } = yield* setup({ files: { a: "1" }, target: { ".cedar-peer-0123456789ab-7.tmp": "t", keep: "k" } })
      NFS.mkdirSync(NPath.join(target, ".cedar-peer-999999999-1-0123456789ab"))
      NFS.writeFileSync(NPath.join(target, ".cedar-peer-999999999-1-0123456789ab", "x"), "x")
      yield* (yield* LocalPeer.LocalPeers).stagePeer(peer, target)
      expect(snapshot(target)).toEqual({ a: "644:1", keep: "644:k" })
    }).pipe(Effect.provide(Live)))

  it.live("an interruption during the commit of 5,000 files leaves the commit complete", () =>
    Effect.scoped(Effect.gen(function*() {
      const files: Record<string, string> = {}
      for (let i = 0; i < 5000; i++) files[`f${String(i).padStart(5, "0")}`] = `n${i}`
      const { target, peer } = yield* setup({ files, target: { f00003: "old", keep: "k" } })
      const fiber = yield* Effect.forkChild((yield* LocalPeer.LocalPeers).stagePeer(peer, target))
      // the commit starts once the private directory holds every file: interrupt at about then
      const nearlyFull = () => {
        const names = NFS.readdirSync(target)
        const dir = names.find((n) => n.startsWith(".cedar-peer-"))
        if (names.length > 3) return true // renames under way
        try {
          return dir !== undefined && NFS.readdirSync(NPath.join(target, dir)).length >= 4990
        } catch {
          return true
        }
      }
      while (!nearlyFull()) yield* Effect.sleep("1 millis")
      yield* Fiber.interrupt(fiber)
      const staged = NFS.readdirSync(target)
      // either the interruption came before the commit (target as before) or the commit is whole
      if (staged.length === 2) expect(snapshot(target)).toEqual({ f00003: "644:old", keep: "644:k" })
      else {
        expect(staged.length).toBe(5001)
        expect(NFS.readFileSync(NPath.join(target, "f00003"), "utf8")).toBe("n3")
      }
      expect(staged.filter((n) => n.startsWith(".cedar-peer-"))).toEqual([])
    }).pipe(Effect.provide(Live))), 120_000)

  // A small tmpfs of our own as the target: the disk fills up for real half-way through.
  const smallDisk = (root: string) =>
    Effect.gen(function*() {
      const small = NPath.join(root, "small disk")
      NFS.mkdirSync(small)
      yield* Effect.acquireRelease(
        Effect.sync(() => execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small])),
        () => Effect.sync(() => execFileSync("umount", [small]))
      )
      return small
    })

  it.live("disk full: CopyFailed saying no space left on device; this run's files gone, earlier ones intact", () =>
    Effect.scoped(Effect.gen(function*() {
      const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${String(i + 1).padStart(2, "0")}`, "n".repeat(200_000)]))
      const { root, peer } = yield* setup({ files })
      const small = yield* smallDisk(root)
      NFS.writeFileSync(NPath.join(small, "f03"), "old 3")
      NFS.writeFileSync(NPath.join(small, "keep"), "k")
      const before = snapshot(small)
      const error = yield* Effect.flip((yield* LocalPeer.LocalPeers).stagePeer(peer, small))
      expect(error._tag).toBe("CopyFailed")
      expect(error.message).toContain("no space left on device")
      expect(error._tag === "CopyFailed" && (error.cause as { code?: string }).code).toBe("ENOSPC")
      expect(snapshot(small)).toEqual(before)
    }).pipe(Effect.provide(Live))), 60_000)

  it.live("disk full during a big file's kernel copy: the same CopyFailed, the target as it was", () =>
    Effect.scoped(Effect.gen(function*() {
      const { root, peer } = yield* setup({ files: { big: "b".repeat(24 * 1024 * 1024) } })
      const small = yield* smallDisk(root)
      NFS.writeFileSync(NPath.join(small, "keep"), "k")
      const before = snapshot(small)
      const error = yield* Effect.flip((yield* LocalPeer.LocalPeers).stagePeer(peer, small))
      expect(error._tag).toBe("CopyFailed")
      expect(error.message.toLowerCase()).toContain("no space left on device")
      expect(error._tag === "CopyFailed" && (error.cause as { code?: string }).code).toBe("ENOSPC")
      expect(snapshot(small)).toEqual(before)
    }).pipe(Effect.provide(Live))), 60_000)
})

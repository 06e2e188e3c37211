// The daily manifest on a real disk, where the backup user may have planted things: a manifest
// that is a link (to a root-only file, to /dev/zero), a fifo, one too large to read, and lines
// naming files outside the daily directory. Nothing is followed, waited on or read past its bound.
// Then the same operations on the memory staging disk, through which the manifest is read and written.
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as Manifest from "../src/pool/Manifest.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"
import { Volume } from "memfs"

const sha256 = (content: string) => createHash("sha256").update(content).digest("hex")
const A = "a".repeat(64)
const live = Layer.merge(NodeServices.layer, NodeStagingDisk.layer)

/** A daily directory with alpha/a.tar, and a root-only secret beside it. */
const daily = Effect.acquireRelease(
  Effect.sync(() => {
    const root = NFS.realpathSync(NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-manifest-")))
    const dir = NPath.join(root, "2026", "12", "07")
    NFS.mkdirSync(NPath.join(dir, "alpha"), { recursive: true })
    NFS.writeFileSync(NPath.join(dir, "alpha", "a.tar"), "alpha")
    NFS.writeFileSync(NPath.join(root, "secret"), "root's own\n", { mode: 0o600 })
    return { root, dir, manifest: NPath.join(dir, Manifest.FILE_NAME), secret: NPath.join(root, "secret") }
  }),
  ({ root }) => Effect.sync(() => NFS.rmSync(root, { recursive: true, force: true }))
)

const update = (dir: string) =>
  Manifest.update(dir, [{ peer: "alpha", hashes: [{ name: "a.tar", sha256: sha256("alpha") }] }]).pipe(Effect.provide(live))
const verify = (dir: string) => Manifest.verify(dir).pipe(Effect.provide(live))

describe("Manifest.update over a manifest planted in the daily directory", () => {
  it.effect("a link to a root-only file is refused, naming the manifest; the file is neither read nor written", () =>
    Effect.gen(function*() {
      const { dir, manifest, secret } = yield* daily
      NFS.writeFileSync(secret, `${A}  beta/kept-from-the-secret\n`)
      NFS.symlinkSync(secret, manifest)
      const error = yield* Effect.flip(update(dir))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "open", path: manifest })
      expect(error.message).toContain("is a SymbolicLink, not a regular file")
      expect(NFS.readFileSync(secret, "utf8")).toBe(`${A}  beta/kept-from-the-secret\n`)
      expect(NFS.lstatSync(manifest).isSymbolicLink()).toBe(true)
    }))

  it.effect("a link to /dev/zero is refused without reading a byte", () =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* daily
      NFS.symlinkSync("/dev/zero", manifest)
      expect(yield* Effect.flip(update(dir))).toMatchObject({ _tag: "FileOperationFailed", path: manifest })
    }))

  it.effect("a fifo is refused at once, not waited on", () =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* daily
      execFileSync("mkfifo", [manifest])
      const error = yield* Effect.flip(update(dir))
      expect(error.message).toContain("is a FIFO, not a regular file")
    }))

  it.effect("one larger than the bound is refused unread (checked by its size)", () =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* daily
      NFS.writeFileSync(manifest, "")
      NFS.truncateSync(manifest, Manifest.MAX_BYTES + 1) // sparse
      const error = yield* Effect.flip(update(dir))
      expect(error.message).toContain(`larger than the ${Manifest.MAX_BYTES} bytes allowed`)
    }))

  it.effect("lines naming files outside a peer directory are not carried over", () =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* daily
      NFS.writeFileSync(manifest, `${A}  ../../../secret\n${A}  beta/b.tar\n${A}  /etc/shadow\n`)
      yield* update(dir)
      expect(NFS.readFileSync(manifest, "utf8")).toBe(`${A}  beta/b.tar\n${sha256("alpha")}  alpha/a.tar\n`)
    }))
})

describe("Manifest.verify of a manifest the backup user wrote", () => {
  it.effect("names that leave the daily directory are unreadable lines: no hash of what they name is shown, nothing said of whether it exists", () =>
    Effect.gen(function*() {
      const { dir, manifest, root } = yield* daily
      const outside = ["../../../secret", "alpha/../../../../secret", "/etc/shadow", "alpha/b/c", "alpha/..", "./alpha/a.tar", "alpha/\\x2f..\\x2fsecret"]
      NFS.writeFileSync(manifest, [`${sha256("alpha")}  alpha/a.tar`, ...outside.map((p) => `${A}  ${p}`), ""].join("\n"))
      const report = yield* verify(dir)
      expect(report).toMatchObject({ ok: false, checked: 1, mismatches: [], missing: [], badLines: [2, 3, 4, 5, 6, 7, 8] })
      expect(JSON.stringify(report)).not.toContain(sha256("root's own\n"))
      expect(NFS.existsSync(NPath.join(root, "secret"))).toBe(true)
    }))

  it.effect("a peer directory or a file that is a link is missing, not followed", () =>
    Effect.gen(function*() {
      const { dir, manifest, root } = yield* daily
      NFS.mkdirSync(NPath.join(root, "elsewhere"))
      NFS.writeFileSync(NPath.join(root, "elsewhere", "x"), "x")
      NFS.symlinkSync(NPath.join(root, "elsewhere"), NPath.join(dir, "beta"))
      NFS.symlinkSync(NPath.join(root, "secret"), NPath.join(dir, "alpha", "s"))
      NFS.writeFileSync(manifest, `${sha256("x")}  beta/x\n${A}  alpha/s\n`)
      const report = yield* verify(dir)
      expect(report).toMatchObject({ ok: false, checked: 2, mismatches: [], missing: ["beta/x", "alpha/s"], badLines: [] })
    }))

  it.effect("a manifest that is a link, a fifo or too large is an error naming it, not read", () =>
    Effect.gen(function*() {
      const { dir, manifest, secret } = yield* daily
      NFS.symlinkSync(secret, manifest)
      expect((yield* Effect.flip(verify(dir))).message).toContain(`${manifest}: is a SymbolicLink, not a regular file`)
      NFS.unlinkSync(manifest)
      execFileSync("mkfifo", [manifest])
      expect((yield* Effect.flip(verify(dir))).message).toContain("is a FIFO, not a regular file")
      NFS.unlinkSync(manifest)
      NFS.writeFileSync(manifest, `${A}  alpha/a.tar\n`)
      NFS.truncateSync(manifest, Manifest.MAX_BYTES + 1)
      expect((yield* Effect.flip(verify(dir))).message).toContain("larger than")
    }))

  it.effect("a line too long to be a manifest line is unreadable, without matching it", () =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* daily
      NFS.writeFileSync(manifest, `${sha256("alpha")}  alpha/a.tar\n${A}  alpha/${"x".repeat(1_000_000)}\n`)
      expect(yield* verify(dir)).toMatchObject({ ok: false, checked: 1, badLines: [2] })
    }))
})

describe("Manifest on the memory staging disk (every read and write through StagingDisk)", () => {
  const DAILY = "/stage/2026/12/07"
  const onMemory = (options: MemoryStagingDisk.Options = {}) => {
    const volume = new Volume()
    volume.mkdirSync(`${DAILY}/alpha`, { recursive: true })
    volume.writeFileSync(`${DAILY}/alpha/a.tar`, "alpha")
    const disk = MemoryStagingDisk.make({ ...options, volume })
    const manifest = () => String(volume.readFileSync(`${DAILY}/${Manifest.FILE_NAME}`, "utf8"))
    return { volume, disk, manifest }
  }
  const hashes = [{ peer: "alpha", hashes: [{ name: "a.tar", sha256: sha256("alpha") }] }]

  it.effect("writes the manifest in one step, keeps other peers' lines, owns it as asked, leaves no draft", () =>
    Effect.gen(function*() {
      const { disk, manifest, volume } = onMemory()
      volume.writeFileSync(`${DAILY}/${Manifest.FILE_NAME}`, `${A}  beta/b.tar\n${A}  alpha/old.tar\n`)
      const written = yield* Manifest.update(DAILY, hashes, { uid: 34, gid: 35 }).pipe(Effect.provide(disk.layer))
      expect(written).toBe(`${DAILY}/${Manifest.FILE_NAME}`)
      expect(manifest()).toBe(`${A}  beta/b.tar\n${sha256("alpha")}  alpha/a.tar\n`)
      const info = volume.lstatSync(`${DAILY}/${Manifest.FILE_NAME}`)
      expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o777]).toEqual([34, 35, 0o644])
      expect((volume.readdirSync(DAILY) as Array<unknown>).map(String).sort()).toEqual(["alpha", Manifest.FILE_NAME])
      // beta was never staged here: its line is kept, its file is missing
      expect(yield* Manifest.verify(DAILY).pipe(Effect.provide(disk.layer))).toMatchObject({ ok: false, checked: 2, mismatches: [], missing: ["beta/b.tar"] })
    }))

  it.effect("a manifest that is a link is refused unread; the link and its target stay", () =>
    Effect.gen(function*() {
      const { disk, volume } = onMemory()
      volume.writeFileSync("/secret", `${A}  beta/kept-from-the-secret\n`)
      volume.symlinkSync("/secret", `${DAILY}/${Manifest.FILE_NAME}`)
      const error = yield* Effect.flip(Manifest.update(DAILY, hashes).pipe(Effect.provide(disk.layer)))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "open", path: `${DAILY}/${Manifest.FILE_NAME}` })
      expect(String(volume.readFileSync("/secret", "utf8"))).toBe(`${A}  beta/kept-from-the-secret\n`)
      expect(volume.lstatSync(`${DAILY}/${Manifest.FILE_NAME}`).isSymbolicLink()).toBe(true)
    }))

  it.effect("a write that fails is FileOperationFailed; the old manifest stays whole and no draft is left", () =>
    Effect.gen(function*() {
      const { disk, manifest, volume } = onMemory({ fail: (operation) => (operation === "chown" ? "ENOSPC" : undefined) })
      volume.writeFileSync(`${DAILY}/${Manifest.FILE_NAME}`, `${A}  beta/b.tar\n`)
      const error = yield* Effect.flip(Manifest.update(DAILY, hashes, { uid: 34, gid: 35 }).pipe(Effect.provide(disk.layer)))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "chown" })
      expect(manifest()).toBe(`${A}  beta/b.tar\n`)
      expect((volume.readdirSync(DAILY) as Array<unknown>).map(String).sort()).toEqual(["alpha", Manifest.FILE_NAME])
    }))
})

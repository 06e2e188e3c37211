// The staging tree as root on a real disk, with a real unprivileged backup user: directories stay
// root's (backup group, 0750), and a link planted at any level fails cleanly, writing nothing
// outside the tree.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { execFileSync } from "node:child_process"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import { openStagingTree, writeMasterIndicator } from "../../src/pool/internal/stagingTree.js"
import * as NodeStagingDisk from "../../src/disk/NodeStagingDisk.js"
import { StagingDisk } from "../../src/disk/StagingDisk.js"

const USER = "cptree"
const backupUser = (): { uid: number; gid: number } => {
  try {
    execFileSync("id", ["-u", USER], { stdio: "ignore" })
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--shell", "/usr/sbin/nologin", "--no-create-home", USER])
  }
  const read = (flag: string) => Number(execFileSync("id", [flag, USER], { encoding: "utf8" }).trim())
  return { uid: read("-u"), gid: read("-g") }
}

const DATE = new Date(2026, 11, 1, 3, 0, 0)

const arena = Effect.acquireRelease(
  Effect.sync(() => {
    const root = NFS.realpathSync(NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-tree-")))
    NFS.mkdirSync(`${root}/stage`)
    NFS.mkdirSync(`${root}/outside`)
    return root
  }),
  (root) => Effect.sync(() => NFS.rmSync(root, { recursive: true, force: true }))
)

const run = <A, E>(effect: Effect.Effect<A, E, StagingDisk | import("effect").Scope.Scope>) =>
  Effect.scoped(effect).pipe(Effect.provideService(StagingDisk, NodeStagingDisk.make()))

describe.skipIf(process.getuid?.() !== 0)("the staging tree as root", () => {
  it.effect("makes YYYY/MM/DD and the peer dirs root:backup-group 0750, the master indicator the backup user's", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = yield* arena
      const owner = backupUser()
      yield* run(Effect.gen(function*() {
        const tree = yield* openStagingTree(`${root}/stage`, DATE, ["alpha", "beta"], owner)
        expect(tree.dailyDir).toBe(`${root}/stage/2026/12/01`)
        expect([...tree.peers.values()].every(Result.isSuccess)).toBe(true)
        yield* writeMasterIndicator(tree, owner)
      }))
      for (const dir of ["2026", "2026/12", "2026/12/01", "2026/12/01/alpha", "2026/12/01/beta"]) {
        const info = NFS.lstatSync(`${root}/stage/${dir}`)
        expect([info.isDirectory(), info.uid, info.gid, info.mode & 0o7777]).toEqual([true, 0, owner.gid, 0o750])
      }
      const indicator = NFS.lstatSync(`${root}/stage/2026/12/01/cback.stage`)
      expect([indicator.isFile(), indicator.uid, indicator.size]).toEqual([true, owner.uid, 0])
    })))

  it.effect("takes back a directory a backup user owns from an earlier run", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = yield* arena
      const owner = backupUser()
      NFS.mkdirSync(`${root}/stage/2026/12/01`, { recursive: true })
      NFS.chownSync(`${root}/stage/2026/12/01`, owner.uid, owner.gid)
      yield* run(openStagingTree(`${root}/stage`, DATE, ["alpha"], owner))
      const info = NFS.lstatSync(`${root}/stage/2026/12/01`)
      expect([info.uid, info.mode & 0o7777]).toEqual([0, 0o750])
    })))

  for (const level of ["2026", "2026/12", "2026/12/01"]) {
    it.effect(`a link planted at ${level} fails the run cleanly, nothing written outside`, () =>
      Effect.scoped(Effect.gen(function*() {
        const root = yield* arena
        const owner = backupUser()
        const parent = NPath.dirname(`${root}/stage/${level}`)
        NFS.mkdirSync(parent, { recursive: true })
        NFS.symlinkSync(`${root}/outside`, `${root}/stage/${level}`)
        const error = yield* Effect.flip(run(openStagingTree(`${root}/stage`, DATE, ["alpha"], owner)))
        expect([error._tag, error.peer, error.path]).toEqual(["FileOperationFailed", "master", `${root}/stage/${level}`])
        expect(error.message).toContain("symbolic link, not a directory")
        expect(NFS.readdirSync(`${root}/outside`)).toEqual([])
        expect(NFS.lstatSync(`${root}/outside`).uid).toBe(0)
      })))
  }

  it.effect("a link planted at DD/<peer> fails only that peer; the others are opened", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = yield* arena
      const owner = backupUser()
      NFS.mkdirSync(`${root}/stage/2026/12/01`, { recursive: true })
      NFS.symlinkSync(`${root}/outside`, `${root}/stage/2026/12/01/alpha`)
      NFS.writeFileSync(`${root}/stage/2026/12/01/gamma`, "a file where a peer dir goes")
      yield* run(Effect.gen(function*() {
        const tree = yield* openStagingTree(`${root}/stage`, DATE, ["alpha", "beta", "gamma"], owner)
        const alpha = tree.peers.get("alpha")!
        expect(Result.isFailure(alpha) && [alpha.failure.peer, alpha.failure.message]).toEqual([
          "alpha",
          expect.stringContaining("symbolic link, not a directory")
        ])
        expect(Result.isSuccess(tree.peers.get("beta")!)).toBe(true)
        const gamma = tree.peers.get("gamma")!
        expect(Result.isFailure(gamma) && gamma.failure.message).toContain("File, not a directory")
      }))
      expect(NFS.readdirSync(`${root}/outside`)).toEqual([])
    })))

  it.effect("a link planted as the master indicator is refused, its target untouched", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = yield* arena
      const owner = backupUser()
      NFS.mkdirSync(`${root}/stage/2026/12/01`, { recursive: true })
      NFS.writeFileSync(`${root}/outside/precious`, "keep me")
      NFS.symlinkSync(`${root}/outside/precious`, `${root}/stage/2026/12/01/cback.stage`)
      const error = yield* Effect.flip(run(Effect.gen(function*() {
        const tree = yield* openStagingTree(`${root}/stage`, DATE, [], owner)
        yield* writeMasterIndicator(tree, owner)
      })))
      expect([error._tag, error.operation]).toEqual(["FileOperationFailed", "create"])
      expect(NFS.readFileSync(`${root}/outside/precious`, "utf8")).toBe("keep me")
      expect(NFS.lstatSync(`${root}/outside/precious`).uid).toBe(0)
    })))
})

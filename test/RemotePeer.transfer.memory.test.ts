// The tar transport on the memory staging disk: the stream is unpacked through `StagingDisk`
// (createFiles and its writers), so what a hostile stream gets, and what a full disk does to an
// unpack, is seen without a real directory.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Path } from "effect"
import { createHash } from "node:crypto"
import type { StageOptions } from "../src/domain/Peer.js"
import { tarCommand } from "../src/peers/internal/remote/tarTransport.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"
import type { Reply } from "../src/testing/ScriptedSpawner.js"

const FILES = { "/collect/a.tar": "AAA", "/collect/b c.tar": "BB", "/collect/.dotfile": "skipped", "/collect/sub/x": "deep" }

const peerOf = (overrides: Partial<RemotePeer.RemotePeerInput> = {}) =>
  RemotePeer.make({ name: "peer1", collectDir: "/collect", workingDir: "/work", remoteUser: "backup", transport: "tar", ...overrides })
    .pipe(Effect.orDie)

const sha256 = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex")

// A fake host "peer1", and a memory disk with /stage and /work shared by the FileSystem and the staging disk.
const onMemoryDisk = (
  fake: Partial<FakeRemoteHost.Options> = {},
  disk: MemoryStagingDisk.Options = {},
  peer: Partial<RemotePeer.RemotePeerInput> = {}
) => {
  const host = FakeRemoteHost.make({ hosts: { peer1: { users: ["backup"], files: FILES } }, ...fake })
  const local = MemoryFileSystem.make({ directories: ["/stage", "/work"] })
  const staging = MemoryStagingDisk.make({ ...disk, volume: local.volume })
  const platform = Layer.mergeAll(
    host.layer.pipe(Layer.provide(local.layer)),
    local.layer,
    Path.layer,
    staging.layer,
    SystemUsers.layerTest({ root: true, users: { backup: { uid: 34, gid: 35 } } })
  )
  const layer = Layer.fresh(RemotePeers.layer.pipe(Layer.provide(platform)))
  const ls = (dir: string) => (local.volume.readdirSync(dir) as Array<unknown>).map(String).sort()
  const stage = (options: StageOptions = {}) =>
    Effect.provide(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(peer), (p) => r.stagePeer(p, "/stage", options))), layer)
  return { host, local, ls, stage }
}

/** Answers the tar transport's ssh with `stream`, everything else as the fake does. */
const sending = (stream: Effect.Effect<Uint8Array>): Partial<FakeRemoteHost.Options> => ({
  around: (argv, run) => (argv.at(-1)?.includes("tar -c") === true ? Effect.map(stream, (stdout): Reply => ({ exitCode: 0, stdout })) : run)
})

const tarOf = (entries: ReadonlyArray<{ readonly name: string; readonly content?: string; readonly type?: "file" | "symlink"; readonly linkname?: string }>) =>
  FakeRemoteHost.tarStream(entries.map((entry) => ({
    header: {
      name: entry.name,
      type: entry.type ?? "file",
      size: entry.type === "symlink" ? 0 : Buffer.byteLength(entry.content ?? ""),
      mode: 0o640,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname })
    },
    content: entry.type === "symlink" ? "" : entry.content ?? ""
  })))

describe("the tar transport on the memory staging disk", () => {
  it.effect("unpacks every regular top-level file through the disk, with the source's mode and the owner asked for", () =>
    Effect.gen(function*() {
      const { host, local, ls, stage } = onMemoryDisk()
      const report = yield* stage({ ownership: { uid: 34, gid: 35 }, verify: true })
      expect(report).toMatchObject({ count: 2, bytes: 5, files: ["a.tar", "b c.tar"], skipped: [] })
      expect(report.hashes).toEqual([{ name: "a.tar", sha256: sha256("AAA") }, { name: "b c.tar", sha256: sha256("BB") }])
      expect(host.commands.map((c) => c.command)[0]).toBe(tarCommand("/collect"))
      expect(ls("/stage")).toEqual(["a.tar", "b c.tar"])
      expect(String(local.volume.readFileSync("/stage/b c.tar", "utf8"))).toBe("BB")
      const info = local.volume.lstatSync("/stage/a.tar")
      expect([Number(info.uid), Number(info.gid), Number(info.mode) & 0o777]).toEqual([34, 35, 0o644])
      expect(ls("/work")).toEqual([])
    }))

  it.effect("a link in the stream is UnsupportedEntry; nothing lands, the private directory is gone", () =>
    Effect.gen(function*() {
      const { ls, stage } = onMemoryDisk(sending(tarOf([{ name: "./ok", content: "1" }, { name: "./shadow", type: "symlink", linkname: "/etc/shadow" }])))
      const error = yield* Effect.flip(stage())
      expect(error._tag === "UnsupportedEntry" ? error.entries : error.message).toEqual([{ name: "shadow", kind: "SymbolicLink" }])
      expect(ls("/stage")).toEqual([])
    }))

  it.effect("a name sent twice is refused: the disk creates each file exclusively", () =>
    Effect.gen(function*() {
      const { ls, stage } = onMemoryDisk(sending(tarOf([{ name: "./dup", content: "1" }, { name: "./dup", content: "2" }])))
      const error = yield* Effect.flip(stage())
      expect(error._tag === "UnsupportedEntry" ? error.entries : error.message).toEqual([{ name: "dup", kind: "UnexpectedName" }])
      expect(ls("/stage")).toEqual([])
    }))

  it.effect("stops at maxBytes and at maxFiles", () =>
    Effect.gen(function*() {
      const { ls, stage } = onMemoryDisk(sending(tarOf([0, 1, 2].map((i) => ({ name: `./f${i}`, content: "x".repeat(100) })))))
      expect(yield* Effect.flip(stage({ maxBytes: 250 }))).toMatchObject({ _tag: "LimitExceeded", limit: "maxBytes", max: 250, value: 300 })
      expect(yield* Effect.flip(stage({ maxFiles: 1 }))).toMatchObject({ _tag: "LimitExceeded", limit: "maxFiles", max: 1, value: 2 })
      expect(ls("/stage")).toEqual([])
    }))

  it.effect("a disk that fills up mid-file is CopyFailed saying so; nothing lands", () =>
    Effect.gen(function*() {
      let writes = 0
      const { ls, stage } = onMemoryDisk({}, { fail: (operation) => (operation === "write" && ++writes > 1 ? "ENOSPC" : undefined) })
      const error = yield* Effect.flip(stage())
      expect(error).toMatchObject({ _tag: "CopyFailed", stderr: "no space left on device" })
      expect(ls("/stage")).toEqual([])
      expect(ls("/work")).toEqual([])
    }))

  it.effect("a file whose owner cannot be set is CopyFailed; nothing lands", () =>
    Effect.gen(function*() {
      const { ls, stage } = onMemoryDisk({}, { fail: (operation) => (operation === "chown" ? "EPERM" : undefined) })
      const error = yield* Effect.flip(stage({ ownership: { uid: 34, gid: 35 } }))
      expect(error._tag).toBe("CopyFailed")
      expect(ls("/stage")).toEqual([])
      expect(ls("/work")).toEqual([])
    }))

  it.effect("a file that cannot be created is CopyFailed naming the disk's failure", () =>
    Effect.gen(function*() {
      const { ls, stage } = onMemoryDisk({}, { fail: (operation) => (operation === "createFile" ? "EACCES" : undefined) })
      const error = yield* Effect.flip(stage())
      expect(error._tag).toBe("CopyFailed")
      expect(error.message).toContain("permission denied")
      expect(ls("/stage")).toEqual([])
    }))
})

describe("the scp transport's watch on the memory staging disk", () => {
  // scp takes a while here: long enough for the watch (every 200 ms at most) to look; no
  // subdirectory in the collect dir, which scp would refuse
  const slowScp: Partial<FakeRemoteHost.Options> = {
    hosts: { peer1: { users: ["backup"], files: { "/collect/a.tar": "AAA", "/collect/b c.tar": "BB" } } },
    around: (argv, run) => (argv.some((word) => word.endsWith("scp")) ? Effect.delay(run, "700 millis") : run)
  }
  const watching = (copyProgress: boolean | undefined) =>
    Effect.gen(function*() {
      let looks = 0
      const heard: Array<string> = []
      const { ls, stage } = onMemoryDisk(slowScp, { fail: (operation) => void (operation === "usage" && looks++) }, { transport: "scp" })
      const report = yield* stage({
        onProgress: (progress) => heard.push(`${progress.phase} ${progress.files ?? "-"}`),
        ...(copyProgress === undefined ? {} : { copyProgress })
      })
      expect(report.count).toBe(2)
      expect(ls("/stage")).toEqual(["a.tar", "b c.tar"])
      return { looks, heard }
    })

  it.live("a progress listener hears the files as they arrive: the directory scp writes to is looked into", () =>
    Effect.gen(function*() {
      const { looks, heard } = yield* watching(undefined)
      expect(looks).toBeGreaterThan(1)
      expect(heard[0]).toBe("copying 0")
      expect(heard).toContain("committing 2")
    }))

  it.live("copyProgress: false, the listener hears the phases only, and the directory is not watched for it", () =>
    Effect.gen(function*() {
      const { looks, heard } = yield* watching(false)
      // the stall limit's first look, at the start (then one every 5 s at most)
      expect(looks).toBe(1)
      expect(heard).toEqual(["copying 0", "committing 2"])
    }))
})

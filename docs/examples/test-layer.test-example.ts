/**
 * The pieces of cedar-peer's test layer, one test each: MemoryFileSystem and MemoryStagingDisk
 * with fault injection, ScriptedSpawner recording argv, FakeRemoteHost answering scp and ssh.
 * (`test/docs.test.ts` imports this file, so it runs in CI.)
 *
 * @since 0.1.0
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Path } from "effect"
import { LocalPeer, RemotePeer, SystemUsers } from "cedar-peer"
import { FakeRemoteHost, MemoryFileSystem, MemoryStagingDisk, ScriptedSpawner } from "cedar-peer/testing"

// What cedar-peer adds to an scp command line (its -B already sets BatchMode)
const TIMEOUTS = ["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3"]

describe("the test layer", () => {
  it.effect("MemoryFileSystem: a copy failing half-way leaves the target as it was", () =>
    Effect.gen(function*() {
      let copies = 0
      const disk = MemoryFileSystem.make({
        files: { "/collect/a.tar": "A", "/collect/b.tar": "B", "/stage/a.tar": "old A" }
      })
      // staging goes through the staging disk, over the same volume: the second copy finds it full
      const staging = MemoryStagingDisk.make({
        volume: disk.volume,
        fail: (operation) => (operation === "copyFile" && ++copies === 2 ? "ENOSPC" : undefined)
      })
      const peer = yield* LocalPeer.make({ name: "alpha", collectDir: "/collect" })
      const error = yield* Effect.gen(function*() {
        const local = yield* LocalPeer.LocalPeers
        return yield* local.stagePeer(peer, "/stage")
      }).pipe(
        Effect.provide(LocalPeer.LocalPeers.layer.pipe(
          Layer.provide(Layer.mergeAll(disk.layer, staging.layer, Path.layer))
        )),
        Effect.flip
      )
      expect(error._tag).toBe("CopyFailed")
      expect(error.message).toContain("no space left on device")
      expect(disk.volume.toJSON("/stage")).toEqual({ "/stage/a.tar": "old A" })
    }))

  it.effect("ScriptedSpawner: every argv is recorded, every reply scripted", () =>
    Effect.gen(function*() {
      const spawner = ScriptedSpawner.make((argv) =>
        argv.at(-1) === "uptime" ? { exitCode: 0, stdout: "up 3 days\n" } : { exitCode: 127, stderr: "not scripted\n" }
      )
      const layer = RemotePeer.RemotePeers.layer.pipe(
        Layer.provide(Layer.mergeAll(
          spawner.layer,
          MemoryFileSystem.layer(),
          MemoryStagingDisk.make().layer,
          Path.layer,
          SystemUsers.layerTest({ root: false })
        ))
      )
      const peer = yield* RemotePeer.make({
        name: "db1.example.org",
        collectDir: "/var/backup/collect",
        workingDir: "/var/tmp/cback",
        remoteUser: "backup",
        rshCommand: "/usr/bin/ssh -o BatchMode=yes"
      })
      yield* Effect.gen(function*() {
        const remote = yield* RemotePeer.RemotePeers
        yield* remote.executeRemoteCommand(peer, "uptime")
      }).pipe(Effect.provide(layer))
      // cedar-peer adds a connect timeout and keep-alives; an option the command sets itself wins
      expect(spawner.calls).toEqual([[
        "/usr/bin/ssh", "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3",
        "--", "backup@db1.example.org", "uptime"
      ]])
    }))

  it.effect("FakeRemoteHost: scp copies between the host's tree and the local disk", () =>
    Effect.gen(function*() {
      const disk = MemoryFileSystem.make({ directories: ["/stage", "/var/tmp/cback"] })
      const host = FakeRemoteHost.make({
        hosts: { "db1.example.org": { users: ["backup"], files: { "/var/backup/collect/db.sql.gz": "SQL" } } }
      })
      const layer = RemotePeer.RemotePeers.layer.pipe(
        Layer.provide(Layer.mergeAll(
          host.layer.pipe(Layer.provide(disk.layer)),
          disk.layer,
          // the staging disk works on the same memory volume the fake scp writes into
          MemoryStagingDisk.make({ volume: disk.volume }).layer,
          Path.layer,
          SystemUsers.layerTest({ root: false })
        ))
      )
      const peer = yield* RemotePeer.make({
        name: "db1.example.org",
        collectDir: "/var/backup/collect",
        workingDir: "/var/tmp/cback",
        remoteUser: "backup"
      })
      const report = yield* Effect.gen(function*() {
        const remote = yield* RemotePeer.RemotePeers
        const report = yield* remote.stagePeer(peer, "/stage")
        yield* remote.writeStageIndicator(peer)
        return report
      }).pipe(Effect.provide(layer))
      expect(report).toEqual({ count: 1, bytes: 3, files: ["db.sql.gz"], skipped: [] })
      expect(disk.volume.toJSON("/stage")).toEqual({ "/stage/db.sql.gz": "SQL" })
      expect(host.tree("db1.example.org")).toEqual({
        "/var/backup/collect/db.sql.gz": "SQL",
        "/var/backup/collect/cback.stage": ""
      })
      // every argv as started: `--` before host and path operands; private names are random
      expect(host.calls).toEqual([
        [
          "/usr/bin/scp", "-B", "-q", "-C", ...TIMEOUTS, "--",
          "backup@db1.example.org:/var/backup/collect/*", expect.stringMatching(/^\/stage\/\.cedar-peer-[\w-]+$/)
        ],
        ["/usr/bin/ssh", "-V"], // which scp protocol the local OpenSSH speaks, asked once, to encode the upload target
        [
          "/usr/bin/scp", "-B", "-q", "-C", ...TIMEOUTS, "--",
          expect.stringMatching(/^\/var\/tmp\/cback\/\.cedar-peer-[\w-]+\/cback\.stage$/),
          "backup@db1.example.org:/var/backup/collect/cback.stage"
        ]
      ])
      expect(disk.volume.toJSON("/var/tmp/cback")).toEqual({ "/var/tmp/cback": null })
    }))
})

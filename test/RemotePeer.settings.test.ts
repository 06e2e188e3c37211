// A remote peer's connection settings: from the configuration onto the peer value (the peer's
// own over the options', field by field; nothing configured leaves the library defaults), and
// resolved against the library-wide defaults.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Path } from "effect"
import { stageDb1 } from "../docs/examples/connection.js"
import * as Config from "../src/config/Config.js"
import { settingsOf } from "../src/peers/internal/remote/settings.js"
import * as Pool from "../src/pool/Pool.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

const pool = (options: Record<string, unknown>, peer: Record<string, unknown>) =>
  Config.decodeUnknown({
    options: { startingDay: "monday", workingDir: "/work", backupUser: "backup", backupGroup: "staff", ...options },
    peers: [{ name: "db1", type: "remote", collectDir: "/collect", ...peer }],
    stage: { stagingDir: "/stage" }
  }, "test.json").pipe(Effect.orDie)

const valueOf = (options: Record<string, unknown>, peer: Record<string, unknown>) =>
  Effect.gen(function*() {
    const config = yield* pool(options, peer)
    const value = yield* Pool.peerValue(config, config.peers[0]!, false).pipe(Effect.orDie)
    if (value._tag !== "RemotePeer") throw new Error("expected a remote peer")
    return value
  })

describe("Pool.peerValue carries the connection settings", () => {
  it.effect("the peer's value over the options', field by field", () =>
    Effect.gen(function*() {
      const peer = yield* valueOf(
        { timeouts: { connect: 10, stage: 600 }, retries: { count: 5 }, connectionSharing: true },
        { timeouts: { connect: 3 }, retries: { baseDelay: 1 }, connectionSharing: false }
      )
      expect(peer.timeouts).toEqual({ connect: 3, stage: 600 })
      expect(peer.retries).toEqual({ count: 5, baseDelay: 1 })
      expect(peer.connectionSharing).toBe(false)
    }))

  it.effect("a run's override (the CLI's --timeout) wins over the peer's and the options'", () =>
    Effect.gen(function*() {
      const config = yield* pool({ timeouts: { connect: 10, stage: 600 } }, { timeouts: { connect: 3 } })
      const value = yield* Pool.peerValue(config, config.peers[0]!, false, { timeouts: { connect: 1, stall: 20 } }).pipe(Effect.orDie)
      if (value._tag !== "RemotePeer") throw new Error("expected a remote peer")
      expect(value.timeouts).toEqual({ connect: 1, stage: 600, stall: 20 })
      const found = yield* Pool.findPeer(config, "db1", { timeouts: { connect: 1 } }).pipe(
        Effect.provide(SystemUsers.layerTest({ root: false })),
        Effect.orDie
      )
      expect(found._tag === "RemotePeer" ? found.timeouts : undefined).toEqual({ connect: 1, stage: 600 })
    }))

  it.effect("nothing configured, nothing carried: the library defaults apply", () =>
    Effect.gen(function*() {
      const peer = yield* valueOf({}, {})
      expect(peer.timeouts).toBeUndefined()
      expect(peer.retries).toBeUndefined()
      expect(peer.connectionSharing).toBeUndefined()
      const settings = yield* settingsOf(peer)
      expect(Duration.toSeconds(settings.timeouts.connect)).toBe(Config.DEFAULT_TIMEOUTS.connect)
      expect(Duration.toSeconds(settings.timeouts.stall)).toBe(Config.DEFAULT_TIMEOUTS.stall)
      expect(Duration.toSeconds(settings.timeouts.indicator)).toBe(Config.DEFAULT_TIMEOUTS.indicator)
      expect(Duration.toSeconds(settings.timeouts.stage)).toBe(Config.DEFAULT_TIMEOUTS.stage)
      expect(Duration.toSeconds(settings.timeouts.command)).toBe(Config.DEFAULT_TIMEOUTS.command)
      expect(Duration.toSeconds(settings.timeouts.managedAction)).toBe(Config.DEFAULT_TIMEOUTS.managedAction)
      expect(settings.retries.count).toBe(Config.DEFAULT_RETRIES.count)
      expect(Duration.toSeconds(settings.retries.baseDelay)).toBe(Config.DEFAULT_RETRIES.baseDelay)
      expect(settings.connectionSharing).toBe(true)
    }))
})

describe("settingsOf", () => {
  it.effect("the peer's own values win over RemoteTimeouts and RemoteRetries", () =>
    Effect.gen(function*() {
      const peer = yield* RemotePeer.make({
        name: "db1",
        collectDir: "/c",
        workingDir: "/w",
        remoteUser: "backup",
        timeouts: { connect: 2.5 },
        retries: { count: 0 }
      }).pipe(Effect.orDie)
      const settings = yield* settingsOf(peer).pipe(
        Effect.provideService(RemotePeer.RemoteTimeouts, { ...RemotePeer.RemoteTimeouts.defaultValue(), connect: "9 seconds", stall: "7 seconds" }),
        Effect.provideService(RemotePeer.RemoteRetries, { count: 9, baseDelay: "3 seconds" })
      )
      expect(Duration.toMillis(settings.timeouts.connect)).toBe(2500)
      expect(Duration.toSeconds(settings.timeouts.stall)).toBe(7)
      expect(settings.retries.count).toBe(0)
      expect(Duration.toSeconds(settings.retries.baseDelay)).toBe(3)
    }))

  it.effect("RemotePeer.make refuses a timeout that is not positive and a fractional retry count", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RemotePeer.make({
        name: "db1",
        collectDir: "/c",
        workingDir: "/w",
        remoteUser: "backup",
        timeouts: { connect: 0 },
        retries: { count: 1.5 }
      }))
      expect(error._tag).toBe("InvalidPeerConfig")
      expect(error.problems.join("\n")).toMatch(/timeouts/)
      expect(error.problems.join("\n")).toMatch(/retries/)
    }))
})

describe("docs/examples/connection.ts", () => {
  it.effect("stages db1 over one connection on the test layer", () =>
    Effect.gen(function*() {
      const disk = MemoryFileSystem.make({ directories: ["/var/tmp/cback", "/opt/backup/stage/db1.example.org"] })
      const host = FakeRemoteHost.make({
        hosts: {
          "db1.example.org": {
            users: ["backup"],
            files: { "/var/backup/collect/cback.collect": "", "/var/backup/collect/db.sql.gz": "SQL" }
          }
        }
      })
      const layer = RemotePeer.RemotePeers.layer.pipe(
        Layer.provide(Layer.mergeAll(
          host.layer.pipe(Layer.provide(disk.layer)),
          disk.layer,
          MemoryStagingDisk.make({ volume: disk.volume }).layer,
          Path.layer,
          SystemUsers.layerTest({ root: false })
        ))
      )
      const report = yield* stageDb1.pipe(Effect.provide(layer, { local: true }))
      expect(report).toEqual({ count: 2, bytes: 3, files: ["cback.collect", "db.sql.gz"], skipped: [] })
      expect(host.tree("db1.example.org")["/var/backup/collect/cback.stage"]).toBe("")
      // the peer's own limits reach the command lines
      expect(host.calls.at(-1)).toContain("ConnectTimeout=10")
      // no control socket on a fake host, and the private directory is gone
      expect(disk.volume.toJSON("/var/tmp/cback")).toEqual({ "/var/tmp/cback": null })
    }))
})

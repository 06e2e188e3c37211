/**
 * The test of `nightly.ts` on cedar-peer's test layer, as you would write it for your own program:
 * the same services as in production, over an in-memory filesystem (MemoryFileSystem), a fake
 * remote host answering scp/ssh (FakeRemoteHost) and fixed user facts (SystemUsers.layerTest).
 * Nothing touches the disk and no process starts. (`test/docs.test.ts` imports this file, so it
 * runs in CI.)
 *
 * @since 0.1.0
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Path } from "effect"
import { LocalPeer, RemotePeer, SystemUsers } from "cedar-peer"
import { FakeRemoteHost, MemoryFileSystem, MemoryStagingDisk } from "cedar-peer/testing"
import type { Manifest } from "./nightly.js"
import { MANIFEST, nightly, nightlyExitCode } from "./nightly.js"

const CONFIG_PATH = "/etc/cedar/pool.json"
// 02:30 local time on 26 November 2026: the daily directory is .../2026/11/26
const NOW = new Date(2026, 10, 26, 2, 30)
const DAILY = "/opt/backup/stage/2026/11/26"

const config = (peers: ReadonlyArray<object>) =>
  JSON.stringify({
    options: { startingDay: "sunday", workingDir: "/var/tmp/cback", backupUser: "backup", backupGroup: "backup" },
    peers,
    stage: { stagingDir: "/opt/backup/stage" }
  })

const ALPHA = { name: "alpha", type: "local", collectDir: "/srv/alpha/collect" }
const BETA = { name: "beta", type: "local", collectDir: "/srv/beta/collect", ignoreFailures: "all" }
const DB1 = { name: "db1.example.org", type: "remote", collectDir: "/opt/backup/collect" }
const WEB2 = { name: "web2.example.org", type: "remote", collectDir: "/opt/backup/collect" }

interface World {
  readonly peers?: ReadonlyArray<object>
  readonly fail?: MemoryFileSystem.Options["fail"]
  /** a fault of the staging disk (which makes and opens the staging tree) */
  readonly failDisk?: MemoryStagingDisk.Options["fail"]
}

// The master's disk, one remote host (web2 does not resolve) and the layer over them: the same
// composition as nightly.ts's MainLayer, with the test services in place of NodeServices.
const world = (options: World = {}) => {
  const disk = MemoryFileSystem.make({
    files: {
      [CONFIG_PATH]: config(options.peers ?? [ALPHA, BETA, DB1]),
      "/srv/alpha/collect/cback.collect": "",
      "/srv/alpha/collect/etc.tar.gz": "0123456789",
      "/srv/alpha/collect/home.tar.gz": "abcde",
      "/srv/beta/collect/half-written.tar": "not ready yet" // no cback.collect: beta is not ready
    },
    directories: ["/opt/backup/stage", "/var/tmp/cback"],
    fail: options.fail
  })
  const hosts = FakeRemoteHost.make({
    hosts: {
      "db1.example.org": {
        users: ["backup"],
        files: { "/opt/backup/collect/cback.collect": "", "/opt/backup/collect/db.sql.gz": "SQLDUMP" }
      }
    }
  })
  const layer = Layer.mergeAll(
    LocalPeer.LocalPeers.layer,
    RemotePeer.RemotePeers.layer,
    // one attempt per copy: on it.effect's TestClock the delay before a retry would never pass
    Layer.succeed(RemotePeer.RemoteRetries, { count: 0, baseDelay: "1 second" })
  ).pipe(
    Layer.provideMerge(SystemUsers.layerTest({ root: false })),
    Layer.provideMerge(Layer.mergeAll(disk.layer, MemoryStagingDisk.make({ volume: disk.volume, fail: options.failDisk }).layer, Path.layer, hosts.layer.pipe(Layer.provide(disk.layer))))
  )
  const logs: Array<string> = []
  // every log line as `LEVEL message`, in place of the default logger
  const logger = Logger.layer([
    Logger.make(({ logLevel, message }) => {
      logs.push(`${logLevel.toUpperCase()} ${(Array.isArray(message) ? message : [message]).join(" ")}`)
    })
  ])
  const text = (file: string) => String(disk.volume.readFileSync(file, "utf8"))
  const ls = (dir: string) => disk.volume.readdirSync(dir).map(String).sort()
  return { disk, hosts, layer: Layer.merge(layer, logger), logs, text, ls }
}

describe("nightly (docs/examples/nightly.ts) on the test layer", () => {
  it.effect("stages the ready peers and writes a manifest of their files and sizes", () =>
    Effect.gen(function*() {
      const w = world()
      const manifest = yield* nightly({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer))

      const expected: Manifest = {
        dailyDir: DAILY,
        ok: true, // beta is not ready, but its failures are ignored ("all")
        peers: [
          {
            name: "alpha",
            status: "staged",
            ignored: false,
            files: [
              { name: "cback.collect", bytes: 0 },
              { name: "etc.tar.gz", bytes: 10 },
              { name: "home.tar.gz", bytes: 5 }
            ]
          },
          { name: "beta", status: "not-ready", ignored: true, files: [] },
          {
            name: "db1.example.org",
            status: "staged",
            ignored: false,
            files: [{ name: "cback.collect", bytes: 0 }, { name: "db.sql.gz", bytes: 7 }]
          }
        ]
      }
      expect(manifest).toEqual(expected)
      expect(JSON.parse(w.text(`${DAILY}/${MANIFEST}`))).toEqual(expected)

      // what Pool.stage did, seen on the fake disk and the fake host
      expect(w.ls(DAILY)).toEqual(["alpha", "beta", "cback.stage", "db1.example.org", MANIFEST])
      expect(w.text(`${DAILY}/alpha/etc.tar.gz`)).toBe("0123456789")
      expect(w.text(`${DAILY}/db1.example.org/db.sql.gz`)).toBe("SQLDUMP")
      expect(w.ls(`${DAILY}/beta`)).toEqual([])
      expect(w.ls("/srv/alpha/collect")).toEqual(["cback.collect", "cback.stage", "etc.tar.gz", "home.tar.gz"])
      expect(w.ls("/srv/beta/collect")).toEqual(["half-written.tar"])
      expect(w.hosts.tree("db1.example.org")).toEqual({
        "/opt/backup/collect/cback.collect": "",
        "/opt/backup/collect/cback.stage": "",
        "/opt/backup/collect/db.sql.gz": "SQLDUMP"
      })
      // as the unprivileged user it runs as here, the job never runs scp or ssh as another user
      expect(w.hosts.invocations.every((i) => i.runAs === undefined)).toBe(true)
      expect(w.ls("/var/tmp/cback")).toEqual([])
    }))

  it.effect("exit status 0 when every peer is staged or ignored", () =>
    Effect.gen(function*() {
      const w = world()
      expect(yield* nightlyExitCode({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer))).toBe(0)
      expect(w.logs).toContain("INFO 2 of 3 peer(s) staged")
    }))

  it.effect("a peer that cannot be reached is a failed run (exit 1), recorded in the manifest", () =>
    Effect.gen(function*() {
      const w = world({ peers: [ALPHA, WEB2] })
      const code = yield* nightlyExitCode({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer))
      expect(code).toBe(1)
      const manifest = JSON.parse(w.text(`${DAILY}/${MANIFEST}`)) as Manifest
      expect(manifest.ok).toBe(false)
      expect(manifest.peers.map((p) => [p.name, p.status, p.ignored])).toEqual([
        ["alpha", "staged", false],
        ["web2.example.org", "unreachable", false]
      ])
      expect(w.ls(`${DAILY}/web2.example.org`)).toEqual([])
    }))

  it.effect("a missing config file is ConfigError: exit 2, nothing staged", () =>
    Effect.gen(function*() {
      const w = world()
      const code = yield* nightlyExitCode({ configPath: "/etc/cedar/missing.json", now: NOW }).pipe(Effect.provide(w.layer))
      expect(code).toBe(2)
      expect(w.logs).toEqual(["ERROR /etc/cedar/missing.json: not found"])
      expect(w.ls("/opt/backup/stage")).toEqual([])
    }))

  it.effect("an unknown peer name is InvalidPeerConfig: exit 2, nothing staged", () =>
    Effect.gen(function*() {
      const w = world()
      const error = yield* nightly({ configPath: CONFIG_PATH, now: NOW, peers: ["gamma"] }).pipe(
        Effect.provide(w.layer),
        Effect.flip
      )
      expect(error._tag).toBe("InvalidPeerConfig")
      expect(error.message).toBe(
        "peer gamma: invalid peer configuration: no peer of that name in /etc/cedar/pool.json (known: alpha, beta, db1.example.org)"
      )
      const code = yield* nightlyExitCode({ configPath: CONFIG_PATH, now: NOW, peers: ["gamma"] }).pipe(
        Effect.provide(w.layer)
      )
      expect(code).toBe(2)
      expect(w.ls("/opt/backup/stage")).toEqual([])
    }))

  it.effect("a staging area that cannot be created is FileOperationFailed: exit 1", () =>
    Effect.gen(function*() {
      // fault injection: making or opening any directory under the staging dir fails as with EACCES
      const w = world({
        failDisk: (operation, path) =>
          operation === "openSubdirectory" && path.startsWith("/opt/backup/stage/") ? "EACCES" : undefined
      })
      const error = yield* nightly({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer), Effect.flip)
      expect(error._tag).toBe("FileOperationFailed")
      expect(error.message).toMatch(/^peer master: \/opt\/backup\/stage\/2026: open failed: /)
      const code = yield* nightlyExitCode({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer))
      expect(code).toBe(1)
      expect(w.logs).toEqual([`ERROR staging area: ${error.message}`])
      expect(w.ls("/srv/alpha/collect")).toEqual(["cback.collect", "etc.tar.gz", "home.tar.gz"])
    }))

  it.effect("a manifest that cannot be written is ManifestFailed: exit 1, no temporary file left", () =>
    Effect.gen(function*() {
      const w = world({
        fail: (operation, _path, toPath) =>
          operation === "rename" && toPath === `${DAILY}/${MANIFEST}` ? "Unknown" : undefined
      })
      const error = yield* nightly({ configPath: CONFIG_PATH, now: NOW }).pipe(Effect.provide(w.layer), Effect.flip)
      expect(error._tag).toBe("ManifestFailed")
      expect(error.message).toMatch(/^\/opt\/backup\/stage\/2026\/11\/26\/manifest\.json: cannot write the manifest: /)
      // the peers were staged all the same; only the manifest is missing, with no half of it left
      expect(w.ls(DAILY)).toEqual(["alpha", "beta", "cback.stage", "db1.example.org"])
    }))
})

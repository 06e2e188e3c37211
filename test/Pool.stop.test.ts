// Pool.stage stopped while a real LocalPeers lands its files (on the memory disk): the landing is
// let finish, and the summary says what is in place. The stubs of Pool.run.test.ts report the
// phases themselves; here the real service must, or an interrupted peer whose files are all in
// place would be reported as "nothing staged".
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Logger, Path } from "effect"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as Pool from "../src/pool/Pool.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

const NOW = new Date(2026, 10, 26, 10, 30)
const DAILY = "/stage/2026/11/26"

const poolOf = (names: ReadonlyArray<string>) =>
  Config.decodeUnknown({
    options: { startingDay: "monday", workingDir: "/work", backupUser: "backup", backupGroup: "staff" },
    peers: names.map((name) => ({ name, type: "local", collectDir: `/srv/${name}` })),
    stage: { stagingDir: "/stage" }
  }, "/etc/pool.json").pipe(Effect.orDie)

/** The real LocalPeers on a memory disk; `landing` runs as the peer's files start to land. */
const setup = (landing: (operation: MemoryStagingDisk.Operation, path: string) => Effect.Effect<void> | undefined) => {
  const memory = MemoryFileSystem.make({
    directories: ["/stage", "/work", "/srv/alpha"],
    files: { "/srv/alpha/a.tar": "AAAA", "/srv/alpha/b.tar": "BB", "/srv/alpha/cback.collect": "" }
  })
  const disk = MemoryStagingDisk.make({ volume: memory.volume, before: landing })
  const host = FakeRemoteHost.make({ hosts: {} })
  const layer = Layer.mergeAll(LocalPeers.layer, RemotePeers.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(
      host.layer.pipe(Layer.provide(memory.layer)),
      memory.layer,
      disk.layer,
      Path.layer,
      SystemUsers.layerTest({ root: false })
    )),
    Layer.provideMerge(Logger.layer([], { mergeWithExisting: false }))
  )
  return { memory, layer }
}

const ls = (memory: MemoryFileSystem.MemoryFileSystem, dir: string) => (memory.volume.readdirSync(dir) as Array<unknown>).map(String).sort()

describe("Pool.stage stopped while a real local peer lands its files", () => {
  // a new peer directory is replaced whole; a second run of the day renames file by file
  for (const [label, operation, prepare] of [
    ["its directory replaced whole", "replaceEmptyDirectory", () => {}],
    ["file by file (a second run of the day)", "rename", (memory: MemoryFileSystem.MemoryFileSystem) => {
      memory.volume.mkdirSync(`${DAILY}/alpha`, { recursive: true })
      memory.volume.writeFileSync(`${DAILY}/alpha/old.tar`, "old")
    }]
  ] as const) {
    it.live(`${label}: the landing finishes, the peer is interrupted with its files and bytes, said to be in place`, () =>
      Effect.gen(function*() {
        const stop = yield* Deferred.make<void>()
        let landings = 0
        const { layer, memory } = setup((op) =>
          op === operation && landings++ === 0
            // the stop comes while the landing is under way; it must wait for the landing's end
            ? Effect.andThen(Deferred.succeed(stop, undefined), Effect.sleep("20 millis"))
            : undefined
        )
        prepare(memory)
        const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW, stop: Deferred.await(stop) }).pipe(Effect.provide(layer))
        expect(summary.interrupted).toBe(true)
        expect(summary.peers).toEqual([{
          name: "alpha",
          type: "local",
          status: "interrupted",
          files: 3,
          bytes: 6,
          ignored: false,
          reason: "the run was stopped while its files were moved into place; that step is let finish, so they are all there, but its stage indicator was not written"
        }])
        expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b.tar", "cback.collect", ...(operation === "rename" ? ["old.tar"] : [])])
        // no stage indicator for the peer, none for the master
        expect(ls(memory, "/srv/alpha")).toEqual(["a.tar", "b.tar", "cback.collect"])
        expect(ls(memory, DAILY)).toEqual(["alpha"])
      }))
  }
})

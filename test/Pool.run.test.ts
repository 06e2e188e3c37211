// Pool.stage's run control: events, concurrency, a graceful stop (interrupted peers, summary
// still returned), per-peer settings handed to the peer, and the verification manifest. The peers
// are stubs (a LocalPeers of our own) whose stagePeer each test drives with Deferreds; the disk is memory.
import { NodeServices } from "@effect/platform-node"
import * as NFS from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Logger, Path } from "effect"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as Manifest from "../src/pool/Manifest.js"
import type { StageOptions, StageReport } from "../src/domain/Peer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import { NothingStaged } from "../src/domain/PeerError.js"
import * as Pool from "../src/pool/Pool.js"
import { RemotePeers, RetryObserver } from "../src/peers/RemotePeer.js"
import * as StagingDisk from "../src/disk/StagingDisk.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

const NOW = new Date(2026, 10, 26, 10, 30)
const DAILY = "/stage/2026/11/26"

type Json = Record<string, unknown>
type Options = StageOptions & {
  readonly onProgress?: (p: { phase: Pool.PeerPhase; files?: number; bytes?: number }) => void
  readonly maxFiles?: number
  readonly maxBytes?: number
  readonly verify?: boolean
  readonly timeouts?: Record<string, number>
}
type Stage = (name: string, options: Options) => Effect.Effect<StageReport & { hashes?: ReadonlyArray<{ name: string; sha256: string }> }, NothingStaged>

const poolOf = (names: ReadonlyArray<string>, options: Json = {}) =>
  Config.decodeUnknown({
    options: { startingDay: "monday", workingDir: "/work", backupUser: "backup", backupGroup: "staff", ...options },
    peers: names.map((name) => ({ name, type: "local", collectDir: `/srv/${name}` })),
    stage: { stagingDir: "/stage" }
  }, "/etc/pool.json").pipe(Effect.orDie)

const report = (count: number, bytes: number): StageReport => ({ count, bytes, files: [], skipped: [] })

/** A pool whose every peer is ready; `stage` decides what staging each one does. */
const setup = (stage: Stage) => {
  const memory = MemoryFileSystem.make({ directories: ["/stage", "/work", "/srv"] })
  const indicators: Array<string> = []
  const logs: Array<string> = []
  const peers = Layer.succeed(
    LocalPeers,
    LocalPeers.of({
      stagePeer: (peer, _target, options) => stage(peer.name, (options ?? {}) as Options),
      stagePeerInto: (peer, _target, options) => stage(peer.name, (options ?? {}) as Options),
      checkCollectIndicator: () => Effect.succeed(true),
      collectIndicatorStatus: () => Effect.succeed({ status: "ready" as const }),
      writeStageIndicator: (peer) => Effect.sync(() => void indicators.push(peer.name))
    })
  )
  const host = FakeRemoteHost.make({ hosts: {} })
  const disk = MemoryStagingDisk.make({ volume: memory.volume })
  const layer = Layer.mergeAll(peers, RemotePeers.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(
      host.layer.pipe(Layer.provide(memory.layer)),
      memory.layer,
      disk.layer,
      Path.layer,
      SystemUsers.layerTest({ root: false })
    )),
    Layer.provideMerge(Logger.layer(
      [Logger.make(({ message }) => void logs.push(Array.isArray(message) ? message.join(" ") : String(message)))],
      { mergeWithExisting: true }
    ))
  )
  return { memory, disk, indicators, logs, layer }
}

const ls = (memory: MemoryFileSystem.MemoryFileSystem, dir: string) => (memory.volume.readdirSync(dir) as Array<unknown>).map(String).sort()

describe("Pool.stage events", () => {
  it.effect("each peer: PeerStarted, its progress and retries, PeerDone; a start and an end line in the log", () => {
    const { layer, logs } = setup((_name, options) =>
      Effect.gen(function*() {
        options.onProgress?.({ phase: "copying", files: 1, bytes: 10 })
        // a transport's retry, as RemotePeers makes it: logged where it happens, told to the RetryObserver
        yield* Effect.logWarning("retry 1 in 5000 ms: connection refused")
        yield* (yield* RetryObserver)({ peer: "alpha", operation: "stage", attempt: 1, reason: "connection refused", delayMillis: 5000 })
        options.onProgress?.({ phase: "committing", files: 2, bytes: 20 })
        return report(2, 20)
      })
    )
    return Effect.gen(function*() {
      const events: Array<Pool.PoolEvent> = []
      const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW, onEvent: (e) => Effect.sync(() => void events.push(e)) })
      yield* Effect.yieldNow
      expect(events).toEqual([
        { _tag: "PeerStarted", name: "alpha", type: "local" },
        { _tag: "PeerProgress", name: "alpha", phase: "checking" },
        { _tag: "PeerProgress", name: "alpha", phase: "copying", files: 1, bytes: 10 },
        { _tag: "PeerRetrying", name: "alpha", attempt: 1, reason: "connection refused", delayMillis: 5000 },
        { _tag: "PeerProgress", name: "alpha", phase: "committing", files: 2, bytes: 20 },
        { _tag: "PeerProgress", name: "alpha", phase: "indicator", files: 2, bytes: 20 },
        { _tag: "PeerDone", result: summary.peers[0] }
      ])
      expect(logs).toContain("peer alpha: starting (local)")
      expect(logs).toContain("retry 1 in 5000 ms: connection refused")
      expect(logs).toContain("peer alpha: staged: 2 file(s), 20 byte(s)")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a transport reporting every file: copying events thinned to a few a second, every phase change still out", () => {
    const { layer } = setup((_name, options) =>
      Effect.sync(() => {
        for (let i = 1; i <= 1000; i++) options.onProgress?.({ phase: "copying", files: i, bytes: i })
        options.onProgress?.({ phase: "committing", files: 1000, bytes: 1000 })
        return report(1000, 1000)
      })
    )
    return Effect.gen(function*() {
      const events: Array<Pool.PoolEvent> = []
      yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW, onEvent: (e) => Effect.sync(() => void events.push(e)) })
      yield* Effect.yieldNow
      const progress = events.flatMap((e) => (e._tag === "PeerProgress" ? [e] : []))
      const copying = progress.filter((e) => e.phase === "copying")
      // a thousand reports within a few milliseconds: the first goes out, the rest come too soon
      expect(copying.length).toBeGreaterThanOrEqual(1)
      expect(copying.length).toBeLessThan(10)
      expect(copying[0]).toMatchObject({ files: 1, bytes: 1 })
      expect(progress.map((e) => e.phase).filter((phase, i, all) => phase !== all[i - 1])).toEqual([
        "checking",
        "copying",
        "committing",
        "indicator"
      ])
      expect(progress.find((e) => e.phase === "committing")).toMatchObject({ files: 1000, bytes: 1000 })
    }).pipe(Effect.provide(layer))
  })

  it.effect("every peer not staged carries a reason", () => {
    const { layer } = setup((name) => new NothingStaged({ peer: name, collectDir: `/srv/${name}` }))
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "failed", reason: "peer alpha: /srv/alpha: no files to stage" })
    }).pipe(Effect.provide(layer))
  })
})

describe("Pool.stage concurrency", () => {
  const inFlight = (names: ReadonlyArray<string>, run: (pool: Config.PoolConfig, gate: Deferred.Deferred<void>) => Effect.Effect<unknown, unknown, Pool.PoolServices>) => {
    let current = 0
    let most = 0
    return Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { layer } = setup(() =>
        Effect.gen(function*() {
          current++
          most = Math.max(most, current)
          yield* Deferred.await(gate)
          current--
          return report(1, 1)
        })
      )
      const pool = yield* poolOf(names)
      const fiber = yield* Effect.forkChild(run(pool, gate).pipe(Effect.provide(layer)))
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow
      const seen = most
      yield* Deferred.succeed(gate, undefined)
      const summary = (yield* Fiber.join(fiber)) as Pool.StageSummary
      return { seen, summary }
    })
  }
  const six = ["p1", "p2", "p3", "p4", "p5", "p6"]

  it.effect("stages 4 peers at once by default; the summary keeps the configuration's order", () =>
    Effect.gen(function*() {
      const { seen, summary } = yield* inFlight(six, (pool) => Pool.stage(pool, { now: NOW }))
      expect(seen).toBe(4)
      expect(summary.peers.map((p) => p.name)).toEqual(six)
    }))

  it.effect("--concurrency wins over the default", () =>
    Effect.gen(function*() {
      const { seen } = yield* inFlight(six, (pool) => Pool.stage(pool, { now: NOW, concurrency: 2 }))
      expect(seen).toBe(2)
    }))
})

describe("Pool.stage stopped midway", () => {
  it.effect("peers done keep their result, peers in flight are interrupted (their cleanup runs), peers not started are interrupted; no master indicator", () =>
    Effect.gen(function*() {
      const cleaned: Array<string> = []
      const started = yield* Deferred.make<void>()
      const { indicators, layer, memory } = setup((name, options) =>
        name === "alpha"
          ? Effect.succeed(report(3, 30))
          : Effect.gen(function*() {
            options.onProgress?.({ phase: "copying", files: 5, bytes: 50 })
            yield* Deferred.succeed(started, undefined)
            return yield* Effect.never
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => void cleaned.push(name))))
      )
      const stop = yield* Deferred.make<void>()
      const events: Array<Pool.PoolEvent> = []
      const fiber = yield* Effect.forkChild(
        Pool.stage(yield* poolOf(["alpha", "beta", "gamma"]), {
          now: NOW,
          concurrency: 1,
          stop: Deferred.await(stop),
          onEvent: (e) => Effect.sync(() => void events.push(e))
        }).pipe(Effect.provide(layer))
      )
      yield* Deferred.await(started)
      yield* Deferred.succeed(stop, undefined)
      const summary = yield* Fiber.join(fiber)
      expect(summary).toEqual({
        dailyDir: DAILY,
        full: false,
        ok: false,
        interrupted: true,
        peers: [
          { name: "alpha", type: "local", status: "staged", files: 3, bytes: 30, ignored: false },
          { name: "beta", type: "local", status: "interrupted", files: 0, bytes: 0, ignored: false, reason: "the run was stopped while copying: nothing of it was staged" },
          { name: "gamma", type: "local", status: "interrupted", files: 0, bytes: 0, ignored: false, reason: "the run was stopped before this peer started" }
        ]
      })
      expect(cleaned).toEqual(["beta"])
      expect(indicators).toEqual(["alpha"])
      expect(ls(memory, DAILY)).toEqual(["alpha", "beta", "gamma"])
      expect(events.filter((e) => e._tag === "PeerDone").map((e) => e._tag === "PeerDone" && e.result.name).sort()).toEqual(["alpha", "beta", "gamma"])
    }))

  it.effect("a peer stopped in its commit (let finish) or before its indicator is reported with what landed", () =>
    Effect.gen(function*() {
      const stop = yield* Deferred.make<void>()
      const { layer } = setup((_name, options) =>
        Effect.gen(function*() {
          options.onProgress?.({ phase: "committing", files: 7, bytes: 70 })
          yield* Deferred.succeed(stop, undefined)
          return yield* Effect.never
        })
      )
      const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW, stop: Deferred.await(stop) }).pipe(Effect.provide(layer))
      expect(summary.peers[0]).toMatchObject({ status: "interrupted", files: 7, bytes: 70 })
      expect(summary.peers[0]!.reason).toMatch(/moved into place/)
    }))

  it.effect("a stop that never comes changes nothing: every peer done, master indicator written", () =>
    Effect.gen(function*() {
      const { layer, memory } = setup(() => Effect.succeed(report(1, 1)))
      const summary = yield* Pool.stage(yield* poolOf(["alpha", "beta"]), { now: NOW, stop: Effect.never }).pipe(Effect.provide(layer))
      expect(summary.ok).toBe(true)
      expect(summary.interrupted).toBeUndefined()
      expect(ls(memory, DAILY)).toEqual(["alpha", "beta", "cback.stage"])
    }))
})

describe("Pool.stage settings", () => {
  it.effect("the run's overrides win over the configuration's; the peer gets them with its stage options", () =>
    Effect.gen(function*() {
      const seen: Array<Options> = []
      const { layer } = setup((_, options) => Effect.sync(() => (seen.push(options), report(1, 1))))
      yield* Pool.stage(yield* poolOf(["alpha"]), {
        now: NOW,
        settings: { maxFiles: 10, maxBytes: 2048, timeouts: { stage: 60, connect: 5 }, verify: true }
      }).pipe(Effect.provide(layer))
      expect(seen[0]).toMatchObject({ maxFiles: 10, maxBytes: 2048, timeouts: { stage: 60, connect: 5 }, verify: true })
    }))

  it.effect("without overrides, verify is off and no limit is set", () =>
    Effect.gen(function*() {
      const seen: Array<Options> = []
      const { layer } = setup((_, options) => Effect.sync(() => (seen.push(options), report(1, 1))))
      yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW }).pipe(Effect.provide(layer))
      expect(seen[0]!.verify).toBe(false)
      expect(seen[0]!.maxFiles).toBeUndefined()
      expect(seen[0]!.maxBytes).toBeUndefined()
    }))
})

describe("Pool.stage leftovers of killed runs", () => {
  it.effect("the working dir is cleaned at the start of a run through the staging disk, each removal logged", () =>
    Effect.gen(function*() {
      const opened: Array<string> = []
      const { disk, layer, logs } = setup(() => Effect.succeed(report(1, 1)))
      // the memory disk, with its leftover sweep replaced and the directories it opens recorded
      const diskWith = (removeLeftovers: () => Effect.Effect<ReadonlyArray<string>, StagingDisk.DiskError>) =>
        Layer.succeed(StagingDisk.StagingDisk, {
          ...disk.disk,
          openDirectory: (path: string) => Effect.andThen(Effect.sync(() => opened.push(path)), disk.disk.openDirectory(path)),
          removeLeftovers
        })
      yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW }).pipe(
        Effect.provide(Layer.merge(layer, diskWith(() => Effect.succeed([".cedar-peer-123-abc"]))))
      )
      expect(opened).toEqual(["/work", "/stage"]) // the working dir swept, then the staging tree opened
      expect(logs).toContain("removed /work/.cedar-peer-123-abc, left by a run that was killed")
      // a disk that cannot look is a warning, not a failed run
      const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW }).pipe(
        Effect.provide(Layer.merge(layer, diskWith(() => new StagingDisk.DiskError({ operation: "list", path: "/work", detail: "permission denied" }))))
      )
      expect(summary.ok).toBe(true)
      expect(logs).toContain("could not look for leftovers of killed runs: /work: list failed: permission denied")
    }))
})

describe("Pool.stage verification manifest", () => {
  const A = "a".repeat(64)
  const B = "b".repeat(64)
  const C = "c".repeat(64)

  it.effect("writes the hashes of verified peers into <daily>/cedar-peer.sha256; a later run of one peer keeps the others' lines", () =>
    Effect.gen(function*() {
      let hashes: Record<string, ReadonlyArray<{ name: string; sha256: string }>> = {
        alpha: [{ name: "z.tar", sha256: A }, { name: "a b\\\\x.tar", sha256: B }],
        beta: [{ name: "b.tar", sha256: C }]
      }
      const { layer, memory } = setup((name) => Effect.succeed({ ...report(1, 1), hashes: hashes[name]! }))
      const summary = yield* Pool.stage(yield* poolOf(["alpha", "beta"]), { now: NOW, settings: { verify: true } }).pipe(Effect.provide(layer))
      expect(summary.manifest).toBe(`${DAILY}/cedar-peer.sha256`)
      const text = String(memory.volume.readFileSync(`${DAILY}/cedar-peer.sha256`, "utf8"))
      expect(text).toBe(`\\${B}  alpha/a b\\\\x.tar\n${A}  alpha/z.tar\n${C}  beta/b.tar\n`)
      expect(Manifest.parse(text).entries.map((e) => e.path)).toEqual(["alpha/a b\\\\x.tar", "alpha/z.tar", "beta/b.tar"])

      hashes = { beta: [{ name: "b2.tar", sha256: A }] }
      yield* Pool.stage(yield* poolOf(["alpha", "beta"]), { now: NOW, peers: ["beta"] }).pipe(Effect.provide(layer))
      expect(String(memory.volume.readFileSync(`${DAILY}/cedar-peer.sha256`, "utf8"))).toBe(
        `\\${B}  alpha/a b\\\\x.tar\n${A}  alpha/z.tar\n${A}  beta/b2.tar\n`
      )
      expect(ls(memory, DAILY)).toEqual(["alpha", "beta", "cback.stage", "cedar-peer.sha256"])
    }))

  // (0.2 also took a `sha256` list beside `files`, a form no peer reports any more: gone in 1.0)
  it.effect("takes the hashes as the local peers report them: one per file, in the order of the files", () =>
    Effect.gen(function*() {
      const { layer, memory } = setup(() =>
        Effect.succeed({ ...report(2, 2), files: ["x", "y"], hashes: [{ name: "x", sha256: A }, { name: "y", sha256: B }] })
      )
      yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW, settings: { verify: true } }).pipe(Effect.provide(layer))
      expect(String(memory.volume.readFileSync(`${DAILY}/cedar-peer.sha256`, "utf8"))).toBe(`${A}  alpha/x\n${B}  alpha/y\n`)
    }))

  it.effect("no hashes, no manifest", () =>
    Effect.gen(function*() {
      const { layer, memory } = setup(() => Effect.succeed(report(1, 1)))
      const summary = yield* Pool.stage(yield* poolOf(["alpha"]), { now: NOW }).pipe(Effect.provide(layer))
      expect(summary.manifest).toBeUndefined()
      expect(ls(memory, DAILY)).toEqual(["alpha", "cback.stage"])
    }))
})

describe("Manifest.update through the held-open daily directory", () => {
  it.effect("reads, writes and chowns through the directory it is given, never through the path it reports", () =>
    Effect.gen(function*() {
      const root = NFS.mkdtempSync("/tmp/cedar-manifest-")
      yield* Effect.addFinalizer(() => Effect.sync(() => NFS.rmSync(root, { recursive: true, force: true })))
      // the daily dir as opened by the run, and what its path leads to after a parent was swapped
      NFS.mkdirSync(`${root}/held`)
      NFS.mkdirSync(`${root}/decoy`)
      const written = yield* Effect.gen(function*() {
        const held = yield* (yield* StagingDisk.StagingDisk).openDirectory(`${root}/held`)
        return yield* Manifest.update(
          `${root}/decoy`,
          [{ peer: "alpha", hashes: [{ name: "a.tar", sha256: "a".repeat(64) }] }],
          { uid: process.getuid!(), gid: process.getgid!() },
          held
        )
      }).pipe(Effect.scoped, Effect.provide(Layer.merge(NodeServices.layer, NodeStagingDisk.layer)))
      expect(written).toBe(`${root}/decoy/cedar-peer.sha256`) // reported under the daily dir's name
      expect(NFS.readdirSync(`${root}/decoy`)).toEqual([])
      expect(NFS.readdirSync(`${root}/held`)).toEqual(["cedar-peer.sha256"])
      expect(NFS.readFileSync(`${root}/held/cedar-peer.sha256`, "utf8")).toContain("alpha/a.tar")
    }))
})

// Pool.stage, Pool.check and Pool.runManagedAction on the test layer: a memory disk, a
// fake remote host and fixed SystemUsers facts, with LocalPeers.layer and RemotePeers.layer on
// top. Where root must write into directories it has just given to the backup user (the remote
// peers' private dirs are 0700), the test runs on a real temp dir instead: memfs applies
// permission bits to root too, a real disk does not.
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Path, References } from "effect"
import { TestClock } from "effect/testing"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import { CopyFailed, FileOperationFailed, ManagedActionFailed, UnsupportedEntry } from "../src/domain/PeerError.js"
import * as Pool from "../src/pool/Pool.js"
import { RemotePeers, RemoteRetries } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

// Thursday, 26 November 2026, in local time (the daily dir is derived in local time).
const NOW = new Date(2026, 10, 26, 10, 30)
const DAILY = "/stage/2026/11/26"
const SOURCE = "/etc/cedar/pool.json"
const REMOTE = "db1.example.org"

type Json = Record<string, unknown>

const poolJson = (peers: ReadonlyArray<Json>, options: Json = {}, stage: Json = {}): Json => ({
  options: { startingDay: "monday", workingDir: "/work", backupUser: "backup", backupGroup: "staff", ...options },
  peers,
  stage: { stagingDir: "/stage", ...stage }
})
const configOf = (json: Json) => Config.decodeUnknown(json, SOURCE).pipe(Effect.orDie)

const local = (name: string, extra: Json = {}): Json => ({ name, type: "local", collectDir: `/srv/${name}`, ...extra })
const remote = (name: string, extra: Json = {}): Json => ({ name, type: "remote", collectDir: "/collect", ...extra })

interface Setup {
  readonly files?: Record<string, string>
  readonly directories?: ReadonlyArray<string>
  readonly root?: boolean
  readonly users?: Readonly<Record<string, { readonly uid: number; readonly gid: number }>>
  readonly groups?: Readonly<Record<string, number>>
  readonly hosts?: FakeRemoteHost.Options["hosts"]
  readonly fake?: Partial<FakeRemoteHost.Options>
  readonly umask?: number
  readonly fail?: MemoryFileSystem.Options["fail"]
  /** runs before each staging-disk operation (see MemoryStagingDisk's `before`) */
  readonly diskBefore?: MemoryStagingDisk.Options["before"]
}

interface LogLine {
  readonly level: string
  readonly message: string
  readonly peer: string | undefined
}

const DEFAULT_HOSTS: FakeRemoteHost.Options["hosts"] = {
  [REMOTE]: { users: ["backup"], files: { "/collect/g.tar": "GGGG", "/collect/cback.collect": "" } }
}
const USERS = { backup: { uid: 34, gid: 34 } }

// What cedar-peer adds to an ssh command line by default.
const SSH_OPTS = ["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3", "-o", "BatchMode=yes"]

// One attempt per copy: an unreachable fake host would otherwise wait for its retries on the TestClock.
const noRetries = Layer.succeed(RemoteRetries, { count: 0, baseDelay: "1 second" })
const GROUPS = { staff: 50 }

// A fresh memory disk, fake host and log capture per test: the fakes record what happened.
const setup = (options: Setup = {}) => {
  const operations: Array<{ readonly operation: MemoryFileSystem.Operation; readonly path: string }> = []
  const memory = MemoryFileSystem.make({
    files: options.files,
    directories: ["/stage", "/work", ...(options.directories ?? [])],
    umask: options.umask,
    fail: options.fail,
    before: (operation, path) => {
      operations.push({ operation, path })
      return undefined
    }
  })
  const host = FakeRemoteHost.make({ hosts: options.hosts ?? DEFAULT_HOSTS, ...options.fake })
  const logs: Array<LogLine> = []
  const capture = Logger.make(({ fiber, logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    const peer = fiber.getRef(References.CurrentLogAnnotations)["peer"] as string | undefined
    // the level as Effect 3 labelled it (INFO, WARN, ERROR, DEBUG)
    logs.push({ level: logLevel.toUpperCase(), message: text, peer })
  })
  const platform = Layer.mergeAll(
    host.layer.pipe(Layer.provide(memory.layer)),
    memory.layer,
    Path.layer,
    SystemUsers.layerTest({ root: options.root ?? false, users: options.users ?? USERS, groups: options.groups ?? GROUPS })
  )
  const layer = Layer.mergeAll(LocalPeers.layer, RemotePeers.layer, noRetries).pipe(
    // the staging disk on the same volume; a FileSystem fault on a file it writes applies there too
    Layer.provideMerge(MemoryStagingDisk.make({
      volume: memory.volume,
      before: options.diskBefore,
      fail: (op, path, to) =>
        op === "writeEmptyFile" ? options.fail?.("writeFile", path, to) :
        op === "copyFile" || op === "rename" || op === "chown" || op === "chmod" ? options.fail?.(op, path, to) :
        undefined
    }).layer),
    Layer.provideMerge(platform),
    Layer.provideMerge(Logger.layer([capture], { mergeWithExisting: true }))
  )
  return { memory, host, logs, operations, layer }
}

type Memory = MemoryFileSystem.MemoryFileSystem
const ls = (memory: Memory, dir: string) => (memory.volume.readdirSync(dir) as Array<unknown>).map(String).sort()
const exists = (memory: Memory, file: string) => memory.volume.existsSync(file)
const text = (memory: Memory, file: string) => String(memory.volume.readFileSync(file, "utf8"))
const owner = (memory: Memory, file: string) => {
  const info = memory.volume.statSync(file)
  return `${info.uid}:${info.gid}`
}
const mode = (memory: Memory, file: string) => Number(memory.volume.statSync(file).mode) & 0o7777

// A failed peer's result carries its error itself; what a summary shows of it: its tag and message.
const shown = <P extends { readonly error?: { readonly _tag: string; readonly message: string } | undefined }>(peer: P) =>
  peer.error === undefined ? peer : { ...peer, error: { _tag: peer.error._tag, message: peer.error.message } }

// alpha: ready, two files; beta: not ready; db1.example.org: a ready remote peer.
const MIXED_FILES = {
  "/srv/alpha/a.tar": "AAA",
  "/srv/alpha/b c.tar": "BB",
  "/srv/alpha/cback.collect": "",
  "/srv/beta/b.tar": "B"
}
const MIXED = poolJson([local("alpha"), local("beta"), remote(REMOTE)])

describe("Pool.dailyDir", () => {
  it.each([
    ["/stage", new Date(2026, 0, 5), "/stage/2026/01/05"],
    ["/stage/", new Date(2026, 11, 31, 23, 59), "/stage/2026/12/31"],
    ["/opt/backup/stage", new Date(2027, 1, 28, 0, 0), "/opt/backup/stage/2027/02/28"]
  ] as const)("%s on %s is %s", (staging, date, expected) => {
    expect(Pool.dailyDir(staging, date)).toBe(expected)
  })

  // The peer dirs are made with path.join (normalised), so the daily dir must match them.
  it("has no double slash for a staging dir of / or with several trailing slashes", () => {
    expect(Pool.dailyDir("/", new Date(2026, 0, 5))).toBe("/2026/01/05")
    expect(Pool.dailyDir("/stage//", new Date(2026, 0, 5))).toBe("/stage/2026/01/05")
  })
})

describe("Pool.isFailureIgnored", () => {
  // Thursday: a starting day of "thursday" makes NOW the start of the week.
  const START = "thursday"
  const OTHER = "monday"
  it.each([
    // mode, full, start of week, ignored
    [undefined, false, false, false],
    [undefined, false, true, false],
    [undefined, true, false, false],
    [undefined, true, true, false],
    ["none", false, false, false],
    ["none", false, true, false],
    ["none", true, false, false],
    ["none", true, true, false],
    ["all", false, false, true],
    ["all", false, true, true],
    ["all", true, false, true],
    ["all", true, true, true],
    ["daily", false, false, true],
    ["daily", false, true, false],
    ["daily", true, false, false],
    ["daily", true, true, false],
    ["weekly", false, false, false],
    ["weekly", false, true, true],
    ["weekly", true, false, true],
    ["weekly", true, true, true]
  ] as const)("mode %s, full %s, starting day %s: ignored %s", (mode, full, startOfWeek, ignored) => {
    expect(Pool.isFailureIgnored(mode, { full, startingDay: startOfWeek ? START : OTHER, date: NOW })).toBe(ignored)
  })
})

describe("Pool.stage", () => {
  it.effect("stages several peers at once with concurrency, the summary still in configuration order", () => {
    const { memory, host, layer } = setup({ files: MIXED_FILES })
    return Effect.gen(function*() {
      const config = yield* configOf(MIXED)
      const sequential = yield* Pool.stage(config, { now: NOW })
      const done: Array<string> = []
      const concurrent = yield* Pool.stage(config, {
        now: NOW,
        concurrency: 3,
        onPeerDone: (result) => Effect.sync(() => void done.push(result.name))
      })
      // a second run stages each ready peer's new cback.stage too: one more file each
      expect(concurrent.peers.map((p) => [p.name, p.status, p.files])).toEqual(
        sequential.peers.map((p) => [p.name, p.status, p.files + (p.status === "staged" ? 1 : 0)])
      )
      expect([...done].sort()).toEqual(config.peers.map((p) => p.name).sort())
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b c.tar", "cback.collect", "cback.stage"])
      expect(host.tree(REMOTE)["/collect/cback.stage"]).toBe("")
      expect(ls(memory, "/work")).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("stages a mixed pool: daily dir, one dir per peer, files, stage indicators and the master indicator", () => {
    const { memory, host, logs, layer } = setup({ files: MIXED_FILES })
    return Effect.gen(function*() {
      const config = yield* configOf(MIXED)
      const summary = yield* Pool.stage(config, { now: NOW })
      expect(summary).toEqual({
        dailyDir: DAILY,
        full: false,
        ok: false,
        peers: [
          { name: "alpha", type: "local", status: "staged", files: 3, bytes: 5, ignored: false },
          {
            name: "beta",
            type: "local",
            status: "not-ready",
            files: 0,
            bytes: 0,
            ignored: false,
            reason: "collect indicator cback.collect not found"
          },
          { name: REMOTE, type: "remote", status: "staged", files: 2, bytes: 4, ignored: false }
        ]
      })
      expect(ls(memory, "/stage")).toEqual(["2026"])
      expect(ls(memory, DAILY)).toEqual(["alpha", "beta", "cback.stage", REMOTE])
      expect(text(memory, `${DAILY}/cback.stage`)).toBe("")
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b c.tar", "cback.collect"])
      expect(text(memory, `${DAILY}/alpha/a.tar`)).toBe("AAA")
      expect(text(memory, `${DAILY}/alpha/b c.tar`)).toBe("BB")
      expect(ls(memory, `${DAILY}/beta`)).toEqual([])
      expect(ls(memory, `${DAILY}/${REMOTE}`)).toEqual(["cback.collect", "g.tar"])
      expect(text(memory, `${DAILY}/${REMOTE}/g.tar`)).toBe("GGGG")
      // stage indicators: written back into each staged peer's collect dir, locally and remotely
      expect(ls(memory, "/srv/alpha")).toEqual(["a.tar", "b c.tar", "cback.collect", "cback.stage"])
      expect(text(memory, "/srv/alpha/cback.stage")).toBe("")
      expect(ls(memory, "/srv/beta")).toEqual(["b.tar"])
      expect(host.tree(REMOTE)).toEqual({ "/collect/g.tar": "GGGG", "/collect/cback.collect": "", "/collect/cback.stage": "" })
      // no private directory is left behind
      expect(ls(memory, "/work")).toEqual([])
      // one line when the peer starts, one when it ends, in the summary's status words: a peer not
      // ready (and not ignored) ends with an error line, nothing else
      expect(logs.filter((l) => l.peer === "beta")).toEqual([
        { level: "INFO", message: "peer beta: starting (local)", peer: "beta" },
        { level: "ERROR", message: "peer beta: not-ready: collect indicator cback.collect not found", peer: "beta" }
      ])
      expect(logs.filter((l) => l.level === "ERROR" || l.level === "WARN").map((l) => l.peer)).toEqual(["beta"])
      // freshly made: no "already existed" warnings
      expect(logs.filter((l) => l.message.includes("already existed"))).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("is ok when every peer was staged", () => {
    const { memory, layer } = setup({ files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" } })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha"), remote(REMOTE)])), { now: NOW })
      expect(summary.ok).toBe(true)
      expect(summary.peers.map((p) => p.status)).toEqual(["staged", "staged"])
      expect(exists(memory, `${DAILY}/cback.stage`)).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect("says at debug level that the daily dir and peer dirs already exist, and stages into them", () => {
    const { memory, logs, layer } = setup({
      files: { ...MIXED_FILES, [`${DAILY}/alpha/old`]: "kept", [`${DAILY}/alpha/a.tar`]: "stale" }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha"), local("beta")])), { now: NOW })
      expect(summary.peers.map((p) => p.status)).toEqual(["staged", "not-ready"])
      // a re-run of a day is normal: debug, not a warning (changed deliberately in 0.2.0)
      expect(logs.filter((l) => l.level === "WARN")).toEqual([])
      expect(logs.filter((l) => l.level === "DEBUG").map((l) => l.message).filter((m) => m.includes("already existed"))).toEqual([
        `staging directory ${DAILY} already existed`,
        `staging directory ${DAILY}/alpha already existed`
      ])
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b c.tar", "cback.collect", "old"])
      expect(text(memory, `${DAILY}/alpha/a.tar`)).toBe("AAA")
      expect(text(memory, `${DAILY}/alpha/old`)).toBe("kept")
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Debug"), Effect.provide(layer))
  })

  it.effect("a not-ready peer whose failures are ignored is logged as info and keeps the run ok", () => {
    const { memory, logs, layer } = setup({ files: { "/srv/beta/b.tar": "B" } })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("beta", { ignoreFailures: "all" })])), { now: NOW })
      expect(summary).toEqual({
        dailyDir: DAILY,
        full: false,
        ok: true,
        peers: [{
          name: "beta",
          type: "local",
          status: "not-ready",
          files: 0,
          bytes: 0,
          ignored: true,
          reason: "collect indicator cback.collect not found"
        }]
      })
      expect(logs.filter((l) => l.peer === "beta").map((l) => l.level)).toEqual(["INFO", "INFO"])
      expect(ls(memory, "/srv/beta")).toEqual(["b.tar"])
      expect(ls(memory, `${DAILY}/beta`)).toEqual([])
      // the master indicator is written even when no peer was staged, as Cedar does
      expect(ls(memory, DAILY)).toEqual(["beta", "cback.stage"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a missing collect dir is not-ready with its reason", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("ghost")])), { now: NOW })
      expect(summary.peers).toEqual([{
        name: "ghost",
        type: "local",
        status: "not-ready",
        files: 0,
        bytes: 0,
        ignored: false,
        reason: "collect directory does not exist"
      }])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an unknown remote host is unreachable, not staged, and its failure mode still applies", () => {
    const { memory, logs, layer } = setup({ files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" } })
    return Effect.gen(function*() {
      const config = yield* configOf(poolJson([
        remote("unknown.example.org"),
        remote("other.example.org", { ignoreFailures: "all" }),
        local("alpha")
      ]))
      const summary = yield* Pool.stage(config, { now: NOW })
      const reason = "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"
      expect(summary.peers).toEqual([
        { name: "unknown.example.org", type: "remote", status: "unreachable", files: 0, bytes: 0, ignored: false, reason },
        { name: "other.example.org", type: "remote", status: "unreachable", files: 0, bytes: 0, ignored: true, reason },
        { name: "alpha", type: "local", status: "staged", files: 2, bytes: 1, ignored: false }
      ])
      expect(summary.ok).toBe(false)
      expect(ls(memory, `${DAILY}/unknown.example.org`)).toEqual([])
      expect(ls(memory, "/work")).toEqual([])
      expect(logs.filter((l) => l.peer === "unknown.example.org" && l.level === "ERROR").map((l) => l.message))
        .toEqual([`peer unknown.example.org: unreachable: ${reason}`])
      // ignored: info
      expect(logs.filter((l) => l.peer === "other.example.org" && l.level === "ERROR")).toEqual([])
      expect(logs.filter((l) => l.peer === "other.example.org" && l.message.startsWith("peer other.example.org: unreachable")).map((l) => l.message))
        .toEqual([`peer other.example.org: unreachable (ignored): ${reason}`])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a peer that fails (UnsupportedEntry) is failed with its error; the peers after it are still staged", () => {
    const { memory, logs, layer } = setup({
      files: {
        "/srv/bad/a": "1",
        "/srv/bad/sub/x": "2",
        "/srv/bad/cback.collect": "",
        "/srv/alpha/a": "1",
        "/srv/alpha/cback.collect": ""
      }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("bad"), remote(REMOTE), local("alpha")])), { now: NOW })
      expect({ ...summary, peers: summary.peers.map(shown) }).toEqual({
        dailyDir: DAILY,
        full: false,
        ok: false,
        peers: [
          {
            name: "bad",
            type: "local",
            status: "failed",
            files: 0,
            bytes: 0,
            ignored: false,
            error: { _tag: "UnsupportedEntry", message: "peer bad: /srv/bad: not regular files, nothing staged: \"sub\" (Directory)" },
            reason: "peer bad: /srv/bad: not regular files, nothing staged: \"sub\" (Directory)"
          },
          { name: REMOTE, type: "remote", status: "staged", files: 2, bytes: 4, ignored: false },
          { name: "alpha", type: "local", status: "staged", files: 2, bytes: 1, ignored: false }
        ]
      })
      // the error itself, with its fields
      const error = summary.peers[0]!.error
      expect(error).toBeInstanceOf(UnsupportedEntry)
      expect(error?._tag === "UnsupportedEntry" && error.entries).toEqual([{ name: "sub", kind: "Directory" }])
      expect(ls(memory, `${DAILY}/bad`)).toEqual([])
      expect(exists(memory, "/srv/bad/cback.stage")).toBe(false)
      expect(exists(memory, "/srv/alpha/cback.stage")).toBe(true)
      expect(logs.filter((l) => l.peer === "bad")).toEqual([{ level: "INFO", message: "peer bad: starting (local)", peer: "bad" }, {
        level: "INFO",
        message: "peer bad: failed: /srv/bad: not regular files, nothing staged: \"sub\" (Directory)",
        peer: "bad"
      }])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a remote copy that fails (CopyFailed) leaves nothing behind and writes no stage indicator", () => {
    const { memory, host, layer } = setup({
      files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" },
      fake: {
        around: (argv, run) =>
          argv.some((a) => a.endsWith(":/collect/*")) ? Effect.succeed({ exitCode: 1, stderr: "scp: /collect/g.tar: Input/output error\n" }) : run
      }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([remote(REMOTE), local("alpha")])), { now: NOW })
      expect(summary.peers.map(shown)).toEqual([
        {
          name: REMOTE,
          type: "remote",
          status: "failed",
          files: 0,
          bytes: 0,
          ignored: false,
          error: {
            _tag: "CopyFailed",
            message: `peer ${REMOTE}: backup@${REMOTE}:/collect: copy failed with exit status 1: scp: /collect/g.tar: Input/output error`
          },
          reason: `peer ${REMOTE}: backup@${REMOTE}:/collect: copy failed with exit status 1: scp: /collect/g.tar: Input/output error`
        },
        { name: "alpha", type: "local", status: "staged", files: 2, bytes: 1, ignored: false }
      ])
      const error = summary.peers[0]!.error
      expect(error).toBeInstanceOf(CopyFailed)
      expect(error?._tag === "CopyFailed" && error.exitCode).toBe(1)
      expect(ls(memory, `${DAILY}/${REMOTE}`)).toEqual([])
      expect(host.tree(REMOTE)).toEqual({ "/collect/g.tar": "GGGG", "/collect/cback.collect": "" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed peer whose failures are ignored keeps the run ok", () => {
    const { layer } = setup({ files: { "/srv/bad/sub/x": "2", "/srv/bad/cback.collect": "" } })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("bad", { ignoreFailures: "all" })])), { now: NOW })
      expect(summary.ok).toBe(true)
      expect(summary.peers[0]).toMatchObject({ status: "failed", ignored: true, error: { _tag: "UnsupportedEntry" } })
    }).pipe(Effect.provide(layer))
  })

  // The files did reach the staging dir; the summary reports the peer failed (files and bytes 0),
  // so a re-run stages it again.
  it.effect("a failure writing the stage indicator marks the peer failed, with the counts of what was staged", () => {
    const { memory, layer } = setup({
      files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" },
      fail: (operation, path) => (operation === "writeFile" && path === "/srv/alpha/cback.stage" ? "PermissionDenied" : undefined)
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha")])), { now: NOW })
      expect(summary.ok).toBe(false)
      expect(summary.peers.map(shown)).toMatchObject([{
        name: "alpha",
        type: "local",
        status: "failed",
        files: 2,
        bytes: 1,
        ignored: false,
        error: {
          _tag: "FileOperationFailed",
          message: "peer alpha: /srv/alpha/cback.stage: create failed: " +
            "/srv/alpha/cback.stage: writeEmptyFile failed: injected fault: permission denied"
        }
      }])
      const error = summary.peers[0]!.error
      expect(error).toBeInstanceOf(FileOperationFailed)
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "create", path: "/srv/alpha/cback.stage" })
      expect(exists(memory, "/srv/alpha/cback.stage")).toBe(false)
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a", "cback.collect"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("the run kind decides which failure modes are ignored (full run, starting day, other day)", () => {
    const { layer } = setup()
    const peers = [local("d", { ignoreFailures: "daily" }), local("w", { ignoreFailures: "weekly" })]
    const ignored = (summary: Pool.StageSummary) => summary.peers.map((p) => [p.name, p.ignored])
    return Effect.gen(function*() {
      const other = yield* Pool.stage(yield* configOf(poolJson(peers)), { now: NOW })
      expect(ignored(other)).toEqual([["d", true], ["w", false]])
      const full = yield* Pool.stage(yield* configOf(poolJson(peers)), { now: NOW, full: true })
      expect(full.full).toBe(true)
      expect(ignored(full)).toEqual([["d", false], ["w", true]])
      const start = yield* Pool.stage(yield* configOf(poolJson(peers, { startingDay: "thursday" })), { now: NOW })
      expect(ignored(start)).toEqual([["d", false], ["w", true]])
    }).pipe(Effect.provide(layer))
  })

  it.effect("derives the daily dir once, from the Clock when no date is given", () => {
    const { memory, layer } = setup({
      files: { "/srv/a/1": "1", "/srv/a/cback.collect": "", "/srv/b/2": "2", "/srv/b/cback.collect": "" }
    })
    return Effect.gen(function*() {
      yield* TestClock.setTime(new Date(2026, 0, 5, 23, 59, 59).getTime())
      // midnight passes after the first peer: everything still goes to the day the run started
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("a"), local("b")])), {
        onPeerDone: () => TestClock.adjust("1 minute")
      })
      expect(summary.dailyDir).toBe("/stage/2026/01/05")
      expect(ls(memory, "/stage/2026")).toEqual(["01"])
      expect(ls(memory, "/stage/2026/01")).toEqual(["05"])
      expect(ls(memory, "/stage/2026/01/05")).toEqual(["a", "b", "cback.stage"])
      expect(ls(memory, "/stage/2026/01/05/b")).toEqual(["2", "cback.collect"])
    }).pipe(Effect.provide(layer))
  })

  // One peer at a time, onPeerDone comes in config order; several at once, in the order peers end.
  it.effect("calls onPeerDone once per peer, in order, with its result (one peer at a time)", () => {
    const { layer } = setup({ files: MIXED_FILES })
    return Effect.gen(function*() {
      const seen: Array<Pool.PeerStageResult> = []
      const summary = yield* Pool.stage(yield* configOf(MIXED), {
        now: NOW,
        concurrency: 1,
        onPeerDone: (result) => Effect.sync(() => seen.push(result))
      })
      expect(seen).toEqual(summary.peers)
    }).pipe(Effect.provide(layer))
  })

  describe("peer selection", () => {
    it.effect("stages only the named peers, in the order given, and makes only their directories", () => {
      const { memory, layer } = setup({ files: MIXED_FILES })
      return Effect.gen(function*() {
        const summary = yield* Pool.stage(yield* configOf(MIXED), { now: NOW, peers: [REMOTE, "alpha", REMOTE] })
        expect(summary.peers.map((p) => [p.name, p.status])).toEqual([[REMOTE, "staged"], ["alpha", "staged"]])
        expect(summary.ok).toBe(true)
        expect(ls(memory, DAILY)).toEqual(["alpha", "cback.stage", REMOTE])
      }).pipe(Effect.provide(layer))
    })

    it.effect("an unknown peer name is InvalidPeerConfig, before anything is created or run", () => {
      const { memory, host, layer } = setup({ files: MIXED_FILES })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Pool.stage(yield* configOf(MIXED), { now: NOW, peers: ["alpha", "nope"] }))
        expect(error._tag).toBe("InvalidPeerConfig")
        expect(error.message).toBe(
          `peer nope: invalid peer configuration: no peer of that name in ${SOURCE} (known: alpha, beta, ${REMOTE})`
        )
        expect(ls(memory, "/stage")).toEqual([])
        expect(host.calls).toEqual([])
      }).pipe(Effect.provide(layer))
    })
  })

  describe("ownership", () => {
    // umask 0: the directories stay writable by root in memfs after they are given to uid 34.
    // Directories stay root's with the backup group (0750), so the backup user can read the tree but
    // rename or replace nothing root writes into; files are the backup user's (Cedar gives the
    // directories to the backup user too: changed deliberately in 0.2.0, see docs/compatibility.md).
    it.effect("as root: year, month, daily and peer dirs are root:staff 0750; master indicator and staged files belong to backup:staff", () => {
      const { memory, layer } = setup({
        root: true,
        umask: 0,
        files: { "/srv/alpha/a.tar": "AAA", "/srv/alpha/cback.collect": "", "/srv/beta/b": "B" }
      })
      return Effect.gen(function*() {
        const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha"), local("beta")])), { now: NOW })
        expect(summary.peers.map((p) => p.status)).toEqual(["staged", "not-ready"])
        const directories = ["/stage/2026", "/stage/2026/11", DAILY, `${DAILY}/alpha`, `${DAILY}/beta`]
        expect(directories.map((f) => [f, owner(memory, f), mode(memory, f)])).toEqual(directories.map((f) => [f, "0:50", 0o750]))
        const owned = [`${DAILY}/cback.stage`, `${DAILY}/alpha/a.tar`, `${DAILY}/alpha/cback.collect`]
        expect(owned.map((f) => [f, owner(memory, f)])).toEqual(owned.map((f) => [f, "34:50"]))
        // the staging dir itself and the peer's own files are left alone
        expect(owner(memory, "/stage")).toBe("0:0")
        expect(owner(memory, "/srv/alpha/a.tar")).toBe("0:0")
      }).pipe(Effect.provide(layer))
    })

    it.effect("as root, directories that already existed are taken back: root:staff 0750 (a backup user's dir could be swapped)", () => {
      const { memory, layer } = setup({
        root: true,
        umask: 0,
        directories: [`${DAILY}/alpha`],
        files: { "/srv/alpha/a.tar": "AAA", "/srv/alpha/cback.collect": "" }
      })
      return Effect.gen(function*() {
        memory.volume.chownSync(`${DAILY}/alpha`, 34, 50)
        yield* Pool.stage(yield* configOf(poolJson([local("alpha"), local("beta")])), { now: NOW })
        expect(owner(memory, DAILY)).toBe("0:50")
        expect(owner(memory, `${DAILY}/alpha`)).toBe("0:50")
        expect(mode(memory, `${DAILY}/alpha`)).toBe(0o750)
        expect(owner(memory, `${DAILY}/beta`)).toBe("0:50")
        expect(owner(memory, `${DAILY}/alpha/a.tar`)).toBe("34:50")
      }).pipe(Effect.provide(layer))
    })

    it.effect("a file where the daily dir should be fails the run with FileOperationFailed, staging nothing", () => {
      const { memory, host, layer } = setup({ files: { ...MIXED_FILES, [DAILY]: "not a directory" } })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Pool.stage(yield* configOf(MIXED), { now: NOW }))
        expect(error).toMatchObject({ _tag: "FileOperationFailed", peer: "master", operation: "open", path: DAILY })
        expect(error.message).toContain("not a directory; nothing written there")
        expect(text(memory, DAILY)).toBe("not a directory")
        expect(exists(memory, "/srv/alpha/cback.stage")).toBe(false)
        expect(host.calls).toEqual([])
      }).pipe(Effect.provide(layer))
    })

    it.effect("a master indicator that cannot be written fails the run with FileOperationFailed", () => {
      const { memory, layer } = setup({
        files: MIXED_FILES,
        fail: (operation, path) => (operation === "writeFile" && path === `${DAILY}/cback.stage` ? "PermissionDenied" : undefined)
      })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Pool.stage(yield* configOf(MIXED), { now: NOW }))
        expect(error).toMatchObject({ _tag: "FileOperationFailed", peer: "master", operation: "create", path: `${DAILY}/cback.stage` })
        // the peers themselves were staged before: their files are complete
        expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b c.tar", "cback.collect"])
      }).pipe(Effect.provide(layer))
    })

    it.effect("not as root: nothing is chowned", () => {
      const diskOperations: Array<string> = []
      const { memory, operations, layer } = setup({
        files: MIXED_FILES,
        diskBefore: (operation) => {
          diskOperations.push(operation)
          return undefined
        }
      })
      return Effect.gen(function*() {
        const summary = yield* Pool.stage(yield* configOf(MIXED), { now: NOW })
        expect(summary.peers.map((p) => p.status)).toEqual(["staged", "not-ready", "staged"])
        expect(diskOperations.filter((o) => o === "makePrivateDirectory").length).toBeGreaterThan(0)
        expect(diskOperations.filter((o) => o === "chown")).toEqual([])
        expect(operations.filter((o) => o.operation === "chown")).toEqual([])
        expect(owner(memory, DAILY)).toBe("0:0")
      }).pipe(Effect.provide(layer))
    })

    it.effect("as root, an unknown backup user or group is a ConfigError before anything is created or run", () => {
      const { memory, host, layer } = setup({ root: true, users: {}, groups: {}, files: MIXED_FILES })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Pool.stage(yield* configOf(MIXED), { now: NOW }))
        expect(error._tag).toBe("ConfigError")
        if (error._tag !== "ConfigError") return
        expect(error.path).toBe(SOURCE)
        expect(error.problems).toEqual([
          "options.backupUser: no such user on this machine: backup",
          "options.backupGroup: no such group on this machine: staff"
        ])
        expect(ls(memory, "/stage")).toEqual([])
        expect(host.calls).toEqual([])
      }).pipe(Effect.provide(layer))
    })

    it.effect("not as root, the backup user need not exist", () => {
      const { layer } = setup({ users: {}, groups: {}, files: MIXED_FILES })
      return Effect.gen(function*() {
        const summary = yield* Pool.stage(yield* configOf(MIXED), { now: NOW })
        expect(summary.peers.map((p) => p.status)).toEqual(["staged", "not-ready", "staged"])
      }).pipe(Effect.provide(layer))
    })
  })
})

describe("Pool.stage lands a peer directory made this run whole", () => {
  const FILES = { "/srv/alpha/a.tar": "AAA", "/srv/alpha/b.tar": "BB", "/srv/alpha/cback.collect": "" }
  const isPrivate = (name: string) => name.startsWith(".cedar-peer-")

  it.effect("gathers the files beside the empty peer directory, then puts the whole directory in its place", () => {
    const seen: Array<{ daily: ReadonlyArray<string>; peer: ReadonlyArray<string> }> = []
    const operations: Array<string> = []
    const { memory, layer } = setup({
      files: FILES,
      diskBefore: (operation) => {
        operations.push(operation)
        if (operation !== "copyFile") return undefined
        return Effect.sync(() => void seen.push({ daily: ls(memory, DAILY), peer: ls(memory, `${DAILY}/alpha`) }))
      }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha")])), { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "staged", files: 3 })
      // while copying: the peer's directory empty, the files in a private directory of the daily one
      expect(seen).toHaveLength(3)
      for (const moment of seen) {
        expect(moment.peer).toEqual([])
        expect(moment.daily.filter(isPrivate)).toHaveLength(1)
      }
      expect(operations.filter((op) => op === "replaceEmptyDirectory")).toHaveLength(1)
      expect(operations).not.toContain("rename")
      expect(ls(memory, DAILY)).toEqual(["alpha", "cback.stage"])
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b.tar", "cback.collect"])
      expect(text(memory, `${DAILY}/alpha/a.tar`)).toBe("AAA")
      // the directory the tree would have made: its mode, not the private directory's 0700
      expect(mode(memory, `${DAILY}/alpha`)).toBe(0o755)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a second run of the day renames the files into the directory there, beside what it holds", () => {
    const operations: Array<string> = []
    const { memory, layer } = setup({
      files: FILES,
      diskBefore: (operation) => void operations.push(operation)
    })
    return Effect.gen(function*() {
      const config = yield* configOf(poolJson([local("alpha")]))
      yield* Pool.stage(config, { now: NOW })
      memory.volume.writeFileSync(`${DAILY}/alpha/kept.tar`, "K")
      memory.volume.writeFileSync("/srv/alpha/c.tar", "C")
      operations.length = 0
      const summary = yield* Pool.stage(config, { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "staged", files: 5 })
      expect(operations).not.toContain("replaceEmptyDirectory")
      expect(operations.filter((op) => op === "rename")).toHaveLength(5)
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "b.tar", "c.tar", "cback.collect", "cback.stage", "kept.tar"])
      expect(ls(memory, DAILY).filter(isPrivate)).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a peer directory no longer empty when the files land is not replaced: they are renamed in beside what appeared", () => {
    const { memory, layer } = setup({
      files: FILES,
      diskBefore: (operation) =>
        operation === "replaceEmptyDirectory"
          ? Effect.sync(() => memory.volume.writeFileSync(`${DAILY}/alpha/appeared`, "X"))
          : undefined
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha")])), { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "staged", files: 3 })
      expect(ls(memory, `${DAILY}/alpha`)).toEqual(["a.tar", "appeared", "b.tar", "cback.collect"])
      expect(text(memory, `${DAILY}/alpha/appeared`)).toBe("X")
      expect(ls(memory, DAILY).filter(isPrivate)).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a remote peer's directory is replaced whole too", () => {
    const operations: Array<string> = []
    const { memory, layer } = setup({ diskBefore: (operation) => void operations.push(operation) })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([remote(REMOTE)])), { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "staged", files: 2 })
      expect(operations.filter((op) => op === "replaceEmptyDirectory")).toHaveLength(1)
      expect(ls(memory, `${DAILY}/${REMOTE}`)).toEqual(["cback.collect", "g.tar"])
      expect(ls(memory, DAILY).filter(isPrivate)).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failed copy leaves the peer's directory empty and no private directory behind", () => {
    const { memory, layer } = setup({
      files: FILES,
      fail: (operation, path) => (operation === "copyFile" && path.endsWith("/b.tar") ? "Unknown" : undefined)
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.stage(yield* configOf(poolJson([local("alpha")])), { now: NOW })
      expect(summary.peers[0]).toMatchObject({ status: "failed" })
      expect(ls(memory, DAILY)).toEqual(["alpha", "cback.stage"])
      expect(ls(memory, `${DAILY}/alpha`)).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("what a killed run left in the daily directory is removed when the next run starts", () => {
    const left = `${DAILY}/.cedar-peer-999999999-1-0123456789ab`
    const { memory, logs, layer } = setup({ files: FILES, directories: [left] })
    memory.volume.writeFileSync(`${left}/a.tar`, "half")
    return Effect.gen(function*() {
      yield* Pool.stage(yield* configOf(poolJson([local("alpha")])), { now: NOW })
      expect(ls(memory, DAILY)).toEqual(["alpha", "cback.stage"])
      expect(logs.map((l) => l.message)).toContain(`removed ${DAILY}/.cedar-peer-999999999-1-0123456789ab, left by a run that was killed`)
    }).pipe(Effect.provide(layer))
  })
})

describe("Pool.peerValue resolves each field: the peer's, else the options', else the default", () => {
  const options = {
    workingDir: "/var/tmp/cback",
    backupUser: "backup",
    rcpCommand: "/usr/bin/scp -B -O",
    rshCommand: "/usr/bin/ssh -p 2222",
    cbackCommand: "/opt/cback3"
  }
  const own = remote("own.example.org", {
    backupUser: "peeruser",
    rcpCommand: "/opt/scp -q",
    rshCommand: "/opt/ssh",
    cbackCommand: "/opt/bin/cback3 --config /etc/c.conf",
    ignoreFailures: "weekly"
  })
  const plain = remote("plain.example.org")

  it.effect("takes the peer's user and commands, else the options'; the working dir from the options", () =>
    Effect.gen(function*() {
      const config = yield* configOf(poolJson([own, plain], options))
      const [ownConfig, plainConfig] = config.peers
      const mine = yield* Pool.peerValue(config, ownConfig!, false)
      expect(mine).toMatchObject({
        _tag: "RemotePeer",
        name: "own.example.org",
        collectDir: "/collect",
        workingDir: "/var/tmp/cback",
        remoteUser: "peeruser",
        rcpCommand: "/opt/scp -q",
        rshCommand: "/opt/ssh",
        cbackCommand: "/opt/bin/cback3 --config /etc/c.conf",
        ignoreFailureMode: "weekly"
      })
      expect(mine._tag === "RemotePeer" && mine.localUser).toBeUndefined()
      const theirs = yield* Pool.peerValue(config, plainConfig!, false)
      expect(theirs).toMatchObject({
        _tag: "RemotePeer",
        workingDir: "/var/tmp/cback",
        remoteUser: "backup",
        rcpCommand: "/usr/bin/scp -B -O",
        rshCommand: "/usr/bin/ssh -p 2222",
        cbackCommand: "/opt/cback3"
      })
      expect(theirs._tag === "RemotePeer" && theirs.ignoreFailureMode).toBeUndefined()
    }))

  it.effect("the local user is the options' backup user when root, else none; defaults stay absent", () =>
    Effect.gen(function*() {
      const config = yield* configOf(poolJson([own, plain]))
      const [ownConfig, plainConfig] = config.peers
      const asRoot = yield* Pool.peerValue(config, ownConfig!, true)
      expect(asRoot._tag === "RemotePeer" && asRoot.localUser).toBe("backup")
      expect(asRoot._tag === "RemotePeer" && asRoot.remoteUser).toBe("peeruser")
      const defaults = yield* Pool.peerValue(config, plainConfig!, true)
      expect(defaults._tag === "RemotePeer" && [defaults.localUser, defaults.rcpCommand, defaults.rshCommand, defaults.cbackCommand])
        .toEqual(["backup", undefined, undefined, undefined])
      const notRoot = yield* Pool.peerValue(config, plainConfig!, false)
      expect(notRoot._tag === "RemotePeer" && notRoot.localUser).toBeUndefined()
    }))

  it.effect("a local peer is a LocalPeer with its failure mode", () =>
    Effect.gen(function*() {
      const config = yield* configOf(poolJson([local("alpha", { ignoreFailures: "daily" })]))
      const peer = yield* Pool.peerValue(config, config.peers[0]!, true)
      expect(peer).toMatchObject({ _tag: "LocalPeer", name: "alpha", collectDir: "/srv/alpha", ignoreFailureMode: "daily" })
    }))
})

describe("Pool.stage resolves remote peers like Pool.peerValue (observed argv)", () => {
  const scpCalls = (host: FakeRemoteHost.FakeRemoteHost) => host.calls.filter((argv) => argv.some((a) => a.endsWith("scp") || a === "/opt/scp"))

  it.effect("not as root: no runuser; remote user and rcp command are the peer's, else the options'", () => {
    const { host, layer } = setup({
      hosts: {
        [REMOTE]: { users: ["backup"], files: { "/collect/g": "g", "/collect/cback.collect": "" } },
        "own.example.org": { users: ["peeruser"], files: { "/c/o": "o", "/c/cback.collect": "" } }
      }
    })
    return Effect.gen(function*() {
      const config = yield* configOf(poolJson(
        [remote(REMOTE), remote("own.example.org", { collectDir: "/c", backupUser: "peeruser", rcpCommand: "/opt/scp -q -s" })],
        { rcpCommand: "/usr/bin/scp -B -s" }
      ))
      const summary = yield* Pool.stage(config, { now: NOW })
      expect(summary.peers.map((p) => p.status)).toEqual(["staged", "staged"])
      expect(host.calls.some((argv) => argv[0] === "runuser")).toBe(false)
      const calls = scpCalls(host)
      expect(calls.filter((argv) => argv[0] === "/usr/bin/scp").map((argv) => argv.slice(0, 3))).toEqual([
        ["/usr/bin/scp", "-B", "-s"],
        ["/usr/bin/scp", "-B", "-s"],
        ["/usr/bin/scp", "-B", "-s"]
      ])
      expect(calls.filter((argv) => argv[0] === "/usr/bin/scp").every((argv) => argv.some((a) => a.startsWith(`backup@${REMOTE}:`))))
        .toBe(true)
      expect(calls.filter((argv) => argv[0] === "/opt/scp")).toHaveLength(3)
      expect(calls.filter((argv) => argv[0] === "/opt/scp").every((argv) => argv.some((a) => a.startsWith("peeruser@own.example.org:"))))
        .toBe(true)
    }).pipe(Effect.provide(layer))
  })
})

// As root the remote peers' private dirs (0700) are given to the backup user before the copy runs
// as that user: on memfs root could not write into them, on a real disk it can.
describe("Pool.stage as root on a real temp dir", () => {
  const onRealDisk = Effect.acquireRelease(
    Effect.sync(() => {
      const root = mkdtempSync(`${tmpdir()}/cedar-pool-test-`)
      for (const dir of ["stage", "work", "srv/alpha"]) mkdirSync(`${root}/${dir}`, { recursive: true })
      writeFileSync(`${root}/srv/alpha/a.tar`, "AAA")
      writeFileSync(`${root}/srv/alpha/cback.collect`, "")
      return root
    }),
    (root) => Effect.sync(() => rmSync(root, { recursive: true, force: true }))
  )

  // root, the real disk and a fake remote host: the private dirs belong to the backup user there
  const asRootOnRealDisk = () => {
    const host = FakeRemoteHost.make({ hosts: DEFAULT_HOSTS })
    const platform = Layer.mergeAll(
      host.layer.pipe(Layer.provide(NodeFileSystem.layer)),
      NodeFileSystem.layer,
      Path.layer,
      SystemUsers.layerTest({ root: true, users: USERS, groups: GROUPS })
    )
    return {
      host,
      layer: Layer.mergeAll(LocalPeers.layer, RemotePeers.layer, noRetries).pipe(
        Layer.provideMerge(NodeStagingDisk.layer),
        Layer.provideMerge(platform)
      )
    }
  }

  it.effect("runs every copy as the backup user (runuser -u backup --) and gives everything to backup:staff", () =>
    Effect.gen(function*() {
      const root = yield* onRealDisk
      const { host, layer } = asRootOnRealDisk()
      const config = yield* Config.decodeUnknown({
        options: { startingDay: "monday", workingDir: `${root}/work`, backupUser: "backup", backupGroup: "staff" },
        peers: [{ name: "alpha", type: "local", collectDir: `${root}/srv/alpha` }, remote(REMOTE)],
        stage: { stagingDir: `${root}/stage` }
      }, SOURCE)
      const summary = yield* Pool.stage(config, { now: NOW }).pipe(Effect.provide(layer))
      expect(summary.peers).toEqual([
        { name: "alpha", type: "local", status: "staged", files: 2, bytes: 3, ignored: false },
        { name: REMOTE, type: "remote", status: "staged", files: 2, bytes: 4, ignored: false }
      ])
      // every scp and ssh runs as the backup user, and logs in as the backup user too
      const runs = host.calls.filter((argv) => !(argv.length === 2 && argv[1] === "-V"))
      expect(runs.length).toBe(3)
      for (const argv of runs) expect(argv.slice(0, 4)).toEqual(["runuser", "-u", "backup", "--"])
      expect(host.invocations.filter((i) => i.argv[1] !== "-V").map((i) => i.runAs)).toEqual(["backup", "backup", "backup"])
      const daily = `${root}${DAILY}`
      const directories = [`${root}/stage/2026`, `${root}/stage/2026/11`, daily, `${daily}/alpha`, `${daily}/${REMOTE}`]
      expect(directories.map((f) => [f, `${statSync(f).uid}:${statSync(f).gid}`, statSync(f).mode & 0o7777]))
        .toEqual(directories.map((f) => [f, "0:50", 0o750]))
      const owned = [
        `${daily}/cback.stage`,
        `${daily}/alpha/a.tar`,
        `${daily}/alpha/cback.collect`,
        `${daily}/${REMOTE}/g.tar`,
        `${daily}/${REMOTE}/cback.collect`
      ]
      const ids = (file: string) => {
        const info = statSync(file)
        return `${info.uid}:${info.gid}`
      }
      expect(owned.map((f) => [f, ids(f)])).toEqual(owned.map((f) => [f, "34:50"]))
      expect(ids(`${root}/stage`)).toBe("0:0")
      expect(readdirSync(daily).sort()).toEqual(["alpha", "cback.stage", REMOTE].sort())
      expect(readdirSync(`${daily}/${REMOTE}`).sort()).toEqual(["cback.collect", "g.tar"])
      expect(readFileSync(`${daily}/${REMOTE}/g.tar`, "utf8")).toBe("GGGG")
      expect(readdirSync(`${root}/work`)).toEqual([])
      expect(host.tree(REMOTE)["/collect/cback.stage"]).toBe("")
    }))

  // As root the copy runs as `runuser -u backup -- /usr/bin/scp …`; runuser only passes scp's
  // status on, so the reason must name scp (it once named argv[0], i.e. runuser).
  it.effect("an unreachable peer's reason names the copy program, not runuser", () =>
    Effect.gen(function*() {
      const root = yield* onRealDisk
      const { host, layer } = asRootOnRealDisk()
      const config = yield* Config.decodeUnknown({
        options: { startingDay: "monday", workingDir: `${root}/work`, backupUser: "backup", backupGroup: "staff" },
        peers: [remote("unknown.example.org")],
        stage: { stagingDir: `${root}/stage` }
      }, SOURCE)
      const summary = yield* Pool.stage(config, { now: NOW }).pipe(Effect.provide(layer))
      expect(host.calls.at(-1)?.slice(0, 5)).toEqual(["runuser", "-u", "backup", "--", "/usr/bin/scp"])
      expect(summary.peers).toEqual([{
        name: "unknown.example.org",
        type: "remote",
        status: "unreachable",
        files: 0,
        bytes: 0,
        ignored: false,
        reason: "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"
      }])
    }))
})

// Managed peers: m1 has its own actions, m2 takes the options', m3 is not managed, m4 does not run collect.
const MANAGED = poolJson([
  local("alpha"),
  remote("m1.example.org", { managed: true, managedActions: ["collect", "purge"] }),
  remote("m2.example.org", { managed: true, cbackCommand: "/opt/cback3 --config /etc/m2.conf" }),
  remote("m3.example.org", { managedActions: ["collect"] }),
  remote("m4.example.org", { managed: true, managedActions: ["purge"] })
], { managedActions: ["collect"] })
const MANAGED_HOSTS = Object.fromEntries(
  ["m1", "m2", "m3", "m4"].map((m) => [`${m}.example.org`, { users: ["backup"] }])
)

describe("Pool.runManagedAction", () => {
  it.effect("stopped midway: the peer whose action runs is stopped (its ssh killed), the peers not reached are interrupted", () => {
    const killed: Array<string> = []
    let started: (() => void) | undefined
    const running = new Promise<void>((resolve) => (started = resolve))
    const { layer } = setup({
      hosts: MANAGED_HOSTS,
      fake: {
        around: (argv, run) =>
          argv.includes("backup@m1.example.org")
            ? Effect.andThen(Effect.sync(() => started?.()), Effect.never).pipe(Effect.onInterrupt(() => Effect.sync(() => void killed.push("m1"))))
            : run
      }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "collect", { stop: Effect.promise(() => running) })
      expect(summary).toEqual({
        action: "collect",
        full: false,
        ok: false,
        peers: [
          { name: "m1.example.org", status: "interrupted", reason: "the run was stopped before the action was done on this peer" },
          { name: "m2.example.org", status: "interrupted", reason: "the run was stopped before the action was done on this peer" }
        ]
      })
      expect(killed).toEqual(["m1"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("runs the action on the managed remote peers whose actions include it", () => {
    const { host, layer } = setup({ hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "collect")
      expect(summary).toEqual({
        action: "collect",
        full: false,
        ok: true,
        peers: [{ name: "m1.example.org", status: "done" }, { name: "m2.example.org", status: "done" }]
      })
      expect(host.commands).toEqual([
        { host: "m1.example.org", user: "backup", command: "/usr/bin/cback3 collect" },
        { host: "m2.example.org", user: "backup", command: "/opt/cback3 --config /etc/m2.conf collect" }
      ])
      expect(host.calls).toEqual([
        ["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@m1.example.org", "/usr/bin/cback3 collect"],
        ["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@m2.example.org", "/opt/cback3 --config /etc/m2.conf collect"]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("--full gives cback3 --full ACTION; purge runs on m1 and m4", () => {
    const { host, layer } = setup({ hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      const config = yield* configOf(MANAGED)
      const full = yield* Pool.runManagedAction(config, "collect", { full: true })
      expect(full.full).toBe(true)
      const purge = yield* Pool.runManagedAction(config, "purge")
      expect(purge.peers.map((p) => p.name)).toEqual(["m1.example.org", "m4.example.org"])
      expect(host.commands.map((c) => `${c.host}: ${c.command}`)).toEqual([
        "m1.example.org: /usr/bin/cback3 --full collect",
        "m2.example.org: /opt/cback3 --config /etc/m2.conf --full collect",
        "m1.example.org: /usr/bin/cback3 purge",
        "m4.example.org: /usr/bin/cback3 purge"
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("the rsh command and remote user are the peer's, else the options'", () => {
    const { host, layer } = setup({ hosts: { "m1.example.org": { users: ["peeruser"] }, "m2.example.org": { users: ["backup"] } } })
    return Effect.gen(function*() {
      const config = yield* configOf(poolJson([
        remote("m1.example.org", { managed: true, backupUser: "peeruser", rshCommand: "/opt/ssh -F '/etc/my ssh'" }),
        remote("m2.example.org", { managed: true })
      ], { managedActions: ["collect"], rshCommand: "/usr/bin/ssh -p 2222", cbackCommand: "/opt/cback3" }))
      const summary = yield* Pool.runManagedAction(config, "collect")
      expect(summary.ok).toBe(true)
      expect(host.calls).toEqual([
        ["/opt/ssh", "-F", "/etc/my ssh", ...SSH_OPTS, "--", "peeruser@m1.example.org", "/opt/cback3 collect"],
        ["/usr/bin/ssh", "-p", "2222", ...SSH_OPTS, "--", "backup@m2.example.org", "/opt/cback3 collect"]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("as root, runs ssh as the backup user", () => {
    const { host, layer } = setup({ root: true, hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      yield* Pool.runManagedAction(yield* configOf(MANAGED), "purge")
      expect(host.calls).toEqual([
        ["runuser", "-u", "backup", "--", "/usr/bin/ssh", ...SSH_OPTS, "--", "backup@m1.example.org", "/usr/bin/cback3 purge"],
        ["runuser", "-u", "backup", "--", "/usr/bin/ssh", ...SSH_OPTS, "--", "backup@m4.example.org", "/usr/bin/cback3 purge"]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failing peer is failed with ManagedActionFailed while the others still run", () => {
    const { host, logs, layer } = setup({
      hosts: MANAGED_HOSTS,
      fake: { onCommand: (c) => (c.host === "m1.example.org" ? { exitCode: 3, stderr: "cback3: collect failed\n" } : { exitCode: 0 }) }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "collect")
      const message = "peer m1.example.org: managed action collect exited with status 3: cback3: collect failed"
      expect({ ...summary, peers: summary.peers.map(shown) }).toEqual({
        action: "collect",
        full: false,
        ok: false,
        peers: [
          { name: "m1.example.org", status: "failed", error: { _tag: "ManagedActionFailed", message } },
          { name: "m2.example.org", status: "done" }
        ]
      })
      // the error itself: the remote command's status and stderr are reachable
      const error = summary.peers[0]!.error
      expect(error).toBeInstanceOf(ManagedActionFailed)
      expect(error?._tag === "ManagedActionFailed" && [error.action, error.cause.exitCode, error.cause.stderr])
        .toEqual(["collect", 3, "cback3: collect failed\n"])
      expect(host.commands.map((c) => c.host)).toEqual(["m1.example.org", "m2.example.org"])
      expect(logs.filter((l) => l.peer === "m1.example.org")).toEqual([
        { level: "INFO", message: "running collect on peer m1.example.org", peer: "m1.example.org" },
        { level: "INFO", message: `peer m1.example.org: failed: ${message.replace("peer m1.example.org: ", "")}`, peer: "m1.example.org" }
      ])
      expect(logs.filter((l) => l.level === "ERROR")).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an unreachable managed peer is failed (ssh exit 255)", () => {
    const { layer } = setup({ hosts: { "m2.example.org": { users: ["backup"] } } })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "collect")
      expect(summary.ok).toBe(false)
      expect(summary.peers.map(shown)).toEqual([
        {
          name: "m1.example.org",
          status: "failed",
          error: {
            _tag: "ManagedActionFailed",
            message: "peer m1.example.org: managed action collect exited with status 255: " +
              "ssh: Could not resolve hostname m1.example.org: Name or service not known"
          }
        },
        { name: "m2.example.org", status: "done" }
      ])
      const error = summary.peers[0]!.error
      expect(error?._tag === "ManagedActionFailed" && error.cause.exitCode).toBe(255)
    }).pipe(Effect.provide(layer))
  })

  it.effect("no managed peer runs the action: ok, no peers, a warning", () => {
    const { host, logs, layer } = setup({ hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "backup")
      expect(summary).toEqual({ action: "backup", full: false, ok: true, peers: [] })
      expect(host.calls).toEqual([])
      expect(logs).toEqual([{ level: "WARN", message: "no managed peer runs the action backup", peer: undefined }])
    }).pipe(Effect.provide(layer))
  })

  it.effect("only the selected peers run it", () => {
    const { host, layer } = setup({ hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      const summary = yield* Pool.runManagedAction(yield* configOf(MANAGED), "collect", { peers: ["m2.example.org", "alpha"] })
      expect(summary.peers).toEqual([{ name: "m2.example.org", status: "done" }])
      expect(host.commands.map((c) => c.host)).toEqual(["m2.example.org"])
      const error = yield* Effect.flip(Pool.runManagedAction(yield* configOf(MANAGED), "collect", { peers: ["nope"] }))
      expect(error._tag).toBe("InvalidPeerConfig")
    }).pipe(Effect.provide(layer))
  })

  it.effect.each(["collect;touch /tmp/x", "", "-full", "collect now", "$(id)"])("refuses the action name %j with InvalidPeerConfig", (action) => {
    const { host, layer } = setup({ hosts: MANAGED_HOSTS })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Pool.runManagedAction(yield* configOf(MANAGED), action))
      expect(error._tag).toBe("InvalidPeerConfig")
      expect(error.problems).toEqual([
        `action ${JSON.stringify(action)}: must be letters, digits, '_' or '-', starting with a letter or digit`
      ])
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer))
  })
})

describe("Pool.check", () => {
  const CHECK = poolJson([
    local("alpha"),
    local("beta"),
    remote(REMOTE),
    remote("gone.example.org"),
    remote("empty.example.org")
  ])
  const hosts = { ...DEFAULT_HOSTS, "empty.example.org": { users: ["backup"], files: { "/collect": null } } }

  it.effect("reports ready, not-ready and unreachable peers; ok only when all are ready", () => {
    const { memory, layer } = setup({ hosts, files: MIXED_FILES })
    return Effect.gen(function*() {
      const summary = yield* Pool.check(yield* configOf(CHECK))
      expect(summary).toEqual({
        ok: false,
        peers: [
          { name: "alpha", type: "local", ready: true, status: "ready" },
          { name: "beta", type: "local", ready: false, status: "not-ready", reason: "collect indicator cback.collect not found" },
          { name: REMOTE, type: "remote", ready: true, status: "ready" },
          {
            name: "gone.example.org",
            type: "remote",
            ready: false,
            status: "unreachable",
            reason: "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"
          },
          {
            name: "empty.example.org",
            type: "remote",
            ready: false,
            status: "not-ready",
            reason: "/usr/bin/scp exited with status 1: scp: /collect/cback.collect: No such file or directory"
          }
        ]
      })
      // a check changes nothing
      expect(ls(memory, "/stage")).toEqual([])
      expect(ls(memory, "/work")).toEqual([])
      const some = yield* Pool.check(yield* configOf(CHECK), { peers: ["alpha", REMOTE] })
      expect(some).toEqual({
        ok: true,
        peers: [
          { name: "alpha", type: "local", ready: true, status: "ready" },
          { name: REMOTE, type: "remote", ready: true, status: "ready" }
        ]
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("looks for a custom indicator name", () => {
    const { layer } = setup({
      hosts: { [REMOTE]: { users: ["backup"], files: { "/collect/done.flag": "" } } },
      files: { "/srv/alpha/done.flag": "", "/srv/beta/cback.collect": "" }
    })
    return Effect.gen(function*() {
      const summary = yield* Pool.check(yield* configOf(poolJson([local("alpha"), local("beta"), remote(REMOTE)])), {
        indicator: "done.flag"
      })
      expect(summary.peers.map((p) => [p.name, p.status])).toEqual([["alpha", "ready"], ["beta", "not-ready"], [REMOTE, "ready"]])
      expect(summary.peers[1]!.reason).toBe("collect indicator done.flag not found")
    }).pipe(Effect.provide(layer))
  })

  it.effect("an indicator name that is not a plain file name is InvalidPath", () => {
    const { layer } = setup({ files: MIXED_FILES })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Pool.check(yield* configOf(poolJson([local("alpha")])), { indicator: "../etc/passwd" }))
      expect(error._tag).toBe("InvalidPath")
    }).pipe(Effect.provide(layer))
  })
})

describe("Pool.stageConfiguredPeer", () => {
  it.effect("stages a configured peer by name into a directory, with its settings; a peer not ready is staged anyway, with a warning", () => {
    const { memory, logs, layer } = setup({ files: MIXED_FILES, directories: ["/target"] })
    return Effect.gen(function*() {
      const config = yield* configOf(MIXED)
      const ready = yield* Pool.stageConfiguredPeer(config, "alpha", "/target", { permissions: 0o640 })
      expect(ready.peer).toBe("alpha")
      expect(ready.ready).toBe(true)
      expect({ count: ready.report.count, bytes: ready.report.bytes }).toEqual({ count: 3, bytes: 5 })
      expect(ls(memory, "/target")).toEqual(["a.tar", "b c.tar", "cback.collect"])
      expect(mode(memory, "/target/a.tar")).toBe(0o640)
      // no stage indicator outside a run
      expect(exists(memory, "/srv/alpha/cback.stage")).toBe(false)

      memory.volume.mkdirSync("/target2")
      const notReady = yield* Pool.stageConfiguredPeer(config, "beta", "/target2")
      expect({ peer: notReady.peer, ready: notReady.ready, count: notReady.report.count }).toEqual({ peer: "beta", ready: false, count: 1 })
      expect(logs).toContainEqual({
        level: "WARN",
        message: "cback.collect not found: the peer's backup may not be finished (not-ready (collect indicator cback.collect not found)); staging anyway",
        peer: "beta"
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("holds a remote peer to the run's settings (--max-files) and fails an unknown name with InvalidPeerConfig", () => {
    const { layer } = setup({ directories: ["/target"] })
    return Effect.gen(function*() {
      const config = yield* configOf(MIXED)
      const limited = yield* Effect.flip(Pool.stageConfiguredPeer(config, REMOTE, "/target", { settings: { maxFiles: 1 } }))
      expect(limited._tag).toBe("LimitExceeded")
      const unknown = yield* Effect.flip(Pool.stageConfiguredPeer(config, "nobody", "/target"))
      expect(unknown._tag).toBe("InvalidPeerConfig")
    }).pipe(Effect.provide(layer))
  })
})

describe("Pool.planStage", () => {
  it.effect("says what a run would do, writing nothing: readiness, ignored failures, a ready local peer's files and bytes", () => {
    const { memory, layer } = setup({ files: MIXED_FILES })
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW.getTime())
      const config = yield* configOf(poolJson([local("alpha"), local("beta", { ignoreFailures: "all" }), remote(REMOTE)]))
      const plan = yield* Pool.planStage(config)
      expect(plan).toEqual({
        dailyDir: DAILY,
        full: false,
        ok: true,
        peers: [
          { name: "alpha", type: "local", ready: true, status: "ready", ignored: false, files: 3, bytes: 5 },
          { name: "beta", type: "local", ready: false, status: "not-ready", ignored: true, reason: "collect indicator cback.collect not found" },
          { name: REMOTE, type: "remote", ready: true, status: "ready", ignored: false }
        ]
      })
      expect(ls(memory, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer))
  })
})

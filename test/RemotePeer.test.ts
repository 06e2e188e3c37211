import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Fiber, FileSystem, Layer, Logger, Path } from "effect"
import { TestClock } from "effect/testing"
import type { IndicatorStatus, StageReport } from "../src/domain/Peer.js"
import { DEF_RCP_COMMAND, DEF_RSH_COMMAND } from "../src/domain/Peer.js"
import type * as PeerError from "../src/domain/PeerError.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"
import type * as ScriptedSpawner from "../src/testing/ScriptedSpawner.js"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { createServer } from "node:net"
import type { Server } from "node:net"
import { tmpdir } from "node:os"

const base = { name: "peer1", collectDir: "/collect", workingDir: "/work", remoteUser: "backup" }
const peerOf = (overrides: Partial<RemotePeer.RemotePeerInput> = {}) =>
  RemotePeer.make({ ...base, ...overrides }).pipe(Effect.orDie)

// What cedar-peer adds to every OpenSSH command line by default (scp's own -B already sets BatchMode).
const SCP_OPTS = ["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3"]
const SSH_OPTS = [...SCP_OPTS, "-o", "BatchMode=yes"]

// These tests are about one attempt each; retries have their own tests (a retry waits on the clock).
const noRetries = Layer.succeed(RemotePeer.RemoteRetries, { count: 0, baseDelay: "1 second" })

const DEFAULT_FILES = { "/collect/a.tar": "AAA", "/collect/b c.tar": "BB", "/collect/.dotfile": "skipped by *" }

interface Setup {
  readonly files?: Record<string, string | null>
  readonly local?: Record<string, string>
  readonly root?: boolean
  readonly fail?: MemoryFileSystem.Options["fail"]
  /** faults of the staging disk, which lands what the copy brought */
  readonly diskFail?: MemoryStagingDisk.Options["fail"]
  readonly fake?: Partial<FakeRemoteHost.Options>
  /** keep the default retries (2, from 5 s) */
  readonly retries?: boolean
}

// A fake peer host "peer1" (user backup) and "::1", a memory disk with /stage and /work, and the
// service on top. A fresh one per test: the fake records calls (and each test provides it with
// `local: true`, so Effect 4's layer memo map never hands a test another test's service).
const setup = (options: Setup = {}) => {
  const host = FakeRemoteHost.make({
    hosts: {
      peer1: { users: ["backup"], files: options.files ?? DEFAULT_FILES },
      "::1": { users: ["backup"], files: { "/collect/v6": "six" } }
    },
    ...options.fake
  })
  const local = MemoryFileSystem.make({ files: options.local, directories: ["/stage", "/work"], fail: options.fail })
  const platform = Layer.mergeAll(
    host.layer.pipe(Layer.provide(local.layer)),
    local.layer,
    Path.layer,
    SystemUsers.layerTest({ root: options.root ?? true, users: { backup: { uid: 34, gid: 35 } } })
  )
  const disk = MemoryStagingDisk.make({ volume: local.volume, fail: options.diskFail })
  return {
    host,
    local,
    layer: Layer.merge(
      RemotePeers.layer.pipe(Layer.provide(Layer.merge(platform, disk.layer))),
      options.retries === true ? Layer.empty : noRetries
    )
  }
}

const ls = (local: MemoryFileSystem.MemoryFileSystem, dir: string) => local.volume.readdirSync(dir).map(String).sort()
const text = (local: MemoryFileSystem.MemoryFileSystem, file: string) => String(local.volume.readFileSync(file, "utf8"))
const PRIVATE = /^\/(stage|work)\/\.cedar-peer-[A-Za-z0-9-]+$/

// Lets forked fibers run until the fake has seen `n` calls (bounded: never a timed wait).
const untilCalls = (host: FakeRemoteHost.FakeRemoteHost, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000 && host.calls.length < n; i++) yield* Effect.yieldNow
    expect(host.calls.length).toBe(n)
  })

// Tests with a local user run on a real disk: as root they must write into directories owned by
// that user, and memfs (unlike Linux) applies permission bits to root too.
const onRealDisk = (fake: Partial<FakeRemoteHost.Options>, files: Record<string, string | null> = DEFAULT_FILES) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const root = mkdtempSync(`${tmpdir()}/cedar-remote-peer-test-`)
      mkdirSync(`${root}/stage`)
      mkdirSync(`${root}/work`)
      return root
    }),
    (root) => Effect.sync(() => rmSync(root, { recursive: true, force: true }))
  ).pipe(Effect.map((root) => {
    const host = FakeRemoteHost.make({ hosts: { peer1: { users: ["backup"], files } }, ...fake })
    const platform = Layer.mergeAll(
      host.layer.pipe(Layer.provide(NodeFileSystem.layer)),
      NodeFileSystem.layer,
      Path.layer,
      SystemUsers.layerTest({ root: true, users: { backup: { uid: 34, gid: 35 } } })
    )
    return {
      root,
      host,
      layer: Layer.merge(RemotePeers.layer.pipe(Layer.provide(Layer.merge(platform, NodeStagingDisk.layer))), noRetries)
    }
  }))

describe("RemotePeer.make", () => {
  it.effect("keeps the fields as given and defaults the argv", () =>
    Effect.gen(function*() {
      const peer = yield* RemotePeer.make(base)
      expect(peer).toMatchObject({ _tag: "RemotePeer", ...base })
      expect(peer.rcpCommand).toBeUndefined()
      expect(peer.rshCommand).toBeUndefined()
      expect(peer.localUser).toBeUndefined()
      expect(RemotePeer.rcpArgv(peer)).toEqual(DEF_RCP_COMMAND)
      expect(RemotePeer.rshArgv(peer)).toEqual(DEF_RSH_COMMAND)
    }))

  it.effect("splits commands like a shell but keeps the raw string", () =>
    Effect.gen(function*() {
      const peer = yield* RemotePeer.make({
        ...base,
        rcpCommand: "/usr/bin/scp -O -i '/keys/my key'",
        rshCommand: "ssh -o \"BatchMode yes\" -p 2222",
        cbackCommand: "/opt/cback3 --config /etc/c.conf",
        localUser: "backup",
        ignoreFailureMode: "daily"
      })
      expect(peer.rcpCommand).toBe("/usr/bin/scp -O -i '/keys/my key'")
      expect(RemotePeer.rcpArgv(peer)).toEqual(["/usr/bin/scp", "-O", "-i", "/keys/my key"])
      expect(RemotePeer.rshArgv(peer)).toEqual(["ssh", "-o", "BatchMode yes", "-p", "2222"])
      expect(peer.ignoreFailureMode).toBe("daily")
    }))

  // a peer's name is the ssh destination: a DNS name, an address, or any alias of the ssh config
  it.effect.each([
    "db1.example.org",
    "db1.example.org.",
    "localhost",
    "192.0.2.10",
    "::1",
    "2001:db8::1",
    "fe80::1%eth0",
    "a-b.c0",
    "db_1",
    "under_score",
    "a..b",
    "backup+db~old",
    "bad_host!",
    "x".repeat(64),
    "ünï-db"
  ])(
    "accepts host %j",
    (name) => Effect.map(RemotePeer.make({ ...base, name }), (peer) => expect(peer.name).toBe(name))
  )

  it.effect.each([
    ["", "must not be empty"],
    ["-oProxyCommand=touch /tmp/x", "must not start with '-': ssh and scp would read it as an option"],
    ["-host", "must not start with '-': ssh and scp would read it as an option"],
    ["host name", "must not contain white space: OpenSSH refuses it in a host name"],
    ["a;b", "must not contain a shell metacharacter (' \" ` $ \\ ; & < > | ( ) { } or ,): OpenSSH refuses them in a host name, as a shell would read them in a ProxyCommand"],
    ["$(touch_x)", "must not contain a shell metacharacter (' \" ` $ \\ ; & < > | ( ) { } or ,): OpenSSH refuses them in a host name, as a shell would read them in a ProxyCommand"],
    ["h\n", "must not contain control characters (newline, tab, NUL, …): it names a directory and is written into logs and reports"],
    ["a/b", "must not contain '/': it names the peer's directory in the daily staging directory"],
    ["..", "must not be '.' or '..': it names the peer's directory in the daily staging directory"],
    ["root@db1", "must not contain '@': ssh would take what comes before it as the user"],
    ["db1:2222", "must not contain ':', '[' or ']' unless it is an IPv6 address: scp would read them as host:path or [address]"],
    ["[::1]", "must not contain ':', '[' or ']' unless it is an IPv6 address: scp would read them as host:path or [address]"],
    [".cedar-peer-1-1-aaaaaaaaaaaa", "must not start with '.cedar-peer': cedar-peer names its private directories and its lock file so, and removes such directories as leftovers of killed runs"],
    ["x".repeat(256), "must be at most 255 bytes long: it names a directory"]
  ] as const)(
    "refuses host %j",
    ([name, message]) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(RemotePeer.make({ ...base, name }))
        expect(error._tag).toBe("InvalidPeerConfig")
        expect(error.peer).toBe(name)
        expect(error.problems).toEqual([`name: ${message}`])
      })
  )

  it.effect.each([
    ["a@b", "must not contain white space, '@', ':', '/' or NUL"],
    ["a:b", "must not contain white space, '@', ':', '/' or NUL"],
    ["a b", "must not contain white space, '@', ':', '/' or NUL"],
    ["a/b", "must not contain white space, '@', ':', '/' or NUL"],
    ["-oProxyCommand=x", "must not start with '-'"],
    ["", "must not be empty"]
  ] as const)("refuses user %j", ([user, message]) =>
    Effect.gen(function*() {
      const remote = yield* Effect.flip(RemotePeer.make({ ...base, remoteUser: user }))
      expect(remote.problems).toEqual([`remoteUser: ${message}`])
      const local = yield* Effect.flip(RemotePeer.make({ ...base, localUser: user }))
      expect(local.problems).toEqual([`localUser: ${message}`])
    }))

  it.effect("lists every problem at once", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RemotePeer.make({
        name: "-oProxyCommand=x",
        collectDir: "relative",
        workingDir: "",
        remoteUser: "a b",
        localUser: "-x",
        rcpCommand: "scp 'unbalanced",
        rshCommand: "   ",
        cbackCommand: "",
        ignoreFailureMode: "sometimes"
      }))
      expect(error.problems).toEqual([
        "name: must not start with '-': ssh and scp would read it as an option",
        "collectDir: must be an absolute path",
        "workingDir: must be an absolute path",
        "remoteUser: must not contain white space, '@', ':', '/' or NUL",
        "localUser: must not start with '-'",
        "rcpCommand: has unbalanced quotes",
        "rshCommand: must not be empty",
        "cbackCommand: must not be empty",
        "ignoreFailureMode: must be one of none, all, daily, weekly"
      ])
      expect(error.message).toMatch(/^peer -oProxyCommand=x: invalid peer configuration: name: /)
    }))

  it.effect("refuses a newline in the collect dir, an empty command and a command that is an option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(RemotePeer.make({
        ...base,
        collectDir: "/collect\n/x",
        rcpCommand: "",
        rshCommand: "-oProxyCommand=x ssh"
      }))
      expect(error.problems).toEqual([
        "collectDir: must not contain a newline",
        "rcpCommand: must not be empty",
        "rshCommand: must start with a program, not an option"
      ])
    }))
})

describe("buildCbackCommand", () => {
  it.each([
    [undefined, "collect", false, "/usr/bin/cback3 collect"],
    [undefined, "collect", true, "/usr/bin/cback3 --full collect"],
    ["/opt/cback3 --config /etc/c.conf", "purge", false, "/opt/cback3 --config /etc/c.conf purge"],
    ["cback3", "my-action_2", true, "cback3 --full my-action_2"]
  ] as const)("%j %s full=%s", (cback, action, full, expected) => {
    expect(RemotePeer.buildCbackCommand(cback, action, full)).toBe(expected)
  })
})

describe("isUnreachable: could the indicator not be looked for at all?", () => {
  it.each([
    ["sftp", 255, "/usr/bin/scp: Connection closed\r\n", true],
    ["sftp", 255, "", true],
    ["sftp", 1, "scp: /c/cback.collect: No such file or directory\n", false],
    ["sftp", 1, "", false],
    // ssh died before scp's first write: SIGPIPE, exit 1 (seen with a refused connection)
    ["sftp", 1, "lost connection\n", true],
    ["sftp", 1, "scp: /c/lost connection: No such file or directory\n", false],
    ["legacy", 1, "", true], // -q and no connection: nothing printed
    ["legacy", 1, "ssh: Could not resolve hostname x: Name or service not known\r\n", true],
    ["legacy", 1, "backup@x: Permission denied (publickey).\r\n", true],
    ["legacy", 1, "scp: /c/cback.collect: No such file or directory\n", false],
    ["legacy", 1, "Warning: something\r\nscp: /c/cback.collect: Permission denied\r\n", false],
    ["legacy", 255, "scp: /c/x: No such file or directory\n", true]
  ] as const)("%s, status %d, %j → %s", (protocol, exitCode, stderr, expected) => {
    expect(RemotePeer.isUnreachable(protocol, exitCode, stderr)).toBe(expected)
  })
})

describe("RemotePeers signatures list exactly their error tags", () => {
  it("as in docs/design.md", () => {
    type Op<K extends keyof RemotePeer.RemotePeersShape> = RemotePeer.RemotePeersShape[K] extends (...args: any) => infer R ? R
      : never
    expectTypeOf<Op<"stagePeer">>().toEqualTypeOf<
      Effect.Effect<
        StageReport,
        | PeerError.InvalidPath
        | PeerError.LocalUserNotPermitted
        | PeerError.UnsupportedEntry
        | PeerError.NothingStaged
        | PeerError.CopyFailed
        | PeerError.FileOperationFailed
        | PeerError.LimitExceeded
        | PeerError.VerificationFailed
        | PeerError.RemoteCommandFailed
        | PeerError.TimedOut
      >
    >()
    expectTypeOf<Op<"checkCollectIndicator">>().toEqualTypeOf<Effect.Effect<boolean, PeerError.InvalidPath>>()
    expectTypeOf<Op<"collectIndicatorStatus">>().toEqualTypeOf<Effect.Effect<IndicatorStatus, PeerError.InvalidPath>>()
    expectTypeOf<Op<"writeStageIndicator">>().toEqualTypeOf<
      Effect.Effect<
        void,
        | PeerError.InvalidPath
        | PeerError.LocalUserNotPermitted
        | PeerError.CopyFailed
        | PeerError.FileOperationFailed
        | PeerError.TimedOut
      >
    >()
    expectTypeOf<Op<"executeRemoteCommand">>().toEqualTypeOf<
      Effect.Effect<
        RemotePeer.RemoteOutput,
        PeerError.LocalUserNotPermitted | PeerError.RemoteCommandFailed | PeerError.TimedOut
      >
    >()
    expectTypeOf<Op<"executeManagedAction">>().toEqualTypeOf<
      Effect.Effect<
        void,
        PeerError.InvalidPeerConfig | PeerError.LocalUserNotPermitted | PeerError.ManagedActionFailed | PeerError.TimedOut
      >
    >()
  })
})

describe("stagePeer", () => {
  it.effect("copies every file into a private dir, then renames them into the target: exact count", () => {
    const { host, local, layer } = setup({ local: { "/stage/a.tar": "old", "/stage/other": "untouched" } })
    return Effect.gen(function*() {
      const peer = yield* peerOf()
      const report = yield* (yield* RemotePeers).stagePeer(peer, "/stage")
      expect(report).toEqual({ count: 2, bytes: 5, files: ["a.tar", "b c.tar"], skipped: [] })
      expect(ls(local, "/stage")).toEqual(["a.tar", "b c.tar", "other"])
      expect(text(local, "/stage/a.tar")).toBe("AAA")
      expect(text(local, "/stage/other")).toBe("untouched")
      expect(host.calls).toHaveLength(1)
      const argv = host.calls[0]!
      expect(argv.slice(0, 12)).toEqual(["/usr/bin/scp", "-B", "-q", "-C", ...SCP_OPTS, "--", "backup@peer1:/collect/*"])
      expect(argv).toHaveLength(13)
      expect(argv[12]).toMatch(PRIVATE)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("applies ownership and permissions before the rename", () => {
    const { local, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).stagePeer(yield* peerOf(), "/stage", { ownership: { uid: 34, gid: 35 }, permissions: 0o640 })
      for (const file of ["/stage/a.tar", "/stage/b c.tar"]) {
        const info = local.volume.statSync(file)
        expect([info.uid, info.gid, info.mode & 0o777]).toEqual([34, 35, 0o640])
      }
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each([
    ["SFTP", undefined, "backup@peer1:/odd/\\$\\(touch\\ x\\)\\;\\ \\`id\\`\\ \\'q\\'\\ \\*/*"],
    ["legacy", "/usr/bin/scp -O -q", "backup@peer1:/odd/\\$\\(touch\\ x\\)\\;\\ \\`id\\`\\ \\'q\\'\\ \\*/*"]
  ])("a hostile collect dir reaches the peer literally (%s)", ([, rcpCommand, operand]) => {
    const dir = "/odd/$(touch x); `id` 'q' *"
    const { host, local, layer } = setup({ files: { [`${dir}/f`]: "F", "/odd/decoy/f": "no" } })
    // (emoji and other non-BMP names: see the "fetched literally" indicator test)
    return Effect.gen(function*() {
      const peer = yield* peerOf({ collectDir: dir, ...(rcpCommand === undefined ? {} : { rcpCommand }) })
      expect(yield* (yield* RemotePeers).stagePeer(peer, "/stage")).toEqual({ count: 1, bytes: 1, files: ["f"], skipped: [] })
      expect(text(local, "/stage/f")).toBe("F")
      expect(host.calls.at(-1)!.at(-2)).toBe(operand)
      expect(host.shellInjections).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("brackets an IPv6 host in the scp operand", () => {
    const { host, local, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).stagePeer(yield* peerOf({ name: "::1" }), "/stage")
      expect(host.calls[0]!.at(-2)).toBe("backup@[::1]:/collect/*")
      expect(ls(local, "/stage")).toEqual(["v6"])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("CopyFailed with exit code, stderr and argv when scp fails; nothing left behind", () => {
    const { host, local, layer } = setup({ local: { "/stage/keep": "k" } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf({ name: "nowhere.example" }), "/stage"))
      expect(error._tag).toBe("CopyFailed")
      if (error._tag !== "CopyFailed") return
      expect(error.exitCode).toBe(255)
      expect(error.stderr).toBe("/usr/bin/scp: Connection closed\r\n")
      expect(error.argv).toEqual(host.calls[0])
      expect(error.path).toBe("backup@nowhere.example:/collect")
      expect(error.message).toBe("peer nowhere.example: backup@nowhere.example:/collect: copy failed with exit status 255: /usr/bin/scp: Connection closed")
      expect(ls(local, "/stage")).toEqual(["keep"])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a missing or empty collect dir is CopyFailed (scp exits 1)", () => {
    const { local, layer } = setup({ files: { "/empty": null } })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const missing = yield* Effect.flip(service.stagePeer(yield* peerOf({ collectDir: "/nope" }), "/stage"))
      expect(missing).toMatchObject({ _tag: "CopyFailed", exitCode: 1, stderr: "scp: /nope/*: No such file or directory\n" })
      const empty = yield* Effect.flip(service.stagePeer(yield* peerOf({ collectDir: "/empty/" }), "/stage"))
      expect(empty).toMatchObject({ _tag: "CopyFailed", exitCode: 1, stderr: "scp: /empty/*: No such file or directory\n" })
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("NothingStaged when scp exits 0 but no file arrived", () => {
    const { local, layer } = setup({ fake: { around: () => Effect.succeed({ exitCode: 0 }) } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage"))
      expect(error).toMatchObject({ _tag: "NothingStaged", peer: "peer1", collectDir: "/collect" })
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each([
    ["stage", "NotAbsolute"],
    ["/missing", "NotFound"],
    ["/stage/file", "NotADirectory"],
    ["/stage\0x", "BadCharacter"]
  ] as const)("InvalidPath for target %j (%s), before any copy", ([target, problem]) => {
    const { host, layer } = setup({ local: { "/stage/file": "" } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), target))
      expect(error).toMatchObject({ _tag: "InvalidPath", peer: "peer1", path: target, problem })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("LocalUserNotPermitted when a local user is set and we are not root", () => {
    const { host, layer } = setup({ root: false })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf({ localUser: "backup" }), "/stage"))
      expect(error).toMatchObject({ _tag: "LocalUserNotPermitted", peer: "peer1", localUser: "backup" })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("as root, copies as the local user into a private dir that user owns", () => {
    const owners: Array<readonly [number, number, number]> = []
    return Effect.gen(function*() {
      const { root, host, layer } = yield* onRealDisk({
        around: (argv, run) =>
          Effect.suspend(() => {
            const info = statSync(argv.at(-1)!)
            owners.push([info.uid, info.gid, info.mode & 0o777])
            return run
          })
      })
      yield* Effect.gen(function*() {
        const peer = yield* peerOf({ localUser: "backup" })
        const report = yield* (yield* RemotePeers).stagePeer(peer, `${root}/stage`)
        expect(report.count).toBe(2)
        expect(host.calls[0]!.slice(0, 5)).toEqual(["runuser", "-u", "backup", "--", "/usr/bin/scp"])
        expect(host.invocations[0]!.runAs).toBe("backup")
        expect(owners).toEqual([[34, 35, 0o700]])
        expect(readdirSync(`${root}/stage`).sort()).toEqual(["a.tar", "b c.tar"])
      }).pipe(Effect.provide(layer, { local: true }))
    })
  })

  it.effect("an unknown local user fails the chown of the private dir, which is removed", () => {
    const { host, local, layer } = setup()
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf({ localUser: "ghost" }), "/stage"))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "chown" })
      expect(host.calls).toEqual([])
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a failed rename takes back the files this call added; pre-existing ones stay whole", () => {
    const { local, layer } = setup({
      local: { "/stage/a.tar": "old" },
      diskFail: (operation, _path, to) => (operation === "rename" && to === "/stage/b c.tar" ? "PermissionDenied" : undefined),
      files: { ...DEFAULT_FILES, "/collect/0first": "0" }
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage"))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "rename", path: "/stage/b c.tar" })
      // 0first was new: removed again; a.tar existed: replaced whole (a rename), never truncated
      expect(ls(local, "/stage")).toEqual(["a.tar"])
      expect(text(local, "/stage/a.tar")).toBe("AAA")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a failed chmod leaves nothing in the target", () => {
    const { local, layer } = setup({ diskFail: (operation) => (operation === "chmod" ? "PermissionDenied" : undefined) })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage", { permissions: 0o600 }))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "chmod" })
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("the private dir is removed when the stage is interrupted mid-copy", () => {
    const { host, local, layer } = setup({
      fake: { around: (_argv, run) => Effect.as(run, { exitCode: 0, hang: true }) }
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage"))
      yield* untilCalls(host, 1)
      const privateDir = host.calls[0]!.at(-1)!
      expect(ls(local, privateDir)).toEqual(["a.tar", "b c.tar"]) // the copy ran, scp has not exited
      yield* Fiber.interrupt(fiber)
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a copy that goes silent is given up after the stall limit (60 s), not the stage limit", () => {
    const { host, local, layer } = setup({ fake: { around: () => Effect.succeed({ exitCode: 0, hang: true }) } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage"))
      yield* untilCalls(host, 1)
      yield* TestClock.adjust("50 seconds")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("15 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "TimedOut", peer: "peer1", operation: "stage", after: "1m of silence" })
      expect(error.message).toBe("peer peer1: stage timed out after 1m of silence")
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("gives up on a copy that never ends after 12 hours", () => {
    const { host, local, layer } = setup({ fake: { around: () => Effect.succeed({ exitCode: 0, hang: true }) } })
    return Effect.gen(function*() {
      // a stall limit longer than the stage's: the fake copy cannot show progress, only hang
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(yield* peerOf({ timeouts: { stall: 86_400 } }), "/stage"))
      yield* untilCalls(host, 1)
      yield* TestClock.adjust("11 hours")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 hour")
      const error = yield* Effect.flip(Fiber.join(fiber))
      // 0.2.0: a time limit is its own error, TimedOut, no longer a CopyFailed
      expect(error).toMatchObject({ _tag: "TimedOut", peer: "peer1", operation: "stage", after: "12h" })
      expect(error.message).toBe("peer peer1: stage timed out after 12h")
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("collectIndicatorStatus / checkCollectIndicator", () => {
  const ready = { ...DEFAULT_FILES, "/collect/cback.collect": "" }

  it.effect("ready when the indicator arrives; asks ssh -V once; removes its temp file", () => {
    const { host, local, layer } = setup({ files: ready })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const peer = yield* peerOf()
      expect(yield* service.collectIndicatorStatus(peer)).toEqual({ status: "ready" })
      expect(yield* service.checkCollectIndicator(peer)).toBe(true)
      expect(host.calls.map((argv) => argv.slice(0, 12))).toEqual([
        ["/usr/bin/ssh", "-V"],
        ["/usr/bin/scp", "-B", "-q", "-C", ...SCP_OPTS, "--", "backup@peer1:/collect/cback.collect"],
        ["/usr/bin/scp", "-B", "-q", "-C", ...SCP_OPTS, "--", "backup@peer1:/collect/cback.collect"]
      ])
      expect(host.calls[1]).toHaveLength(13)
      expect(host.calls[1]![12]).toMatch(/^\/work\/\.cedar-peer-[A-Za-z0-9-]+\/cback\.collect$/)
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("not-ready when the peer answers without it (SFTP: status 1); the boolean check logs the reason", () => {
    const { local, layer } = setup()
    const logs: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      logs.push(`${logLevel.toUpperCase()} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const peer = yield* peerOf()
      const reason = "/usr/bin/scp exited with status 1: scp: /collect/cback.collect: No such file or directory"
      expect(yield* service.collectIndicatorStatus(peer)).toEqual({ status: "not-ready", reason })
      expect(yield* service.checkCollectIndicator(peer)).toBe(false)
      // the status carries the reason (logged at debug level only); the boolean drops it, so it warns
      expect(logs).toEqual([`WARN peer peer1: collect indicator cback.collect not-ready: ${reason}`])
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(Layer.merge(layer, Logger.layer([logger])), { local: true }))
  })

  it.effect.each([
    ["SFTP, unknown host", { name: "nowhere.example" }, undefined, "unreachable", "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"],
    ["SFTP, refused login", { remoteUser: "intruder" }, undefined, "unreachable", "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"],
    ["legacy -O, unknown host (silent with -q)", { name: "nowhere.example", rcpCommand: "scp -q -O" }, undefined, "unreachable", "scp exited with status 1"],
    ["legacy -O, missing file", { rcpCommand: "scp -q -O" }, undefined, "not-ready", "scp exited with status 1: scp: /collect/cback.collect: No such file or directory"],
    ["legacy by OpenSSH 8.4, unknown host", { name: "nowhere.example" }, "legacy", "unreachable", "/usr/bin/scp exited with status 1"],
    ["legacy by OpenSSH 8.4, missing file", {}, "legacy", "not-ready", "/usr/bin/scp exited with status 1: scp: /collect/cback.collect: No such file or directory"]
  ] as const)("%s → %s", ([, overrides, defaultProtocol, status, reason]) => {
    const { local, layer } = setup({ fake: { defaultProtocol } })
    return Effect.gen(function*() {
      expect(yield* (yield* RemotePeers).collectIndicatorStatus(yield* peerOf(overrides))).toEqual({ status, reason })
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("an indicator name with metacharacters is fetched literally in both protocols", () => {
    const name = "ready $(x) `y` ;*?[a] 🚀"
    const { host, layer } = setup({ files: { [`/collect/${name}`]: "", "/collect/ready-decoy": "" } })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      expect(yield* service.checkCollectIndicator(yield* peerOf(), name)).toBe(true)
      expect(yield* service.checkCollectIndicator(yield* peerOf({ rcpCommand: "scp -O" }), name)).toBe(true)
      expect(yield* service.checkCollectIndicator(yield* peerOf(), "ready-*")).toBe(false) // no glob
      expect(host.shellInjections).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each([
    ["", "BadName"],
    [".", "BadName"],
    ["..", "BadName"],
    ["a/b", "BadName"],
    ["a\0b", "BadName"],
    ["a\nb", "BadCharacter"]
  ] as const)("InvalidPath for indicator name %j", ([name, problem]) => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      expect(yield* Effect.flip(service.checkCollectIndicator(yield* peerOf(), name))).toMatchObject({
        _tag: "InvalidPath",
        path: name,
        problem
      })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a local user while not root: unreachable, nothing run", () => {
    const { host, layer } = setup({ root: false })
    return Effect.gen(function*() {
      expect(yield* (yield* RemotePeers).collectIndicatorStatus(yield* peerOf({ localUser: "backup" }))).toEqual({
        status: "unreachable",
        reason: "peer peer1: local user backup is set, but only root can run commands as another user"
      })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a missing working dir: unreachable with the reason", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const status = yield* (yield* RemotePeers).collectIndicatorStatus(yield* peerOf({ workingDir: "/missing" }))
      expect(status.status).toBe("unreachable")
      expect(status.reason).toMatch(/^peer peer1: \/missing: open failed: .*no such file or directory/i)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("as root with a local user: runuser, and the temp dir is owned by that user", () => {
    const owners: Array<number> = []
    return Effect.gen(function*() {
      const { root, host, layer } = yield* onRealDisk({
        around: (argv, run) =>
          Effect.suspend(() => {
            if (!argv.includes("-V")) owners.push(statSync(argv.at(-1)!.replace(/\/[^/]*$/, "")).uid)
            return run
          })
      }, ready)
      yield* Effect.gen(function*() {
        const peer = yield* peerOf({ localUser: "backup", workingDir: `${root}/work` })
        expect(yield* (yield* RemotePeers).checkCollectIndicator(peer)).toBe(true)
        expect(host.calls[0]).toEqual(["/usr/bin/ssh", "-V"]) // the probe runs as us
        expect(host.calls[1]!.slice(0, 4)).toEqual(["runuser", "-u", "backup", "--"])
        expect(owners).toEqual([34])
        expect(readdirSync(`${root}/work`)).toEqual([])
      }).pipe(Effect.provide(layer, { local: true }))
    })
  })

  it.effect("peers sharing one working dir are checked at once with distinct temp names", () => {
    const { host, local, layer } = setup({
      files: ready,
      // every copy waits for a few turns, so all of them are in flight together
      fake: { around: (_argv, run) => Effect.andThen(Effect.repeat(Effect.yieldNow, { times: 20 }), run) }
    })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const peer = yield* peerOf({ rcpCommand: "scp -s" })
      const results = yield* Effect.all(Array.from({ length: 8 }, () => service.checkCollectIndicator(peer)), {
        concurrency: "unbounded"
      })
      expect(results).toEqual(Array(8).fill(true))
      const targets = host.calls.map((argv) => argv.at(-1))
      expect(new Set(targets).size).toBe(8)
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("unreachable after 5 minutes of a hung copy; the temp dir is removed", () => {
    const { host, local, layer } = setup({
      fake: { around: (argv, run) => (argv.includes("-V") ? run : Effect.succeed({ exitCode: 0, hang: true })) }
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).collectIndicatorStatus(yield* peerOf()))
      yield* untilCalls(host, 2)
      expect(ls(local, "/work")).toHaveLength(1)
      yield* TestClock.adjust("5 minutes")
      expect(yield* Fiber.join(fiber)).toEqual({ status: "unreachable", reason: "/usr/bin/scp timed out after 5m" })
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("the timeouts can be overridden", () => {
    const { host, layer } = setup({
      fake: { around: (argv, run) => (argv.includes("-V") ? run : Effect.succeed({ exitCode: 0, hang: true })) }
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        (yield* RemotePeers).collectIndicatorStatus(yield* peerOf()).pipe(
          Effect.provideService(RemotePeer.RemoteTimeouts, { ...RemotePeer.RemoteTimeouts.defaultValue(), indicator: "10 seconds" })
        )
      )
      yield* untilCalls(host, 2)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toEqual({ status: "unreachable", reason: "/usr/bin/scp timed out after 10s" })
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("an unknown OpenSSH version counts as legacy (the safe encoding)", () => {
    const { layer } = setup({ fake: { sshVersion: "dropbear 2022.83", defaultProtocol: "legacy" } })
    return Effect.gen(function*() {
      expect(yield* (yield* RemotePeers).collectIndicatorStatus(yield* peerOf({ name: "nowhere.example" }))).toEqual({
        status: "unreachable",
        reason: "/usr/bin/scp exited with status 1"
      })
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("writeStageIndicator", () => {
  it.effect("pushes an empty file to <collectDir>/<name> and removes the local one", () => {
    const { host, local, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).writeStageIndicator(yield* peerOf())
      expect(host.tree("peer1")["/collect/cback.stage"]).toBe("")
      const argv = host.calls[1]!
      expect(argv.slice(0, 11)).toEqual(["/usr/bin/scp", "-B", "-q", "-C", ...SCP_OPTS, "--"])
      expect(argv[11]).toMatch(/^\/work\/\.cedar-peer-[A-Za-z0-9-]+\/cback\.stage$/)
      expect(argv[12]).toBe("backup@peer1:/collect/cback.stage")
      expect(argv).toHaveLength(13)
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each([
    ["SFTP (literal target)", "scp -s", "backup@peer1:/odd/$(touch x); `id` 'q' */my stage"],
    ["legacy (quoted target)", "scp -O", "backup@peer1:'/odd/$(touch x); `id` '\"'\"'q'\"'\"' */my stage'"]
  ])("a hostile collect dir and name land literally: %s", ([, rcpCommand, operand]) => {
    const dir = "/odd/$(touch x); `id` 'q' *"
    const { host, layer } = setup({ files: { [`${dir}/f`]: "F" } })
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).writeStageIndicator(yield* peerOf({ collectDir: dir, rcpCommand }), "my stage")
      expect(host.tree("peer1")[`${dir}/my stage`]).toBe("")
      expect(host.calls[0]!.at(-1)).toBe(operand)
      expect(host.shellInjections).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("the permissions travel with the new file", () => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).writeStageIndicator(yield* peerOf({ rcpCommand: "scp -s" }), "cback.stage", { permissions: 0o600 })
      expect(host.volume("peer1").statSync("/collect/cback.stage").mode & 0o777).toBe(0o600)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each([
    ["a missing collect dir", { collectDir: "/nope" }, 1, "scp: /nope/cback.stage: No such file or directory\n"],
    ["an unknown host", { name: "nowhere.example" }, 255, "scp: Connection closed\r\n"]
  ] as const)("CopyFailed on %s; the local file is removed", ([, overrides, exitCode, stderr]) => {
    const { host, local, layer } = setup()
    return Effect.gen(function*() {
      const peer = yield* peerOf({ rcpCommand: "scp -q", ...overrides })
      const error = yield* Effect.flip((yield* RemotePeers).writeStageIndicator(peer))
      expect(error).toMatchObject({
        _tag: "CopyFailed",
        exitCode,
        stderr,
        argv: host.calls.at(-1),
        path: `backup@${peer.name}:${peer.collectDir}/cback.stage`
      })
      expect(ls(local, "/work")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("InvalidPath for a bad name, LocalUserNotPermitted when not root, nothing run", () => {
    const { host, layer } = setup({ root: false })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      expect(yield* Effect.flip(service.writeStageIndicator(yield* peerOf(), "../x"))).toMatchObject({
        _tag: "InvalidPath",
        problem: "BadName"
      })
      expect(yield* Effect.flip(service.writeStageIndicator(yield* peerOf({ localUser: "backup" })))).toMatchObject({
        _tag: "LocalUserNotPermitted"
      })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("FileOperationFailed when the working dir is missing", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const error = yield* Effect.flip(
        (yield* RemotePeers).writeStageIndicator(yield* peerOf({ workingDir: "/missing", rcpCommand: "scp -s" }))
      )
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "open", path: "/missing" })
    }).pipe(Effect.provide(layer, { local: true }))
  })

  // The local user only reads the file: a directory of theirs would let them plant a link where
  // root creates it. So the directory stays root's (0711) and only the file is theirs.
  it.effect("as root with a local user: runuser; the file is that user's, in a dir that stays root's (0711)", () => {
    const seen: Array<{ dir: { uid: number; mode: number }; file: { uid: number; gid: number; mode: number } }> = []
    return Effect.gen(function*() {
      const { root, host, layer } = yield* onRealDisk({
        around: (argv, run) =>
          Effect.suspend(() => {
            const file = argv.find((arg) => arg.includes("/.cedar-peer-"))!
            const dir = statSync(file.replace(/\/[^/]*$/, ""))
            const stats = statSync(file)
            seen.push({
              dir: { uid: dir.uid, mode: dir.mode & 0o7777 },
              file: { uid: stats.uid, gid: stats.gid, mode: stats.mode & 0o7777 }
            })
            return run
          })
      })
      yield* Effect.gen(function*() {
        const peer = yield* peerOf({ localUser: "backup", rcpCommand: "scp -s", workingDir: `${root}/work` })
        yield* (yield* RemotePeers).writeStageIndicator(peer)
        expect(host.invocations).toEqual([expect.objectContaining({ runAs: "backup" })])
        expect(host.calls[0]!.slice(0, 6)).toEqual(["runuser", "-u", "backup", "--", "scp", "-s"])
        expect(host.tree("peer1")["/collect/cback.stage"]).toBe("")
        expect(seen).toEqual([{ dir: { uid: 0, mode: 0o711 }, file: { uid: 34, gid: 35, mode: 0o644 } }])
        expect(readdirSync(`${root}/work`)).toEqual([])
      }).pipe(Effect.provide(layer, { local: true }))
    })
  })
})

describe("executeRemoteCommand", () => {
  it.effect("runs rsh… -- user@host COMMAND with the command as one word", () => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).executeRemoteCommand(yield* peerOf(), "ls -l /x; echo $HOME")
      expect(host.calls).toEqual([["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@peer1", "ls -l /x; echo $HOME"]])
      expect(host.commands).toEqual([{ host: "peer1", user: "backup", command: "ls -l /x; echo $HOME" }])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("uses the peer's rsh command, IPv6 without brackets, runuser as root", () => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      const peer = yield* peerOf({ name: "::1", rshCommand: "ssh -p 2222 -o 'BatchMode yes'", localUser: "backup" })
      yield* (yield* RemotePeers).executeRemoteCommand(peer, "true")
      expect(host.calls).toEqual([
        // the command's own BatchMode wins: only the options it does not set are added
        ["runuser", "-u", "backup", "--", "ssh", "-p", "2222", "-o", "BatchMode yes", ...SCP_OPTS, "--", "backup@::1", "true"]
      ])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("gives back what the command printed", () => {
    const { layer } = setup({ fake: { onCommand: () => ({ exitCode: 0, stdout: "Filesystem Size\n/dev/sda1 20G\n", stderr: "note\n" }) } })
    return Effect.gen(function*() {
      const output = yield* (yield* RemotePeers).executeRemoteCommand(yield* peerOf(), "df -h")
      expect(output).toEqual({ stdout: "Filesystem Size\n/dev/sda1 20G\n", stderr: "note\n" })
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("RemoteCommandFailed with exit code, stderr and argv", () => {
    const { layer } = setup({ fake: { onCommand: () => ({ exitCode: 3, stderr: "no such command\n" }) } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeRemoteCommand(yield* peerOf(), "frobnicate"))
      expect(error).toMatchObject({
        _tag: "RemoteCommandFailed",
        peer: "peer1",
        exitCode: 3,
        stderr: "no such command\n",
        argv: ["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@peer1", "frobnicate"]
      })
      expect(error.message).toBe(
        `peer peer1: remote command exited with status 3 (/usr/bin/ssh ${SSH_OPTS.join(" ")} -- backup@peer1 frobnicate): no such command`
      )
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("RemoteCommandFailed (255) for an unknown host or a refused login", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      expect(yield* Effect.flip(service.executeRemoteCommand(yield* peerOf({ name: "nowhere.example" }), "true")))
        .toMatchObject({ exitCode: 255, stderr: "ssh: Could not resolve hostname nowhere.example: Name or service not known\r\n" })
      expect(yield* Effect.flip(service.executeRemoteCommand(yield* peerOf({ remoteUser: "root" }), "true")))
        .toMatchObject({ exitCode: 255, stderr: "root@peer1: Permission denied (publickey).\r\n" })
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("RemoteCommandFailed when the program cannot start", () => {
    const { layer } = setup()
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeRemoteCommand(yield* peerOf({ rshCommand: "rsh" }), "true"))
      expect(error).toMatchObject({ _tag: "RemoteCommandFailed", exitCode: 127, stderr: "rsh: command not found\n" })
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("refuses an empty command (ssh would open a login shell) without running anything", () => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeRemoteCommand(yield* peerOf(), "  "))
      expect(error).toMatchObject({ _tag: "RemoteCommandFailed", stderr: "refusing to run an empty remote command" })
      expect(error._tag === "RemoteCommandFailed" && error.exitCode).toBeUndefined()
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("LocalUserNotPermitted when not root", () => {
    const { host, layer } = setup({ root: false })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeRemoteCommand(yield* peerOf({ localUser: "backup" }), "true"))
      expect(error._tag).toBe("LocalUserNotPermitted")
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("gives up on a remote command that never ends after 1 hour", () => {
    const { host, layer } = setup({ fake: { onCommand: () => ({ exitCode: 0, hang: true }) } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).executeRemoteCommand(yield* peerOf(), "sleep 1d"))
      yield* untilCalls(host, 1)
      yield* TestClock.adjust("59 minutes")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 minute")
      const error = yield* Effect.flip(Fiber.join(fiber))
      // 0.2.0: a time limit is its own error, TimedOut
      expect(error).toMatchObject({ _tag: "TimedOut", peer: "peer1", operation: "command", after: "1h" })
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("executeManagedAction", () => {
  it.effect.each([
    [{}, "collect", true, "/usr/bin/cback3 --full collect"],
    [{ cbackCommand: "/opt/cback3 --config /etc/c.conf" }, "purge", false, "/opt/cback3 --config /etc/c.conf purge"]
  ] as const)("runs %j %s full=%s remotely", ([overrides, action, full, command]) => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      yield* (yield* RemotePeers).executeManagedAction(yield* peerOf(overrides), action, full)
      expect(host.calls).toEqual([["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@peer1", command]])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect.each(["", "collect; rm -rf /", "-x", "a b", "$(id)", "_x"])("InvalidPeerConfig for action %j, nothing run", (action) => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeManagedAction(yield* peerOf(), action, false))
      expect(error).toMatchObject({
        _tag: "InvalidPeerConfig",
        peer: "peer1",
        problems: ["action: must be letters, digits, '_' or '-', starting with a letter or digit"]
      })
      expect(host.calls).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("ManagedActionFailed wraps the RemoteCommandFailed", () => {
    const { layer } = setup({ fake: { onCommand: () => ({ exitCode: 2, stderr: "collect failed\n" }) } })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeManagedAction(yield* peerOf(), "collect", false))
      expect(error._tag).toBe("ManagedActionFailed")
      if (error._tag !== "ManagedActionFailed") return
      expect(error.action).toBe("collect")
      expect(error.cause).toMatchObject({
        _tag: "RemoteCommandFailed",
        exitCode: 2,
        argv: ["/usr/bin/ssh", ...SSH_OPTS, "--", "backup@peer1", "/usr/bin/cback3 collect"]
      })
      expect(error.message).toBe("peer peer1: managed action collect exited with status 2: collect failed")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("LocalUserNotPermitted when not root", () => {
    const { layer } = setup({ root: false })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).executeManagedAction(yield* peerOf({ localUser: "backup" }), "collect", true))
      expect(error._tag).toBe("LocalUserNotPermitted")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a managed action may run 12 hours, not longer", () => {
    const { host, layer } = setup({ fake: { onCommand: () => ({ exitCode: 0, hang: true }) } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).executeManagedAction(yield* peerOf(), "collect", true))
      yield* untilCalls(host, 1)
      yield* TestClock.adjust("11 hours")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 hour")
      const error = yield* Effect.flip(Fiber.join(fiber))
      // 0.2.0: a time limit is its own error, TimedOut
      expect(error).toMatchObject({ _tag: "TimedOut", peer: "peer1", operation: "managed action collect", after: "12h" })
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("retries of transient failures", () => {
  // Advances the TestClock a second at a time until the fake has seen `n` calls (bounded).
  const advanceUntilCalls = (host: FakeRemoteHost.FakeRemoteHost, n: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < 300 && host.calls.length < n; i++) {
        yield* TestClock.adjust("1 second")
        for (let j = 0; j < 20; j++) yield* Effect.yieldNow
      }
      expect(host.calls.length).toBe(n)
    })
  const scpCalls = (host: FakeRemoteHost.FakeRemoteHost) => host.calls.filter((argv) => argv[0] === "/usr/bin/scp")
  const dropFirst = (times: number) => {
    let dropped = 0
    return (argv: ReadonlyArray<string>, run: Effect.Effect<ScriptedSpawner.Reply, never, FileSystem.FileSystem>) =>
      argv[0] === "/usr/bin/scp" && dropped++ < times
        ? Effect.succeed({ exitCode: 255, stderr: "/usr/bin/scp: Connection closed\r\n" })
        : run
  }
  const observed = (notices: Array<RemotePeer.RetryNotice>) =>
    Effect.provideService(RemotePeer.RetryObserver, (notice) => Effect.sync(() => notices.push(notice)))

  it.effect("a copy that fails with 255 once is tried again after about 5 s, and told to the observer", () => {
    const { host, local, layer } = setup({ retries: true, fake: { around: dropFirst(1) } })
    const notices: Array<RemotePeer.RetryNotice> = []
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage").pipe(observed(notices)))
      yield* untilCalls(host, 2) // the copy, then `ssh -V` to classify its failure
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* advanceUntilCalls(host, 3)
      const report = yield* Fiber.join(fiber)
      expect(report.count).toBe(2)
      expect(ls(local, "/stage")).toEqual(["a.tar", "b c.tar"])
      expect(scpCalls(host)).toHaveLength(2)
      expect(notices).toHaveLength(1)
      expect(notices[0]).toMatchObject({
        peer: "peer1",
        operation: "stage",
        attempt: 2,
        reason: "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed"
      })
      // 5 s, jittered
      expect(notices[0]!.delayMillis).toBeGreaterThanOrEqual(4000)
      expect(notices[0]!.delayMillis).toBeLessThanOrEqual(6000)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("gives up after the configured count with the last failure; delays grow", () => {
    const { host, local, layer } = setup({ retries: true, fake: { around: dropFirst(99) } })
    const notices: Array<RemotePeer.RetryNotice> = []
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage").pipe(observed(notices)))
      yield* untilCalls(host, 2)
      yield* advanceUntilCalls(host, 4)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
      expect(scpCalls(host)).toHaveLength(3)
      expect(notices.map((n) => n.attempt)).toEqual([2, 3])
      expect(notices[1]!.delayMillis).toBeGreaterThan(notices[0]!.delayMillis)
      expect(ls(local, "/stage")).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("the peer's own retries win: count and base delay", () => {
    const { host, layer } = setup({ retries: true, fake: { around: dropFirst(99) } })
    const notices: Array<RemotePeer.RetryNotice> = []
    return Effect.gen(function*() {
      const peer = yield* peerOf({ retries: { count: 1, baseDelay: 60 } })
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(peer, "/stage").pipe(observed(notices)))
      yield* untilCalls(host, 2)
      yield* advanceUntilCalls(host, 3)
      yield* Effect.flip(Fiber.join(fiber))
      expect(scpCalls(host)).toHaveLength(2)
      expect(notices).toHaveLength(1)
      expect(notices[0]!.delayMillis).toBeGreaterThanOrEqual(48_000)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  // The stall limit is about a copy that runs and sends nothing, not the wait between attempts.
  it.effect("the wait before a retry is not silence: a delay longer than the stall limit still retries", () => {
    const { host, layer } = setup({ retries: true, fake: { around: dropFirst(99) } })
    return Effect.gen(function*() {
      const peer = yield* peerOf({ retries: { count: 1, baseDelay: 60 }, timeouts: { stall: 5 } })
      const fiber = yield* Effect.forkChild((yield* RemotePeers).stagePeer(peer, "/stage"))
      yield* untilCalls(host, 2)
      yield* advanceUntilCalls(host, 3)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
      expect(scpCalls(host)).toHaveLength(2)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a missing collect dir is permanent: one call, no retry", () => {
    const { host, layer } = setup({ retries: true, files: { "/elsewhere/x": "x" } })
    const notices: Array<RemotePeer.RetryNotice> = []
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage").pipe(observed(notices)))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 1 })
      expect(scpCalls(host)).toHaveLength(1)
      expect(notices).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a refused login is permanent, also with 255", () => {
    const { host, layer } = setup({ retries: true, fake: { defaultProtocol: "sftp" } })
    return Effect.gen(function*() {
      const peer = yield* peerOf({ remoteUser: "intruder", rcpCommand: "/usr/bin/scp -B -C" }) // not quiet: ssh's message shows
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(peer, "/stage"))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
      expect(scpCalls(host)).toHaveLength(1)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a copy cut off after files arrived is reported, not redone", () => {
    const { host, layer } = setup({
      retries: true,
      fake: { around: (_argv, run) => Effect.as(run, { exitCode: 255, stderr: "Connection reset by peer\r\n" }) }
    })
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* RemotePeers).stagePeer(yield* peerOf(), "/stage"))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
      expect(scpCalls(host)).toHaveLength(1)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("the indicator check and write are retried too", () => {
    // the first fetch of cback.collect and the first push of cback.stage are dropped
    const seen = new Set<string>()
    const { host, layer } = setup({
      retries: true,
      files: { "/collect/cback.collect": "" },
      fake: {
        around: (argv, run) => {
          const which = argv.some((w) => w.endsWith("cback.collect")) ? "fetch" : argv.some((w) => w.endsWith("cback.stage")) ? "push" : "other"
          if (which === "other" || seen.has(which)) return run
          seen.add(which)
          return Effect.succeed({ exitCode: 255, stderr: "/usr/bin/scp: Connection closed\r\n" })
        }
      }
    })
    const notices: Array<RemotePeer.RetryNotice> = []
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const peer = yield* peerOf()
      const check = yield* Effect.forkChild(service.collectIndicatorStatus(peer).pipe(observed(notices)))
      yield* untilCalls(host, 2) // `ssh -V`, the dropped fetch
      yield* advanceUntilCalls(host, 3)
      expect(yield* Fiber.join(check)).toEqual({ status: "ready" })
      const write = yield* Effect.forkChild(service.writeStageIndicator(peer).pipe(observed(notices)))
      yield* untilCalls(host, 4)
      yield* advanceUntilCalls(host, 5)
      yield* Fiber.join(write)
      expect(host.tree("peer1")["/collect/cback.stage"]).toBe("")
      expect(notices.map((n) => [n.operation, n.attempt])).toEqual([["check", 2], ["indicator", 2]])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("remote commands and managed actions are never retried (they may not be idempotent)", () => {
    const { host, layer } = setup({
      retries: true,
      fake: { onCommand: () => ({ exitCode: 255, stderr: "Connection to peer1 closed by remote host.\r\n" }) }
    })
    return Effect.gen(function*() {
      const service = yield* RemotePeers
      const peer = yield* peerOf()
      expect(yield* Effect.flip(service.executeRemoteCommand(peer, "true"))).toMatchObject({ _tag: "RemoteCommandFailed" })
      expect(yield* Effect.flip(service.executeManagedAction(peer, "collect", false))).toMatchObject({
        _tag: "ManagedActionFailed"
      })
      expect(host.calls).toHaveLength(2)
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("withConnection (on the fake: which options the commands get)", () => {
  const controlPaths = (host: FakeRemoteHost.FakeRemoteHost) =>
    host.calls.flatMap((argv) => argv.filter((word) => word.startsWith("ControlPath=")))

  it.effect("every command of the peer gets the same private ControlPath; the directory goes with the scope", () => {
    const { host, local, layer } = setup({ files: { ...DEFAULT_FILES, "/collect/cback.collect": "" } })
    return Effect.gen(function*() {
      const remote = yield* RemotePeers
      const peer = yield* peerOf()
      yield* remote.withConnection(
        peer,
        Effect.gen(function*() {
          expect(yield* remote.checkCollectIndicator(peer)).toBe(true)
          yield* remote.stagePeer(peer, "/stage")
          yield* remote.writeStageIndicator(peer)
          yield* remote.executeRemoteCommand(peer, "true")
          const dirs = ls(local, "/work")
          expect(dirs).toHaveLength(1)
          expect(local.volume.statSync(`/work/${dirs[0]}`).mode & 0o777).toBe(0o700)
        })
      )
      const paths = controlPaths(host)
      expect(paths).toHaveLength(4)
      expect(new Set(paths).size).toBe(1)
      expect(paths[0]).toMatch(/^ControlPath=\/work\/\.cedar-peer-[A-Za-z0-9-]+\/cm$/)
      expect(host.calls.filter((argv) => argv.includes("ControlMaster=auto"))).toHaveLength(4)
      expect(ls(local, "/work")).toEqual([])
      // outside the scope: no sharing
      yield* remote.executeRemoteCommand(peer, "true")
      expect(controlPaths(host)).toHaveLength(4)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("no sharing when the peer turns it off, or when its working dir is too deep for a socket path", () => {
    const deep = `/work/${"d".repeat(70)}`
    const { host, local, layer } = setup({ local: { [`${deep}/.keep`]: "" } })
    return Effect.gen(function*() {
      const remote = yield* RemotePeers
      for (const peer of [yield* peerOf({ connectionSharing: false }), yield* peerOf({ workingDir: deep })]) {
        yield* remote.withConnection(peer, remote.executeRemoteCommand(peer, "true"))
      }
      expect(controlPaths(host)).toEqual([])
      expect(ls(local, deep)).toEqual([".keep"])
      expect(ls(local, "/work")).toEqual(["d".repeat(70)])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a working dir of 68 characters still shares (the socket path fits), one of 69 does not", () => {
    const fits = `/work/${"f".repeat(62)}`
    const over = `/work/${"o".repeat(63)}`
    const { host, layer } = setup({ local: { [`${fits}/.keep`]: "", [`${over}/.keep`]: "" } })
    return Effect.gen(function*() {
      const remote = yield* RemotePeers
      yield* remote.withConnection(yield* peerOf({ workingDir: fits }), remote.executeRemoteCommand(yield* peerOf({ workingDir: fits }), "true"))
      const shared = controlPaths(host)
      expect(shared).toHaveLength(1)
      // the longest path ssh binds: the socket's own plus the 17 characters of its temporary name
      expect(shared[0]!.slice("ControlPath=".length).length + 17).toBe(107)
      yield* remote.withConnection(yield* peerOf({ workingDir: over }), remote.executeRemoteCommand(yield* peerOf({ workingDir: over }), "true"))
      expect(controlPaths(host)).toHaveLength(1)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  // The socket directory is the backup user's: what it plants there is never contacted, only the
  // master's own socket (`cm`), once.
  it.effect("only the master's own socket is told to exit, not sockets planted beside it", () =>
    Effect.gen(function*() {
      const { root, host, layer } = yield* onRealDisk({})
      const servers: Array<Server> = []
      yield* Effect.addFinalizer(() => Effect.sync(() => servers.forEach((server) => server.close())))
      const listen = (file: string) =>
        Effect.callback<void>((resume) => {
          const server = createServer()
          servers.push(server)
          server.listen(file, () => resume(Effect.void))
        })
      let socketDir = ""
      yield* Effect.gen(function*() {
        const remote = yield* RemotePeers
        const peer = yield* peerOf({ workingDir: `${root}/work` })
        yield* remote.withConnection(
          peer,
          Effect.gen(function*() {
            socketDir = `${root}/work/${readdirSync(`${root}/work`)[0]}`
            // the master ssh would make, and five planted ones
            for (const name of ["cm", "a", "b", "c", "d", "e"]) yield* listen(`${socketDir}/${name}`)
            yield* remote.executeRemoteCommand(peer, "true")
          })
        )
        const closes = host.calls.filter((argv) => argv.includes("-O"))
        expect(closes).toHaveLength(1)
        expect(closes[0]).toContain(`ControlPath=${socketDir}/cm`)
        expect(readdirSync(`${root}/work`)).toEqual([])
      }).pipe(Effect.provide(layer, { local: true }))
    }))

  it.effect("a command line with its own ControlPath keeps it: none of ours is added", () => {
    const { host, layer } = setup()
    return Effect.gen(function*() {
      const remote = yield* RemotePeers
      const peer = yield* peerOf({ rshCommand: "/usr/bin/ssh -o ControlPath=none" })
      yield* remote.withConnection(peer, remote.executeRemoteCommand(peer, "true"))
      expect(controlPaths(host)).toEqual(["ControlPath=none"])
      expect(host.calls[0]).not.toContain("ControlMaster=auto")
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

// The remote landing and the tar transport on the fake remote host, over a real temporary disk
// (the tar stream is unpacked with node:fs): what the peer is asked to run, what a hostile tar
// stream gets (links, paths, dotfiles, duplicates, more than the limits, a truncated stream),
// verification against the peer's hashes, and the landing's checks on what scp brought.
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Path } from "effect"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as tar from "tar-stream"
import { tarCommand } from "../src/peers/internal/remote/tarTransport.js"
import { hashCommand, parseSums } from "../src/peers/internal/remote/verify.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import type { Reply } from "../src/testing/ScriptedSpawner.js"

const FLAT = { "/collect/a.tar": "AAA", "/collect/b c.tar": "BB" }
const FILES = { "/collect/a.tar": "AAA", "/collect/b c.tar": "BB", "/collect/.dotfile": "skipped", "/collect/sub/x": "deep" }

const peerOf = (overrides: Partial<RemotePeer.RemotePeerInput> = {}) =>
  RemotePeer.make({ name: "peer1", collectDir: "/collect", workingDir: "/work", remoteUser: "backup", transport: "tar", ...overrides })
    .pipe(Effect.orDie)

const sha256 = (content: string | Uint8Array) => createHash("sha256").update(content).digest("hex")

// A fake host "peer1" and a fresh real directory holding stage/ and work/.
const onRealDisk = (fake: Partial<FakeRemoteHost.Options> = {}, files: Record<string, string | null> = FILES) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const root = mkdtempSync(`${tmpdir()}/cedar-remote-transfer-test-`)
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
      NodeStagingDisk.layer,
      SystemUsers.layerTest({ root: true, users: { backup: { uid: 34, gid: 35 } } })
    )
    // fresh: Effect 4 shares built layers across provides, and each of these brings its own fake
    return { root, stage: `${root}/stage`, host, layer: Layer.fresh(RemotePeers.layer.pipe(Layer.provide(platform))) }
  }))

interface Entry {
  readonly name: string | Buffer
  readonly type?: tar.Header["type"]
  readonly content?: string
  readonly size?: number
  readonly linkname?: string
}

/** A tar stream as a hostile peer might send it; raw byte names go in GNU long-name records. */
const tarOf = (entries: ReadonlyArray<Entry>): Effect.Effect<Uint8Array> =>
  FakeRemoteHost.tarStream(entries.map((entry) => {
    const content = entry.content ?? ""
    const isFile = entry.type === undefined || entry.type === "file"
    return {
      header: {
        name: typeof entry.name === "string" ? entry.name : entry.name.toString("latin1"),
        type: entry.type ?? "file",
        size: entry.size ?? (isFile ? Buffer.byteLength(content) : 0),
        mode: 0o644,
        ...(entry.linkname === undefined ? {} : { linkname: entry.linkname })
      },
      content: isFile ? content : ""
    }
  }))

/** Replaces a header's name (same length) with raw bytes and fixes that header's checksum. */
const withRawName = (stream: Buffer, name: string, raw: Buffer) => {
  const at = stream.indexOf(Buffer.from(`${name}\0`))
  const header = stream.subarray(at, at + 512)
  raw.copy(header, 0)
  header.fill(0x20, 148, 156)
  const sum = header.reduce((total, byte) => total + byte, 0)
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1")
}

/** Answers the tar transport's ssh with `stream` (and `exitCode`), everything else as the fake does. */
const sending = (stream: Effect.Effect<Uint8Array>, exitCode = 0): Partial<FakeRemoteHost.Options> => ({
  around: (argv, run) =>
    argv.at(-1)?.includes("tar -c") === true
      ? Effect.map(stream, (stdout): Reply => ({ exitCode, stdout }))
      : run
})

describe("the tar transport's remote commands", () => {
  it("lists only regular top-level non-dot files, NUL-separated, into a GNU tar; the dir is quoted", () => {
    expect(tarCommand("/var/backup/it's here")).toBe(
      "cd -- '/var/backup/it'\"'\"'s here' && find . -mindepth 1 -maxdepth 1 ! -name '.*' -xtype f -print0 | " +
        "tar -c -f - --format=gnu --null --no-recursion --dereference --hard-dereference -T -"
    )
    expect(hashCommand("/c")).toBe("cd -- /c && find . -mindepth 1 -maxdepth 1 ! -name '.*' -xtype f -exec sha256sum -- {} +")
  })

  it("reads sha256sum's output byte for byte, escaped names included", () => {
    const line = (digest: string, name: Buffer, escaped = false) =>
      Buffer.concat([Buffer.from(`${escaped ? "\\" : ""}${digest}  ./`), name, Buffer.from("\n")])
    const sums = parseSums(Buffer.concat([
      line("a".repeat(64), Buffer.from("caf\xe9", "latin1")),
      line("b".repeat(64), Buffer.from("back\\\\slash\\nline"), true),
      Buffer.from("garbage line\n")
    ]))
    expect([...sums.entries()]).toEqual([
      ["caf\xe9", "a".repeat(64)],
      ["back\\slash\nline", "b".repeat(64)]
    ])
  })
})

describe("stagePeer with the tar transport", () => {
  it.effect("runs one ssh with the tar command and lands every regular top-level file, dotfiles and subdirs left out", () =>
    Effect.gen(function*() {
      const { host, layer, stage } = yield* onRealDisk()
      const report = yield* Effect.provide(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage))), layer)
      expect(report).toEqual({ count: 2, bytes: 5, files: ["a.tar", "b c.tar"], skipped: [] })
      expect(host.calls).toHaveLength(1)
      expect(host.calls[0]![0]).toBe("/usr/bin/ssh")
      expect(host.calls[0]!.slice(-3)).toEqual(["--", "backup@peer1", tarCommand("/collect")])
      expect(readdirSync(stage).sort()).toEqual(["a.tar", "b c.tar"])
      expect(readFileSync(`${stage}/b c.tar`, "utf8")).toBe("BB")
      // unpacked by this process: root's files, the source's mode
      expect(statSync(`${stage}/a.tar`).mode & 0o777).toBe(0o644)
    }))

  it.effect("runs the ssh as the local user but unpacks as root: the private dir is never handed over", () =>
    Effect.gen(function*() {
      const { host, layer, stage } = yield* onRealDisk()
      const report = yield* Effect.provide(
        Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf({ localUser: "backup" }), (p) => r.stagePeer(p, stage))),
        layer
      )
      expect(report.count).toBe(2)
      expect(host.invocations[0]!.runAs).toBe("backup")
      expect(statSync(`${stage}/a.tar`).uid).toBe(0)
    }))

  it.effect("verifies against one hashing command on the peer and reports each file's SHA-256", () =>
    Effect.gen(function*() {
      const { host, layer, stage } = yield* onRealDisk()
      const report = yield* Effect.provide(
        Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage, { verify: true }))),
        layer
      )
      expect(report.hashes).toEqual([{ name: "a.tar", sha256: sha256("AAA") }, { name: "b c.tar", sha256: sha256("BB") }])
      expect(host.commands.map((c) => c.command)).toEqual([tarCommand("/collect"), hashCommand("/collect")])
    }))

  const refused: ReadonlyArray<readonly [string, ReadonlyArray<Entry>, { name: string; kind: string }]> = [
    ["a symbolic link", [{ name: "./ok", content: "1" }, { name: "./shadow", type: "symlink", linkname: "/etc/shadow" }], {
      name: "shadow",
      kind: "SymbolicLink"
    }],
    ["a hard link", [{ name: "./ok", content: "1" }, { name: "./again", type: "link", linkname: "./ok" }], { name: "again", kind: "HardLink" }],
    ["a directory", [{ name: "./sub", type: "directory" }], { name: "sub", kind: "Directory" }],
    ["a fifo", [{ name: "./pipe", type: "fifo" }], { name: "pipe", kind: "FIFO" }],
    ["a path out of the dir", [{ name: "../../etc/cron.d/evil", content: "* * * * * root id" }], {
      name: "../../etc/cron.d/evil",
      kind: "UnexpectedName"
    }],
    ["an absolute path", [{ name: "/etc/passwd", content: "x" }], { name: "/etc/passwd", kind: "UnexpectedName" }],
    ["a path into a subdir", [{ name: "./sub/x", content: "x" }], { name: "sub/x", kind: "UnexpectedName" }],
    ["a dotfile", [{ name: "./.bashrc", content: "x" }], { name: ".bashrc", kind: "UnexpectedName" }],
    ["a name sent twice", [{ name: "./dup", content: "1" }, { name: "./dup", content: "2" }], { name: "dup", kind: "UnexpectedName" }]
  ]
  for (const [label, entries, offending] of refused) {
    it.effect(`refuses a stream carrying ${label}: UnsupportedEntry, nothing lands, the ssh is stopped`, () =>
      Effect.gen(function*() {
        const { layer, root, stage } = yield* onRealDisk(sending(tarOf(entries)))
        writeFileSync(`${stage}/keep`, "k")
        const error = yield* Effect.provide(
          Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage)))),
          layer
        )
        expect(error._tag === "UnsupportedEntry" ? error.entries : error.message).toEqual([offending])
        expect(readdirSync(stage)).toEqual(["keep"])
        expect(readdirSync(root).sort()).toEqual(["stage", "work"])
      }))
  }

  it.effect("keeps a name that is not UTF-8 byte for byte (raw GNU header bytes), and a long name", () =>
    Effect.gen(function*() {
      // GNU tar sends such a name as raw bytes in the header; made here by patching one byte
      const stream = Buffer.from(yield* tarOf([{ name: "./cafX", content: "c" }, { name: `./${"x".repeat(150)}`, content: "L" }]))
      withRawName(stream, "./cafX", Buffer.from("./caf\xe9", "latin1"))
      const { layer, stage } = yield* onRealDisk(sending(Effect.succeed(stream)))
      const report = yield* Effect.provide(
        Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage))),
        layer
      )
      expect(report.files).toEqual(["caf\\xe9", "x".repeat(150)])
      expect(readdirSync(stage, { encoding: "buffer" }).map((n) => n.toString("latin1")).sort()).toEqual([
        "caf\xe9",
        "x".repeat(150)
      ])
    }))

  it.effect("stops at maxFiles and at maxBytes (known from the header, before the content arrives)", () =>
    Effect.gen(function*() {
      const entries = [0, 1, 2, 3].map((i) => ({ name: `./f${i}`, content: "x".repeat(100) }))
      const { layer, stage } = yield* onRealDisk(sending(tarOf(entries)))
      const stageWith = (options: { maxFiles?: number; maxBytes?: number }) =>
        Effect.provide(
          Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage, options)))),
          layer
        )
      expect(yield* stageWith({ maxFiles: 2 })).toMatchObject({ _tag: "LimitExceeded", limit: "maxFiles", max: 2, value: 3 })
      expect(yield* stageWith({ maxBytes: 250 })).toMatchObject({ _tag: "LimitExceeded", limit: "maxBytes", max: 250, value: 300 })
      expect(readdirSync(stage)).toEqual([])
    }))

  it.effect("a truncated stream is CopyFailed even when ssh says 0; a failed ssh is CopyFailed with its status", () =>
    Effect.gen(function*() {
      const whole = yield* tarOf([{ name: "./a", content: "x".repeat(2000) }])
      const truncated = yield* onRealDisk(sending(Effect.succeed(whole.subarray(0, 1024))))
      const first = yield* Effect.provide(
        Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, truncated.stage)))),
        truncated.layer
      )
      expect(first).toMatchObject({ _tag: "CopyFailed" })
      expect(first.message).toMatch(/unreadable tar stream/)
      expect(readdirSync(truncated.stage)).toEqual([])
      const failing = yield* onRealDisk(sending(Effect.succeed(whole.subarray(0, 1024)), 255))
      const second = yield* Effect.provide(
        Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, failing.stage)))),
        failing.layer
      )
      expect(second).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
    }))

  // tar ends an archive with two zero blocks: a stream without them was cut short, whatever ssh
  // says; members after them are not part of the archive (tar itself would never read them)
  const endOfArchive: ReadonlyArray<readonly [string, (whole: Uint8Array, more: Uint8Array) => Uint8Array, RegExp]> = [
    ["without its end-of-archive blocks", (whole) => whole.subarray(0, whole.length - 1024), /no end-of-archive marker/],
    ["with one zero block of the two", (whole) => whole.subarray(0, whole.length - 512), /no end-of-archive marker/],
    ["with a member after the end-of-archive blocks", (whole, more) => Buffer.concat([whole, more]), /data after the end-of-archive marker/],
    ["with a member after one zero block", (whole, more) => Buffer.concat([whole.subarray(0, whole.length - 512), more]), /data after the end-of-archive marker/]
  ]
  for (const [label, craft, problem] of endOfArchive) {
    it.effect(`a stream ${label} is CopyFailed even when ssh says 0: nothing lands`, () =>
      Effect.gen(function*() {
        const whole = yield* tarOf([{ name: "./a", content: "x".repeat(600) }, { name: "./b", content: "b" }])
        const more = yield* tarOf([{ name: "./smuggled", content: "evil" }])
        const { layer, root, stage } = yield* onRealDisk(sending(Effect.succeed(craft(whole, more))))
        const error = yield* Effect.provide(
          Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage)))),
          layer
        )
        expect(error).toMatchObject({ _tag: "CopyFailed" })
        expect(error.message).toMatch(/unreadable tar stream/)
        expect(error.message).toMatch(problem)
        expect(readdirSync(stage)).toEqual([])
        expect(readdirSync(root).sort()).toEqual(["stage", "work"])
      }))
  }

  it.effect("zero padding after the end-of-archive blocks (tar's record size) is accepted", () =>
    Effect.gen(function*() {
      const whole = yield* tarOf([{ name: "./a", content: "x".repeat(600) }])
      const { layer, stage } = yield* onRealDisk(sending(Effect.succeed(Buffer.concat([whole, Buffer.alloc(10240 - whole.length)]))))
      const report = yield* Effect.provide(
        Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage))),
        layer
      )
      expect(report.files).toEqual(["a"])
    }))

  it.effect("a missing collect dir is CopyFailed with the remote shell's message", () =>
    Effect.gen(function*() {
      const { layer, stage } = yield* onRealDisk()
      const error = yield* Effect.provide(
        Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf({ collectDir: "/nope" }), (p) => r.stagePeer(p, stage)))),
        layer
      )
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 2, stderr: "sh: 1: cd: can't cd to /nope\n" })
    }))

  it.effect("an empty collect dir is NothingStaged", () =>
    Effect.gen(function*() {
      const { layer, stage } = yield* onRealDisk({}, { "/collect/.only-dot": "x" })
      const error = yield* Effect.provide(
        Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf(), (p) => r.stagePeer(p, stage)))),
        layer
      )
      expect(error._tag).toBe("NothingStaged")
    }))
})

describe("verification", () => {
  for (const transport of ["scp", "tar"] as const) {
    it.effect(`a file whose hash differs from the peer's fails with VerificationFailed, nothing staged (${transport})`, () =>
      Effect.gen(function*() {
        const { layer, stage } = yield* onRealDisk({
          around: (argv, run) =>
            argv.at(-1)?.includes("sha256sum") === true
              ? Effect.map(run, (reply) => ({ ...reply, stdout: String(reply.stdout).replace(sha256("BB"), "0".repeat(64)) }))
              : run
        }, FLAT)
        const error = yield* Effect.provide(
          Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf({ transport }), (p) => r.stagePeer(p, stage, { verify: true })))),
          layer
        )
        expect(error).toMatchObject({ _tag: "VerificationFailed", file: "b c.tar", expected: "0".repeat(64), actual: sha256("BB") })
        expect(readdirSync(stage)).toEqual([])
      }))
  }

  it.effect("a hashing command that fails is RemoteCommandFailed, nothing staged", () =>
    Effect.gen(function*() {
      const { layer, stage } = yield* onRealDisk({
        around: (argv, run) =>
          argv.at(-1)?.includes("sha256sum") === true ? Effect.succeed({ exitCode: 127, stderr: "sh: 1: sha256sum: not found\n" }) : run
      }, FLAT)
      const error = yield* Effect.provide(
        Effect.flip(Effect.flatMap(RemotePeers, (r) => Effect.flatMap(peerOf({ transport: "scp" }), (p) => r.stagePeer(p, stage, { verify: true })))),
        layer
      )
      expect(error).toMatchObject({ _tag: "RemoteCommandFailed", exitCode: 127 })
      expect(readdirSync(stage)).toEqual([])
    }))
})

describe("RemotePeer.make transport", () => {
  it.effect("accepts scp and tar, refuses anything else", () =>
    Effect.gen(function*() {
      expect((yield* peerOf({ transport: "scp" })).transport).toBe("scp")
      const error = yield* Effect.flip(RemotePeer.make({ name: "p", collectDir: "/c", workingDir: "/w", remoteUser: "u", transport: "rsync" }))
      expect(error.problems).toEqual(["transport: must be one of scp, tar"])
    }))
})

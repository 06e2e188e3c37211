// What arrives from a remote peer, tried for real over the loopback sshd: byte-exact names, a
// hostile rcp command (a script named in the peer's rcp_command) that drops links, directories,
// fifos, hard links and dotfiles into the private directory or sends too much, the limits on both
// transports, remote verification against a copy corrupted after the fact, and a full disk.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, inject } from "vitest"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer, snapshot } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "remote-transfer")
afterAll(() => scratch.remove())

type Way = "sftp" | "legacy" | "tar"
const WAYS: ReadonlyArray<Way> = ["sftp", "legacy", "tar"]

const makePeer = (way: Way, fields: Partial<RemotePeer.RemotePeerInput> & { readonly collectDir: string }) =>
  RemotePeer.make({
    name: server.host,
    workingDir: scratch.dir("work"),
    remoteUser: server.remoteUser,
    rcpCommand: way === "legacy" ? server.rcpLegacy : server.rcpSftp,
    rshCommand: server.rsh,
    ...(way === "tar" ? { transport: "tar" } : {}),
    ...fields
  })

const narrow = <E extends { readonly _tag: string }, T extends E["_tag"]>(error: E, tag: T): Extract<E, { _tag: T }> => {
  expect(error._tag).toBe(tag)
  return error as Extract<E, { _tag: T }>
}

const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex")

const CAFE = Buffer.from("caf\xe9", "latin1") // not UTF-8

/** A script standing in for the rcp command: `body` runs with $dest set to the last argument. */
const rcpScript = (name: string, body: string, owner?: "local") => {
  const bin = scratch.dir("bin", owner === undefined ? {} : { owner })
  const file = path.join(bin, name)
  fs.writeFileSync(file, `#!/bin/sh\nfor dest; do :; done\n${body}\n`, { mode: 0o755 })
  return file
}

const shadowState = () => {
  const info = fs.statSync("/etc/shadow")
  return { uid: info.uid, gid: info.gid, mode: info.mode, ctime: info.ctimeMs }
}

/** Processes whose command line holds `marker` (to show a copy was killed, not left running). */
const processesWith = (marker: string): Array<string> =>
  fs.readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(marker)
    } catch {
      return false
    }
  })

for (const way of WAYS) {
  layer(RemotePeersLive, real)(`remote staging over ${way}: names, limits, verification`, (it) => {
    it.effect("stages a name that is not UTF-8 byte for byte and shows it escaped", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { plain: "p" })
        const odd = Buffer.concat([Buffer.from(`${collectDir}/`), CAFE])
        fs.writeFileSync(odd, "caf\xe9 content", "latin1")
        fs.chownSync(odd, server.remoteUid, server.remoteGid)
        const target = scratch.dir("target")
        const peer = yield* makePeer(way, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target, { verify: true })
        expect(report.files).toEqual(["caf\\xe9", "plain"])
        expect(report.count).toBe(2)
        expect(report.bytes).toBe(13)
        expect(fs.readdirSync(target, { encoding: "buffer" }).map((n) => n.toString("latin1")).sort()).toEqual([
          "caf\xe9",
          "plain"
        ])
        expect(fs.readFileSync(Buffer.concat([Buffer.from(`${target}/`), CAFE]), "latin1")).toBe("caf\xe9 content")
        expect(report.hashes).toEqual([
          { name: "caf\\xe9", sha256: sha256(Buffer.from("caf\xe9 content", "latin1")) },
          { name: "plain", sha256: sha256("p") }
        ])
      }))

    it.effect("staged files get the ownership and permissions asked for, else the source's bits without set-id", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { plain: "p", tool: "t", group: "g" })
        fs.chmodSync(path.join(collectDir, "plain"), 0o664)
        fs.chmodSync(path.join(collectDir, "tool"), 0o4755)
        fs.chmodSync(path.join(collectDir, "group"), 0o640)
        const attributes = (dir: string) =>
          Object.fromEntries(fs.readdirSync(dir).sort().map((name) => {
            const info = fs.statSync(path.join(dir, name))
            return [name, `${info.uid}:${info.gid}:${(info.mode & 0o7777).toString(8)}`]
          }))
        const remote = yield* RemotePeer.RemotePeers
        const peer = yield* makePeer(way, { collectDir })
        const asked = scratch.dir("target")
        yield* remote.stagePeer(peer, asked, { ownership: { uid: server.localUid, gid: server.localGid }, permissions: 0o640 })
        const owned = `${server.localUid}:${server.localGid}:640`
        expect(attributes(asked)).toEqual({ group: owned, plain: owned, tool: owned })
        const plain = scratch.dir("target")
        yield* remote.stagePeer(peer, plain)
        // what scp gives a new file as root under umask 022: the source's bits, set-id dropped
        expect(attributes(plain)).toEqual({ group: "0:0:640", plain: "0:0:644", tool: "0:0:755" })
      }))

    it.effect("verification passes on an honest copy and returns each file's SHA-256", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "alpha", "b c": "beta", "back\\slash": "bs" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(way, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target, { verify: true })
        expect(report.hashes).toEqual([
          { name: "a", sha256: sha256("alpha") },
          { name: "b c", sha256: sha256("beta") },
          { name: "back\\\\slash", sha256: sha256("bs") }
        ])
      }))

    it.effect("fails with LimitExceeded over maxFiles or maxBytes, nothing staged", () =>
      Effect.gen(function*() {
        const files: Record<string, string> = {}
        for (let i = 0; i < 12; i++) files[`f${String(i).padStart(2, "0")}`] = "x".repeat(1000)
        const collectDir = scratch.collectDir("collect", files)
        const target = scratch.dir("target")
        fs.writeFileSync(path.join(target, "keep"), "k")
        const peer = yield* makePeer(way, { collectDir })
        const remote = yield* RemotePeer.RemotePeers
        const tooMany = narrow(yield* Effect.flip(remote.stagePeer(peer, target, { maxFiles: 5 })), "LimitExceeded")
        expect([tooMany.limit, tooMany.max]).toEqual(["maxFiles", 5])
        expect(tooMany.value).toBeGreaterThan(5)
        const tooBig = narrow(yield* Effect.flip(remote.stagePeer(peer, target, { maxBytes: 4500 })), "LimitExceeded")
        expect([tooBig.limit, tooBig.max]).toEqual(["maxBytes", 4500])
        expect(tooBig.value).toBeGreaterThan(4500)
        expect(Object.keys(snapshot(target))).toEqual(["keep"])
        // exactly at the limits is fine
        const report = yield* remote.stagePeer(peer, target, { maxFiles: 12, maxBytes: 12000 })
        expect([report.count, report.bytes]).toEqual([12, 12000])
      }))
  })
}

layer(RemotePeersLive, real)("a hostile rcp command", (it) => {
  const HOSTILE = [
    "ln -s /etc/shadow \"$dest/shadow-link\"",
    "mkdir \"$dest/subdir\"",
    "mkfifo \"$dest/fifo\"",
    "echo data > \"$dest/a\"",
    "ln \"$dest/a\" \"$dest/a-hardlink\"",
    "echo dot > \"$dest/.profile\"",
    "echo fine > \"$dest/ok\""
  ].join("\n")
  const EXPECTED = [
    { name: ".profile", kind: "UnexpectedName" },
    { name: "a", kind: "HardLink" },
    { name: "a-hardlink", kind: "HardLink" },
    { name: "fifo", kind: "FIFO" },
    { name: "shadow-link", kind: "SymbolicLink" },
    { name: "subdir", kind: "Directory" }
  ]

  for (const localUser of [undefined, server.localUser]) {
    it.effect(`drops a link, a directory, a fifo, hard links and a dotfile: UnsupportedEntry lists them all, nothing lands (${localUser ?? "as root"})`, () =>
      Effect.gen(function*() {
        const script = rcpScript("hostile-rcp", HOSTILE, localUser === undefined ? undefined : "local")
        const collectDir = scratch.collectDir("collect", { a: "a" })
        const target = scratch.dir("target", localUser === undefined ? {} : { owner: "local", mode: 0o700 })
        fs.writeFileSync(path.join(target, "keep"), "k")
        const before = shadowState()
        const peer = yield* makePeer("sftp", {
          collectDir,
          rcpCommand: script,
          ...(localUser === undefined ? {} : { localUser, workingDir: scratch.dir("work", { owner: "local", mode: 0o700 }) })
        })
        const error = narrow(
          yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target, {
            ownership: { uid: server.localUid, gid: server.localGid },
            permissions: 0o666
          })),
          "UnsupportedEntry"
        )
        expect(error.entries).toEqual(EXPECTED)
        expect(snapshot(target)).toEqual({ keep: "0:0:644:k" })
        expect(shadowState()).toEqual(before)
      }))
  }

  it.effect("sends more files than allowed: LimitExceeded, nothing staged", () =>
    Effect.gen(function*() {
      const script = rcpScript("many-rcp", "i=0\nwhile [ $i -lt 40 ]; do echo x > \"$dest/f$i\"; i=$((i+1)); done")
      const target = scratch.dir("target")
      const peer = yield* makePeer("sftp", { collectDir: scratch.collectDir("collect", {}), rcpCommand: script })
      const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target, { maxFiles: 10 })), "LimitExceeded")
      expect([error.limit, error.max]).toEqual(["maxFiles", 10])
      expect(snapshot(target)).toEqual({})
    }))

  it.effect("sends without end: the copy is killed once it passes maxBytes, nothing staged", () =>
    Effect.gen(function*() {
      const marker = "2000000017" // a byte count no other process uses
      const script = rcpScript("endless-rcp", `exec head -c ${marker} /dev/zero > "$dest/big"`)
      const target = scratch.dir("target")
      const peer = yield* makePeer("sftp", { collectDir: scratch.collectDir("collect", {}), rcpCommand: script })
      const error = narrow(
        yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target, { maxBytes: 1_000_000 })),
        "LimitExceeded"
      )
      expect([error.limit, error.max]).toEqual(["maxBytes", 1_000_000])
      expect(error.value).toBeLessThan(Number(marker))
      expect(processesWith(`head\0-c\0${marker}`)).toEqual([])
      expect(snapshot(target)).toEqual({})
    }))
})

for (const way of ["sftp", "tar"] as const) {
  layer(RemotePeersLive, real)(`verification over ${way}`, (it) => {
    it.effect("catches a byte corrupted on the way: VerificationFailed, nothing staged", () =>
      Effect.gen(function*() {
        // scp, then one byte of `a` overwritten on the master's side; or the tar stream edited
        // between ssh and the master (the file's content travels as it is in the stream)
        const collectDir = scratch.collectDir("collect", { a: "alpha", b: "beta" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(
          way,
          way === "sftp"
            ? {
              collectDir,
              rcpCommand: `${
                rcpScript(
                  "corrupting-rcp",
                  "/usr/bin/scp \"$@\" || exit $?\nprintf X | dd of=\"$dest/a\" bs=1 count=1 conv=notrunc 2>/dev/null"
                )
              } -B -q -F ${server.configFile}`
            }
            : {
              collectDir,
              rshCommand: `${rcpScript("corrupting-rsh", "/usr/bin/ssh \"$@\" | sed 's/alpha/Xlpha/'")} -F ${server.configFile}`
            }
        )
        const remote = yield* RemotePeer.RemotePeers
        const error = narrow(yield* Effect.flip(remote.stagePeer(peer, target, { verify: true })), "VerificationFailed")
        expect([error.file, error.expected, error.actual]).toEqual(["a", sha256("alpha"), sha256("Xlpha")])
        expect(snapshot(target)).toEqual({})
        // without verification the corrupted copy would have been staged
        yield* remote.stagePeer(peer, target)
        expect(fs.readFileSync(path.join(target, "a"), "utf8")).toBe("Xlpha")
      }))
  })
}

describe("a full disk", () => {
  const mount = scratch.dir("tmpfs")
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", mount])
  afterAll(() => execFileSync("umount", [mount]))

  for (const way of WAYS) {
    layer(RemotePeersLive, real)(`over ${way}`, (it) => {
      it.effect("fails with CopyFailed saying no space left on device; the target keeps what it had", () =>
        Effect.gen(function*() {
          const collectDir = scratch.collectDir("collect", { big: "x".repeat(1024 * 1024), small: "s" })
          const target = path.join(mount, `target-${way}`)
          fs.mkdirSync(target)
          fs.writeFileSync(path.join(target, "keep"), "k")
          const peer = yield* makePeer(way, { collectDir })
          const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
          expect(error.message).toMatch(/no space left on device/i)
          expect(snapshot(target)).toEqual({ keep: "0:0:644:k" })
        }))
    })
  }
})

// RemotePeers against a real OpenSSH server on 127.0.0.1 (test/support/sshd.ts, started once by
// the global setup): real NodeServices, real SystemUsers, real scp/ssh, both scp protocols. The
// "remote" side is this same machine, logged in to as the test user cpremote.
import { NodeServices } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, inject } from "vitest"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer, snapshot } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "remote-ssh")
afterAll(() => scratch.remove())

const Live = RemotePeersLive
const NotRoot = RemotePeer.RemotePeers.layer.pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layerTest({ root: false })),
  Layer.provideMerge(NodeServices.layer)
)

// Real clock: these talk to real processes (no TestClock to advance).

type Protocol = "sftp" | "legacy"
const PROTOCOLS: ReadonlyArray<Protocol> = ["sftp", "legacy"]
const rcpFor = (protocol: Protocol) => protocol === "sftp" ? server.rcpSftp : server.rcpLegacy

/** `uid:gid:mode:content` of a file staged by this (root) process without ownership options */
const rootFile = (mode: string, content: string) => `0:0:${mode}:${content}`
const remoteFile = (mode: string, content: string) => `${server.remoteUid}:${server.remoteGid}:${mode}:${content}`

const narrow = <E extends { readonly _tag: string }, T extends E["_tag"]>(error: E, tag: T): Extract<E, { _tag: T }> => {
  expect(error._tag).toBe(tag)
  return error as Extract<E, { _tag: T }>
}

const makePeer = (protocol: Protocol, fields: Partial<RemotePeer.RemotePeerInput> & { readonly collectDir: string }) =>
  RemotePeer.make({
    name: server.host,
    workingDir: scratch.dir("work"),
    remoteUser: server.remoteUser,
    rcpCommand: rcpFor(protocol),
    rshCommand: server.rsh,
    ...fields
  })

for (const protocol of PROTOCOLS) {
  layer(Live, real)(`RemotePeers.stagePeer over ${protocol} scp`, (it) => {
    it.effect("stages every regular file with its content and mode, and leaves no private dir", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "alpha\n", "b.txt": "beta" })
        fs.chmodSync(path.join(collectDir, "b.txt"), 0o640)
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report).toEqual({ count: 2, bytes: 10, files: ["a", "b.txt"], skipped: [] })
        expect(snapshot(target)).toEqual({ a: rootFile("644", "alpha\n"), "b.txt": rootFile("640", "beta") })
        // the remote side is only read
        expect(snapshot(collectDir)).toEqual({ a: remoteFile("644", "alpha\n"), "b.txt": remoteFile("640", "beta") })
      }))

    it.effect("counts exactly when the target already holds files of the same names, replacing them", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "new a", b: "new b" })
        const target = scratch.dir("target")
        fs.writeFileSync(path.join(target, "a"), "old a, longer than the new one", { mode: 0o600 })
        fs.writeFileSync(path.join(target, "z"), "untouched")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report).toEqual({ count: 2, bytes: 10, files: ["a", "b"], skipped: [] })
        expect(snapshot(target)).toEqual({
          a: rootFile("644", "new a"),
          b: rootFile("644", "new b"),
          z: rootFile("644", "untouched")
        })
      }))

    it.effect("applies ownership and permissions to every staged file", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { one: "1", two: "22" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target, {
          ownership: { uid: server.localUid, gid: server.localGid },
          permissions: 0o600
        })
        expect(report.count).toBe(2)
        const owned = `${server.localUid}:${server.localGid}:600:`
        expect(snapshot(target)).toEqual({ one: `${owned}1`, two: `${owned}22` })
      }))

    it.effect("carries spaces in the collect dir and in file names", () =>
      Effect.gen(function*() {
        const parent = scratch.dir("with spaces")
        const collectDir = scratch.collectDir("collect dir  two spaces", {
          "a file.txt": "a",
          " leading": "l",
          "trailing ": "t"
        }, parent)
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report.files).toEqual([" leading", "a file.txt", "trailing "])
        expect(snapshot(target)).toEqual({
          " leading": rootFile("644", "l"),
          "a file.txt": rootFile("644", "a"),
          "trailing ": rootFile("644", "t")
        })
      }))

    it.effect("copies a symlink to a file as a regular file with the link target's content; skips dotfiles", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "alpha", ".hidden": "h" })
        fs.symlinkSync("a", path.join(collectDir, "b-link"))
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report).toEqual({ count: 2, bytes: 10, files: ["a", "b-link"], skipped: [] })
        expect(snapshot(target)).toEqual({ a: rootFile("644", "alpha"), "b-link": rootFile("644", "alpha") })
      }))

    it.effect("fails with CopyFailed and stages nothing when the collect dir holds a subdirectory or a dangling link", () =>
      Effect.gen(function*() {
        // scp copies the regular files and then exits 1 ("not a regular file"): nothing may reach the target
        const collectDir = scratch.collectDir("collect", { a: "alpha", "sub/inner": "i" })
        fs.symlinkSync("sub", path.join(collectDir, "link-to-dir"))
        fs.symlinkSync("/nonexistent", path.join(collectDir, "dangling"))
        const target = scratch.dir("target")
        fs.writeFileSync(path.join(target, "keep"), "k")
        const peer = yield* makePeer(protocol, { collectDir })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(1)
        expect(error.stderr).toMatch(/not a regular file/)
        expect(snapshot(target)).toEqual({ keep: rootFile("644", "k") })
      }))

    it.effect("fails with CopyFailed on a collect dir that does not exist, leaving the target as it was", () =>
      Effect.gen(function*() {
        const target = scratch.dir("target")
        fs.writeFileSync(path.join(target, "keep"), "k")
        const peer = yield* makePeer(protocol, { collectDir: path.join(scratch.root, "no such dir") })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(1)
        expect(error.stderr).toMatch(/No such file or directory/)
        expect(snapshot(target)).toEqual({ keep: rootFile("644", "k") })
      }))

    it.effect("fails with CopyFailed on a collect dir the remote user cannot read", () =>
      Effect.gen(function*() {
        const collectDir = scratch.dir("locked", { owner: "root" })
        fs.writeFileSync(path.join(collectDir, "a"), "a")
        fs.chmodSync(collectDir, 0o000)
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(1)
        expect(error.stderr).toMatch(/Permission denied/)
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("fails on an empty collect dir (scp: `dir/*` matches nothing) and stages nothing", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("empty", { ".only-a-dotfile": "x" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        // an empty remote collect dir may give NothingStaged or CopyFailed; both protocols exit 1 here ("…/*: No such file…")
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(1)
        expect(error.stderr).toMatch(/\/\*: No such file or directory/)
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("fails with CopyFailed for an unknown host", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "a" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { name: "hostname.invalid", collectDir })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        // SFTP mode reports the failed connection as 255, legacy scp as 1 (and says nothing with -q)
        expect(error.exitCode).toBe(protocol === "sftp" ? 255 : 1)
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("fails with CopyFailed for an unknown remote user", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "a" })
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { remoteUser: "nosuchuser", collectDir })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(protocol === "sftp" ? 255 : 1)
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("fails with CopyFailed when the rcp command does not exist", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "a" })
        const target = scratch.dir("target")
        const rcpCommand = `${path.join(scratch.root, "no-such-scp")}${protocol === "legacy" ? " -O" : ""}`
        const peer = yield* makePeer(protocol, { rcpCommand, collectDir })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        // the spawn itself fails: no exit status, the reason in stderr
        expect([error.peer, error.exitCode]).toEqual([server.host, undefined])
        expect(error.stderr).toMatch(/no-such-scp/)
        expect(snapshot(target)).toEqual({})
      }))
  })

  layer(Live, real)(`RemotePeers collect indicator over ${protocol} scp`, (it) => {
    it.effect("is ready when the indicator is there, not-ready when it is not; no temporary file remains", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { "cback.collect": "", "my indicator": "" })
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        const peer = yield* makePeer(protocol, { collectDir, workingDir })
        expect(yield* remote.checkCollectIndicator(peer)).toBe(true)
        expect(yield* remote.checkCollectIndicator(peer, "my indicator")).toBe(true)
        expect(yield* remote.checkCollectIndicator(peer, "absent")).toBe(false)
        expect((yield* remote.collectIndicatorStatus(peer)).status).toBe("ready")
        expect((yield* remote.collectIndicatorStatus(peer, "absent")).status).toBe("not-ready")
        expect(snapshot(workingDir)).toEqual({})
      }))

    it.effect("is not-ready for a collect dir that is missing or unreadable", () =>
      Effect.gen(function*() {
        const locked = scratch.dir("locked", { owner: "root" })
        fs.writeFileSync(path.join(locked, "cback.collect"), "")
        fs.chmodSync(locked, 0o000)
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        for (const collectDir of [path.join(scratch.root, "missing"), locked]) {
          const peer = yield* makePeer(protocol, { collectDir, workingDir })
          expect(yield* remote.checkCollectIndicator(peer)).toBe(false)
          expect((yield* remote.collectIndicatorStatus(peer)).status).toBe("not-ready")
        }
        expect(snapshot(workingDir)).toEqual({})
      }))

    it.effect("is false and unreachable for an unknown host and for a refused login", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        for (const fields of [{ name: "hostname.invalid" }, { remoteUser: "nosuchuser" }]) {
          const peer = yield* makePeer(protocol, { collectDir, workingDir, ...fields })
          expect(yield* remote.checkCollectIndicator(peer)).toBe(false)
          expect((yield* remote.collectIndicatorStatus(peer)).status).toBe("unreachable")
        }
        expect(snapshot(workingDir)).toEqual({})
      }))

    it.effect("checks several peers sharing one working dir at the same time, each answer its own", () =>
      Effect.gen(function*() {
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        const peers = yield* Effect.forEach([0, 1, 2, 3, 4, 5, 6, 7], (i) =>
          makePeer(protocol, {
            collectDir: scratch.collectDir(`collect-${i}`, i % 2 === 0 ? { "cback.collect": "" } : { other: "" }),
            workingDir
          }))
        const answers = yield* Effect.forEach(peers, (peer) => remote.checkCollectIndicator(peer), { concurrency: "unbounded" })
        expect(answers).toEqual([true, false, true, false, true, false, true, false])
        expect(snapshot(workingDir)).toEqual({})
      }))

    it.effect("refuses an indicator name that is not a plain file name", () =>
      Effect.gen(function*() {
        const peer = yield* makePeer(protocol, { collectDir: scratch.collectDir("collect", {}) })
        const remote = yield* RemotePeer.RemotePeers
        for (const name of ["../cback.collect", "a/b", "", "..", "line\nbreak"]) {
          const error = yield* Effect.flip(remote.checkCollectIndicator(peer, name))
          expect(error._tag).toBe("InvalidPath")
        }
      }))
  })

  layer(Live, real)(`RemotePeers.writeStageIndicator over ${protocol} scp`, (it) => {
    it.effect("writes an empty indicator owned by the remote user, truncating an old one; no temporary file remains", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { "old indicator": "stale content" })
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        const peer = yield* makePeer(protocol, { collectDir, workingDir })
        yield* remote.writeStageIndicator(peer)
        yield* remote.writeStageIndicator(peer, "old indicator")
        expect(snapshot(collectDir)).toEqual({ "cback.stage": remoteFile("644", ""), "old indicator": remoteFile("644", "") })
        expect(snapshot(workingDir)).toEqual({})
      }))

    it.effect("gives a new indicator the requested permissions (scp creates it with its source's mode)", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", {})
        const peer = yield* makePeer(protocol, { collectDir })
        yield* (yield* RemotePeer.RemotePeers).writeStageIndicator(peer, "cback.stage", { permissions: 0o600 })
        expect(snapshot(collectDir)).toEqual({ "cback.stage": remoteFile("600", "") })
      }))

    it.effect("fails with CopyFailed when the collect dir is missing or the host unknown; no temporary file remains", () =>
      Effect.gen(function*() {
        const workingDir = scratch.dir("work")
        const remote = yield* RemotePeer.RemotePeers
        const missing = yield* makePeer(protocol, { collectDir: path.join(scratch.root, "missing"), workingDir })
        const first = narrow(yield* Effect.flip(remote.writeStageIndicator(missing)), "CopyFailed")
        expect(first.exitCode).toBe(1)
        expect(first.stderr).toMatch(/No such file or directory/)
        const unknown = yield* makePeer(protocol, { name: "hostname.invalid", collectDir: scratch.collectDir("c", {}), workingDir })
        const second = narrow(yield* Effect.flip(remote.writeStageIndicator(unknown)), "CopyFailed")
        expect(second.exitCode).toBe(protocol === "sftp" ? 255 : 1)
        expect(snapshot(workingDir)).toEqual({})
      }))
  })
}

layer(Live, real)("RemotePeers remote commands", (it) => {
  it.effect("runs a remote command as the remote user", () =>
    Effect.gen(function*() {
      const out = scratch.dir("out", { owner: "remote" })
      const peer = yield* makePeer("sftp", { collectDir: out })
      yield* (yield* RemotePeer.RemotePeers).executeRemoteCommand(peer, `id -un > '${out}/who'`)
      expect(fs.readFileSync(path.join(out, "who"), "utf8")).toBe(`${server.remoteUser}\n`)
    }))

  it.effect("a remote command that reads its input gets an end of file and ends", () =>
    Effect.gen(function*() {
      const out = scratch.dir("stdin", { owner: "remote" })
      const peer = yield* makePeer("sftp", { collectDir: out })
      const remote = yield* RemotePeer.RemotePeers
      yield* remote.executeRemoteCommand(peer, `cat > '${out}/input'; echo done > '${out}/after'`)
      expect(fs.readFileSync(path.join(out, "input"), "utf8")).toBe("")
      expect(fs.readFileSync(path.join(out, "after"), "utf8")).toBe("done\n")
    }))

  it.effect("fails with RemoteCommandFailed carrying exit code, stderr and an argv with -- before the destination", () =>
    Effect.gen(function*() {
      const peer = yield* makePeer("sftp", { collectDir: scratch.root })
      const command = "echo oops >&2; exit 3"
      const error = narrow(
        yield* Effect.flip((yield* RemotePeer.RemotePeers).executeRemoteCommand(peer, command)),
        "RemoteCommandFailed"
      )
      expect(error.exitCode).toBe(3)
      expect(error.stderr).toBe("oops\n")
      expect(error.argv.slice(-3)).toEqual(["--", `${server.remoteUser}@${server.host}`, command])
    }))

  it.effect("fails with RemoteCommandFailed (255) for an unknown host and when the rsh command does not exist", () =>
    Effect.gen(function*() {
      const remote = yield* RemotePeer.RemotePeers
      const unknown = yield* makePeer("sftp", { name: "hostname.invalid", collectDir: scratch.root })
      const first = narrow(yield* Effect.flip(remote.executeRemoteCommand(unknown, "true")), "RemoteCommandFailed")
      expect(first.exitCode).toBe(255)
      expect(first.stderr).toMatch(/hostname\.invalid/)
      const noRsh = yield* makePeer("sftp", { rshCommand: path.join(scratch.root, "no-such-ssh"), collectDir: scratch.root })
      const second = narrow(yield* Effect.flip(remote.executeRemoteCommand(noRsh, "true")), "RemoteCommandFailed")
      expect(second.exitCode).toBeUndefined()
      expect(second.stderr).toMatch(/no-such-ssh/)
    }))

  it.effect("runs the managed action command line `<cback> [--full] <action>` on the peer", () =>
    Effect.gen(function*() {
      const out = scratch.dir("cback-out", { owner: "remote" })
      const cback = path.join(scratch.dir("bin"), "fake cback")
      fs.writeFileSync(cback, `#!/bin/sh\nprintf '%s\\n' "$(id -un)" "$@" >> '${out}/argv'\n`, { mode: 0o755 })
      const peer = yield* makePeer("sftp", { collectDir: scratch.root, cbackCommand: `'${cback}'` })
      const remote = yield* RemotePeer.RemotePeers
      yield* remote.executeManagedAction(peer, "collect", true)
      yield* remote.executeManagedAction(peer, "purge", false)
      expect(fs.readFileSync(path.join(out, "argv"), "utf8")).toBe(
        `${server.remoteUser}\n--full\ncollect\n${server.remoteUser}\npurge\n`
      )
    }))

  it.effect("fails with ManagedActionFailed wrapping the RemoteCommandFailed", () =>
    Effect.gen(function*() {
      const cback = path.join(scratch.dir("bin"), "failing-cback")
      fs.writeFileSync(cback, "#!/bin/sh\necho \"cback failed: $*\" >&2\nexit 4\n", { mode: 0o755 })
      const peer = yield* makePeer("sftp", { collectDir: scratch.root, cbackCommand: cback })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).executeManagedAction(peer, "collect", false))
      const failed = narrow(error, "ManagedActionFailed")
      expect([failed.action, failed.cause._tag, failed.cause.exitCode, failed.cause.stderr]).toEqual([
        "collect",
        "RemoteCommandFailed",
        4,
        "cback failed: collect\n"
      ])
    }))
})

for (const protocol of PROTOCOLS) {
  layer(Live, real)(`RemotePeers with a local user (runuser, nologin shell) over ${protocol} scp`, (it) => {
    it.effect("stages as the local user into a target it owns: files arrive owned by it, private dir gone", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "alpha", b: "beta" })
        const target = scratch.dir("target", { owner: "local", mode: 0o700 })
        const workingDir = scratch.dir("work", { owner: "local", mode: 0o700 })
        const peer = yield* makePeer(protocol, { collectDir, workingDir, localUser: server.localUser })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report).toEqual({ count: 2, bytes: 9, files: ["a", "b"], skipped: [] })
        // no ownership option: the owner is whoever ran scp
        const local = `${server.localUid}:${server.localGid}:644:`
        expect(snapshot(target)).toEqual({ a: `${local}alpha`, b: `${local}beta` })
      }))

    it.effect("stages as the local user into a root-owned target (the private dir is made writable for it)", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "alpha" })
        const target = scratch.dir("target", { owner: "root", mode: 0o755 })
        const workingDir = scratch.dir("work", { owner: "local", mode: 0o700 })
        const peer = yield* makePeer(protocol, { collectDir, workingDir, localUser: server.localUser })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target, {
          ownership: { uid: 0, gid: 0 },
          permissions: 0o640
        })
        expect(report.files).toEqual(["a"])
        expect(snapshot(target)).toEqual({ a: rootFile("640", "alpha") })
      }))

    it.effect("fails with CopyFailed (runuser exits 1) when the rcp command does not exist", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { a: "a" })
        const target = scratch.dir("target", { owner: "local", mode: 0o700 })
        const rcpCommand = `${path.join(scratch.root, "no-such-scp")}${protocol === "legacy" ? " -O" : ""}`
        const peer = yield* makePeer(protocol, { collectDir, rcpCommand, localUser: server.localUser })
        const error = narrow(yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)), "CopyFailed")
        expect(error.exitCode).toBe(1)
        expect(error.stderr).toMatch(/^runuser: failed to execute .*no-such-scp/)
        expect(snapshot(target)).toEqual({})
      }))

    it.effect("checks and writes indicators as the local user", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
        const workingDir = scratch.dir("work", { owner: "local", mode: 0o700 })
        const remote = yield* RemotePeer.RemotePeers
        const peer = yield* makePeer(protocol, { collectDir, workingDir, localUser: server.localUser })
        expect(yield* remote.checkCollectIndicator(peer)).toBe(true)
        expect(yield* remote.checkCollectIndicator(peer, "absent")).toBe(false)
        yield* remote.writeStageIndicator(peer)
        expect(snapshot(collectDir)).toEqual({ "cback.collect": remoteFile("644", ""), "cback.stage": remoteFile("644", "") })
        expect(snapshot(workingDir)).toEqual({})
      }))
  })
}

layer(Live, real)("RemotePeers remote commands with a local user", (it) => {
  it.effect("runs ssh as the local user (recorded by an rsh wrapper)", () =>
    Effect.gen(function*() {
      const bin = scratch.dir("bin", { owner: "local" })
      const wrapper = path.join(bin, "ssh-wrapper")
      fs.writeFileSync(wrapper, `#!/bin/sh\nid -un >> '${bin}/who'\nexec /usr/bin/ssh "$@"\n`, { mode: 0o755 })
      const out = scratch.dir("out", { owner: "remote" })
      const peer = yield* makePeer("sftp", {
        collectDir: out,
        localUser: server.localUser,
        rshCommand: `${wrapper} -F ${server.configFile}`
      })
      yield* (yield* RemotePeer.RemotePeers).executeRemoteCommand(peer, `id -un > '${out}/who'`)
      expect(fs.readFileSync(path.join(bin, "who"), "utf8")).toBe(`${server.localUser}\n`)
      expect(fs.readFileSync(path.join(out, "who"), "utf8")).toBe(`${server.remoteUser}\n`)
    }))
})

layer(NotRoot, real)("RemotePeers with a local user when not root", (it) => {
  it.effect("fails with LocalUserNotPermitted before running anything", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", { a: "a" })
      const target = scratch.dir("target")
      const peer = yield* makePeer("sftp", { collectDir, localUser: server.localUser })
      const remote = yield* RemotePeer.RemotePeers
      const error = narrow(yield* Effect.flip(remote.stagePeer(peer, target)), "LocalUserNotPermitted")
      expect(error.localUser).toBe(server.localUser)
      expect((yield* Effect.flip(remote.executeRemoteCommand(peer, "true")))._tag).toBe("LocalUserNotPermitted")
      expect(snapshot(target)).toEqual({})
    }))
})

describe("harness", () => {
  layer(Live, real)("sanity", (it) => {
    it.effect("talks to the loopback server it was given", () =>
      Effect.sync(() => {
        expect(server.sshVersion).toMatch(/^OpenSSH_\d+\.\d+/)
        expect(fs.existsSync(server.configFile)).toBe(true)
      }))
  })
})

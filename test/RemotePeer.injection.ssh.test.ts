// Argument and shell injection against a real OpenSSH server (test/support/sshd.ts): hostile host
// and user names are refused at make, hostile action names before anything runs, and hostile
// remote paths and file names reach the peer literally in both scp protocols. "Nothing executes"
// is asserted by a marker file that every hostile string tries to create (the remote side is
// this same machine, so its home dir and working dirs are checked directly).
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, inject } from "vitest"
import { nameBytes, showName } from "../src/domain/Peer.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer, snapshot } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "remote-injection")
afterAll(() => scratch.remove())

const Live = RemotePeersLive

/** A name nothing else uses: if a file of this name appears anywhere we look, something ran. */
const MARKER = `cedar-pwned-${randomBytes(6).toString("hex")}`
const MARKER_DIRS = [server.remoteHome, "/root", "/", process.cwd(), os.tmpdir(), scratch.root]
const markersFound = () => MARKER_DIRS.map((dir) => path.join(dir, MARKER)).filter((file) => fs.existsSync(file))
afterEach(() => {
  expect(markersFound()).toEqual([])
})

/** File names that a shell would run, split, glob or expand; none holds `/`, NUL or a newline. */
const HOSTILE_NAMES: ReadonlyArray<string> = [
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `x; touch ${MARKER}`,
  `x && touch ${MARKER} || touch ${MARKER}`,
  `x | touch ${MARKER} &`,
  `it's '$(touch ${MARKER})'`,
  `say "hi $(touch ${MARKER})"`,
  `back\\slash \\$(touch ${MARKER})`,
  `-oProxyCommand=touch ${MARKER}`,
  `star * glob`,
  "*",
  "?",
  "[ab]",
  "a",
  "tab\there",
  "~cpremote",
  "#not a comment",
  "$HOME and ${PATH}",
  " lead and trail ",
  ">redirect <in",
  "ünïcødé ファイル"
]

/** A collect dir whose every path component is hostile too. */
const HOSTILE_DIR = [
  `dir $(touch ${MARKER}) x`,
  `\`touch ${MARKER}\`; 'q" * ? [a] & | \\ end`,
  `-oProxyCommand=touch ${MARKER}`
].join("/")

type Protocol = "sftp" | "legacy"
const PROTOCOLS: ReadonlyArray<Protocol> = ["sftp", "legacy"]

const makePeer = (protocol: Protocol, fields: Partial<RemotePeer.RemotePeerInput> & { readonly collectDir: string }) =>
  RemotePeer.make({
    name: server.host,
    workingDir: scratch.dir("work"),
    remoteUser: server.remoteUser,
    rcpCommand: protocol === "sftp" ? server.rcpSftp : server.rcpLegacy,
    rshCommand: server.rsh,
    ...fields
  })

const contentOf = (name: string) => `content of ${JSON.stringify(name)}\n`
const shown = (name: string) => showName(nameBytes(name))

const hostileFiles = Object.fromEntries(HOSTILE_NAMES.map((name) => [name, contentOf(name)]))

describe("RemotePeer.make refuses argument injection", () => {
  layer(Live, real)("validation", (it) => {
    it.effect("refuses a host or a user that ssh/scp would read as an option", () =>
      Effect.gen(function*() {
        const proxy = `-oProxyCommand=touch ${path.join(scratch.root, MARKER)}`
        for (const fields of [{ name: proxy }, { remoteUser: proxy }, { localUser: proxy }, { name: `${proxy} 127.0.0.1` }]) {
          const error = yield* Effect.flip(makePeer("sftp", { collectDir: scratch.root, ...fields }))
          expect(error._tag).toBe("InvalidPeerConfig")
          expect(error.problems.length).toBe(1)
        }
      }))

    it.effect("refuses a remote path or an indicator name with a newline", () =>
      Effect.gen(function*() {
        const made = yield* Effect.flip(makePeer("sftp", { collectDir: `${scratch.root}/a\ntouch ${MARKER}` }))
        expect(made._tag).toBe("InvalidPeerConfig")
        const peer = yield* makePeer("legacy", { collectDir: scratch.collectDir("collect", {}) })
        const remote = yield* RemotePeer.RemotePeers
        const checked = yield* Effect.flip(remote.checkCollectIndicator(peer, `x\ntouch ${MARKER}`))
        expect([checked._tag, checked.problem]).toEqual(["InvalidPath", "BadCharacter"])
        const written = yield* Effect.flip(remote.writeStageIndicator(peer, `x\ntouch ${MARKER}`))
        expect(written._tag).toBe("InvalidPath")
      }))

    it.effect("refuses a managed action that is not a plain action name, running nothing", () =>
      Effect.gen(function*() {
        const out = scratch.dir("cback-out", { owner: "remote" })
        const cback = path.join(scratch.dir("bin"), "recording-cback")
        fs.writeFileSync(cback, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${out}/argv'\n`, { mode: 0o755 })
        const peer = yield* makePeer("sftp", { collectDir: scratch.root, cbackCommand: cback })
        const remote = yield* RemotePeer.RemotePeers
        for (const action of [`collect; touch ${MARKER}`, `$(touch ${MARKER})`, `\`touch ${MARKER}\``, "collect purge", "-x", ""]) {
          const error = yield* Effect.flip(remote.executeManagedAction(peer, action, false))
          expect([action, error._tag]).toEqual([action, "InvalidPeerConfig"])
        }
        expect(fs.existsSync(path.join(out, "argv"))).toBe(false)
      }))
  })
})

for (const protocol of PROTOCOLS) {
  layer(Live, real)(`hostile remote paths over ${protocol} scp`, (it) => {
    it.effect("stages hostile file names from a hostile collect dir literally, names and contents exact", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir(HOSTILE_DIR, hostileFiles, scratch.dir("parent"))
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        const sorted = [...HOSTILE_NAMES].sort()
        // reports show names the one unambiguous way (a backslash doubled, a tab as \x09)
        expect(report.files).toEqual(HOSTILE_NAMES.map(shown).sort())
        expect(report.count).toBe(HOSTILE_NAMES.length)
        expect(snapshot(target)).toEqual(Object.fromEntries(sorted.map((name) => [name, `0:0:644:${contentOf(name)}`])))
      }))

    it.effect("stages the same as the local user (runuser passes argv through untouched)", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir(HOSTILE_DIR, hostileFiles, scratch.dir("parent"))
        const target = scratch.dir("target", { owner: "local", mode: 0o700 })
        const workingDir = scratch.dir("work", { owner: "local", mode: 0o700 })
        const peer = yield* makePeer(protocol, { collectDir, workingDir, localUser: server.localUser })
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        expect(report.files).toEqual(HOSTILE_NAMES.map(shown).sort())
        expect(Object.keys(snapshot(target))).toEqual([...HOSTILE_NAMES].sort())
      }))

    it.effect("checks hostile indicator names literally: a glob character never matches another file", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir(HOSTILE_DIR, { a: "", b: "", "it's \"x\" $(y)": "" }, scratch.dir("parent"))
        const peer = yield* makePeer(protocol, { collectDir })
        const remote = yield* RemotePeer.RemotePeers
        const results: Record<string, boolean> = {}
        for (const name of ["a", "it's \"x\" $(y)", "*", "?", "[ab]", "[a]", `$(touch ${MARKER})`, `a; touch ${MARKER}`]) {
          results[name] = yield* remote.checkCollectIndicator(peer, name)
        }
        expect(results).toEqual({
          a: true,
          "it's \"x\" $(y)": true,
          "*": false,
          "?": false,
          "[ab]": false,
          "[a]": false,
          [`$(touch ${MARKER})`]: false,
          [`a; touch ${MARKER}`]: false
        })
        // and a file literally named like a glob is found
        fs.writeFileSync(path.join(collectDir, "[ab]"), "")
        expect(yield* remote.checkCollectIndicator(peer, "[ab]")).toBe(true)
        expect(yield* remote.checkCollectIndicator(peer, "*")).toBe(false)
      }))

    // Found here: encodeDownloadSource escapes UTF-16 code units, splitting a surrogate pair into
    // two lone halves that reach scp as U+FFFD (fix: the `u` flag on its regex). See
    // docs/argument-hygiene.md.
    it.effect("carries characters outside the Basic Multilingual Plane (emoji) in paths and indicator names", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("emoji 😀 dir", { "file 😀": "smile", "ready 🚀": "" }, scratch.dir("parent"))
        const target = scratch.dir("target")
        const peer = yield* makePeer(protocol, { collectDir })
        const remote = yield* RemotePeer.RemotePeers
        expect(yield* remote.checkCollectIndicator(peer, "ready 🚀")).toBe(true)
        const report = yield* remote.stagePeer(peer, target)
        expect(report.files).toEqual(["file 😀", "ready 🚀"])
        yield* remote.writeStageIndicator(peer, "stage 🎉")
        expect(Object.keys(snapshot(collectDir))).toEqual(["file 😀", "ready 🚀", "stage 🎉"])
      }))

    it.effect("writes hostile indicator names literally, and nothing else", () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir(HOSTILE_DIR, {}, scratch.dir("parent"))
        const workingDir = scratch.dir("work")
        const peer = yield* makePeer(protocol, { collectDir, workingDir })
        const remote = yield* RemotePeer.RemotePeers
        for (const name of HOSTILE_NAMES) yield* remote.writeStageIndicator(peer, name)
        const owned = `${server.remoteUid}:${server.remoteGid}:644:`
        expect(snapshot(collectDir)).toEqual(Object.fromEntries(HOSTILE_NAMES.map((name) => [name, owned])))
        expect(snapshot(workingDir)).toEqual({})
      }))
  })
}

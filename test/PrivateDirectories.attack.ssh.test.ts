// The backup user attacks root through the private directories remote peers use in the working
// dir: a racer running as that user (a real process, in a tight loop, for the whole of many real
// operations against the loopback sshd) plants links, exchanges directories and swaps names, and
// root must never write, remove or chown anything outside those directories.
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, inject } from "vitest"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "attack")
afterAll(() => scratch.remove())

// plant:    a link named like the file root writes, in every private directory it can see
// exchange: a subdirectory of each private directory swapped with a link to the victim directory
//           (renameat2 RENAME_EXCHANGE), over and over, while root removes the private directory
// swap:     each private directory renamed away and its name made a link to the victim, in the
//           window between root making it and root giving it to the backup user
const RACER = String.raw`
import ctypes, os, sys, time
mode, workdir, victim, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
def exchange(a, b):
    libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE)
end = time.time() + seconds
moved = 0
while time.time() < end:
    try:
        names = [n for n in os.listdir(workdir) if n.startswith(".cedar-peer-")]
    except OSError:
        continue
    for name in names:
        d = os.path.join(workdir, name)
        try:
            if mode == "plant":
                os.symlink(victim, os.path.join(d, "cback.stage"))
            elif mode == "exchange":
                sub, link = os.path.join(d, "sub"), os.path.join(d, "link")
                if not os.path.lexists(sub):
                    os.mkdir(sub)
                    open(os.path.join(sub, "x"), "w").close()
                if not os.path.lexists(link):
                    os.symlink(victim, link)
                for _ in range(50):
                    exchange(sub, link)
            elif mode == "swap":
                moved += 1
                os.rename(d, os.path.join(workdir, "moved-%d" % moved))
                os.symlink(victim, d)
        except OSError:
            pass
`

/** Starts the racer as the backup user; resolves when it has ended (it stops by itself). */
const startRacer = (mode: "plant" | "exchange" | "swap", workdir: string, victim: string, seconds: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const script = path.join(scratch.root, "racer.py")
      if (!fs.existsSync(script)) fs.writeFileSync(script, RACER, { mode: 0o644 })
      return spawn("runuser", ["-u", server.localUser, "--", "python3", script, mode, workdir, victim, String(seconds)], {
        stdio: "ignore",
        detached: true
      })
    }),
    // stopped by its pid (its own process group: runuser and python), whatever happened to the test
    (child) =>
      Effect.sync(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
        } catch {
          // already gone
        }
      })
  )

/** A root-only directory holding a root-only file, which the racer can name but not touch. */
const victimFile = () => {
  const dir = scratch.dir("victim", { owner: "root", mode: 0o755 })
  const file = path.join(dir, "secret")
  fs.writeFileSync(file, "root's\n", { mode: 0o644 })
  return file
}

const stateOf = (file: string) => {
  const info = fs.lstatSync(file)
  return { uid: info.uid, gid: info.gid, mode: info.mode & 0o7777, content: fs.readFileSync(file, "utf8") }
}

const ROUNDS = 25

const makePeer = (workingDir: string, collectDir: string) =>
  RemotePeer.make({
    name: server.host,
    collectDir,
    workingDir,
    remoteUser: server.remoteUser,
    localUser: server.localUser,
    rcpCommand: server.rcpSftp,
    rshCommand: server.rsh
  })

describe("private directories under attack by the backup user", () => {
  layer(RemotePeersLive, real)("real operations against a racer", (it) => {
    it.effect("a link planted where the stage indicator is made is never written through", () =>
      Effect.gen(function*() {
        const victim = victimFile()
        const dangling = path.join(path.dirname(victim), "created-by-root")
        const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
        const workingDir = scratch.dir("work", { owner: "root", mode: 0o755 })
        const peer = yield* makePeer(workingDir, collectDir)
        const remote = yield* RemotePeer.RemotePeers
        yield* startRacer("plant", workingDir, victim, 60)
        for (let round = 0; round < ROUNDS; round++) {
          yield* Effect.ignore(remote.writeStageIndicator(peer))
        }
        expect(stateOf(victim)).toEqual({ uid: 0, gid: 0, mode: 0o644, content: "root's\n" })
        expect(fs.existsSync(dangling)).toBe(false)
        expect(fs.readdirSync(workingDir)).toEqual([])
      }), 120_000)

    it.effect("a subdirectory exchanged for a link while a private directory is removed: nothing outside goes", () =>
      Effect.gen(function*() {
        const victims = scratch.dir("victims", { owner: "root", mode: 0o755 })
        const names = Array.from({ length: 10 }, (_, i) => `keep-${i}`)
        for (const name of names) fs.writeFileSync(path.join(victims, name), "keep\n")
        const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
        const workingDir = scratch.dir("work", { owner: "root", mode: 0o755 })
        const peer = yield* makePeer(workingDir, collectDir)
        const remote = yield* RemotePeer.RemotePeers
        yield* startRacer("exchange", workingDir, victims, 60)
        for (let round = 0; round < ROUNDS; round++) {
          // the collect-indicator copy and the shared connection's socket: both directories the backup user writes
          yield* Effect.ignore(remote.withConnection(peer, remote.checkCollectIndicator(peer)))
        }
        expect(fs.readdirSync(victims).sort()).toEqual(names)
      }), 120_000)

    it.effect("in a working dir the backup user owns, a private directory swapped for a link: the link's target keeps its owner", () =>
      Effect.gen(function*() {
        const victim = victimFile()
        const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
        const workingDir = scratch.dir("work", { owner: "local", mode: 0o755 })
        const peer = yield* makePeer(workingDir, collectDir)
        const remote = yield* RemotePeer.RemotePeers
        yield* startRacer("swap", workingDir, victim, 60)
        for (let round = 0; round < ROUNDS; round++) {
          yield* Effect.ignore(remote.checkCollectIndicator(peer))
          yield* Effect.ignore(remote.writeStageIndicator(peer))
        }
        expect(stateOf(victim)).toEqual({ uid: 0, gid: 0, mode: 0o644, content: "root's\n" })
      }), 120_000)
  })
})

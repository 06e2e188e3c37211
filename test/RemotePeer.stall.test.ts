// The stall limit on a transfer that stays connected but goes silent: fake copy programs (real
// processes, no ssh) that send a little, then nothing, and never end. The stall limit (1 s) must
// end them long before the stage limit (60 s), with TimedOut naming the silence, nothing staged
// and the program's process group gone. One that keeps sending is left alone.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as FakeRemoteHost from "../src/testing/FakeRemoteHost.js"
import { RemotePeersLive, real } from "./support/live.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-stall-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

/** A tar stream of one member whose content is cut after its first 512 bytes (more was announced). */
const partialTar = Effect.map(
  FakeRemoteHost.tarStream([{ header: { name: "./big", size: 4096, mode: 0o644 }, content: "x".repeat(4096) }]),
  (whole) => whole.subarray(0, 1024)
)

/** A program that writes its pid where the test finds it, sends a little, then sleeps (silent, connected). */
const silentProgram = (dir: string, name: string, send: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, ["#!/bin/sh", `echo $$ > '${dir}/${name}.pid'`, send, "exec sleep 600", ""].join("\n"), { mode: 0o755 })
  return file
}

/** A program that sends a byte every 200 ms for 2 s (never silent for a second), then ends. */
const tricklingScp = (dir: string) => {
  const file = path.join(dir, "trickle")
  fs.writeFileSync(file, [
    "#!/bin/sh",
    'for last; do :; done',
    'for i in 1 2 3 4 5 6 7 8 9 10; do printf x >> "$last/slow"; sleep 0.2; done',
    ""
  ].join("\n"), { mode: 0o755 })
  return file
}

const isGone = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").slice(-200).includes(") Z")
  } catch {
    return true
  }
}

const setup = (label: string) => {
  const dir = fs.mkdtempSync(path.join(root, `${label}-`))
  const work = path.join(dir, "work")
  const target = path.join(dir, "target")
  fs.mkdirSync(work)
  fs.mkdirSync(target)
  return { dir, work, target }
}

const peerOf = (work: string, fields: Partial<RemotePeer.RemotePeerInput>) =>
  RemotePeer.make({
    name: "silent.invalid",
    collectDir: "/collect",
    workingDir: work,
    remoteUser: "backup",
    timeouts: { stall: 1, stage: 60 },
    retries: { count: 0 },
    ...fields
  })

layer(RemotePeersLive, real)("a transfer that goes silent", (it) => {
  it.effect("scp: what arrives stops growing; TimedOut after the stall limit, nothing staged, the copy killed", () =>
    Effect.gen(function*() {
      const { dir, target, work } = setup("scp")
      // scp's last argument is where it copies to
      const rcp = silentProgram(dir, "stuckcp", 'for last; do :; done; printf part > "$last/a"')
      const peer = yield* peerOf(work, { rcpCommand: rcp })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target))
      expect(error).toMatchObject({ _tag: "TimedOut", operation: "stage", after: "1s of silence" })
      expect(fs.readdirSync(target)).toEqual([])
      expect(isGone(Number(fs.readFileSync(path.join(dir, "stuckcp.pid"), "utf8")))).toBe(true)
    }))

  it.effect("tar: the stream stops coming; TimedOut after the stall limit, nothing staged, the ssh killed", () =>
    Effect.gen(function*() {
      const { dir, target, work } = setup("tar")
      fs.writeFileSync(path.join(dir, "partial.tar"), yield* partialTar)
      const rsh = silentProgram(dir, "stuckrsh", `cat '${dir}/partial.tar'`)
      const peer = yield* peerOf(work, { rshCommand: rsh, transport: "tar" })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target))
      expect(error).toMatchObject({ _tag: "TimedOut", operation: "stage", after: "1s of silence" })
      expect(fs.readdirSync(target)).toEqual([])
      expect(isGone(Number(fs.readFileSync(path.join(dir, "stuckrsh.pid"), "utf8")))).toBe(true)
    }))

  it.effect("scp: a slow copy that keeps bringing bytes is not silent: staged whole", () =>
    Effect.gen(function*() {
      const { target, work, dir } = setup("trickle")
      const peer = yield* peerOf(work, { rcpCommand: tricklingScp(dir) })
      const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
      expect(report.files).toEqual(["slow"])
      expect(fs.readFileSync(path.join(target, "slow"), "utf8")).toBe("x".repeat(10))
    }))
})


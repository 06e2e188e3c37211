// How remote commands connect, against the loopback sshd and TCP listeners of our own on
// 127.0.0.1: a peer that accepts and never speaks is unreachable within the connect timeout; a
// session that stalls mid-copy ends within the stall timeout; transient failures are retried with
// real scripts; and one peer's check, copy and indicator write share ONE ssh connection (counted
// by a forwarding listener in front of sshd), whose master and directory are gone afterwards.
import { describe, expect, layer } from "@effect/vitest"
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, References } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, inject } from "vitest"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as Pool from "../src/pool/Pool.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
// a short label: the control socket's directory must fit a Unix socket path
const scratch = makeScratch(server, "cx")

/** A TCP listener on 127.0.0.1 that counts connections; `forward` relays them to sshd. */
interface Listener {
  port: number
  readonly connections: () => number
  /** stop relaying (both ways) once this many bytes came back from the server */
  freezeAfter: number | undefined
  readonly close: () => Promise<void>
}

const listen = (forward: boolean): Promise<Listener> =>
  new Promise((resolve) => {
    let count = 0
    const sockets = new Set<net.Socket>()
    const listener: Listener = {
      port: 0,
      connections: () => count,
      freezeAfter: undefined,
      close: () =>
        new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy()
          netServer.close(() => done())
        })
    }
    const netServer = net.createServer((client) => {
      count++
      sockets.add(client)
      client.on("error", () => client.destroy())
      client.on("close", () => sockets.delete(client))
      if (!forward) return // accepts, never speaks
      const upstream = net.connect({ host: "127.0.0.1", port: server.port })
      sockets.add(upstream)
      let back = 0
      let frozen = false
      upstream.on("data", (chunk: Buffer) => {
        back += chunk.length
        if (listener.freezeAfter !== undefined && back > listener.freezeAfter) frozen = true
        if (!frozen) client.write(chunk)
      })
      client.on("data", (chunk: Buffer) => {
        if (!frozen) upstream.write(chunk)
      })
      upstream.on("error", () => client.destroy())
      upstream.on("close", () => client.destroy())
      client.on("close", () => upstream.destroy())
    })
    netServer.listen(0, "127.0.0.1", () => {
      const address = netServer.address()
      listener.port = typeof address === "object" && address !== null ? address.port : 0
      resolve(listener)
    })
  })

let silent: Listener
let relay: Listener
beforeAll(async () => {
  silent = await listen(false)
  relay = await listen(true)
})
afterAll(async () => {
  await silent.close()
  await relay.close()
  scratch.remove()
})

/** Every live process whose command line mentions `text` (ssh, scp, a ControlMaster). */
const processesMentioning = (text: string): Array<string> =>
  fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ")
      return cmdline.includes(text) ? [`${name}: ${cmdline}`] : []
    } catch {
      return []
    }
  })

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

// The harness's scp/ssh command lines, pointed at `port`: an option on the command line wins
// over the config file's `Port`.
const peerAt = (port: number, fields: Partial<RemotePeer.RemotePeerInput> & { readonly collectDir: string }) =>
  RemotePeer.make({
    name: server.host,
    workingDir: scratch.dir("work"),
    remoteUser: server.remoteUser,
    rcpCommand: `${server.rcpSftp} -P ${port}`,
    rshCommand: `${server.rsh} -p ${port}`,
    ...fields
  })

layer(RemotePeersLive, real)("a peer that accepts TCP and never speaks", (it) => {
  it.effect("is unreachable within the connect timeout, retried, and leaves no process behind", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", { "cback.collect": "" })
      const before = silent.connections()
      const peer = yield* peerAt(silent.port, { collectDir, timeouts: { connect: 2 }, retries: { count: 1, baseDelay: 0.05 } })
      const started = Date.now()
      const status = yield* (yield* RemotePeer.RemotePeers).collectIndicatorStatus(peer)
      const took = Date.now() - started
      expect(status.status).toBe("unreachable")
      // two attempts of about 2 s each: not the 5 minutes of the indicator limit
      expect(took).toBeLessThan(30_000)
      expect(silent.connections() - before).toBe(2)
      yield* sleep(200)
      expect(processesMentioning(`-P ${silent.port}`)).toEqual([])
      expect(fs.readdirSync(peer.workingDir)).toEqual([])
    }))

  it.effect("a stage fails with CopyFailed (ssh's 255), not a hang", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", { a: "A" })
      const target = scratch.dir("target")
      const peer = yield* peerAt(silent.port, { collectDir, timeouts: { connect: 2 }, retries: { count: 0 } })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 255 })
      expect(fs.readdirSync(target)).toEqual([])
    }))

  it.effect("the operation's own limit still applies when ssh is told nothing: TimedOut, the group killed", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", { a: "A" })
      const target = scratch.dir("target")
      // the command line sets its own (long) ConnectTimeout, which wins; the stage limit ends it
      const peer = yield* peerAt(silent.port, {
        collectDir,
        rcpCommand: `${server.rcpSftp} -o ConnectTimeout=600 -P ${silent.port}`,
        timeouts: { stage: 2 },
        retries: { count: 0 }
      })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target))
      expect(error).toMatchObject({ _tag: "TimedOut", operation: "stage", after: "2s" })
      yield* sleep(200)
      expect(processesMentioning("ConnectTimeout=600")).toEqual([])
      expect(fs.readdirSync(target)).toEqual([])
    }))
})

layer(RemotePeersLive, real)("a session that stalls mid-copy", (it) => {
  it.effect("ends within about the stall timeout (keep-alives), nothing staged", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", {})
      // incompressible, so the copy is still running when the relay freezes
      fs.writeFileSync(path.join(collectDir, "big"), Buffer.from(Array.from({ length: 8 << 20 }, (_, i) => (i * 2654435761) >>> 24)))
      fs.chownSync(path.join(collectDir, "big"), server.remoteUid, server.remoteGid)
      const target = scratch.dir("target")
      const peer = yield* peerAt(relay.port, { collectDir, timeouts: { stall: 3 }, retries: { count: 0 }, connectionSharing: false })
      relay.freezeAfter = 256 * 1024
      const started = Date.now()
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target)).pipe(
        Effect.ensuring(Effect.sync(() => (relay.freezeAfter = undefined)))
      )
      // two guards end it at about the stall limit, whichever comes first: ssh's keep-alives (the
      // session ends, status 255) or the silence of the copy (nothing more arrives)
      expect([{ _tag: "CopyFailed", exitCode: 255 }, { _tag: "TimedOut", operation: "stage", after: "3s of silence" }]).toContainEqual(
        error._tag === "CopyFailed" ? { _tag: error._tag, exitCode: error.exitCode } : { _tag: error._tag, operation: (error as { operation?: string }).operation, after: (error as { after?: string }).after }
      )
      expect(Date.now() - started).toBeLessThan(30_000)
      expect(fs.readdirSync(target)).toEqual([])
    }))
})

layer(RemotePeersLive, real)("one ssh connection per peer", (it) => {
  const checkStageWrite = (peer: RemotePeer.RemotePeer, target: string) =>
    Effect.gen(function*() {
      const remote = yield* RemotePeer.RemotePeers
      expect(yield* remote.collectIndicatorStatus(peer)).toEqual({ status: "ready" })
      const report = yield* remote.stagePeer(peer, target)
      yield* remote.writeStageIndicator(peer)
      return report
    })

  for (const localUser of [undefined, server.localUser]) {
    it.effect(`check, stage and indicator write open exactly one TCP connection${localUser === undefined ? "" : ", as the local user"}`, () =>
      Effect.gen(function*() {
        const collectDir = scratch.collectDir("collect", { "cback.collect": "", "a.tar": "AAA", "b.tar": "BB" })
        if (localUser !== undefined) fs.chmodSync(collectDir, 0o777) // the remote user writes the indicator either way
        const target = scratch.dir("target", localUser === undefined ? {} : { owner: "local" })
        const peer = yield* peerAt(relay.port, { collectDir, ...(localUser === undefined ? {} : { localUser }) })
        if (localUser !== undefined) fs.chownSync(peer.workingDir, server.localUid, server.localGid)
        const before = relay.connections()
        const remote = yield* RemotePeer.RemotePeers
        const seen: Array<{ readonly mode: number; readonly uid: number }> = []
        const report = yield* remote.withConnection(
          peer,
          Effect.gen(function*() {
            const result = yield* checkStageWrite(peer, target)
            const dirs = fs.readdirSync(peer.workingDir)
            expect(dirs).toHaveLength(1)
            const info = fs.statSync(path.join(peer.workingDir, dirs[0]!))
            seen.push({ mode: info.mode & 0o777, uid: info.uid })
            expect(fs.readdirSync(path.join(peer.workingDir, dirs[0]!))).toHaveLength(1) // the socket
            return result
          })
        )
        expect(report.count).toBe(3)
        expect(relay.connections() - before).toBe(1)
        expect(seen).toEqual([{ mode: 0o700, uid: localUser === undefined ? 0 : server.localUid }])
        expect(fs.existsSync(path.join(collectDir, "cback.stage"))).toBe(true)
        // closed with the scope: the master exited, its directory is gone
        yield* sleep(300)
        expect(fs.readdirSync(peer.workingDir)).toEqual([])
        expect(processesMentioning(peer.workingDir)).toEqual([])
      }))
  }

  it.effect("without sharing (connectionSharing: false) each operation connects on its own", () =>
    Effect.gen(function*() {
      const collectDir = scratch.collectDir("collect", { "cback.collect": "", "a.tar": "AAA" })
      const target = scratch.dir("target")
      const peer = yield* peerAt(relay.port, { collectDir, connectionSharing: false })
      const before = relay.connections()
      yield* (yield* RemotePeer.RemotePeers).withConnection(peer, checkStageWrite(peer, target))
      expect(relay.connections() - before).toBe(3)
      expect(fs.readdirSync(peer.workingDir)).toEqual([])
    }))

  it.effect("two peers never share a master", () =>
    Effect.gen(function*() {
      const remote = yield* RemotePeer.RemotePeers
      const first = yield* peerAt(relay.port, { collectDir: scratch.collectDir("collect", { "cback.collect": "", a: "1" }) })
      const second = yield* peerAt(relay.port, { collectDir: scratch.collectDir("collect", { "cback.collect": "", b: "2" }) })
      const before = relay.connections()
      yield* Effect.all([
        remote.withConnection(first, checkStageWrite(first, scratch.dir("target"))),
        remote.withConnection(second, checkStageWrite(second, scratch.dir("target")))
      ], { concurrency: 2 })
      expect(relay.connections() - before).toBe(2)
    }))
})

describe("connection sharing when it cannot apply", () => {
  layer(RemotePeersLive, real)("a program that is not OpenSSH", (it) => {
    it.effect("a copy program that is not ssh/scp gets no options and no control directory", () =>
      Effect.gen(function*() {
        const bin = scratch.dir("bin")
        const log = path.join(bin, "argv.log")
        const fake = path.join(bin, "my-rcp")
        fs.writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" >> ${log}\nexit 1\n`, { mode: 0o755 })
        const peer = yield* peerAt(relay.port, { collectDir: "/nowhere", rcpCommand: fake, rshCommand: fake })
        yield* (yield* RemotePeer.RemotePeers).withConnection(
          peer,
          Effect.gen(function*() {
            expect(fs.readdirSync(peer.workingDir)).toEqual([])
            yield* (yield* RemotePeer.RemotePeers).collectIndicatorStatus(peer)
          })
        )
        const words = fs.readFileSync(log, "utf8").trim().split("\n")
        expect(words[0]).toBe("--")
        expect(words.some((word) => word.startsWith("Connect") || word.startsWith("Control"))).toBe(false)
      }))
  })
})

const PoolLive = Layer.mergeAll(LocalPeers.layer, RemotePeersLive).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeServices.layer),
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "None"))
)

layer(PoolLive, real)("Pool.stage over one connection per remote peer", (it) => {
  it.effect("a remote peer's check, copy and indicator write share one TCP connection; a retry becomes a PeerRetrying event", () =>
    Effect.gen(function*() {
      const staging = scratch.dir("staging")
      const work = scratch.dir("work", { owner: "local" })
      const collectDir = scratch.collectDir("collect", { "cback.collect": "", "a.tar": "AAA" })
      fs.chmodSync(collectDir, 0o777)
      // an scp that fails as a refused connection on its first call only (a real script, run as the backup user)
      const bin = scratch.dir("bin", { mode: 0o777 })
      const calls = path.join(bin, "calls")
      fs.writeFileSync(
        path.join(bin, "scp"),
        `#!/bin/sh\necho "$*" >> ${calls}\nif [ ! -e ${bin}/tried ]; then : > ${bin}/tried\n  echo "ssh: connect to host x port 22: Connection refused" >&2; exit 255; fi\nexec /usr/bin/scp "$@"\n`,
        { mode: 0o755 }
      )
      const config = yield* Config.decodeUnknown({
        options: { startingDay: "monday", workingDir: work, backupUser: server.localUser, backupGroup: server.localUser },
        peers: [{
          name: server.host,
          type: "remote",
          collectDir,
          backupUser: server.remoteUser,
          rcpCommand: `${bin}/scp -O -B -q -F ${server.configFile} -P ${relay.port}`,
          rshCommand: `${server.rsh} -p ${relay.port}`
        }],
        stage: { stagingDir: staging }
      }, "pool.json")
      const before = relay.connections()
      const events: Array<Pool.PoolEvent> = []
      const summary = yield* Pool.stage(config, { onEvent: (event) => Effect.sync(() => events.push(event)) })
      expect(summary.peers.map((p) => p.status)).toEqual(["staged"])
      expect(relay.connections() - before).toBe(1)
      expect(fs.readdirSync(work)).toEqual([])
      expect(processesMentioning(work)).toEqual([])
      expect(events.filter((e) => e._tag === "PeerRetrying")).toEqual([
        expect.objectContaining({ name: server.host, attempt: 2, reason: expect.stringContaining("Connection refused") })
      ])
      // the check twice (refused, then fine), the copy, the indicator push
      expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toHaveLength(4)
    }))
})

layer(RemotePeersLive, real)("a copy program that fails for good", (it) => {
  it.effect("is called once, not retried", () =>
    Effect.gen(function*() {
      const bin = scratch.dir("bin")
      const calls = path.join(bin, "calls")
      fs.writeFileSync(
        path.join(bin, "scp"),
        `#!/bin/sh\necho "$*" >> ${calls}\necho "scp: /collect/*: No such file or directory" >&2\nexit 1\n`,
        { mode: 0o755 }
      )
      const peer = yield* peerAt(relay.port, { collectDir: "/collect", rcpCommand: `${bin}/scp -O -q` })
      const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, scratch.dir("target")))
      expect(error).toMatchObject({ _tag: "CopyFailed", exitCode: 1 })
      expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toHaveLength(1)
    }))
})

describe("cedar-peer stage-peer", () => {
  const bin = path.join(import.meta.dirname, "../dist/cli/main.js")
  // asynchronously: the relay counting the connections runs in this process
  const cli = (args: ReadonlyArray<string>) =>
    Effect.promise(() =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 })
        let stderr = ""
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
        child.on("close", (status) => resolve({ status, stderr }))
      })
    )

  layer(Layer.empty, real)("a remote peer", (it) => {
    it.effect("checks the collect indicator and copies over one TCP connection, and leaves no master behind", () =>
      Effect.gen(function*() {
        const work = scratch.dir("work")
        const target = scratch.dir("target")
        const collectDir = scratch.collectDir("collect", { "cback.collect": "", "a.tar": "AAA", "b.tar": "BB" })
        const config = path.join(scratch.dir("conf"), "pool.json")
        fs.writeFileSync(config, JSON.stringify({
          options: { startingDay: "monday", workingDir: work, backupUser: "root", backupGroup: "root" },
          peers: [{
            name: server.host,
            type: "remote",
            collectDir,
            backupUser: server.remoteUser,
            rcpCommand: `${server.rcpSftp} -P ${relay.port}`,
            rshCommand: `${server.rsh} -p ${relay.port}`
          }],
          stage: { stagingDir: target }
        }))
        const before = relay.connections()
        const done = yield* cli(["stage-peer", "--config", config, "--peer", server.host, "--target", target])
        expect(done).toMatchObject({ status: 0, stderr: "" })
        expect(fs.readdirSync(target).sort()).toEqual(["a.tar", "b.tar", "cback.collect"])
        expect(relay.connections() - before).toBe(1)
        yield* sleep(300)
        expect(fs.readdirSync(work)).toEqual([])
        expect(processesMentioning(work)).toEqual([])
      }))
  })
})

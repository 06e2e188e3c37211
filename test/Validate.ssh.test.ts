// Validate.reach against the real loopback sshd (test/support/sshd.ts): a reachable peer, a closed
// port, an unknown user (batch mode: refused, never a prompt) and a listener that accepts and
// never speaks (the connect timeout covers the banner exchange).
import { NodeServices } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import * as net from "node:net"
import { afterAll, beforeAll, inject } from "vitest"
import * as Config from "../src/config/Config.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as Validate from "../src/pool/Validate.js"
import { requireServer } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))

const Live = RemotePeers.layer.pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeServices.layer),
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "None"))
)

// A port nobody listens on, and one that accepts connections and never answers.
let closedPort = 0
let silent: net.Server
const sockets: Array<net.Socket> = []
beforeAll(async () => {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  closedPort = (probe.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  silent = net.createServer((socket) => sockets.push(socket))
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.2", resolve))
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => silent.close(() => resolve()))
})

layer(Live, { excludeTestServices: true })("Validate.reach over real ssh", (it) => {
  it.effect("names every remote peer that cannot be reached, with ssh's reason", () =>
    Effect.gen(function*() {
      const silentPort = (silent.address() as net.AddressInfo).port
      const remote = (name: string, rshCommand: string, extra: object = {}) => ({
        name,
        type: "remote",
        collectDir: "/tmp",
        rshCommand,
        ...extra
      })
      const pool = yield* Config.decodeUnknown({
        options: {
          startingDay: "monday",
          workingDir: "/tmp",
          backupUser: server.localUser,
          backupGroup: "root",
          timeouts: { connect: 2 }
        },
        peers: [
          remote("127.0.0.1", server.rsh, { backupUser: server.remoteUser }),
          remote("127.0.0.3", `${server.rsh} -p ${closedPort}`, { backupUser: server.remoteUser }),
          remote("localhost", server.rsh, { backupUser: "cpnosuchuser" }),
          remote("127.0.0.2", `${server.rsh} -p ${silentPort}`, { backupUser: server.remoteUser })
        ],
        stage: { stagingDir: "/tmp" }
      }, "/etc/cedar/pool.json")
      const problems = yield* Validate.reach(pool)
      expect(problems).toHaveLength(3)
      expect(problems[0]).toBe(`peers[1]: cannot reach 127.0.0.3: ssh: connect to host 127.0.0.3 port ${closedPort}: Connection refused`)
      expect(problems[1]).toMatch(/^peers\[2\]: cannot reach localhost: cpnosuchuser@localhost: Permission denied \(publickey.*\)\.$/)
      expect(problems[2]).toMatch(/^peers\[3\]: cannot reach 127\.0\.0\.2: Connection timed out during banner exchange/)
    }))
})

// A hostile peer against `verify`, over the loopback sshd: the hashing command's output is what
// the peer sends, and a peer that sends without end is cut off at a bound set by the number of
// files landed, not read into the master's memory until it runs out.
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, inject } from "vitest"
import { maxHashOutput } from "../src/peers/internal/remote/verify.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import { RemotePeersLive, real } from "./support/live.js"
import { makeScratch, requireServer, snapshot } from "./support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "remote-verify")
afterAll(() => scratch.remove())

const processesWith = (marker: string): Array<string> =>
  fs.readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(marker)
    } catch {
      return false
    }
  })

/** An rsh command that is ssh, except that the hashing command answers with endless output. */
const endlessHashes = (marker: string) => {
  const file = path.join(scratch.dir("bin"), "endless-rsh")
  fs.writeFileSync(file, `#!/bin/sh\ncase "$*" in *sha256sum*) exec yes ${marker} ;; esac\nexec /usr/bin/ssh "$@"\n`, { mode: 0o755 })
  return `${file} -F ${server.configFile}`
}

for (const transport of ["scp", "tar"] as const) {
  layer(RemotePeersLive, real)(`verify over ${transport} against a peer that never stops hashing`, (it) => {
    it.effect("its output is cut off past the bound: RemoteCommandFailed, the command killed, nothing staged", () =>
      Effect.gen(function*() {
        const marker = `endless-sha256sum-${transport}-${process.pid}`
        const target = scratch.dir("target")
        const peer = yield* RemotePeer.make({
          name: server.host,
          collectDir: scratch.collectDir("collect", { a: "alpha", b: "beta" }),
          workingDir: scratch.dir("work"),
          remoteUser: server.remoteUser,
          rcpCommand: server.rcpSftp,
          rshCommand: endlessHashes(marker),
          ...(transport === "tar" ? { transport: "tar" } : {})
        })
        const error = yield* Effect.flip((yield* RemotePeer.RemotePeers).stagePeer(peer, target, { verify: true }))
        expect(error._tag).toBe("RemoteCommandFailed")
        expect(error.message).toContain(`stopped after ${maxHashOutput(2)} bytes of output, more than sha256sum prints for 2 file(s)`)
        expect(processesWith(marker)).toEqual([])
        expect(snapshot(target)).toEqual({})
      }))
  })
}

// Signals to the real CLI (the built bin) while a remote peer is being copied, against the real
// loopback sshd (test/support/sshd.ts): the peer's shared ssh connection (a ControlMaster started
// by its indicator check, a process of its own that outlives the ssh that started it) must end
// with the peer, not linger until its ControlPersist runs out.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, inject, it } from "vitest"
import { makeScratch, requireServer } from "../support/sshd.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "signals")
afterAll(() => scratch.remove())

const BIN = path.join(import.meta.dirname, "../../dist/cli/main.js")

/** Every ssh process whose command line names `dir` (the masters of a working dir's peers). */
const sshUnder = (dir: string): Array<number> =>
  fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      // a master that went to the background renames itself `ssh: <ControlPath> [mux]`
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
      const program = argv[0] ?? ""
      return (path.basename(program) === "ssh" || program.startsWith("ssh: ")) && argv.some((arg) => arg.includes(dir)) ? [Number(pid)] : []
    } catch {
      return []
    }
  })

/** Polls (bounded) until `done` holds; false if it never did. */
const eventually = async (done: () => boolean, tries = 200): Promise<boolean> => {
  for (let i = 0; i < tries; i++) {
    if (done()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return done()
}

/**
 * A pool of one remote peer, reached with the harness's real ssh (so its indicator check starts a
 * shared connection), copied by a program that says it started, then never ends.
 */
const makePool = (label: string) => {
  const base = scratch.dir(label)
  const work = scratch.dir("work", { parent: base })
  const staging = scratch.dir("staging", { parent: base })
  const target = scratch.dir("target", { parent: base })
  const marks = scratch.dir("marks", { parent: base, owner: "local" })
  const collect = scratch.collectDir("collect", { "r.dat": "remote data\n", "cback.collect": "" }, base)
  const copying = path.join(marks, "copying")
  // named scp, so that it gets the shared connection's options: the real scp for the indicator
  // check (which starts the master), a copy that never ends for the stage
  const bin = scratch.dir("bin", { parent: base })
  const rcp = path.join(bin, "scp")
  fs.writeFileSync(rcp, [
    "#!/bin/sh",
    `case "$*" in *cback.collect*) exec ${server.rcpSftp} "$@" ;; esac`,
    `touch '${copying}'`,
    "exec sleep 600",
    ""
  ].join("\n"), { mode: 0o755 })
  const configPath = path.join(base, "pool.json")
  fs.writeFileSync(configPath, JSON.stringify({
    options: {
      startingDay: "monday",
      workingDir: work,
      backupUser: server.localUser,
      backupGroup: server.localUser,
      rcpCommand: rcp,
      rshCommand: server.rsh
    },
    peers: [{ name: server.host, type: "remote", collectDir: collect, backupUser: server.remoteUser }],
    stage: { stagingDir: staging }
  }))
  return { work, target, copying, configPath }
}

describe("a signal during a remote copy", () => {
  const commands = [
    ["stage-peer", (pool: ReturnType<typeof makePool>) => ["stage-peer", "--config", pool.configPath, "--peer", server.host, "--target", pool.target]],
    ["stage", (pool: ReturnType<typeof makePool>) => ["stage", "--config", pool.configPath]]
  ] as const
  for (const [command, args] of commands) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      it(`${command}, ${signal}: the peer's ssh master ends with it, its socket dir is gone`, async () => {
        const pool = makePool(`${command}-${signal}`)
        const child = spawn(process.execPath, [BIN, ...args(pool)])
        let stderr = ""
        child.stderr.on("data", (chunk) => (stderr += chunk))
        const exited = new Promise<number | null>((resolve) => child.on("close", (status) => resolve(status)))
        const copying = await eventually(() => fs.existsSync(pool.copying) || child.exitCode !== null, 1200)
        // the indicator check left its connection's master running, for the copy and what follows
        const masters = sshUnder(pool.work)
        if (!copying || child.exitCode !== null) child.kill("SIGKILL")
        expect(copying && child.exitCode === null, stderr).toBe(true)
        try {
          expect(masters.length, stderr).toBeGreaterThan(0)
        } finally {
          child.kill(signal)
        }
        expect(await exited).toBe(signal === "SIGTERM" ? 143 : 130)
        const gone = await eventually(() => masters.every((pid) => !fs.existsSync(`/proc/${pid}`)))
        // a master left behind is stopped here, by its pid, so that a failure leaves nothing running
        for (const pid of masters.filter((pid) => fs.existsSync(`/proc/${pid}`))) process.kill(pid, "SIGTERM")
        expect(gone).toBe(true)
        expect(fs.readdirSync(pool.work)).toEqual([])
      }, 60_000)
    }
  }
})

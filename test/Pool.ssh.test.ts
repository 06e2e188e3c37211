// Pool.stage and Pool.check on a mixed pool against the real loopback sshd (test/support/sshd.ts):
// real NodeServices, real SystemUsers (we run as root), real scp/ssh. As root the remote peer's
// local user is options.backupUser, so the backup user is the harness's local user (cplocal, with
// its own client key and a nologin shell) and everything the run makes belongs to it. The remote
// side is this machine, logged in to as cpremote. The CLI half runs the built bin (npm test builds
// dist first).
import { NodeServices } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, References } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, inject, it } from "vitest"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as Pool from "../src/pool/Pool.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import { makeScratch, requireServer, snapshot } from "./support/sshd.js"
import { FastRetries } from "./support/live.js"

const server = requireServer(inject("sshServer"))
const scratch = makeScratch(server, "pool-ssh")
afterAll(() => scratch.remove())

const BIN = path.join(import.meta.dirname, "../dist/cli/main.js")

const Live = Layer.mergeAll(LocalPeers.layer, RemotePeers.layer, FastRetries).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeServices.layer),
  // the not-ready peer is logged as an error on purpose: keep the test output readable
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "None"))
)
const real = { excludeTestServices: true } as const

// Thursday, 26 November 2026, local time.
const NOW = new Date(2026, 10, 26, 10, 30)

type Protocol = "sftp" | "legacy"

/** `uid:gid:mode:content`, as `snapshot` prints a file */
const asLocal = (content: string, mode = "644") => `${server.localUid}:${server.localGid}:${mode}:${content}`
const asRemote = (content: string) => `${server.remoteUid}:${server.remoteGid}:644:${content}`
const asRoot = (content: string) => `0:0:644:${content}`
const ids = (file: string) => {
  const info = fs.statSync(file)
  return `${info.uid}:${info.gid}`
}

/**
 * A pool: local alpha (ready), local beta (not ready), the remote peer 127.0.0.1 (ready, collect
 * dir owned by cpremote) and any extra peers, as a JSON config file with the harness's commands.
 */
const makePool = (label: string, options: { readonly protocol?: Protocol; readonly extraPeers?: ReadonlyArray<object> } = {}) => {
  const base = scratch.dir(label)
  const staging = scratch.dir("staging", { parent: base })
  const work = scratch.dir("work", { parent: base })
  const alpha = scratch.dir("alpha", { parent: base })
  fs.writeFileSync(path.join(alpha, "a.txt"), "alpha a\n")
  fs.writeFileSync(path.join(alpha, "b c.txt"), "bc")
  fs.writeFileSync(path.join(alpha, "cback.collect"), "")
  const beta = scratch.dir("beta", { parent: base })
  fs.writeFileSync(path.join(beta, "b.txt"), "beta")
  const remoteCollect = scratch.collectDir("remote collect", { "r.dat": "remote data\n", "cback.collect": "" }, base)
  const config = {
    options: {
      startingDay: "monday",
      workingDir: work,
      backupUser: server.localUser,
      backupGroup: server.localUser,
      rcpCommand: options.protocol === "legacy" ? server.rcpLegacy : server.rcpSftp,
      rshCommand: server.rsh
    },
    peers: [
      { name: "alpha", type: "local", collectDir: alpha },
      { name: "beta", type: "local", collectDir: beta },
      { name: server.host, type: "remote", collectDir: remoteCollect, backupUser: server.remoteUser },
      ...(options.extraPeers ?? [])
    ],
    stage: { stagingDir: staging }
  }
  const configPath = path.join(base, "pool.json")
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2))
  return { base, staging, work, alpha, beta, remoteCollect, config, configPath }
}

const cli = (args: ReadonlyArray<string>) => {
  const done = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 })
  return { status: done.status, stdout: done.stdout, stderr: done.stderr }
}

for (const protocol of ["sftp", "legacy"] as const) {
  layer(Live, real)(`Pool.stage on a mixed pool over ${protocol} scp`, (it) => {
    it.effect("stages the ready peers as the backup user, writes the indicators, gives every staged file to backup:backup, the directories to root:backup", () =>
      Effect.gen(function*() {
        const pool = makePool(`stage-${protocol}`, { protocol })
        const config = yield* Config.load(pool.configPath)
        const summary = yield* Pool.stage(config, { now: NOW })
        const daily = path.join(pool.staging, "2026/11/26")
        expect(summary).toEqual({
          dailyDir: daily,
          full: false,
          ok: false,
          peers: [
            { name: "alpha", type: "local", status: "staged", files: 3, bytes: 10, ignored: false },
            {
              name: "beta",
              type: "local",
              status: "not-ready",
              files: 0,
              bytes: 0,
              ignored: false,
              reason: "collect indicator cback.collect not found"
            },
            { name: server.host, type: "remote", status: "staged", files: 2, bytes: 12, ignored: false }
          ]
        })
        expect(snapshot(daily)).toEqual({
          alpha: "<dir>",
          beta: "<dir>",
          [server.host]: "<dir>",
          "cback.stage": asLocal("")
        })
        expect(snapshot(path.join(daily, "alpha"))).toEqual({
          "a.txt": asLocal("alpha a\n"),
          "b c.txt": asLocal("bc"),
          "cback.collect": asLocal("")
        })
        expect(snapshot(path.join(daily, "beta"))).toEqual({})
        // no private directory left in the peer dir or the working dir
        expect(snapshot(path.join(daily, server.host))).toEqual({ "cback.collect": asLocal(""), "r.dat": asLocal("remote data\n") })
        expect(snapshot(pool.work)).toEqual({})
        // the daily dir, its month and year and the peer dirs are root's with the backup group (0750):
        // the backup user reads them and can swap none of them for a link
        for (const dir of ["2026", "2026/11", "2026/11/26", "2026/11/26/alpha", "2026/11/26/beta", `2026/11/26/${server.host}`]) {
          const info = fs.statSync(path.join(pool.staging, dir))
          expect([dir, ids(path.join(pool.staging, dir)), info.mode & 0o7777]).toEqual([dir, `0:${server.localGid}`, 0o750])
        }
        expect(ids(pool.staging)).toBe("0:0")
        // stage indicators: in alpha's collect dir, on the remote collect dir (as the remote user), none for beta
        expect(snapshot(pool.alpha)).toEqual({
          "a.txt": asRoot("alpha a\n"),
          "b c.txt": asRoot("bc"),
          "cback.collect": asRoot(""),
          "cback.stage": asRoot("")
        })
        expect(snapshot(pool.beta)).toEqual({ "b.txt": asRoot("beta") })
        expect(snapshot(pool.remoteCollect)).toEqual({
          "cback.collect": asRemote(""),
          "cback.stage": asRemote(""),
          "r.dat": asRemote("remote data\n")
        })
      }))
  })
}

describe("cedar-peer stage and check on a mixed pool (the built CLI)", () => {
  beforeAll(() => {
    if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  })

  it("stage exits 1 while a local peer is not ready, 0 with --peer for the ready ones", () => {
    const pool = makePool("cli-stage")
    const done = cli(["stage", "--config", pool.configPath, "--json"])
    expect(done.status).toBe(1)
    const summary = JSON.parse(done.stdout)
    expect(summary).toEqual({
      dailyDir: expect.stringMatching(new RegExp(`^${pool.staging}/\\d{4}/\\d{2}/\\d{2}$`)),
      full: false,
      ok: false,
      peers: [
        { name: "alpha", type: "local", status: "staged", files: 3, bytes: 10, ignored: false },
        expect.objectContaining({ name: "beta", type: "local", status: "not-ready", files: 0, bytes: 0, ignored: false }),
        { name: server.host, type: "remote", status: "staged", files: 2, bytes: 12, ignored: false }
      ],
      // what stages just the failed peers again
      rerun: `cedar-peer stage --config ${pool.configPath} --peer beta`
    })
    // the end line uses the table's status word (not on a terminal, info lines go to stderr)
    expect(done.stderr).toMatch(/peer=beta not-ready: /)
    const daily: string = summary.dailyDir
    expect(snapshot(path.join(daily, server.host))).toEqual({ "cback.collect": asLocal(""), "r.dat": asLocal("remote data\n") })
    expect(snapshot(daily)["cback.stage"]).toBe(asLocal(""))
    expect(snapshot(pool.remoteCollect)["cback.stage"]).toBe(asRemote(""))
    expect(fs.existsSync(path.join(pool.beta, "cback.stage"))).toBe(false)

    const ready = cli(["stage", "--config", pool.configPath, "--json", "--peer", "alpha", "--peer", server.host])
    expect(ready.status).toBe(0)
    expect(JSON.parse(ready.stdout)).toEqual({
      dailyDir: daily,
      full: false,
      ok: true,
      peers: [
        { name: "alpha", type: "local", status: "staged", files: 4, bytes: 10, ignored: false },
        { name: server.host, type: "remote", status: "staged", files: 3, bytes: 12, ignored: false }
      ]
    })
  })

  // A site names its peers by the aliases of the backup user's ssh config (`Host db_1`, not a DNS
  // name): the whole pool runs, over both scp protocols, the peer's directory named by the alias.
  for (const protocol of ["sftp", "legacy"] as const) {
    it(`stages a remote peer named by an ssh alias (${server.alias}) from a cback3.conf, over ${protocol} scp`, () => {
      const pool = makePool(`cli-alias-${protocol}`, { protocol })
      const xml = path.join(pool.base, "cback3.conf")
      fs.writeFileSync(xml, `<?xml version="1.0"?>
<cb_config>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>${pool.work}</working_dir>
    <backup_user>${server.localUser}</backup_user>
    <backup_group>${server.localUser}</backup_group>
    <rcp_command>${protocol === "legacy" ? server.rcpLegacy : server.rcpSftp}</rcp_command>
    <rsh_command>${server.rsh}</rsh_command>
  </options>
  <stage>
    <staging_dir>${pool.staging}</staging_dir>
    <peer><name>alpha</name><type>local</type><collect_dir>${pool.alpha}</collect_dir></peer>
    <peer><name>${server.alias}</name><type>remote</type><collect_dir>${pool.remoteCollect}</collect_dir><backup_user>${server.remoteUser}</backup_user></peer>
  </stage>
</cb_config>
`)
      expect(cli(["validate", "--config", xml, "--reach"]).status).toBe(0)
      const done = cli(["stage", "--config", xml, "--json"])
      expect(done.stderr).not.toMatch(/error|WARN/)
      expect(done.status).toBe(0)
      const summary = JSON.parse(done.stdout)
      expect(summary.peers).toEqual([
        { name: "alpha", type: "local", status: "staged", files: 3, bytes: 10, ignored: false },
        { name: server.alias, type: "remote", status: "staged", files: 2, bytes: 12, ignored: false }
      ])
      expect(snapshot(path.join(summary.dailyDir, server.alias))).toEqual({ "cback.collect": asLocal(""), "r.dat": asLocal("remote data\n") })
      expect(snapshot(pool.remoteCollect)["cback.stage"]).toBe(asRemote(""))
    })
  }

  it("check --json shows a remote peer that cannot be resolved as unreachable", () => {
    const pool = makePool("cli-check", {
      extraPeers: [{ name: "hostname.invalid", type: "remote", collectDir: "/nowhere", backupUser: server.remoteUser }]
    })
    const done = cli(["check", "--config", pool.configPath, "--json"])
    expect(done.status).toBe(1)
    const summary = JSON.parse(done.stdout)
    expect(summary).toEqual({
      ok: false,
      peers: [
        { name: "alpha", type: "local", ready: true, status: "ready" },
        { name: "beta", type: "local", ready: false, status: "not-ready", reason: "collect indicator cback.collect not found" },
        { name: server.host, type: "remote", ready: true, status: "ready" },
        {
          name: "hostname.invalid",
          type: "remote",
          ready: false,
          status: "unreachable",
          // scp -q in SFTP mode says only this when ssh cannot resolve the host (observed with OpenSSH 9.2)
          reason: "/usr/bin/scp exited with status 255: /usr/bin/scp: Connection closed",
          // a second look through ssh, which is not quiet about it
          cause: "unknown host"
        }
      ]
    })
    // a check leaves nothing behind
    expect(snapshot(pool.staging)).toEqual({})
    expect(snapshot(pool.work)).toEqual({})
    const ready = cli(["check", "--config", pool.configPath, "--json", "--peer", "alpha", "--peer", server.host])
    expect(ready.status).toBe(0)
    expect(JSON.parse(ready.stdout).ok).toBe(true)
  })

  it("exec prints the remote command's output; a failing command exits 1 with error[RemoteCommandFailed]", () => {
    const pool = makePool("cli-exec")
    const done = cli(["exec", "--config", pool.configPath, "--peer", server.host, "--", "echo hello from $(id -un)"])
    expect(done.status).toBe(0)
    expect(done.stdout).toBe(`hello from ${server.remoteUser}\n`)
    const json = cli(["exec", "--config", pool.configPath, "--peer", server.host, "--json", "--", "echo out; echo err >&2"])
    expect(json.status).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, peer: server.host, command: "echo out; echo err >&2", stdout: "out\n", stderr: "err\n" })
    const failed = cli(["exec", "--config", pool.configPath, "--peer", server.host, "--", "echo broken >&2; exit 3"])
    expect(failed.status).toBe(1)
    expect(failed.stderr).toMatch(new RegExp(`^error\\[RemoteCommandFailed\\] peer ${server.host.replace(/\./g, "\\.")}: remote command exited with status 3 .*: broken$`, "m"))
  })
})

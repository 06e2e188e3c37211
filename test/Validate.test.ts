// Validate: the environment checks on a memory disk with fixed users, the reach check against a
// scripted spawner, and the staging-dir requirement of Pool.stage.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Path } from "effect"
import { TestClock } from "effect/testing"
import * as Config from "../src/config/Config.js"
import { LocalPeers } from "../src/peers/LocalPeer.js"
import * as Pool from "../src/pool/Pool.js"
import { RemotePeers } from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"
import * as ScriptedSpawner from "../src/testing/ScriptedSpawner.js"
import * as Validate from "../src/pool/Validate.js"

// remote peers land what they stage through a staging disk; the reach checks never get that far
const RemoteOnMemory = RemotePeers.layer.pipe(Layer.provide(MemoryStagingDisk.make().layer))

const USERS = SystemUsers.layerTest({ root: false, users: { backup: { uid: 34, gid: 34 } }, groups: { backup: 34 } })
const PATH = "/usr/local/bin:/usr/bin"

// A machine where everything the minimal pools below need exists.
const GOOD = {
  files: { "/usr/bin/scp": "", "/usr/bin/ssh": "", "/srv/alpha/a": "1" },
  directories: ["/work", "/stage"]
}
const memory = (options: MemoryFileSystem.Options = GOOD) => {
  const made = MemoryFileSystem.make(options)
  // memfs creates files 0644: the programs need their execute bits, as on a real system
  for (const file of Object.keys(options.files ?? {})) if (file.includes("/bin/")) made.volume.chmodSync(file, 0o755)
  return made
}

const xmlPool = (body: { options?: string; peers?: string; stage?: string }) =>
  Config.decodeXml(
    `<cb_config><options><starting_day>monday</starting_day><working_dir>/work</working_dir>
      <backup_user>backup</backup_user><backup_group>backup</backup_group>${body.options ?? ""}</options>
      ${body.peers === undefined ? "" : `<peers>${body.peers}</peers>`}
      ${body.stage ?? "<stage><staging_dir>/stage</staging_dir></stage>"}</cb_config>`,
    "/etc/cback3.conf"
  ).pipe(Effect.orDie)
const xmlPeer = (fields: string) => `<peer>${fields}</peer>`
const xmlLocal = (name: string, dir: string) => xmlPeer(`<name>${name}</name><type>local</type><collect_dir>${dir}</collect_dir>`)
const xmlRemote = (name: string, extra = "") => xmlPeer(`<name>${name}</name><type>remote</type><collect_dir>/c</collect_dir>${extra}`)

const problemsOn = (made: MemoryFileSystem.MemoryFileSystem, config: Config.PoolConfig, users = USERS) =>
  Validate.environment(config, { searchPath: PATH }).pipe(Effect.provide(Layer.merge(made.layer, users)))

describe("Validate.environment", () => {
  it.effect("lists every problem of a pool that cannot run here, located by its XML element", () =>
    Effect.gen(function*() {
      const made = memory({
        files: {
          "/stage": "a file, not a directory",
          "/srv/beta": "a file",
          "/usr/bin/myrsh": "not executable",
          "/opt/tools/scp": "not executable"
        }
      })
      made.volume.chmodSync("/usr/bin/myrsh", 0o644)
      const config = yield* xmlPool({
        options: "<backup_user>nobody</backup_user><rcp_command>/opt/tools/scp -B</rcp_command>",
        peers: [
          xmlLocal("alpha", "/srv/alpha"),
          xmlLocal("beta", "/srv/beta"),
          xmlRemote("db1", "<rsh_command>/usr/bin/myrsh -x</rsh_command>"),
          xmlRemote("db2", "<rcp_command>scp</rcp_command><rsh_command>'/usr/bin/my ssh'</rsh_command>"),
          xmlRemote("db3")
        ].join("\n") // a peer a line, so that each is told by its line
      })
      expect(yield* problemsOn(made, config, SystemUsers.layerTest({ root: true }))).toStrictEqual([
        "options.backup_user (line 2): no user named backup on this machine",
        "options.backup_group (line 2): no group named backup on this machine",
        "options.working_dir (line 1): /work does not exist",
        "stage.staging_dir (line 8): /stage is not a directory",
        "peer alpha (line 3) collect_dir: /srv/alpha does not exist",
        "peer beta (line 4) collect_dir: /srv/beta is not a directory",
        "options.rcp_command (line 2): program /opt/tools/scp is not executable",
        "peer db1 (line 5) rsh_command: program /usr/bin/myrsh is not executable",
        `peer db2 (line 6) rcp_command: program scp is not found in PATH (${PATH})`,
        "peer db2 (line 6) rsh_command: program /usr/bin/my ssh does not exist",
        "options.rsh_command: not set, and the default program /usr/bin/ssh does not exist"
      ])
    }))

  it.effect("locates the same problems by JSON key for a JSON config, and in <stage>'s own peer list", () =>
    Effect.gen(function*() {
      const json = yield* Config.decodeUnknown({
        options: { startingDay: "monday", workingDir: "/nowhere", backupUser: "backup", backupGroup: "backup" },
        peers: [{ name: "alpha", type: "local", collectDir: "/srv/gone" }],
        stage: { stagingDir: "/stage" }
      }, "/etc/cedar/pool.json")
      expect(yield* problemsOn(memory(), json)).toStrictEqual([
        "options.workingDir: /nowhere does not exist",
        "peer alpha (peers #1) collectDir: /srv/gone does not exist"
      ])
      const staged = yield* xmlPool({
        peers: xmlLocal("old", "/srv/alpha"),
        stage: `<stage><staging_dir>/stage</staging_dir>${xmlLocal("alpha", "/srv/alpha")}\n${xmlLocal("gamma", "/srv/gamma")}</stage>`
      })
      expect(yield* problemsOn(memory(), staged)).toStrictEqual(["peer gamma (line 5) collect_dir: /srv/gamma does not exist"])
    }))

  it.effect("reports directories it cannot read or write, and stat failures", () =>
    Effect.gen(function*() {
      const made = memory({
        ...GOOD,
        fail: (operation, path) => (operation === "stat" && path === "/srv/alpha" ? "PermissionDenied" : undefined)
      })
      made.volume.chmodSync("/work", 0o555) // memfs applies permission bits to root too
      made.volume.chmodSync("/stage", 0o333)
      const config = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") })
      expect(yield* problemsOn(made, config)).toStrictEqual([
        "options.working_dir (line 1): /work is not writable",
        "stage.staging_dir (line 4): /stage is not readable",
        "peer alpha (line 3) collect_dir: /srv/alpha cannot be checked: permission denied"
      ])
    }))

  it.effect("checks each command once where it is set, finds bare names in PATH, and skips rcp for tar peers", () =>
    Effect.gen(function*() {
      const made = memory({
        files: { "/usr/local/bin/ssh": "not executable", "/usr/bin/ssh": "", "/usr/bin/scp": "" },
        directories: ["/work", "/stage"]
      })
      made.volume.chmodSync("/usr/local/bin/ssh", 0o644)
      const config = yield* xmlPool({
        options: "<rsh_command>ssh -p 2222</rsh_command><rcp_command>/nowhere/scp</rcp_command>",
        peers: [
          xmlRemote("db1", "<transport>tar</transport>"),
          xmlRemote("db2", "<transport>tar</transport><rcp_command>/nowhere/scp</rcp_command>"),
          xmlRemote("db3", "<rcp_command>/usr/bin/scp -P 2</rcp_command>")
        ].join("")
      })
      // ssh: the non-executable one in /usr/local/bin is passed over for /usr/bin's, as execvp does.
      expect(yield* problemsOn(made, config)).toStrictEqual([])
      const scpToo = yield* xmlPool({
        options: "<rsh_command>ssh -p 2222</rsh_command><rcp_command>/nowhere/scp</rcp_command>",
        peers: [xmlRemote("db1"), xmlRemote("db2")].join("")
      })
      expect(yield* problemsOn(made, scpToo)).toStrictEqual(["options.rcp_command (line 2): program /nowhere/scp does not exist"])
    }))

  it.effect("is empty for a pool that can run, and validate then succeeds", () =>
    Effect.gen(function*() {
      const config = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") + xmlRemote("db1") })
      const made = memory()
      expect(yield* problemsOn(made, config)).toStrictEqual([])
      const exec = ScriptedSpawner.make(() => ({ exitCode: 0 }))
      yield* Validate.validate(config, { searchPath: PATH }).pipe(
        Effect.provide(RemoteOnMemory.pipe(Layer.provideMerge(Layer.mergeAll(made.layer, USERS, exec.layer, Path.layer))))
      )
      expect(exec.calls).toStrictEqual([]) // no --reach: nothing run
    }))

  it.effect("validate fails with one ConfigError listing every problem, reach included", () =>
    Effect.gen(function*() {
      const config = yield* xmlPool({ peers: xmlRemote("db1") })
      const noGroup = SystemUsers.layerTest({ root: false, users: { backup: { uid: 34, gid: 34 } } })
      const exec = ScriptedSpawner.make(() => ({ exitCode: 255, stderr: "ssh: connect to host db1 port 22: Connection refused\r\n" }))
      const error = yield* Effect.flip(Validate.validate(config, { searchPath: PATH, reach: true }).pipe(
        Effect.provide(RemoteOnMemory.pipe(Layer.provideMerge(Layer.mergeAll(memory().layer, noGroup, exec.layer, Path.layer))))
      ))
      expect(error._tag).toBe("ConfigError")
      expect(error.path).toBe("/etc/cback3.conf")
      expect(error.problems).toStrictEqual([
        "options.backup_group (line 2): no group named backup on this machine",
        "peers.peer[0]: cannot reach db1: ssh: connect to host db1 port 22: Connection refused"
      ])
    }))
})

describe("Validate.reach", () => {
  const reachLayer = (exec: ScriptedSpawner.ScriptedSpawner) =>
    RemoteOnMemory.pipe(Layer.provideMerge(Layer.mergeAll(memory().layer, USERS, exec.layer, Path.layer)))

  it.effect("tries every remote peer in batch mode with its connect timeout, and names those that cannot be reached", () =>
    Effect.gen(function*() {
      const config = yield* xmlPool({
        options: "<timeouts><connect>10</connect></timeouts>",
        peers: [
          xmlLocal("alpha", "/srv/alpha"),
          xmlRemote("up.example.org"),
          xmlRemote("refused.example.org", "<rsh_command>/usr/bin/ssh -p 2222 -o ConnectTimeout=3</rsh_command>"),
          xmlRemote("denied.example.org", "<backup_user>cback</backup_user><timeouts><connect>1m</connect></timeouts>"),
          xmlRemote("wrapped.example.org", "<rsh_command>/usr/local/bin/rsh-wrapper --quiet</rsh_command>")
        ].join("")
      })
      const exec = ScriptedSpawner.make((argv) =>
        argv.some((word) => word.includes("refused"))
          ? { exitCode: 255, stderr: "ssh: connect to host refused.example.org port 2222: Connection refused\r\n" }
          : argv.some((word) => word.includes("denied"))
          ? { exitCode: 255, stderr: "Warning: Permanently added 'denied.example.org'.\ncback@denied.example.org: Permission denied (publickey).\n" }
          : argv.some((word) => word.includes("wrapped"))
          ? { exitCode: 1 }
          : { exitCode: 0 }
      )
      const problems = yield* Validate.reach(config).pipe(Effect.provide(reachLayer(exec)))
      expect(problems).toStrictEqual([
        "peers.peer[2]: cannot reach refused.example.org: ssh: connect to host refused.example.org port 2222: Connection refused",
        "peers.peer[3]: cannot reach denied.example.org: cback@denied.example.org: Permission denied (publickey).",
        "peers.peer[4]: wrapped.example.org: the rsh command running `true` there exited with status 1"
      ])
      // The ssh options every command of a peer gets (see RemotePeers): its connect timeout, the
      // keep-alives and batch mode, each left out where the command line sets it itself (its own
      // ConnectTimeout=3 wins); a program that is not ssh gets none.
      const alive = ["-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3"]
      const batch = ["-o", "BatchMode=yes"]
      expect([...exec.calls].sort()).toStrictEqual([
        ["/usr/bin/ssh", "-o", "ConnectTimeout=10", ...alive, ...batch, "--", "backup@up.example.org", "true"],
        ["/usr/bin/ssh", "-o", "ConnectTimeout=60", ...alive, ...batch, "--", "cback@denied.example.org", "true"],
        ["/usr/bin/ssh", "-p", "2222", "-o", "ConnectTimeout=3", ...alive, ...batch, "--", "backup@refused.example.org", "true"],
        ["/usr/local/bin/rsh-wrapper", "--quiet", "--", "backup@wrapped.example.org", "true"]
      ].sort())
    }))

  it.effect("gives up on a peer that never answers, after twice its connect timeout and 5 s", () =>
    Effect.gen(function*() {
      const config = yield* xmlPool({ peers: xmlRemote("silent.example.org") + xmlRemote("up.example.org") })
      const exec = ScriptedSpawner.make((argv) => (argv.some((word) => word.includes("silent")) ? { exitCode: 0, hang: true } : { exitCode: 0 }))
      const fiber = yield* Effect.forkChild(Validate.reach(config).pipe(Effect.provide(reachLayer(exec))))
      for (let i = 0; i < 1000 && exec.calls.length < 2; i++) yield* Effect.yieldNow
      yield* TestClock.adjust("64 seconds")
      expect(fiber.pollUnsafe()).toBeUndefined() // still running
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toStrictEqual(["peers.peer[0]: cannot reach silent.example.org: no answer within 65s"])
    }))

  it.effect("is empty without remote peers, running nothing", () =>
    Effect.gen(function*() {
      const exec = ScriptedSpawner.make(() => ({ exitCode: 0 }))
      const config = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") })
      expect(yield* Validate.reach(config).pipe(Effect.provide(reachLayer(exec)))).toStrictEqual([])
      expect(exec.calls).toStrictEqual([])
    }))
})

describe("Validate.requireStagingDir and Pool.stage", () => {
  it.effect("fails with a located ConfigError when the staging dir is missing or not a directory", () =>
    Effect.gen(function*() {
      const xml = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha"), stage: "<stage><staging_dir>/stgae</staging_dir></stage>" })
      const missing = yield* Effect.flip(Validate.requireStagingDir(xml).pipe(Effect.provide(memory().layer)))
      expect(missing.problems).toStrictEqual([
        "stage.staging_dir: /stgae does not exist (the stage does not create the staging directory: create it, or correct the path)"
      ])
      const json = yield* Config.decodeUnknown({
        options: { startingDay: "monday", workingDir: "/work", backupUser: "backup", backupGroup: "backup" },
        peers: [{ name: "alpha", type: "local", collectDir: "/srv/alpha" }],
        stage: { stagingDir: "/srv/alpha/a" }
      }, "pool.json")
      const file = yield* Effect.flip(Validate.requireStagingDir(json).pipe(Effect.provide(memory().layer)))
      expect(file).toMatchObject({ _tag: "ConfigError", path: "pool.json", problems: ["stage.stagingDir: /srv/alpha/a is not a directory"] })
      yield* Validate.requireStagingDir({ ...json, stagingDir: "/stage" }).pipe(Effect.provide(memory().layer))
    }))

  it.effect("Pool.stage refuses to run with a missing staging dir, creating nothing", () =>
    Effect.gen(function*() {
      const made = memory({ files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" }, directories: ["/work"] })
      const config = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") })
      const exec = ScriptedSpawner.make(() => ({ exitCode: 0 }))
      const error = yield* Effect.flip(Pool.stage(config).pipe(
        Effect.provide(
          Layer.mergeAll(LocalPeers.layer, RemotePeers.layer).pipe(
            Layer.provideMerge(Layer.mergeAll(made.layer, MemoryStagingDisk.make({ volume: made.volume }).layer, USERS, exec.layer, Path.layer))
          )
        )
      ))
      expect(error._tag).toBe("ConfigError")
      expect(made.volume.existsSync("/stage")).toBe(false)
      expect(exec.calls).toStrictEqual([])
    }))

  it.effect("Pool.stage as root names an unknown backup user and group by their XML elements", () =>
    Effect.gen(function*() {
      const made = memory({ files: { "/srv/alpha/a": "1", "/srv/alpha/cback.collect": "" }, directories: ["/work", "/stage"] })
      const config = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") })
      const exec = ScriptedSpawner.make(() => ({ exitCode: 0 }))
      const error = yield* Effect.flip(Pool.stage(config).pipe(
        Effect.provide(
          Layer.mergeAll(LocalPeers.layer, RemotePeers.layer).pipe(
            Layer.provideMerge(Layer.mergeAll(made.layer, MemoryStagingDisk.make({ volume: made.volume }).layer, SystemUsers.layerTest({ root: true }), exec.layer, Path.layer))
          )
        )
      ))
      expect(error).toMatchObject({
        _tag: "ConfigError",
        problems: [
          "options.backup_user: no such user on this machine: backup",
          "options.backup_group: no such group on this machine: backup"
        ]
      })
    }))
})

describe("Validate.warnings", () => {
  it.effect("warns of what cback3 would trip over: a working dir the backup user cannot write, a backup user without a login shell", () =>
    Effect.gen(function*() {
      const made = memory()
      made.volume.chownSync("/work", 0, 0)
      made.volume.chmodSync("/work", 0o755)
      const pool = yield* xmlPool({ peers: xmlLocal("alpha", "/srv/alpha") })
      const nologin = SystemUsers.layerTest({ root: true, users: { backup: { uid: 34, gid: 34, shell: "/usr/sbin/nologin" } }, groups: { backup: 34 } })
      expect(yield* Validate.warnings(pool).pipe(Effect.provide(Layer.merge(made.layer, nologin)))).toStrictEqual([
        "options.backup_user: backup has no login shell (/usr/sbin/nologin): cedar-peer runs commands as it without a shell, but cback3 uses `su -c`, which would fail",
        "options.working_dir: /work is not writable by the backup user backup: cedar-peer does not need it to be, but cback3 would fail there"
      ])
      // the working dir the backup group's to write, a login shell: nothing to say
      made.volume.chownSync("/work", 0, 34)
      made.volume.chmodSync("/work", 0o775)
      const shell = SystemUsers.layerTest({ root: true, users: { backup: { uid: 34, gid: 34, shell: "/bin/sh" } }, groups: { backup: 34 } })
      expect(yield* Validate.warnings(pool).pipe(Effect.provide(Layer.merge(made.layer, shell)))).toStrictEqual([])
    }))
})

// The CLI as a user runs it: the built bin in a child process, real files, exit statuses and output.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const done = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 })
  return { status: done.status, stdout: done.stdout, stderr: done.stderr }
}

let root: string
const user = process.getuid?.() === 0 ? "root" : "nobody"
// validate checks that the group exists: not every system has a group named like the user nobody.
const group = process.getuid?.() === 0 ? "root" : spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim()

/** A pool of local peers under a fresh root: `ready` peers have the collect indicator. */
const makePool = (name: string, peers: ReadonlyArray<{ name: string; ready: boolean; files: Record<string, string>; ignoreFailures?: string }>) => {
  const base = join(root, name)
  mkdirSync(join(base, "staging"), { recursive: true })
  mkdirSync(join(base, "work"), { recursive: true })
  for (const peer of peers) {
    const dir = join(base, "peers", peer.name)
    mkdirSync(dir, { recursive: true })
    for (const [file, content] of Object.entries(peer.files)) writeFileSync(join(dir, file), content)
    if (peer.ready) writeFileSync(join(dir, "cback.collect"), "")
  }
  const config = {
    options: { startingDay: "monday", workingDir: join(base, "work"), backupUser: user, backupGroup: group },
    peers: peers.map((p) => ({
      name: p.name,
      type: "local",
      collectDir: join(base, "peers", p.name),
      ...(p.ignoreFailures ? { ignoreFailures: p.ignoreFailures } : {})
    })),
    stage: { stagingDir: join(base, "staging") }
  }
  const configPath = join(base, "pool.json")
  writeFileSync(configPath, JSON.stringify(config, null, 2))
  return { base, configPath }
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  root = mkdtempSync(join(tmpdir(), "cedar-peer-cli-"))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("cedar-peer", () => {
  it("prints its version and help", () => {
    const version = cli(["--version"])
    expect(version.status).toBe(0)
    expect(version.stdout.trim()).toBe("0.1.0")
    const help = cli(["--help"])
    expect(help.status).toBe(0)
    for (const command of ["stage", "check", "stage-peer", "write-indicator", "exec", "action", "validate", "demo"]) {
      expect(help.stdout).toContain(command)
    }
  })

  it("exits 2 on a bad flag", () => {
    const done = cli(["stage", "--no-such-flag"])
    expect(done.status).toBe(2)
  })

  it("exits 2 with error[ConfigError] for a missing config file, and a JSON document with --json", () => {
    const done = cli(["validate", "--config", join(root, "missing.json"), "--json"])
    expect(done.status).toBe(2)
    expect(done.stderr).toMatch(/^error\[ConfigError\] .*missing\.json/m)
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: false, error: { _tag: "ConfigError" } })
  })

  it("validates a config and prints the pool", () => {
    const { configPath } = makePool("validate", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = cli(["validate", "--config", configPath])
    expect(done.status).toBe(0)
    expect(done.stdout).toContain("peer alpha: local")
    const json = JSON.parse(cli(["validate", "--config", configPath, "--json"]).stdout)
    expect(json.ok).toBe(true)
    expect(json.peers.map((p: { name: string }) => p.name)).toEqual(["alpha"])
  })

  it("exits 2 for an unknown peer name", () => {
    const { configPath } = makePool("unknown", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = cli(["write-indicator", "--config", configPath, "--peer", "nope"])
    expect(done.status).toBe(2)
    expect(done.stderr).toMatch(/^error\[InvalidPeerConfig\] peer nope: /m)
  })

  it("checks collect indicators: exit 1 when a peer is not ready", () => {
    const { configPath } = makePool("check", [
      { name: "alpha", ready: true, files: { a: "1" } },
      { name: "beta", ready: false, files: { b: "2" } }
    ])
    const done = cli(["check", "--config", configPath, "--json"])
    expect(done.status).toBe(1)
    expect(JSON.parse(done.stdout)).toEqual({
      ok: false,
      peers: [
        { name: "alpha", type: "local", ready: true, status: "ready" },
        expect.objectContaining({ name: "beta", type: "local", ready: false, status: "not-ready" })
      ]
    })
    const onlyAlpha = cli(["check", "--config", configPath, "--peer", "alpha"])
    expect(onlyAlpha.status).toBe(0)
    expect(onlyAlpha.stdout).toMatch(/alpha\s+local\s+ready/)
  })

  it("stages a peer of 1,000 files and reports the count, in text and JSON", () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 1000; i++) files[`file-${String(i).padStart(4, "0")}.dat`] = `content ${i}\n`
    const { base, configPath } = makePool("thousand", [{ name: "alpha", ready: false, files }])
    const target = join(base, "target")
    mkdirSync(target)
    const text = cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", target])
    expect(text.status).toBe(0)
    expect(text.stdout).toContain("staged 1000 file(s)")
    expect(readdirSync(target)).toHaveLength(1000)

    const again = join(base, "target2")
    mkdirSync(again)
    const json = cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", again, "--json", "--mode", "600"])
    expect(json.status).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report).toMatchObject({ ok: true, peer: "alpha", targetDir: again, count: 1000 })
    expect(report.files).toHaveLength(1000)
    expect(report.bytes).toBe(Object.values(files).reduce((n, c) => n + Buffer.byteLength(c), 0))
  })

  it("stage-peer: exit 1 with error[InvalidPath] for a missing target, exit 2 for a bad --mode", () => {
    const { base, configPath } = makePool("badtarget", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", join(base, "nope")])
    expect(done.status).toBe(1)
    expect(done.stderr).toMatch(/^error\[InvalidPath\] peer alpha: /m)
    const badMode = cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", base, "--mode", "999"])
    expect(badMode.status).toBe(2)
  })

  it("writes a stage indicator", () => {
    const { base, configPath } = makePool("indicator", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = cli(["write-indicator", "--config", configPath, "--peer", "alpha"])
    expect(done.status).toBe(0)
    expect(readFileSync(join(base, "peers", "alpha", "cback.stage"), "utf8")).toBe("")
  })

  it("stages a pool: exit 1 when a peer is not ready and its failures are not ignored", () => {
    const { base, configPath } = makePool("stage", [
      { name: "alpha", ready: true, files: { "a.txt": "aaa", "b c.txt": "bb" } },
      { name: "beta", ready: false, files: { b: "2" } },
      { name: "gamma", ready: false, files: { c: "3" }, ignoreFailures: "all" }
    ])
    const done = cli(["stage", "--config", configPath, "--json"])
    expect(done.status).toBe(1)
    const summary = JSON.parse(done.stdout)
    expect(summary.ok).toBe(false)
    expect(summary.full).toBe(false)
    expect(summary.peers).toEqual([
      { name: "alpha", type: "local", status: "staged", files: 3, bytes: 5, ignored: false },
      { name: "beta", type: "local", status: "not-ready", files: 0, bytes: 0, ignored: false },
      { name: "gamma", type: "local", status: "not-ready", files: 0, bytes: 0, ignored: true }
    ])
    expect(summary.dailyDir.startsWith(join(base, "staging") + "/")).toBe(true)
    expect(readdirSync(join(summary.dailyDir, "alpha")).sort()).toEqual(["a.txt", "b c.txt", "cback.collect"])
    expect(existsSync(join(summary.dailyDir, "cback.stage"))).toBe(true)
    expect(existsSync(join(base, "peers", "alpha", "cback.stage"))).toBe(true)
    expect(existsSync(join(base, "peers", "beta", "cback.stage"))).toBe(false)
    expect(done.stderr).toMatch(/peer=beta .*not ready/)

    const onlyAlpha = cli(["stage", "--config", configPath, "--peer", "alpha", "--full"])
    expect(onlyAlpha.status).toBe(0)
    expect(onlyAlpha.stdout).toMatch(/alpha\s+local\s+staged/)
  })

  it("runs the demo out of the box", () => {
    const dir = join(root, "demo")
    const done = cli(["demo", dir])
    expect(done.status).toBe(0)
    expect(done.stdout).toContain(join(dir, "cback3.conf"))
    expect(done.stdout).toMatch(/alpha\s+local\s+staged/)
    expect(done.stdout).toMatch(/gamma\s+local\s+not-ready/)
    const json = JSON.parse(cli(["demo", join(root, "demo2"), "--json"]).stdout)
    expect(json.ok).toBe(true)
    expect(json.peers.map((p: { status: string }) => p.status)).toEqual(["staged", "staged", "not-ready"])
  })

  it("action: an action no managed peer runs is a warning with exit 0; a bad action name exits 2", () => {
    const { configPath } = makePool("action", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const none = cli(["action", "collect", "--config", configPath])
    expect(none.status).toBe(0)
    expect(none.stderr).toMatch(/WARN.*no managed peer runs the action collect/)
    const bad = cli(["action", "collect;touch x", "--config", configPath])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/^error\[InvalidPeerConfig\]/m)
  })

  it("exec refuses a local peer with exit 2", () => {
    const { configPath } = makePool("exec", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = cli(["exec", "--config", configPath, "--peer", "alpha", "true"])
    expect(done.status).toBe(2)
    expect(done.stderr).toMatch(/^error\[InvalidPeerConfig\] peer alpha: /m)
  })
})

describe("cedar-peer interrupted", () => {
  it("Ctrl-C in the middle of a stage leaves nothing half-done: no temporary file, no staged file", async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 4000; i++) files[`f${i}`] = "x".repeat(4096)
    const { base, configPath } = makePool("interrupt", [{ name: "alpha", ready: false, files }])
    const target = join(base, "target")
    mkdirSync(target)
    writeFileSync(join(target, "f7"), "an older f7")
    const { spawn } = await import("node:child_process")
    const child = spawn(process.execPath, [BIN, "stage-peer", "--config", configPath, "--peer", "alpha", "--target", target])
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    // interrupt as soon as the copy is under way (bounded polling, no timing assumption)
    let sawTemporary = false
    for (let i = 0; i < 2000 && child.exitCode === null; i++) {
      if (readdirSync(target).some((name) => name.startsWith(".cedar-peer-"))) {
        sawTemporary = true
        child.kill("SIGINT")
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const status = await exited
    if (!sawTemporary) throw new Error(`the stage ended (status ${status}) before it could be interrupted: use more files`)
    expect(status).toBe(130)
    expect(readdirSync(target)).toEqual(["f7"])
    expect(readFileSync(join(target, "f7"), "utf8")).toBe("an older f7")
  })
})

describe("cedar-peer progress", () => {
  const pool = () =>
    makePool(`progress-${Math.random().toString(36).slice(2)}`, [
      { name: "alpha", ready: true, files: { "a.txt": "aaa" } },
      { name: "beta", ready: false, files: { b: "2" }, ignoreFailures: "all" }
    ])

  it("shows files and bytes per peer on stderr when it is a terminal", () => {
    const { configPath } = pool()
    // script(1) gives the child a pseudo-terminal; its stdout and stderr both arrive on ours
    const done = spawnSync("script", ["-qec", `${process.execPath} ${BIN} stage --config ${configPath}`, "/dev/null"], {
      encoding: "utf8",
      timeout: 60_000
    })
    expect(done.status).toBe(0)
    expect(done.stdout).toMatch(/^ {2}alpha: staged, 2 file\(s\), 3 B\r?$/m)
    expect(done.stdout).toMatch(/^ {2}beta: not-ready, 0 file\(s\), 0 B\r?$/m)
  })

  it("is silent when stderr is not a terminal", () => {
    const { configPath } = pool()
    const done = cli(["stage", "--config", configPath])
    expect(done.status).toBe(0)
    expect(done.stderr).not.toMatch(/^ {2}alpha: staged/m)
    expect(done.stdout).not.toMatch(/^ {2}alpha: staged/m)
  })
})

// The CLI as a user runs it: the built bin in a child process, real files, exit statuses and output.
import { spawn, spawnSync } from "node:child_process"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")

/** Runs the bin without blocking the test worker (a blocked worker misses vitest's heartbeats on a loaded machine). */
const cli = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: { readonly cwd?: string; readonly input?: string } = {}
) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 60_000
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.stdin.end(options.input ?? "")
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

/** Runs the bin on a pseudo-terminal (script(1)); stdout and stderr both arrive on its stdout. */
const onTerminal = (command: string) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 })
    let stdout = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.on("close", (status) => resolve({ status, stdout }))
  })

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
  it("prints its version and help", async () => {
    const version = await cli(["--version"])
    expect(version.status).toBe(0)
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")).version)
    const help = await cli(["--help"])
    expect(help.status).toBe(0)
    for (const command of ["stage", "check", "stage-peer", "write-indicator", "exec", "action", "validate", "demo"]) {
      expect(help.stdout).toContain(command)
    }
  })

  it("exits 2 on a bad flag", async () => {
    const done = await cli(["stage", "--no-such-flag"])
    expect(done.status).toBe(2)
  })

  it("exits 2 with error[ConfigError] for a missing config file, and a JSON document with --json", async () => {
    const done = await cli(["validate", "--config", join(root, "missing.json"), "--json"])
    expect(done.status).toBe(2)
    expect(done.stderr).toMatch(/^error\[ConfigError\] .*missing\.json/m)
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: false, error: { _tag: "ConfigError" } })
  })

  it("validates a config and prints the pool", async () => {
    const { configPath } = makePool("validate", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["validate", "--config", configPath])
    expect(done.status).toBe(0)
    expect(done.stdout).toContain("peer alpha: local")
    const json = JSON.parse((await cli(["validate", "--config", configPath, "--json"])).stdout)
    expect(json.ok).toBe(true)
    expect(json.peers.map((p: { name: string }) => p.name)).toEqual(["alpha"])
  })

  it("exits 2 for an unknown peer name", async () => {
    const { configPath } = makePool("unknown", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["write-indicator", "--config", configPath, "--peer", "nope"])
    expect(done.status).toBe(2)
    expect(done.stderr).toMatch(/^error\[InvalidPeerConfig\] peer nope: /m)
  })

  it("checks collect indicators: exit 1 when a peer is not ready", async () => {
    const { configPath } = makePool("check", [
      { name: "alpha", ready: true, files: { a: "1" } },
      { name: "beta", ready: false, files: { b: "2" } }
    ])
    const done = await cli(["check", "--config", configPath, "--json"])
    expect(done.status).toBe(1)
    expect(JSON.parse(done.stdout)).toEqual({
      ok: false,
      peers: [
        { name: "alpha", type: "local", ready: true, status: "ready" },
        expect.objectContaining({ name: "beta", type: "local", ready: false, status: "not-ready" })
      ]
    })
    const onlyAlpha = await cli(["check", "--config", configPath, "--peer", "alpha"])
    expect(onlyAlpha.status).toBe(0)
    expect(onlyAlpha.stdout).toMatch(/alpha\s+local\s+ready/)
  })

  it("stages a peer of 1,000 files and reports the count, in text and JSON", async () => {
    const files: Record<string, string> = {}
    for (let i = 0; i < 1000; i++) files[`file-${String(i).padStart(4, "0")}.dat`] = `content ${i}\n`
    const { base, configPath } = makePool("thousand", [{ name: "alpha", ready: false, files }])
    const target = join(base, "target")
    mkdirSync(target)
    const text = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", target])
    expect(text.status).toBe(0)
    expect(text.stdout).toContain("staged 1000 file(s)")
    expect(readdirSync(target)).toHaveLength(1000)

    const again = join(base, "target2")
    mkdirSync(again)
    const json = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", again, "--json", "--mode", "600"])
    expect(json.status).toBe(0)
    const report = JSON.parse(json.stdout)
    expect(report).toMatchObject({ ok: true, peer: "alpha", targetDir: again, count: 1000 })
    expect(report.files).toHaveLength(1000)
    expect(report.bytes).toBe(Object.values(files).reduce((n, c) => n + Buffer.byteLength(c), 0))
  })

  it("stage-peer: exit 1 with error[InvalidPath] for a missing target, exit 2 for a bad --mode", async () => {
    const { base, configPath } = makePool("badtarget", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", join(base, "nope")])
    expect(done.status).toBe(1)
    expect(done.stderr).toMatch(/^error\[InvalidPath\] peer alpha: /m)
    const badMode = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", base, "--mode", "999"])
    expect(badMode.status).toBe(2)
  })

  it("writes a stage indicator", async () => {
    const { base, configPath } = makePool("indicator", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["write-indicator", "--config", configPath, "--peer", "alpha"])
    expect(done.status).toBe(0)
    expect(readFileSync(join(base, "peers", "alpha", "cback.stage"), "utf8")).toBe("")
  })

  it("stages a pool: exit 1 when a peer is not ready and its failures are not ignored", async () => {
    const { base, configPath } = makePool("stage", [
      { name: "alpha", ready: true, files: { "a.txt": "aaa", "b c.txt": "bb" } },
      { name: "beta", ready: false, files: { b: "2" } },
      { name: "gamma", ready: false, files: { c: "3" }, ignoreFailures: "all" }
    ])
    const done = await cli(["stage", "--config", configPath, "--json"])
    expect(done.status).toBe(1)
    const summary = JSON.parse(done.stdout)
    expect(summary.ok).toBe(false)
    expect(summary.full).toBe(false)
    // every peer not staged says why
    expect(summary.peers).toEqual([
      { name: "alpha", type: "local", status: "staged", files: 3, bytes: 5, ignored: false },
      { name: "beta", type: "local", status: "not-ready", files: 0, bytes: 0, ignored: false, reason: expect.stringMatching(/cback\.collect/) },
      { name: "gamma", type: "local", status: "not-ready", files: 0, bytes: 0, ignored: true, reason: expect.stringMatching(/cback\.collect/) }
    ])
    expect(summary.dailyDir.startsWith(join(base, "staging") + "/")).toBe(true)
    expect(readdirSync(join(summary.dailyDir, "alpha")).sort()).toEqual(["a.txt", "b c.txt", "cback.collect"])
    expect(existsSync(join(summary.dailyDir, "cback.stage"))).toBe(true)
    expect(existsSync(join(base, "peers", "alpha", "cback.stage"))).toBe(true)
    expect(existsSync(join(base, "peers", "beta", "cback.stage"))).toBe(false)
    expect(done.stderr).toMatch(/ERROR peer=beta not-ready: /)

    const onlyAlpha = await cli(["stage", "--config", configPath, "--peer", "alpha", "--full"])
    expect(onlyAlpha.status).toBe(0)
    expect(onlyAlpha.stdout).toMatch(/alpha\s+local\s+staged/)
  })

  it("runs the demo out of the box", async () => {
    const dir = join(root, "demo")
    const done = await cli(["demo", dir])
    expect(done.status).toBe(0)
    expect(done.stdout).toContain(join(dir, "cback3.conf"))
    expect(done.stdout).toMatch(/alpha\s+local\s+staged/)
    expect(done.stdout).toMatch(/gamma\s+local\s+not-ready/)
    const json = JSON.parse((await cli(["demo", join(root, "demo2"), "--json"])).stdout)
    expect(json.ok).toBe(true)
    expect(json.peers.map((p: { status: string }) => p.status)).toEqual(["staged", "staged", "not-ready"])
  })

  it("action: an action no managed peer runs is a warning with exit 0; a bad action name exits 2", async () => {
    const { configPath } = makePool("action", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const none = await cli(["action", "collect", "--config", configPath])
    expect(none.status).toBe(0)
    expect(none.stderr).toMatch(/WARN.*no managed peer runs the action collect/)
    const bad = await cli(["action", "collect;touch x", "--config", configPath])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/^error\[InvalidPeerConfig\]/m)
  })

  it("exec refuses a local peer with exit 2", async () => {
    const { configPath } = makePool("exec", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["exec", "--config", configPath, "--peer", "alpha", "true"])
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

  it("on a terminal shows each peer once: its row (files and bytes), no info logs", async () => {
    const { configPath } = pool()
    // script(1) gives the child a pseudo-terminal; its stdout and stderr both arrive on ours
    const done = await onTerminal(`${process.execPath} ${BIN} stage --config ${configPath}`)
    expect(done.status).toBe(0)
    const screen = done.stdout.replace(/\x1b\[\d*[AJ]|\r/g, "")
    expect(screen.match(/^alpha\s+local\s+staged\s+2\s+3 B\b/gm)).toHaveLength(1)
    expect(screen.match(/^beta\s+local\s+not-ready\s+0\s+0 B\s.*\(ignored\)/gm)).toHaveLength(1)
    expect(screen).toMatch(/^1 of 2 peer\(s\) staged, 2 file\(s\), 3 B: ok$/m)
    expect(screen).not.toMatch(/INFO|already existed/)
  })

  it("when stderr is not a terminal: plain log lines, no cursor movement", async () => {
    const { configPath } = pool()
    const done = await cli(["stage", "--config", configPath])
    expect(done.status).toBe(0)
    expect(done.stderr).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO peer=alpha staged: 2 file\(s\)/m)
    expect(done.stderr).toMatch(/INFO peer=beta not-ready \(ignored\): /)
    expect(done.stderr).not.toContain("\x1b")
    expect(done.stdout).not.toContain("\x1b")
  })
})

describe("cedar-peer conventions", () => {
  it("takes options before the command, as cback3 does (-c, -f)", async () => {
    const { configPath } = makePool("before", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const done = await cli(["--config", configPath, "--json", "stage"])
    expect(done.status).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, full: false })
    const short = await cli(["-c", configPath, "-f", "stage", "--json"])
    expect(JSON.parse(short.stdout)).toMatchObject({ ok: true, full: true })
    expect((await cli(["-V"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("help: plain text in a pipe, no generic sentences, defaults and exit statuses, cedar-peer in the usage line", async () => {
    const root = await cli(["--help"])
    expect(root.status).toBe(0)
    expect(root.stdout).not.toContain("\x1b")
    expect(root.stdout).toMatch(/^Usage: cedar-peer COMMAND/)
    const stage = await cli(["stage", "--help"])
    expect(stage.status).toBe(0)
    expect(stage.stdout).toMatch(/^Usage: cedar-peer stage \[OPTIONS\]/)
    expect(stage.stdout.replace(/\s+/g, " ")).toContain("(default: /etc/cback3.conf)")
    expect(stage.stdout).toMatch(/-f, --full/)
    expect(stage.stdout).toMatch(/Exit status:\n\s+0\s+every peer staged, or its failure ignored/)
    for (const boilerplate of ["A user-defined piece of text.", "This setting is optional.", "A true or false value.", "--wizard"]) {
      expect(stage.stdout + root.stdout).not.toContain(boilerplate)
    }
    expect((await cli(["stage-peer", "--help"])).stdout).toMatch(/^Usage: cedar-peer stage-peer --peer NAME --target DIR \[OPTIONS\]/)
    // `cedar-peer --help stage` is the stage help too
    expect((await cli(["--help", "stage"])).stdout).toBe(stage.stdout)
  })

  it("help on a terminal: bold headings, none with NO_COLOR", async () => {
    const styled = await onTerminal(`${process.execPath} ${BIN} --help`)
    expect(styled.stdout).toContain("\x1b[1mUsage:")
    const plain = await onTerminal(`NO_COLOR=1 ${process.execPath} ${BIN} --help`)
    expect(plain.stdout).not.toContain("\x1b")
  })

  it("usage mistakes exit 2 with error[UsageError], naming the flag; --wizard refuses at once without a terminal", async () => {
    const { base, configPath } = makePool("usage", [{ name: "alpha", ready: true, files: { a: "1" } }])
    for (const value of ["0", "-1", "two"]) {
      const done = await cli(["stage", "--config", configPath, "--concurrency", value])
      expect(done.status).toBe(2)
      expect(done.stderr).toMatch(/^error\[UsageError\] .*--concurrency must be a whole number of at least 1/m)
      expect(readdirSync(join(base, "staging"))).toEqual([])
    }
    const wizard = await cli(["--wizard"])
    expect(wizard.status).toBe(2)
    expect(wizard.stderr).toMatch(/--wizard is not supported/)
    const unknown = await cli(["stage", "--no-such-flag", "--config", configPath, "--json"])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toMatch(/^error\[UsageError\] /m)
    expect(JSON.parse(unknown.stdout)).toMatchObject({ ok: false, error: { _tag: "UsageError" } })
    expect((await cli(["stag"])).status).toBe(2)
    expect((await cli([])).status).toBe(2)
    expect((await cli(["stage", "--log-level", "loud"])).status).toBe(2)
    const logFile = await cli(["stage", "--config", configPath, "--log-file", join(base, "no", "such", "dir", "x.log")])
    expect(logFile.status).toBe(2)
    expect(logFile.stderr).toMatch(/^error\[UsageError\] --log-file .*ENOENT/m)
  })

  it("usage mistakes effect/cli finds are said in cedar-peer's words; exec passes options it does not know to the remote command", async () => {
    const { base, configPath } = makePool("usage-words", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const usage = async (args: ReadonlyArray<string>, message: string) => {
      const done = await cli(args, {}, { cwd: base })
      expect(done.status).toBe(2)
      expect(done.stderr).toBe(`error[UsageError] ${message}\n(see cedar-peer ${args[0]} --help)\n`)
    }
    await usage(["stage", "--config"], "--config needs a value")
    await usage(["check", "--config", configPath, "--json", "--json"], "--json may be given once only (given 2 times)")
    await usage(["stage-peer", "--config", configPath, "--peer", "alpha"], "Expected to find option: '--target'")
    await usage(["action", "--config", configPath], "Missing argument <ACTION>")
    await usage(["verify", "a", "b"], `unexpected argument "b"`)
    // an unknown option is never taken for an argument: no demo pool in a directory named --nope
    await usage(["demo", "--nope"], `unexpected argument "--nope"`)
    expect(existsSync(join(base, "--nope"))).toBe(false)
    // `ls -l` is the remote command (this peer is local: refused as such, not as a bad command line)
    const exec = await cli(["exec", "--config", configPath, "--peer", "alpha", "ls", "-l", "--json"], {}, { cwd: base })
    expect(exec.status).toBe(2)
    expect(exec.stderr).toMatch(/^error\[InvalidPeerConfig\] peer alpha: /m)
    expect(JSON.parse(exec.stdout)).toMatchObject({ ok: false, error: { _tag: "InvalidPeerConfig" } })
  })

  it("--log-level works: debug shows what is hidden by default", async () => {
    const { configPath } = makePool("loglevel", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const first = await cli(["stage", "--config", configPath])
    expect(first.stderr).not.toMatch(/DEBUG/)
    const debug = await cli(["--log-level", "debug", "stage", "--config", configPath])
    expect(debug.stderr).toMatch(/DEBUG peer=alpha staged: \d+ file\(s\), \d+ B in /)
    const errorsOnly = await cli(["stage", "--config", configPath, "--log-level=error"])
    expect(errorsOnly.stderr).toBe("")
  })

  it("--quiet prints only errors; --verbose adds debug lines", async () => {
    const { configPath } = makePool("quiet", [
      { name: "alpha", ready: true, files: { a: "1" } },
      { name: "beta", ready: false, files: { b: "2" } }
    ])
    const quiet = await cli(["stage", "-q", "--config", configPath])
    expect(quiet.status).toBe(1)
    expect(quiet.stderr).toMatch(/ERROR peer=beta not-ready: /)
    expect(quiet.stderr).not.toMatch(/INFO/)
    const verbose = await cli(["stage", "--verbose", "--config", configPath])
    expect(verbose.stderr).toMatch(/DEBUG/)
  })

  it("--log-file appends (timestamps), and the journal gets no timestamps but syslog priorities", async () => {
    const { base, configPath } = makePool("logfile", [{ name: "alpha", ready: true, files: { a: "1" } }])
    const log = join(base, "cedar-peer.log")
    writeFileSync(log, "an earlier line\n")
    await cli(["stage", "--config", configPath, "--log-file", log])
    await cli(["stage", "--config", configPath, "--log-file", log, "--peer", "nope"])
    const lines = readFileSync(log, "utf8").split("\n")
    expect(lines[0]).toBe("an earlier line")
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO peer=alpha staged: 2 file\(s\)/))
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z error\[InvalidPeerConfig\] peer nope: /))
    // each run between its own start and end line, whatever its end; the peer named once a line
    const starts = lines.filter((line) => / INFO cedar-peer \d+\.\d+\.\d+\S* stage starts: config /.test(line))
    expect(starts).toHaveLength(2)
    expect(starts[0]).toMatch(new RegExp(`stage starts: config ${configPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}, pid \\d+$`))
    const ends = lines.filter((line) => line.includes(" INFO stage ends: "))
    expect(ends).toHaveLength(2)
    expect(ends[0]).toMatch(/stage ends: ok; daily directory \/.+\/staging\/\d{4}\/\d\d\/\d\d; 1 of 1 peer\(s\) staged, 2 file\(s\), \d+ B; after \d+\.\ds$/)
    expect(ends[1]).toMatch(/stage ends: failed: error\[InvalidPeerConfig\] peer nope: .*; after \d+\.\ds$/)
    expect(lines.findIndex((line) => line === starts[1])).toBeGreaterThan(lines.findIndex((line) => line === ends[0]))
    expect(lines.filter((line) => /peer=(\S+) peer \1:/.test(line))).toEqual([])
    const journal = await cli(["stage", "--config", configPath], { JOURNAL_STREAM: "8:12345" })
    expect(journal.stderr).toMatch(/^<6>INFO peer=alpha staged: /m)
    expect(journal.stderr).toMatch(/^<6>INFO cedar-peer \S+ stage starts: /m)
    expect(journal.stderr).toMatch(/^<6>INFO stage ends: ok; /m)
    expect(journal.stderr).not.toMatch(/\d{4}-\d\d-\d\dT/)
  })

  it("a per-peer failure prints error[Tag] peer NAME: message; the NOTE column stays short", async () => {
    const { base, configPath } = makePool("perpeer", [
      { name: "alpha", ready: true, files: { a: "1" } },
      { name: "beta", ready: true, files: { b: "2" } }
    ])
    mkdirSync(join(base, "peers", "beta", `a-directory-with-a-long-name-${"x".repeat(150)}`))
    const done = await cli(["stage", "--config", configPath])
    expect(done.status).toBe(1)
    expect(done.stderr).toMatch(/^error\[UnsupportedEntry\] peer beta: /m)
    const row = done.stdout.split("\n").find((l) => l.startsWith("beta "))!
    expect(row).toMatch(/failed/)
    expect(row.slice(row.indexOf("UnsupportedEntry")).length).toBeLessThanOrEqual(60)
    const json = JSON.parse((await cli(["stage", "--config", configPath, "--json"])).stdout)
    expect(json.peers[1]).toMatchObject({ status: "failed", reason: expect.stringContaining("x".repeat(150)), error: { _tag: "UnsupportedEntry" } })
  })

  it("stage-peer: a relative --target is resolved against the current directory; --owner takes names", async () => {
    const { base, configPath } = makePool("relative", [{ name: "alpha", ready: true, files: { a: "1" } }])
    mkdirSync(join(base, "here"))
    const me = userInfo()
    const group = spawnSync("id", ["-gn"], { encoding: "utf8" }).stdout.trim()
    const done = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", "here", "--owner", `${me.username}:${group}`, "--json"], {}, { cwd: base })
    expect(done.status).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, ready: true, targetDir: join(base, "here") })
    expect(readdirSync(join(base, "here")).sort()).toEqual(["a", "cback.collect"])
    const numeric = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", join(base, "here"), "--owner", `${me.uid}:${me.gid}`])
    expect(numeric.status).toBe(0)
    const nobody = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", base, "--owner", "no-such-user-xyz:root"])
    expect(nobody.status).toBe(2)
    expect(nobody.stderr).toMatch(/^error\[UsageError\] --owner: no such user on this machine: no-such-user-xyz/m)
    expect((await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", base, "--owner", "34"])).status).toBe(2)
  })

  it("stage-peer on a peer without its collect indicator warns and says ready: false", async () => {
    const { base, configPath } = makePool("notready", [{ name: "alpha", ready: false, files: { a: "1" } }])
    const done = await cli(["stage-peer", "--config", configPath, "--peer", "alpha", "--target", base, "--json"])
    expect(done.status).toBe(0)
    expect(done.stderr).toMatch(/WARN peer=alpha cback\.collect not found/)
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, ready: false, count: 1 })
    const text = await onTerminal(`${process.execPath} ${BIN} stage-peer --config ${configPath} --peer alpha --target ${base}`)
    expect(text.stdout).toMatch(/WARN peer=alpha cback\.collect not found/)
  })
})

/** Every path under a directory with its type, mode, size, mtime and content: equal snapshots = nothing written. */
const snapshot = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).sort().map((name) => {
    const path = join(dir, name)
    const info = lstatSync(path)
    return `${name} ${info.mode} ${info.size} ${info.mtimeMs} ${info.isFile() ? readFileSync(path, "base64") : ""}`
  })

describe("cedar-peer stage --dry-run and --metrics-file", () => {
  it("--dry-run checks every peer, says what would be staged where, and writes nothing", async () => {
    const { base, configPath } = makePool("dryrun", [
      { name: "alpha", ready: true, files: { "a.txt": "aaa", "b.txt": "bb" } },
      { name: "beta", ready: false, files: { b: "2" } }
    ])
    await cli(["stage", "--config", configPath, "--peer", "alpha"])
    const before = snapshot(base)
    const done = await cli(["stage", "--config", configPath, "--dry-run"])
    const json = await cli(["stage", "--config", configPath, "--dry-run", "--json"])
    expect(snapshot(base)).toEqual(before)
    expect(done.status).toBe(1)
    expect(done.stdout).toMatch(/^dry run: nothing is written; a stage run now would stage into .*staging\/\d{4}\/\d\d\/\d\d/)
    // alpha: a.txt, b.txt, cback.collect and the cback.stage of the earlier run
    expect(done.stdout).toMatch(/^alpha\s+local\s+ready\s+4\s+5 B$/m)
    expect(done.stdout).toMatch(/^beta\s+local\s+not-ready\s+.*cback\.collect/m)
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: true,
      ok: false,
      peers: [
        { name: "alpha", ready: true, files: 4, bytes: 5 },
        { name: "beta", ready: false, status: "not-ready", reason: expect.any(String) }
      ]
    })
  })

  it("--dry-run counts what a stage copies: a link to a file and a directory are not files, and fail the peer as the stage does", async () => {
    const { base, configPath } = makePool("dryrun-links", [
      { name: "alpha", ready: true, files: { "a.txt": "aaa" } },
      { name: "beta", ready: true, files: { b: "22" } }
    ])
    // a stat that follows links would count the link as a 1000-byte file; the stage does not copy it
    writeFileSync(join(base, "big.txt"), "x".repeat(1000))
    symlinkSync(join(base, "big.txt"), join(base, "peers", "alpha", "link.txt"))
    mkdirSync(join(base, "peers", "alpha", "sub"))
    writeFileSync(join(base, "peers", "alpha", "sub", "inner.txt"), "inner")
    const before = snapshot(base)
    const done = await cli(["stage", "--config", configPath, "--dry-run"])
    const json = await cli(["stage", "--config", configPath, "--dry-run", "--json"])
    expect(snapshot(base)).toEqual(before)
    // a.txt and cback.collect, 3 bytes; the note (cut to its column) starts with the error the stage would fail the peer with
    expect(done.stdout).toMatch(/^alpha\s+local\s+ready\s+2\s+3 B\s+UnsupportedEntry: /m)
    expect(done.stdout).toMatch(/^beta\s+local\s+ready\s+2\s+2 B$/m)
    expect(done.status).toBe(1)
    expect(done.stdout).toMatch(/a stage run would FAIL$/m)
    const document = JSON.parse(json.stdout)
    expect(document).toMatchObject({
      dryRun: true,
      ok: false,
      peers: [
        { name: "alpha", ready: true, files: 2, bytes: 3, error: { _tag: "UnsupportedEntry" } },
        { name: "beta", ready: true, files: 2, bytes: 2 }
      ]
    })
    expect(document.peers[0].error.message).toMatch(/"link\.txt" \(SymbolicLink\).*"sub" \(Directory\)/)
    expect(document.peers[1]).not.toHaveProperty("error")
    // the stage itself: the same peer fails with the same error, the other is staged with what was counted
    const staged = await cli(["stage", "--config", configPath, "--json"])
    expect(staged.status).toBe(1)
    expect(JSON.parse(staged.stdout)).toMatchObject({
      peers: [
        { name: "alpha", status: "failed", error: { _tag: "UnsupportedEntry", message: document.peers[0].error.message } },
        { name: "beta", status: "staged", files: 2, bytes: 2 }
      ]
    })
  })

  it("--metrics-file writes the Prometheus text format atomically and carries the last success over", async () => {
    const { base, configPath } = makePool("metrics", [
      { name: "alpha", ready: true, files: { a: "1" } },
      { name: "beta", ready: true, files: { b: "22" } }
    ])
    const metrics = join(base, "textfile", "cedar_peer.prom")
    mkdirSync(join(base, "textfile"))
    expect((await cli(["stage", "--config", configPath, "--metrics-file", metrics])).status).toBe(0)
    const first = readFileSync(metrics, "utf8")
    const value = (text: string, name: string, peer: string) =>
      Number(text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`peer="${peer}"`) && !l.includes("status="))?.split(" ").at(-1))
    const betaSuccess = value(first, "cedar_peer_stage_peer_last_success_timestamp_seconds", "beta")
    expect(betaSuccess).toBeGreaterThan(1_700_000_000)
    expect(value(first, "cedar_peer_stage_peer_bytes", "beta")).toBe(2)
    expect(first).toMatch(/^cedar_peer_stage_success\{config=".*"\} 1$/m)

    rmSync(join(base, "peers", "beta", "cback.collect"))
    expect((await cli(["stage", "--config", configPath, "--metrics-file", metrics])).status).toBe(1)
    const second = readFileSync(metrics, "utf8")
    expect(second).toMatch(/^cedar_peer_stage_success\{config=".*"\} 0$/m)
    expect(second).toMatch(/^cedar_peer_stage_peer_status\{.*peer="beta",status="not-ready"\} 1$/m)
    expect(value(second, "cedar_peer_stage_peer_last_success_timestamp_seconds", "beta")).toBe(betaSuccess)
    expect(value(second, "cedar_peer_stage_peer_last_success_timestamp_seconds", "alpha")).toBeGreaterThan(betaSuccess)
    // only the file itself: no temporary file left next to it
    expect(readdirSync(join(base, "textfile"))).toEqual(["cedar_peer.prom"])
    if (spawnSync("promtool", ["--version"]).status === 0) {
      const checked = spawnSync("promtool", ["check", "metrics"], { input: second, encoding: "utf8" })
      expect(checked.stdout + checked.stderr).toBe("")
    }
  })
})

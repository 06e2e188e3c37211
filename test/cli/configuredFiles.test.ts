// Files the CLI opens at paths given on its command line (--log-file, --metrics-file), in
// directories another user may write: a planted link is refused or replaced, never followed; a
// planted fifo is refused, never waited on. The built bin in a child process, real files.
import { spawn } from "node:child_process"
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { execFileSync } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")

// well under the test's own limit: a run that waits on a fifo ends here as `status: null`
const cli = (args: ReadonlyArray<string>, cwd?: string) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 20_000, killSignal: "SIGKILL" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("close", (status) => resolve({ status, stdout, stderr }))
  })

let root: string
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  root = mkdtempSync(join(tmpdir(), "cedar-peer-configured-"))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A pool of one ready local peer, and a directory `open` (0777, as a backup user's own) for the files under attack. */
const makePool = (name: string) => {
  const base = join(root, name)
  for (const dir of ["staging", "work", "peers/alpha", "open"]) mkdirSync(join(base, dir), { recursive: true })
  chmodSync(join(base, "open"), 0o777)
  writeFileSync(join(base, "peers/alpha/a"), "1")
  writeFileSync(join(base, "peers/alpha/cback.collect"), "")
  const config = {
    options: { startingDay: "monday", workingDir: join(base, "work"), backupUser: "root", backupGroup: "root" },
    peers: [{ name: "alpha", type: "local", collectDir: join(base, "peers/alpha") }],
    stage: { stagingDir: join(base, "staging") }
  }
  const configPath = join(base, "pool.json")
  writeFileSync(configPath, JSON.stringify(config))
  // a root-only file the attacker would like root to write to
  const secret = join(base, "secret")
  writeFileSync(secret, "root's own\n", { mode: 0o600 })
  return { base, configPath, open: join(base, "open"), secret }
}

describe("--log-file at a planted path", () => {
  it("a link there is refused, naming the path; the file it leads to is not written", async () => {
    const { configPath, open, secret } = makePool("log-link")
    const log = join(open, "cedar-peer.log")
    symlinkSync(secret, log)
    const done = await cli(["stage", "--config", configPath, "--log-file", log])
    expect(done.status).toBe(2)
    expect(done.stderr).toContain(`--log-file ${log}: is a SymbolicLink, not a regular file (not followed)`)
    expect(readFileSync(secret, "utf8")).toBe("root's own\n")
  })

  it("a dangling link there creates nothing where it leads", async () => {
    const { base, configPath, open } = makePool("log-dangling")
    const log = join(open, "cedar-peer.log")
    symlinkSync(join(base, "created-by-root"), log)
    const done = await cli(["stage", "--config", configPath, "--log-file", log])
    expect(done.status).toBe(2)
    expect(existsSync(join(base, "created-by-root"))).toBe(false)
  })

  it("a fifo there is refused at once, not waited on", async () => {
    const { configPath, open } = makePool("log-fifo")
    const log = join(open, "cedar-peer.log")
    execFileSync("mkfifo", [log])
    const done = await cli(["stage", "--config", configPath, "--log-file", log])
    expect(done.status).toBe(2)
    expect(done.stderr).toContain(`--log-file ${log}: is a FIFO, not a regular file`)
  })
})

describe("--metrics-file at a planted path", () => {
  const LAST = "cedar_peer_stage_peer_last_success_timestamp_seconds"

  it("a fifo there is not read: the run goes on, warns, and puts a regular file in its place", async () => {
    const { configPath, open } = makePool("metrics-fifo")
    const metrics = join(open, "cedar_peer.prom")
    execFileSync("mkfifo", [metrics])
    const done = await cli(["stage", "--config", configPath, "--metrics-file", metrics])
    expect(done.status).toBe(0)
    expect(done.stderr).toMatch(new RegExp(`WARN.*--metrics-file: not read, last-success times start afresh: ${metrics}: is a FIFO`))
    expect(lstatSync(metrics).isFile()).toBe(true)
    expect(readFileSync(metrics, "utf8")).toMatch(/^cedar_peer_stage_success\{config=".*"\} 1$/m)
  })

  it("a link there is neither read nor written through: the link is replaced, its target stays", async () => {
    const { base, configPath, open } = makePool("metrics-link")
    const metrics = join(open, "cedar_peer.prom")
    // what the link leads to reads like an earlier run's file, with a forged last success
    const elsewhere = join(base, "elsewhere.prom")
    const forged = `${LAST}{config="${realpathSync(configPath)}",peer="ghost"} 17\n`
    writeFileSync(elsewhere, forged)
    symlinkSync(elsewhere, metrics)
    const done = await cli(["stage", "--config", configPath, "--metrics-file", metrics])
    expect(done.status).toBe(0)
    expect(done.stderr).toContain(`${metrics}: is a SymbolicLink, not a regular file`)
    expect(lstatSync(metrics).isFile()).toBe(true)
    expect(readFileSync(metrics, "utf8")).not.toContain(`peer="ghost"`)
    expect(readFileSync(elsewhere, "utf8")).toBe(forged)
  })

  it("the config label is the config file's canonical path, however the file was named", async () => {
    const { base, configPath } = makePool("metrics-label")
    symlinkSync(base, join(root, "metrics-label-alias"))
    const metrics = join(base, "cedar_peer.prom")
    const labels = async (args: ReadonlyArray<string>, cwd?: string) => {
      expect((await cli(["stage", ...args, "--metrics-file", metrics], cwd)).status).toBe(0)
      return [...readFileSync(metrics, "utf8").matchAll(/config="([^"]*)"/g)].map((m) => m[1])
    }
    const canonical = realpathSync(configPath)
    for (const found of [
      await labels(["--config", "pool.json"], base),
      await labels(["--config", join(root, "metrics-label-alias", "pool.json")]),
      await labels(["--config", configPath])
    ]) {
      expect(new Set(found)).toEqual(new Set([canonical]))
    }
  })
})

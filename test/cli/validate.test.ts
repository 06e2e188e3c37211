// `cedar-peer validate` and the staging-dir rule of `stage`, as a user runs them: the built bin in
// a child process, real files, exit statuses and output.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")
const FIXTURES = join(import.meta.dirname, "../fixtures")
const CEDAR_SAMPLE = "/usr/share/doc/cedar-backup3/examples/cback3.conf.sample"

const cli = (args: ReadonlyArray<string>) => {
  const done = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 })
  return { status: done.status, stdout: done.stdout, stderr: done.stderr }
}
const id = (flag: string) => spawnSync("id", [flag], { encoding: "utf8" }).stdout.trim()

let root: string

// A pool of one local peer under `base`, as XML, with the directories that exist as asked.
const makePool = (name: string, options: { readonly staging?: boolean; readonly work?: boolean; readonly rsh?: string } = {}) => {
  const base = join(root, name)
  mkdirSync(join(base, "collect"), { recursive: true })
  if (options.staging ?? true) mkdirSync(join(base, "staging"))
  if (options.work ?? true) mkdirSync(join(base, "work"))
  writeFileSync(join(base, "collect", "a.tar"), "A")
  writeFileSync(join(base, "collect", "cback.collect"), "")
  const path = join(base, "cback3.conf")
  writeFileSync(
    path,
    `<?xml version="1.0"?>
<cb_config>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>${base}/work</working_dir>
    <backup_user>${id("-un")}</backup_user>
    <backup_group>${id("-gn")}</backup_group>
    ${options.rsh === undefined ? "" : `<rsh_command>${options.rsh}</rsh_command>`}
  </options>
  <peers>
    <peer><name>alpha</name><type>local</type><collect_dir>${base}/collect</collect_dir></peer>
    ${options.rsh === undefined ? "" : "<peer><name>db1</name><type>remote</type><collect_dir>/c</collect_dir></peer>"}
  </peers>
  <stage><staging_dir>${base}/staging</staging_dir></stage>
</cb_config>
`
  )
  return { base, path }
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  root = mkdtempSync(join(tmpdir(), "cedar-peer-validate-"))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("cedar-peer validate", () => {
  it("exits 2 listing every problem of this machine at once, by XML element, and --syntax-only does not look", () => {
    const { base, path } = makePool("broken", { staging: false, work: false, rsh: "/nonexistent/ssh -p 2222" })
    const done = cli(["validate", "--config", path])
    expect(done.status).toBe(2)
    expect(done.stdout).toBe("")
    expect(done.stderr).toBe(
      [
        `error[ConfigError] ${path}: invalid configuration:`,
        // located by line, as people count lines in an XML file
        `  options.working_dir (line 5): ${base}/work does not exist`,
        `  stage.staging_dir (line 14): ${base}/staging does not exist`,
        "  options.rcp_command: not set, and the default program /usr/bin/scp does not exist",
        "  options.rsh_command (line 8): program /nonexistent/ssh does not exist",
        ""
      ].filter((line) => existsSync("/usr/bin/scp") ? !line.includes("/usr/bin/scp") : true).join("\n")
    )
    const json = cli(["validate", "--config", path, "--json"])
    expect(json.status).toBe(2)
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { _tag: "ConfigError" } })
    expect(JSON.parse(json.stdout).error.message).toContain(`options.working_dir (line 5): ${base}/work does not exist`)
    const syntax = cli(["validate", "--syntax-only", "--config", path])
    expect(syntax.status).toBe(0)
    expect(syntax.stdout).toContain(`${path}: valid`)
  })

  it("exits 0 for a pool this machine can run", () => {
    const { path } = makePool("good")
    const done = cli(["validate", "--config", path])
    expect(done.stderr).toBe("")
    expect(done.status).toBe(0)
    expect(done.stdout).toContain("peer alpha: local")
  })

  it("--reach reports a remote peer that cannot be reached per peer, exit 1: not a configuration error", () => {
    // /bin/false as the rsh command: it exists and runs, and every connection fails.
    const { path } = makePool("unreachable", { rsh: "/bin/false" })
    const done = cli(["validate", "--reach", "--config", path])
    expect(done.status).toBe(1)
    expect(done.stderr).not.toContain("ConfigError")
    expect(done.stdout).toContain("peer db1: reached, but the rsh command exited with status 1\n")
    expect(done.stdout).toMatch(/reached 0 of 1 remote peer\(s\): FAILED$/m)
    const json = JSON.parse(cli(["validate", "--reach", "--config", path, "--json"]).stdout)
    expect(json.ok).toBe(false)
    expect(json.reach).toEqual([{ name: "db1", location: "peer db1 (line 12)", reached: true, cause: "the rsh command exited with status 1", detail: "" }])
  })

  it("--reach says what was reached when all were; --timeout is taken", () => {
    const { path } = makePool("reached", { rsh: "/bin/true" })
    const done = cli(["validate", "--reach", "--timeout", "connect=2", "--config", path])
    expect(done.stderr).toBe("")
    expect(done.status).toBe(0)
    expect(done.stdout).toMatch(/^reached every remote peer \(1\): db1$/m)
  })

  it("checks the test fixture like cback3 validate: its directories do not exist here", () => {
    const done = cli(["validate", "--config", join(FIXTURES, "cback3.conf")])
    expect(done.status).toBe(2)
    for (const problem of ["options.working_dir (line 26): /var/tmp/cback does not exist", "stage.staging_dir (line 97): /opt/backup/stage does not exist", "peer master (line 43) collect_dir: /opt/backup/collect does not exist"]) {
      expect(done.stderr).toContain(`  ${problem}\n`)
    }
  })

  it.skipIf(!existsSync(CEDAR_SAMPLE) || existsSync("/opt/backup"))("rejects Cedar Backup's sample config, which cback3 rejects too", () => {
    const done = cli(["validate", "--config", CEDAR_SAMPLE])
    expect(done.status).toBe(2)
    expect(done.stderr).toContain("  options.working_dir (line 48): /opt/backup/tmp does not exist\n")
    expect(done.stderr).toContain("  stage.staging_dir (line 84): /opt/backup/stage does not exist\n")
    expect(done.stderr).toContain("  peer debian (line 85) collect_dir: /opt/backup/collect does not exist\n")
    expect(cli(["validate", "--syntax-only", "--config", CEDAR_SAMPLE]).status).toBe(0)
  })
})

describe("cedar-peer stage", () => {
  it("exits 2 with a missing staging dir, instead of creating it", () => {
    const { base, path } = makePool("nostage", { staging: false })
    const done = cli(["stage", "--config", path])
    expect(done.status).toBe(2)
    expect(done.stderr).toContain(`stage.staging_dir: ${base}/staging does not exist`)
    expect(existsSync(join(base, "staging"))).toBe(false)
  })
})

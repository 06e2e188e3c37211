// A real site's night against the loopback sshd (test/support/sshd.ts), through the built bin:
// remote peers that fail for each common cause get a NOTE naming it (scp -q hides ssh's words:
// a second look through the rsh command finds them), a failed night ends with the line that
// stages just those peers again, --quiet prints nothing when all went well, check and validate
// --reach take --timeout, and --verbose shows each ssh/scp command as a line a shell reads back.
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { chownTree, requireServer } from "../support/sshd.js"

const server = requireServer(inject("sshServer"))
const BIN = join(import.meta.dirname, "../../dist/cli/main.js")

const cli = (args: ReadonlyArray<string>) => {
  const done = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CEDAR_PEER_LOG: "" } })
  return { status: done.status, stdout: done.stdout, stderr: done.stderr }
}

let root: string
let closedPort = 0
const configs: Record<string, string> = {}

// every peer name an alias for 127.0.0.1, as an ssh config's Host block makes it
const alias = "-o HostName=127.0.0.1"

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  closedPort = (probe.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))

  root = mkdtempSync(join(tmpdir(), "cedar-site-"))
  chmodSync(root, 0o755)
  for (const dir of ["ready", "notready", "staging", "work"]) mkdirSync(join(root, dir))
  writeFileSync(join(root, "ready", "cback.collect"), "")
  writeFileSync(join(root, "ready", "a.txt"), "a")
  writeFileSync(join(root, "notready", "b.txt"), "b")
  chownTree(join(root, "ready"), server.remoteUid, server.remoteGid)
  chownTree(join(root, "notready"), server.remoteUid, server.remoteGid)
  // a known_hosts that holds another key for the server: its host key "changed"
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(root, "other")])
  writeFileSync(join(root, "known_hosts"), `[127.0.0.1]:${server.port} ${readFileSync(join(root, "other.pub"), "utf8")}`)
  const changed = `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${root}/known_hosts -o HostKeyAlias=[127.0.0.1]:${server.port}`

  const rcp = (extra = "") => `${server.rcpSftp} ${extra} ${alias}`.replace(/\s+/g, " ")
  const rsh = (extra = "") => `${server.rsh} ${extra} ${alias}`.replace(/\s+/g, " ")
  const remote = (name: string, collectDir: string, extra: Record<string, string> = {}) => ({
    name,
    type: "remote",
    collectDir: join(root, collectDir),
    backupUser: server.remoteUser,
    ...extra
  })
  const write = (name: string, peers: ReadonlyArray<object>) => {
    const path = join(root, `${name}.json`)
    writeFileSync(path, JSON.stringify({
      options: {
        startingDay: "monday",
        workingDir: join(root, "work"),
        backupUser: server.localUser,
        backupGroup: server.localUser,
        rcpCommand: rcp(),
        rshCommand: rsh(),
        // the causes are what is tested, not the retries
        retries: { count: 0 },
        timeouts: { connect: 5 }
      },
      peers,
      stage: { stagingDir: join(root, "staging") }
    }))
    configs[name] = path
  }
  write("night", [
    remote("db-ok", "ready"),
    remote("db-notready", "notready"),
    remote("db-nodir", "nodir"),
    remote("db-badkey", "ready", { backupUser: "cpnosuchuser" }),
    remote("db-closed", "ready", { rcpCommand: rcp(`-P ${closedPort}`), rshCommand: rsh(`-p ${closedPort}`) }),
    remote("nosuch.invalid", "ready", { rcpCommand: server.rcpSftp, rshCommand: server.rsh }),
    remote("db-hostkey", "ready", { rcpCommand: rcp(changed), rshCommand: rsh(changed) })
  ])
  write("good", [remote("db-ok", "ready")])
}, 60_000)

afterAll(() => rmSync(root, { recursive: true, force: true }))

const CAUSES_SEEN: ReadonlyArray<readonly [string, string, string]> = [
  ["db-ok", "staged", ""],
  ["db-notready", "not-ready", "collect indicator cback.collect not found"],
  ["db-nodir", "not-ready", "collect dir <ROOT>/nodir not found"],
  ["db-badkey", "unreachable", "permission denied (publickey)"],
  ["db-closed", "unreachable", "connection refused"],
  ["nosuch.invalid", "unreachable", "unknown host"],
  ["db-hostkey", "unreachable", "host key changed"]
]

describe("a night with remote peers failing for each common cause", () => {
  it("names each cause in the NOTE column, keeps the full text in --json, and ends with the line to stage them again", () => {
    const done = cli(["stage", "--config", configs.night!, "--concurrency", "8", "--quiet"])
    expect(done.status).toBe(1)
    const rows = done.stdout.split("\n")
    for (const [name, status, note] of CAUSES_SEEN) {
      const row = rows.find((line) => line.startsWith(`${name} `))
      expect(row, name).toBeDefined()
      const cells = row!.split(/\s{2,}/)
      expect(cells[2], name).toBe(status)
      expect(row!.endsWith(note.replace("<ROOT>", root)), `${name}: ${row}`).toBe(true)
    }
    // --quiet: a failed night still prints, and ends with what to run again
    expect(rows).toContain(
      `stage the failed peers again: cedar-peer stage --config ${configs.night} --peer db-notready --peer db-nodir --peer db-badkey --peer db-closed --peer nosuch.invalid --peer db-hostkey`
    )
    const json = JSON.parse(cli(["stage", "--config", configs.night!, "--concurrency", "8", "--json"]).stdout)
    const closed = json.peers.find((p: { name: string }) => p.name === "db-closed")
    expect(closed.cause).toBe("connection refused")
    expect(closed.reason).toMatch(/exited with status 255/)
    expect(json.rerun).toMatch(/^cedar-peer stage --config \S+ --peer db-notready /)
  }, 120_000)

  it("check takes --timeout and names the same causes; it stages nothing", () => {
    const done = cli(["check", "--config", configs.night!, "--timeout", "connect=2"])
    expect(done.status).toBe(1)
    for (const [name, , note] of CAUSES_SEEN.filter(([, status]) => status !== "staged")) {
      expect(done.stdout).toContain(`${note.replace("<ROOT>", root)}`)
      expect(done.stdout).toMatch(new RegExp(`^${name.replace(".", "\\.")} `, "m"))
    }
    expect(done.stdout).toMatch(/^db-ok\s+remote\s+ready\s*$/m)
  }, 120_000)

  it("validate --reach reports each peer that cannot be reached, exit 1, not a configuration error", () => {
    const done = cli(["validate", "--reach", "--timeout", "connect=2", "--config", configs.night!])
    expect(done.status).toBe(1)
    expect(done.stderr).not.toContain("ConfigError")
    expect(done.stdout).toContain("peer db-closed: NOT reached: connection refused (ssh: connect to host 127.0.0.1 port")
    expect(done.stdout).toContain("peer db-badkey: NOT reached: permission denied (publickey)")
    expect(done.stdout).toContain("peer db-hostkey: NOT reached: host key changed")
    expect(done.stdout).toContain("peer nosuch.invalid: NOT reached: unknown host")
    expect(done.stdout).toMatch(/^reached 3 of 7 remote peer\(s\): FAILED$/m)
    const good = cli(["validate", "--reach", "--config", configs.good!])
    expect(good.status).toBe(0)
    expect(good.stdout).toMatch(/^reached every remote peer \(1\): db-ok$/m)
  }, 120_000)
})

describe("a night where every peer is staged", () => {
  it("--quiet prints nothing at all, on stdout or stderr", () => {
    const done = cli(["stage", "--quiet", "--config", configs.good!])
    expect(done).toEqual({ status: 0, stdout: "", stderr: "" })
  })

  it("--verbose shows each ssh/scp command as a shell line that reads back to the argv it ran", () => {
    const done = cli(["stage", "--verbose", "--config", configs.good!])
    expect(done.status).toBe(0)
    const lines = done.stderr.split("\n").filter((line) => / DEBUG peer=db-ok run: .*\/usr\/bin\/scp .*\/ready\/\*/.test(line))
    expect(lines.length).toBeGreaterThan(0)
    const line = lines[0]!.replace(/^.* run: /, "")
    // what a shell makes of the pasted line: the program, the client config, the alias, the source
    const argv = execFileSync("/bin/sh", ["-c", `printf '%s\\n' ${line}`], { encoding: "utf8" }).trimEnd().split("\n")
    // as root, the copy runs as the backup user through runuser
    expect(argv.slice(0, 5)).toEqual(["runuser", "-u", server.localUser, "--", "/usr/bin/scp"])
    expect(argv).toContain(server.configFile)
    expect(argv).toContain("HostName=127.0.0.1")
    expect(argv.some((arg) => arg === `${server.remoteUser}@db-ok:${join(root, "ready")}/*`)).toBe(true)
    expect(done.stderr).not.toContain("Fiber terminated")
  })
})

// What a peer sends never forges a log line or drives the terminal: a hostile rcp program writes
// a newline and a whole made-up log line, plus escape sequences, to its stderr; the log file,
// the journal and stderr each get it escaped on the one line it belongs to.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { escapeControl, escapeMessage, formatLogLine } from "../../src/cli/output.js"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")
const FORGED = "2026-12-07T02:30:01.000Z INFO peer=db9 staged: 12 file(s)"

let root: string
beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  root = mkdtempSync(join(tmpdir(), "cedar-escape-"))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("text a peer sends, on a log line", () => {
  it("escapes newlines, carriage returns and escape sequences; keeps the rest", () => {
    expect(escapeControl(`boom\n${FORGED}\r\x1b[2J\x07 ü`)).toBe(`boom\\n${FORGED}\\r\\x1b[2J\\x07 ü`)
    const line = formatLogLine({ date: new Date(0), level: "error", annotations: [["peer", "db1"]], text: `peer db1: failed: x\n${FORGED}` }, "file")
    expect(line).toBe(`1970-01-01T00:00:00.000Z ERROR peer=db1 failed: x\\n${FORGED}`)
    expect(line.split("\n")).toHaveLength(1)
  })

  it("keeps a message's own indented lines (a configuration error's list), and escapes any other line break", () => {
    expect(escapeMessage("f: invalid configuration:\n  a: bad\n  b: bad")).toBe("f: invalid configuration:\n  a: bad\n  b: bad")
    expect(escapeMessage(`copy failed: x\n${FORGED}`)).toBe(`copy failed: x\\n${FORGED}`)
  })

  it("a hostile rcp program's stderr: one escaped line in the log file and on stderr, no forged line", () => {
    const bin = join(root, "bin")
    mkdirSync(bin)
    for (const dir of ["work", "staging"]) mkdirSync(join(root, dir))
    writeFileSync(join(bin, "ssh"), [
      "#!/bin/sh",
      '[ "$1" = -V ] && { echo "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.9" >&2; exit 0; }',
      "exit 255",
      ""
    ].join("\n"), { mode: 0o755 })
    // the indicator arrives; the copy fails with a stderr that holds a whole log line
    writeFileSync(join(bin, "scp"), [
      "#!/bin/sh",
      'for last; do :; done',
      'case "$last" in */cback.collect) : > "$last"; exit 0 ;; esac',
      `printf 'boom\\n${FORGED}\\n\\033[2J' >&2`,
      "exit 1",
      ""
    ].join("\n"), { mode: 0o755 })
    const config = join(root, "pool.json")
    writeFileSync(config, JSON.stringify({
      options: {
        startingDay: "monday",
        workingDir: join(root, "work"),
        backupUser: "root",
        backupGroup: "root",
        rcpCommand: join(bin, "scp"),
        rshCommand: join(bin, "ssh"),
        retries: { count: 0 }
      },
      peers: [{ name: "hostile", type: "remote", collectDir: "/srv/collect", backupUser: "backup" }],
      stage: { stagingDir: join(root, "staging") }
    }))
    const log = join(root, "cedar-peer.log")
    const done = spawnSync(process.execPath, [BIN, "stage", "--config", config, "--log-file", log], { encoding: "utf8", timeout: 60_000 })
    expect(done.status).toBe(1)
    const forged = (text: string) => text.split("\n").filter((line) => line.startsWith(FORGED) || line.includes(` ${FORGED.slice(25)}`) && !line.includes("\\n"))
    for (const text of [readFileSync(log, "utf8"), done.stderr, done.stdout]) {
      expect(forged(text)).toEqual([])
      expect(text).not.toContain("\x1b")
    }
    expect(readFileSync(log, "utf8")).toContain(`boom\\n${FORGED}\\n\\x1b[2J`)
  })
})

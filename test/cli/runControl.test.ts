// Run control of the real CLI (the built bin in child processes): one run per pool, real signals
// at several points of a 20,000-file stage with the target compared before and after, SIGKILL
// leftovers, the limit flags and `verify`.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createHash } from "node:crypto"
import { rm, writeFile } from "node:fs/promises"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")
const MANY = 20_000

let root: string
let big: string
const user = process.getuid?.() === 0 ? "root" : "nobody"

const cli = (args: ReadonlyArray<string>) => {
  const done = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 })
  return { status: done.status, stdout: done.stdout, stderr: done.stderr }
}

interface Running {
  readonly child: ChildProcess
  readonly exited: Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>
}

const start = (args: ReadonlyArray<string>): Running => {
  const child = spawn(process.execPath, [BIN, ...args])
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exited = new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }))
  )
  return { child, exited }
}

/** Polls (bounded, no timing assumption) until `ready` holds or the child ended. */
const waitFor = async (run: Running, ready: () => boolean, what: string) => {
  for (let i = 0; i < 20_000; i++) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`the run ended before ${what}: make the workload bigger`)
    if (ready()) return
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  throw new Error(`gave up waiting for ${what}`)
}

const safeList = (dir: string) => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/** Every name under a directory, recursively, relative to it. */
const tree = (dir: string, prefix = ""): Array<string> =>
  safeList(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? [`${prefix}${name}/`, ...tree(path, `${prefix}${name}/`)] : [`${prefix}${name}`]
  })

/** A pool of `small` (two files) and `big` (the shared 20,000-file collect dir), both ready. */
const makePool = (name: string) => {
  const base = join(root, name)
  const small = join(base, "small")
  mkdirSync(join(base, "staging"), { recursive: true })
  mkdirSync(join(base, "work"), { recursive: true })
  mkdirSync(small, { recursive: true })
  writeFileSync(join(small, "s1"), "one")
  writeFileSync(join(small, "s2"), "two")
  writeFileSync(join(small, "cback.collect"), "")
  rmSync(join(big, "cback.stage"), { force: true })
  const config = {
    options: { startingDay: "monday", workingDir: join(base, "work"), backupUser: user, backupGroup: user },
    peers: [
      { name: "small", type: "local", collectDir: small },
      { name: "big", type: "local", collectDir: big }
    ],
    stage: { stagingDir: join(base, "staging") }
  }
  const configPath = join(base, "pool.json")
  writeFileSync(configPath, JSON.stringify(config))
  return { base, small, configPath, staging: join(base, "staging") }
}

const dailyOf = (staging: string) => {
  const [year] = safeList(staging).filter((n) => /^\d{4}$/.test(n))
  if (year === undefined) return undefined
  const [month] = safeList(join(staging, year))
  if (month === undefined) return undefined
  const [day] = safeList(join(staging, year, month))
  return day === undefined ? undefined : join(staging, year, month, day)
}

const isTemporary = (name: string) => name.startsWith(".cedar-peer")

// Asynchronous, in batches: a worker blocked for long misses its reports to the test runner.
beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  root = mkdtempSync(join(tmpdir(), "cedar-peer-run-"))
  big = join(root, "big-collect")
  mkdirSync(big)
  const content = "x".repeat(1024)
  for (let i = 0; i < MANY; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(big, `f${String(i + j).padStart(5, "0")}`), content)))
  }
  writeFileSync(join(big, "cback.collect"), "")
}, 300_000)
afterAll(() => rm(root, { recursive: true, force: true }), 600_000)

describe("one run at a time per pool", () => {
  it("a second stage while the first runs fails at once with AlreadyRunning (exit 1), touching nothing; the first goes on", async () => {
    const pool = makePool("lock")
    const lock = join(pool.staging, ".cedar-peer.lock")
    const first = start(["stage", "--config", pool.configPath])
    await waitFor(first, () => existsSync(lock), "the lock was taken")
    const held = readFileSync(lock, "utf8")
    const second = cli(["stage", "--config", pool.configPath, "--json"])
    expect(second.status).toBe(1)
    expect(second.stderr).toMatch(new RegExp(`^error\\[AlreadyRunning\\] ${lock}: another cedar-peer run holds the lock \\(pid ${first.child.pid}, started `, "m"))
    expect(JSON.parse(second.stdout)).toMatchObject({ ok: false, error: { _tag: "AlreadyRunning" } })
    // the refused run left the holder's lock as it was and never got as far as staging
    expect(readFileSync(lock, "utf8")).toBe(held)
    expect(second.stderr).not.toMatch(/staging peer/)
    const action = cli(["action", "collect", "--config", pool.configPath])
    expect(action.status).toBe(1)
    expect(action.stderr).toMatch(/^error\[AlreadyRunning\]/m)
    const done = await first.exited
    expect(done.status).toBe(0)
    expect(existsSync(lock)).toBe(false)
  })

  it("a lock left by a process that is gone is taken over with a log line; the lock is released when the run fails", () => {
    const pool = makePool("stale")
    const lock = join(pool.staging, ".cedar-peer.lock")
    const dead = spawnSync("true").pid
    writeFileSync(lock, JSON.stringify({ pid: dead, startTime: "1", startedAt: "2026-11-26T02:00:00.000Z", host: hostname(), nonce: "ab" }))
    const done = cli(["stage", "--config", pool.configPath, "--peer", "small"])
    expect(done.status).toBe(0)
    expect(done.stderr).toContain(`${lock}: took over the lock of pid ${dead} (started 2026-11-26T02:00:00.000Z): that process is gone`)
    expect(existsSync(lock)).toBe(false)

    rmSync(join(pool.small, "s1"))
    rmSync(join(pool.small, "s2"))
    rmSync(join(pool.small, "cback.collect"))
    const failed = cli(["stage", "--config", pool.configPath, "--peer", "small"])
    expect(failed.status).toBe(1)
    expect(existsSync(lock)).toBe(false)
  })
})

describe("interrupted by a signal", () => {
  const interruptDuringCopy = async (signal: "SIGINT" | "SIGTERM", json: boolean) => {
    const pool = makePool(`copy-${signal}-${json}`)
    const run = start(["stage", "--config", pool.configPath, ...(json ? ["--json"] : [])])
    await waitFor(run, () => {
      const daily = dailyOf(pool.staging)
      // a peer directory made this run is filled beside it, in a private directory of the daily one
      return daily !== undefined && existsSync(join(pool.small, "cback.stage")) && safeList(daily).some(isTemporary)
    }, "the big peer's copy was under way and the small peer was done")
    run.child.kill(signal)
    const done = await run.exited
    const daily = dailyOf(pool.staging)!
    return { pool, done, daily }
  }

  it("SIGINT while copying: exit 130, one JSON summary, the staged peer kept, the cut-off peer interrupted with nothing of it left", async () => {
    const { daily, done, pool } = await interruptDuringCopy("SIGINT", true)
    expect(done.status).toBe(130)
    const summary = JSON.parse(done.stdout) // exactly one JSON document
    expect(summary.ok).toBe(false)
    expect(summary.peers.map((p: { name: string; status: string }) => [p.name, p.status])).toEqual([["small", "staged"], ["big", "interrupted"]])
    expect(summary.peers[1]).toMatchObject({ files: 0, bytes: 0, ignored: false })
    // the staged peer keeps its files and its indicator; the cut-off one has nothing, not even a temporary
    expect(readdirSync(join(daily, "small")).sort()).toEqual(["cback.collect", "s1", "s2"])
    expect(existsSync(join(pool.small, "cback.stage"))).toBe(true)
    expect(readdirSync(join(daily, "big"))).toEqual([])
    expect(existsSync(join(big, "cback.stage"))).toBe(false)
    // the run did not finish: no master indicator, no lock, nothing left in the working dir
    expect(readdirSync(daily).sort()).toEqual(["big", "small"])
    expect(readdirSync(pool.staging).filter((n) => n.startsWith("."))).toEqual([])
    expect(readdirSync(join(pool.base, "work"))).toEqual([])
    expect(done.stderr).toMatch(/^error\[Interrupted\] stopped by SIGINT/m)
  })

  it("SIGTERM while copying: exit 143 and the text summary, with the cut-off peer interrupted", async () => {
    const { daily, done } = await interruptDuringCopy("SIGTERM", false)
    expect(done.status).toBe(143)
    expect(done.stdout).toMatch(/^small\s+local\s+staged/m)
    expect(done.stdout).toMatch(/^big\s+local\s+interrupted/m)
    expect(readdirSync(join(daily, "big"))).toEqual([])
    expect(tree(daily).filter((n) => n.split("/").some(isTemporary))).toEqual([])
  })

  it("SIGTERM while files are moved into place: exit 143, nothing half-done (all of the peer or none), no temporary left", async () => {
    const pool = makePool("commit")
    // a second run of the day, the peer's directory holding a file already: its files are moved in
    // one by one (a directory made this run would be replaced whole, in one rename)
    expect(cli(["stage", "--config", pool.configPath, "--peer", "small"]).status).toBe(0)
    const daily = dailyOf(pool.staging)!
    mkdirSync(join(daily, "big"))
    writeFileSync(join(daily, "big", "old"), "from before")
    const run = start(["stage", "--config", pool.configPath, "--peer", "big", "--json"])
    await waitFor(run, () => safeList(join(daily, "big")).some((n) => n.startsWith("f")), "the first file was in place")
    run.child.kill("SIGTERM")
    const done = await run.exited
    expect(done.status).toBe(143)
    const summary = JSON.parse(done.stdout)
    const landed = readdirSync(join(daily, "big")).filter((n) => n !== "old").sort()
    expect(readFileSync(join(daily, "big", "old"), "utf8")).toBe("from before")
    expect(landed.filter(isTemporary)).toEqual([])
    // what the peer had when the run started (its stage indicator comes after, if the run got that far)
    const all = readdirSync(big).filter((n) => n !== "cback.stage").sort()
    expect(landed.length === 0 || landed.join() === all.join()).toBe(true)
    // the summary tells which: a stop that came while files were moved lets the move finish
    expect(["interrupted", "staged"]).toContain(summary.peers[0].status)
    if (summary.peers[0].status === "interrupted" && landed.length > 0) expect(summary.peers[0].files).toBe(all.length)
  })

  it("SIGKILL leaves its lock and temporaries; the next run takes the lock over, stages the peer whole and leaves no temporary", async () => {
    const pool = makePool("kill")
    const run = start(["stage", "--config", pool.configPath, "--peer", "big"])
    let daily: string | undefined
    await waitFor(run, () => {
      daily = dailyOf(pool.staging)
      return daily !== undefined && safeList(daily).filter(isTemporary).length > 0
    }, "the copy was under way")
    run.child.kill("SIGKILL")
    const killed = await run.exited
    expect(killed.signal).toBe("SIGKILL")
    expect(existsSync(join(pool.staging, ".cedar-peer.lock"))).toBe(true)
    const again = cli(["stage", "--config", pool.configPath, "--peer", "big"])
    expect(again.status).toBe(0)
    expect(again.stderr).toMatch(new RegExp(`took over the lock of pid ${run.child.pid} `))
    expect(readdirSync(join(daily!, "big")).sort()).toEqual([...readdirSync(big)].filter((n) => n !== "cback.stage").sort())
    // what the killed run was gathering, beside the peer's directory, is gone
    expect(readdirSync(daily!).filter(isTemporary)).toEqual([])
    expect(again.stderr).toMatch(/removed .*\.cedar-peer-\d+-\d+-[0-9a-f]{12}, left by a run that was killed/)
    expect(existsSync(join(pool.staging, ".cedar-peer.lock"))).toBe(false)
  })
})

describe("a clean-up that does not end", () => {
  // The peer's copy program leaves a control socket behind and fails (the peer is not ready); the
  // clean-up then closes that connection with an ssh that ignores SIGTERM and never ends.
  const stuckClose = (name: string) => {
    // a short path: the control socket's directory must fit in a socket address
    const base = mkdtempSync(join("/tmp", `cp-${name.slice(0, 4)}-`))
    const bin = join(base, "bin")
    mkdirSync(bin, { recursive: true })
    mkdirSync(join(base, "work"))
    mkdirSync(join(base, "staging"))
    const closing = join(base, "closing")
    writeFileSync(join(bin, "scp"), [
      "#!/bin/sh",
      "for arg; do case $arg in ControlPath=*) socket=${arg#ControlPath=} ;; esac; done",
      // a master's socket where ssh would make it (bound, then left behind as a master leaves it)
      '[ -n "$socket" ] && python3 -c \'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])\' "$socket"',
      "exit 1",
      ""
    ].join("\n"), { mode: 0o755 })
    // writes its pid (sleep keeps it through exec) so that the test can stop it afterwards
    writeFileSync(join(bin, "ssh"), [
      "#!/bin/sh",
      // the version probe answers as OpenSSH 9 does
      '[ "$1" = -V ] && { echo "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.9" >&2; exit 0; }',
      "trap '' TERM",
      `echo $$ > '${closing}.part' && mv '${closing}.part' '${closing}'`,
      "exec sleep 600",
      ""
    ].join("\n"), { mode: 0o755 })
    const configPath = join(base, "pool.json")
    writeFileSync(configPath, JSON.stringify({
      options: {
        startingDay: "monday",
        workingDir: join(base, "work"),
        backupUser: user,
        backupGroup: user,
        rcpCommand: join(bin, "scp"),
        rshCommand: join(bin, "ssh")
      },
      peers: [{ name: "stuck.invalid", type: "remote", collectDir: "/srv/collect" }],
      stage: { stagingDir: join(base, "staging") }
    }))
    return { base, configPath, closing, work: join(base, "work") }
  }

  // gone, or a zombie nobody has reaped yet
  const isGone = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")
    } catch {
      return true
    }
  }

  it("a connection close that never ends is stopped at its time limit (10 s, then 2 s of grace), and the run ends", async () => {
    const { base, closing, configPath, work } = stuckClose("close-limit")
    const started = Date.now()
    const done = await start(["stage", "--config", configPath]).exited
    expect(Date.now() - started).toBeGreaterThan(9_000)
    expect(Date.now() - started).toBeLessThan(30_000)
    expect(done.signal).toBe(null)
    expect(done.stderr).toMatch(/peer=stuck\.invalid not-ready/)
    expect(isGone(Number(readFileSync(closing, "utf8")))).toBe(true)
    expect(safeList(work)).toEqual([])
    rmSync(base, { recursive: true, force: true })
  }, 60_000)

  it("the first signal lets that clean-up go on; a second one cuts it short: exit 143 at once, the ssh gone", async () => {
    const { base, closing, configPath } = stuckClose("second-signal")
    const run = start(["stage", "--config", configPath])
    await waitFor(run, () => existsSync(closing), "the clean-up was closing the connection")
    run.child.kill("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(run.child.exitCode).toBe(null)
    const second = Date.now()
    run.child.kill("SIGTERM")
    const done = await run.exited
    // the ssh ignores SIGTERM: SIGKILL after the 2 s of grace
    expect(Date.now() - second).toBeLessThan(6_000)
    expect(done.status).toBe(143)
    expect(done.stderr).toMatch(/^error\[Interrupted\] interrupted: nothing half-staged was left behind$/m)
    expect(isGone(Number(readFileSync(closing, "utf8")))).toBe(true)
    rmSync(base, { recursive: true, force: true })
  }, 60_000)
})

describe("interrupted outside a summary", () => {
  it("SIGTERM during stage-peer --json: exit 143, one JSON document saying it was interrupted, nothing of the peer left", async () => {
    const pool = makePool("stage-peer-term")
    const target = join(pool.base, "target")
    mkdirSync(target)
    const run = start(["stage-peer", "--config", pool.configPath, "--peer", "big", "--target", target, "--json"])
    await waitFor(run, () => safeList(target).length > 0, "the copy was under way")
    run.child.kill("SIGTERM")
    const done = await run.exited
    expect(done.status).toBe(143)
    expect(JSON.parse(done.stdout)).toEqual({ ok: false, error: { _tag: "Interrupted", message: "interrupted: nothing half-staged was left behind" } })
    expect(done.stderr.match(/^error\[Interrupted\]/gm)).toHaveLength(1)
    expect(readdirSync(target)).toEqual([])
  })
})

describe("limit and verify flags", () => {
  const tiny = (name: string) => {
    const base = join(root, name)
    const alpha = join(base, "alpha")
    mkdirSync(join(base, "staging"), { recursive: true })
    mkdirSync(join(base, "work"), { recursive: true })
    mkdirSync(alpha, { recursive: true })
    writeFileSync(join(alpha, "a.tar"), "AAAA")
    writeFileSync(join(alpha, "b.tar"), "BB")
    writeFileSync(join(alpha, "cback.collect"), "")
    const configPath = join(base, "pool.json")
    writeFileSync(configPath, JSON.stringify({
      options: { startingDay: "monday", workingDir: join(base, "work"), backupUser: user, backupGroup: user },
      peers: [{ name: "alpha", type: "local", collectDir: alpha }],
      stage: { stagingDir: join(base, "staging") }
    }))
    return { base, configPath, staging: join(base, "staging") }
  }

  it.each([
    [["--concurrency", "0"], /--concurrency must be a whole number of at least 1/],
    [["--max-files", "1.5"], /--max-files must be a whole number of at least 1/],
    [["--max-bytes", "ten"], /--max-bytes must be a number of bytes/],
    [["--timeout", "lunch=30"], /--timeout "lunch=30": the name must be one of connect, stall, indicator, stage, command, managedAction/],
    [["--timeout", "stall=-3"], /--timeout "stall=-3": the time must be/]
  ])("stage %j is a usage error naming the flag (exit 2), nothing touched", (flags, message) => {
    const pool = tiny(`bad-${flags.join("")}`.replace(/[^\w-]/g, "_"))
    const done = cli(["stage", "--config", pool.configPath, ...flags])
    expect(done.status).toBe(2)
    expect(done.stdout + done.stderr).toMatch(message)
    expect(readdirSync(pool.staging)).toEqual([])
  })

  it("the limit flags are accepted by stage and stage-peer (suffixes, named and bare timeouts)", () => {
    const pool = tiny("flags-ok")
    const done = cli(["stage", "--config", pool.configPath, "--max-files", "100", "--max-bytes", "10M", "--timeout", "connect=30", "--timeout", "5m", "--concurrency", "2"])
    expect(done.status).toBe(0)
    const target = join(pool.base, "target")
    mkdirSync(target)
    const peer = cli(["stage-peer", "--config", pool.configPath, "--peer", "alpha", "--target", target, "--max-files", "10", "--max-bytes", "1K", "--timeout", "stage=60"])
    expect(peer.status).toBe(0)
    expect(readdirSync(target).sort()).toEqual(["a.tar", "b.tar", "cback.collect", "cback.stage"])
  })

  it("stage --verify writes the daily manifest; verify and sha256sum -c accept it; a corrupted staged file fails verify", () => {
    const pool = tiny("stage-verify")
    writeFileSync(join(pool.base, "alpha", "odd\\name"), "backslash")
    const done = cli(["stage", "--config", pool.configPath, "--verify", "--json"])
    expect(done.status).toBe(0)
    const daily = JSON.parse(done.stdout).dailyDir as string
    const manifest = readFileSync(join(daily, "cedar-peer.sha256"), "utf8")
    expect(manifest.split("\n").filter(Boolean).map((l) => l.replace(/^\\?[0-9a-f]{64} {2}/, ""))).toEqual([
      "alpha/a.tar",
      "alpha/b.tar",
      "alpha/cback.collect",
      "alpha/odd\\\\name"
    ])
    expect(cli(["verify", daily]).status).toBe(0)
    expect(spawnSync("sha256sum", ["-c", "--quiet", "cedar-peer.sha256"], { cwd: daily }).status).toBe(0)
    writeFileSync(join(daily, "alpha", "odd\\name"), "tampered")
    const bad = cli(["verify", daily, "--json"])
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout).mismatches.map((m: { file: string }) => m.file)).toEqual(["alpha/odd\\\\name"])
  })

  it("verify DAILY_DIR: ok for an intact manifest; a changed and a missing file are reported, exit 1", () => {
    const pool = tiny("verify")
    const daily = join(pool.base, "daily")
    mkdirSync(join(daily, "alpha"), { recursive: true })
    writeFileSync(join(daily, "alpha", "a.tar"), "AAAA")
    writeFileSync(join(daily, "alpha", "b.tar"), "BB")
    const sha = (text: string) => createHash("sha256").update(text).digest("hex")
    writeFileSync(join(daily, "cedar-peer.sha256"), `${sha("AAAA")}  alpha/a.tar\n${sha("BB")}  alpha/b.tar\n`)
    const ok = cli(["verify", daily])
    expect(ok.status).toBe(0)
    expect(ok.stdout).toMatch(/2 file\(s\) checked, 0 mismatch\(es\), 0 missing: ok/)
    // sha256sum reads the same manifest
    expect(spawnSync("sha256sum", ["-c", "--quiet", "cedar-peer.sha256"], { cwd: daily }).status).toBe(0)

    writeFileSync(join(daily, "alpha", "a.tar"), "AAAB")
    rmSync(join(daily, "alpha", "b.tar"))
    const bad = cli(["verify", daily, "--json"])
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      checked: 2,
      mismatches: [{ file: "alpha/a.tar", expected: sha("AAAA"), actual: sha("AAAB") }],
      missing: ["alpha/b.tar"]
    })
    const text = cli(["verify", daily])
    expect(text.stdout).toMatch(/^MISMATCH alpha\/a\.tar: /m)
    expect(text.stdout).toMatch(/^MISSING {2}alpha\/b\.tar$/m)
    const none = cli(["verify", join(pool.base, "nowhere")])
    expect(none.status).toBe(1)
    expect(none.stderr).toMatch(/^error\[FileOperationFailed\] peer master: .*cedar-peer\.sha256: open failed/m)
  })
})

describe("a signal during the final move", () => {
  const all = () => readdirSync(big).filter((n) => n !== "cback.stage").sort()

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stage-peer, ${signal} while its files are renamed into the target: the move finishes, the exit status tells the signal, the summary says all are there`, async () => {
      const pool = makePool(`final-move-${signal}`)
      const target = join(pool.base, "target")
      mkdirSync(target)
      const run = start(["stage-peer", "--config", pool.configPath, "--peer", "big", "--target", target])
      await waitFor(run, () => safeList(target).some((n) => n.startsWith("f")), "the first file was in place")
      run.child.kill(signal)
      const done = await run.exited
      expect(done.status).toBe(signal === "SIGTERM" ? 143 : 130)
      expect(done.stdout).toMatch(new RegExp(`^staged ${all().length} file\\(s\\)`))
      expect(readdirSync(target).sort()).toEqual(all())
      expect(done.stderr.match(/^error\[Interrupted\] stopped by /gm)).toHaveLength(1)
    })
  }

  it("stage, SIGINT while a peer's files are renamed into place: exit 130, no master indicator, the peer's files all there and said to be", async () => {
    const pool = makePool("final-move-stage")
    // a second run of the day, the peer's directory holding a file already: its files are moved in one by one
    expect(cli(["stage", "--config", pool.configPath, "--peer", "small"]).status).toBe(0)
    const daily = dailyOf(pool.staging)!
    rmSync(join(daily, "cback.stage"))
    mkdirSync(join(daily, "big"))
    writeFileSync(join(daily, "big", "old"), "from before")
    const run = start(["stage", "--config", pool.configPath, "--peer", "big", "--json"])
    await waitFor(run, () => safeList(join(daily, "big")).some((n) => n.startsWith("f")), "the first file was in place")
    run.child.kill("SIGINT")
    const done = await run.exited
    expect(done.status).toBe(130)
    const summary = JSON.parse(done.stdout)
    expect(summary.interrupted, done.stderr).toBe(true)
    expect(existsSync(join(daily, "cback.stage"))).toBe(false)
    expect(readdirSync(join(daily, "big")).filter((n) => n !== "old").sort()).toEqual(all())
    const [peer] = summary.peers
    expect(peer).toMatchObject({ name: "big", files: all().length })
    // interrupted while moving (or before its indicator), or staged if its indicator came first
    if (peer.status === "interrupted") expect(peer.reason).toMatch(/moved into place|after its files were staged/)
    else expect(peer.status).toBe("staged")
    expect(existsSync(join(big, "cback.stage"))).toBe(peer.status === "staged")
  })
})

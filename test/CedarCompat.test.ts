// Compatibility with the real Cedar Backup 3: the same pool, described by the same cback3.conf, is
// staged by `cback3 stage` and by cedar-peer (library and built CLI), and the resulting trees —
// staged files with contents, modes and owners, daily/month/year dirs, indicator files — must be
// identical. Runs only where /usr/bin/cback3 exists (.ci/run installs it). Facts measured here are
// written up in docs/compatibility.md.
//
// Dates: cback3 names the daily dir after its own clock. Every child process runs with TZ set to a
// fixed-offset zone in which it is about noon (noonZone), so a run never straddles midnight; the
// in-process Pool.stage gets `now` = noon of that same calendar day in this process's zone.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  CBACK3,
  cedarErrors,
  dayIn,
  indicators,
  makePool,
  noonZone,
  runCback3,
  snapshot,
  stagedFiles,
  standardPool,
  subdirectoryPool
} from "./support/cedarPool.js"

const roots: Array<string> = []
const freshRoot = (label: string) => {
  const root = mkdtempSync(path.join(tmpdir(), `cedar-compat-${label}-`))
  roots.push(root)
  return root
}
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

const isRoot = process.getuid?.() === 0
const umask = (() => {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("Umask:"))
  return line === undefined ? 0o022 : parseInt(line.split(/\s+/)[1]!, 8)
})()
const octal = (mode: number) => mode.toString(8).padStart(4, "0")
const newFileMode = octal(0o666 & ~umask)
const newDirMode = octal(0o777 & ~umask)

const idsOf = (user: string): { uid: number; gid: number } => {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${user}:`))
  const fields = line!.split(":")
  return { uid: Number(fields[2]), gid: Number(fields[3]) }
}

describe.skipIf(!existsSync(CBACK3))("cback3 stage, as measured (the reference cedar-peer is held to)", () => {
  const now = new Date()
  const tz = noonZone(now)
  const day = dayIn(tz, now)
  const backup = idsOf("backup")
  const owner = isRoot ? backup : { uid: process.getuid!(), gid: process.getgid!() }

  it("stages ready peers with contents and modes, chowns to the backup user, and exits 0 despite a not-ready peer", () => {
    const pool = makePool(freshRoot("cback3"), standardPool({ startingDay: day.nextWeekday }))
    const result = runCback3(pool, { full: true, tz })
    expect(result.exitCode).toBe(0)
    expect(result.stderr).toBe("")
    // ERROR lines go to stdout; a full run ignores `weekly` and `all` peers, not `daily` or unset ones
    expect(result.stdout.split("\n").filter((l) => l !== "")).toEqual([
      "Peer [gamma] was not ready to be staged.",
      "Peer [epsilon] was not ready to be staged.",
      "Peer [theta] was not ready to be staged."
    ])
    expect(cedarErrors(result.log)).toEqual({ notReady: ["gamma", "epsilon", "theta"], failed: [] })

    const tree = snapshot(pool.root)
    const staged = (peer: string) => stagedFiles(tree, day.daily, peer)
    // every configured peer gets a directory, ready or not; the indicator itself is staged too
    for (const peer of ["gamma", "delta", "epsilon", "zeta", "theta"]) {
      expect(staged(peer)).toEqual([])
    }
    const alpha = standardPool({ startingDay: "monday" }).peers[0]!
    expect(staged("alpha").map((e) => [e.path, e.type, e.mode, e.uid, e.gid, e.size])).toEqual(
      [
        [".hidden", "file", "0640", owner.uid, owner.gid, 9],
        ["cback.collect", "file", newFileMode, owner.uid, owner.gid, 0],
        ["data.bin", "file", "0600", owner.uid, owner.gid, 200_000],
        ["empty", "file", "0644", owner.uid, owner.gid, 0],
        ["my file.txt", "file", "0755", owner.uid, owner.gid, 13],
        ["na\u00efve 'quoted' $x & [y] *.txt", "file", "0444", owner.uid, owner.gid, 9]
      ]
    )
    const source = snapshot(pool.root).filter((e) => e.path.startsWith("peers/alpha/") && e.type === "file")
    for (const file of alpha.files) {
      expect(staged("alpha").find((e) => e.path === file.name)!.sha256).toBe(
        source.find((e) => e.path === `peers/alpha/${file.name}`)!.sha256
      )
    }
    // a collect dir that is a symlink to a directory is followed
    expect(staged("eta").map((e) => e.path)).toEqual(["cback.collect", "through-link.bin"])

    const dir = (relative: string) => tree.find((e) => e.path === relative)!
    const [year, month] = day.daily.split("/")
    for (const relative of [`staging/${year}`, `staging/${year}/${month}`, `staging/${day.daily}`, `staging/${day.daily}/gamma`]) {
      expect([dir(relative).type, dir(relative).mode, dir(relative).uid, dir(relative).gid]).toEqual(
        ["directory", newDirMode, owner.uid, owner.gid]
      )
    }
    // the staging dir itself is left alone
    expect(dir("staging").uid).toBe(process.getuid!())

    // stage indicators: one per staged peer, written as the running user (no chown), plus the master's
    expect(indicators(pool, day.daily)).toEqual({ peersWithStageIndicator: ["alpha", "beta", "eta"], dailyIndicator: true })
    const peerIndicator = dir("peers/alpha/cback.stage")
    expect([peerIndicator.mode, peerIndicator.uid, peerIndicator.size]).toEqual([newFileMode, process.getuid!(), 0])
    const eta = dir("peers/eta.real/cback.stage")
    expect(eta.type).toBe("file")
    const master = dir(`staging/${day.daily}/cback.stage`)
    expect([master.mode, master.uid, master.gid, master.size]).toEqual([newFileMode, owner.uid, owner.gid, 0])
    // nothing else is created: no temp files, nothing in the working dir
    expect(tree.filter((e) => e.path.startsWith("work/"))).toEqual([])
  })

  it("chowns an existing year dir when it creates the daily dir, and only then", () => {
    const pool = makePool(freshRoot("cback3-year"), standardPool({ startingDay: day.nextWeekday }))
    const [year] = day.daily.split("/")
    // a year dir made beforehand by root: Cedar creates month/day below it and chowns all three
    mkdirSync(path.join(pool.stagingDir, year!))
    runCback3(pool, { full: true, tz })
    const first = snapshot(pool.root).find((e) => e.path === `staging/${year}`)!
    expect([first.uid, first.gid]).toEqual([owner.uid, owner.gid])
    // a second run on the same day finds the daily dir, warns, and re-stages over the old files
    const second = runCback3(pool, { full: true, tz })
    expect(second.exitCode).toBe(0)
    expect(second.log).toMatch(/WARNING\] Staging directory \[.*\] already existed\./)
    expect(second.log).toMatch(/WARNING\] Peer staging directory \[.*alpha\] already existed\./)
    expect(second.log).toMatch(/Staged 6 files for peer \[alpha\]\./)
  })

  it("does not ignore staging errors, whatever the failure mode, and stages part of a peer with a subdirectory", () => {
    const pool = makePool(freshRoot("cback3-sub"), subdirectoryPool({ startingDay: day.nextWeekday }))
    const result = runCback3(pool, { full: true, tz })
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toBe("Error staging [nested]: Source is not a regular file.\n")
    const tree = snapshot(pool.root)
    // how much of `nested` was copied depends on readdir order: some files, never the subdirectory
    const nested = stagedFiles(tree, day.daily, "nested").map((e) => e.path)
    expect(nested.every((name) => /^([a-h]\.txt|cback\.collect)$/.test(name))).toBe(true)
    expect(nested.length).toBeLessThan(9)
    expect(indicators(pool, day.daily)).toEqual({ peersWithStageIndicator: ["plain"], dailyIndicator: true })
  })
})

/**
 * A small pool of local peers built on disk, the `cback3.conf` that describes it, a runner for the
 * real Cedar Backup 3 (`/usr/bin/cback3 … stage`) and a snapshot of what a stage left behind.
 *
 * The compatibility test builds the same pool twice, in two temp roots (staging writes indicators
 * into the collect dirs, so one pool cannot serve both runs), stages one with cback3 and the other
 * with cedar-peer, and compares the snapshots. Every path in a snapshot is relative to its root.
 *
 * Plain synchronous Node here on purpose: this is test scaffolding around a foreign program, and a
 * failure in it should stop the test loudly.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * Where the real Cedar Backup 3 lives (Debian package `cedar-backup3`).
 *
 * @since 0.1.0
 * @category constants
 */
export const CBACK3 = "/usr/bin/cback3"

/**
 * @since 0.1.0
 * @category models
 */
export interface FileSpec {
  readonly name: string
  readonly content: Uint8Array
  readonly mode: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PeerSpec {
  readonly name: string
  readonly files: ReadonlyArray<FileSpec>
  /** writes `cback.collect` into the collect dir */
  readonly ready: boolean
  readonly ignoreFailures?: "none" | "all" | "daily" | "weekly"
  /** a directory (holding one file) inside the collect dir: Cedar and cedar-peer differ here */
  readonly subdirectory?: string
  /** the configured collect dir is a symlink to `<name>.real` (both tools must follow it) */
  readonly collectDirIsLink?: boolean
  /** the collect dir is never created (the peer cannot be ready) */
  readonly missing?: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PoolSpec {
  readonly startingDay: string
  readonly backupUser: string
  readonly backupGroup: string
  readonly peers: ReadonlyArray<PeerSpec>
  /** when set, a `<stage>` peer list naming these peers, which replaces `<peers>` for staging */
  readonly stagePeers?: ReadonlyArray<string>
}

/**
 * One pool on disk.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolRoot {
  readonly root: string
  readonly spec: PoolSpec
  readonly configPath: string
  readonly stagingDir: string
  readonly workingDir: string
  readonly logPath: string
  readonly collectDir: (peer: string) => string
}

/**
 * Deterministic bytes (sha256 in counter mode), so both pools hold the same "binary" content.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bytes = (seed: string, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  for (let offset = 0, block = 0; offset < length; block++) {
    const digest = createHash("sha256").update(`${seed}:${block}`).digest()
    out.set(digest.subarray(0, Math.min(digest.length, length - offset)), offset)
    offset += digest.length
  }
  return out
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value)

/**
 * The pool the compatibility test stages: every kind of peer the stage action distinguishes.
 * Peer order matters to Cedar only in log order (it stages local peers in config order).
 *
 * @since 0.1.0
 * @category constructors
 */
export const standardPool = (options: { readonly startingDay: string }): PoolSpec => ({
  startingDay: options.startingDay,
  backupUser: "backup",
  backupGroup: "backup",
  peers: [
    {
      name: "alpha",
      ready: true,
      files: [
        { name: "data.bin", content: bytes("alpha/data.bin", 200_000), mode: 0o600 },
        { name: "my file.txt", content: text("hello, world\n"), mode: 0o755 },
        { name: "empty", content: new Uint8Array(0), mode: 0o644 },
        { name: ".hidden", content: text("dot file\n"), mode: 0o640 },
        { name: "na\u00efve 'quoted' $x & [y] *.txt", content: text("odd name\n"), mode: 0o444 }
      ]
    },
    { name: "beta", ready: true, ignoreFailures: "none", files: [{ name: "b.txt", content: text("beta\n"), mode: 0o644 }] },
    { name: "gamma", ready: false, files: [{ name: "g.txt", content: text("gamma\n"), mode: 0o644 }] },
    { name: "delta", ready: false, ignoreFailures: "all", files: [{ name: "d.txt", content: text("d\n"), mode: 0o644 }] },
    { name: "epsilon", ready: false, ignoreFailures: "daily", files: [{ name: "e.txt", content: text("e\n"), mode: 0o644 }] },
    { name: "zeta", ready: false, ignoreFailures: "weekly", files: [{ name: "z.txt", content: text("z\n"), mode: 0o644 }] },
    {
      name: "eta",
      ready: true,
      ignoreFailures: "weekly",
      collectDirIsLink: true,
      files: [{ name: "through-link.bin", content: bytes("eta", 4096), mode: 0o640 }]
    },
    { name: "theta", ready: false, missing: true, files: [] }
  ]
})

/**
 * A pool where two ready peers' collect dirs hold a subdirectory (one of them with failures
 * ignored): Cedar stages the files it meets before the directory and then fails the peer;
 * cedar-peer refuses the peer before copying.
 *
 * @since 0.1.0
 * @category constructors
 */
export const subdirectoryPool = (options: { readonly startingDay: string }): PoolSpec => ({
  startingDay: options.startingDay,
  backupUser: "backup",
  backupGroup: "backup",
  peers: [
    {
      name: "nested",
      ready: true,
      subdirectory: "inner",
      files: ["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => ({ name: `${n}.txt`, content: text(`${n}\n`), mode: 0o644 }))
    },
    {
      name: "nested-ignored",
      ready: true,
      ignoreFailures: "all",
      subdirectory: "inner",
      files: [{ name: "n.txt", content: text("n\n"), mode: 0o644 }]
    },
    { name: "plain", ready: true, files: [{ name: "p.txt", content: text("plain\n"), mode: 0o644 }] }
  ]
})

/**
 * Builds the pool under `root` (which must exist and be empty) and writes its `cback3.conf`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePool = (root: string, spec: PoolSpec): PoolRoot => {
  const pool: PoolRoot = {
    root,
    spec,
    configPath: path.join(root, "cback3.conf"),
    stagingDir: path.join(root, "staging"),
    workingDir: path.join(root, "work"),
    logPath: path.join(root, "cback3.log"),
    collectDir: (peer) => path.join(root, "peers", peer)
  }
  fs.mkdirSync(path.join(root, "peers"))
  fs.mkdirSync(pool.stagingDir)
  fs.mkdirSync(pool.workingDir)
  for (const peer of spec.peers) {
    if (peer.missing === true) continue
    const dir = peer.collectDirIsLink === true ? `${pool.collectDir(peer.name)}.real` : pool.collectDir(peer.name)
    fs.mkdirSync(dir)
    if (peer.collectDirIsLink === true) fs.symlinkSync(path.basename(dir), pool.collectDir(peer.name))
    for (const file of peer.files) {
      const target = path.join(dir, file.name)
      fs.writeFileSync(target, file.content)
      fs.chmodSync(target, file.mode) // explicit: writeFileSync's mode is filtered by the umask
    }
    if (peer.subdirectory !== undefined) {
      fs.mkdirSync(path.join(dir, peer.subdirectory))
      fs.writeFileSync(path.join(dir, peer.subdirectory, "inside.txt"), "inside\n")
    }
    if (peer.ready) fs.writeFileSync(path.join(dir, "cback.collect"), "")
  }
  fs.writeFileSync(pool.configPath, configXml(pool))
  return pool
}

const xmlEscape = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/**
 * A complete `cback3.conf` for the pool, as an administrator would write it (Cedar validates the
 * whole `<options>` section, so every required field is there, including an unused rcp command).
 *
 * @since 0.1.0
 * @category constructors
 */
export const configXml = (pool: Pick<PoolRoot, "spec" | "stagingDir" | "workingDir" | "collectDir">): string => {
  const peer = (p: PeerSpec) =>
    [
      "    <peer>",
      `      <name>${xmlEscape(p.name)}</name>`,
      "      <type>local</type>",
      `      <collect_dir>${xmlEscape(pool.collectDir(p.name))}</collect_dir>`,
      ...(p.ignoreFailures === undefined ? [] : [`      <ignore_failures>${p.ignoreFailures}</ignore_failures>`]),
      "    </peer>"
    ].join("\n")
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    "<cb_config>",
    "  <reference><author>cedar-peer compatibility test</author></reference>",
    "  <options>",
    `    <starting_day>${pool.spec.startingDay}</starting_day>`,
    `    <working_dir>${xmlEscape(pool.workingDir)}</working_dir>`,
    `    <backup_user>${xmlEscape(pool.spec.backupUser)}</backup_user>`,
    `    <backup_group>${xmlEscape(pool.spec.backupGroup)}</backup_group>`,
    "    <rcp_command>/usr/bin/scp -B</rcp_command>",
    "  </options>",
    "  <peers>",
    ...pool.spec.peers.map(peer),
    "  </peers>",
    "  <stage>",
    `    <staging_dir>${xmlEscape(pool.stagingDir)}</staging_dir>`,
    ...(pool.spec.stagePeers === undefined
      ? []
      : pool.spec.peers.filter((p) => pool.spec.stagePeers!.includes(p.name)).map((p) => peer(p).replace(/^/gm, "  "))),
    "  </stage>",
    "</cb_config>",
    ""
  ].join("\n")
}

/**
 * The names of a directory in the kernel's readdir order, which is the order Python's
 * `os.listdir` (and so Cedar's copy loop) sees. `fs.readdirSync` would not do: libuv sorts it.
 *
 * @since 0.1.0
 * @category snapshots
 */
export const readdirOrder = (dir: string): Array<string> => {
  const handle = fs.opendirSync(dir)
  const names: Array<string> = []
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) names.push(entry.name)
  } finally {
    handle.closeSync()
  }
  return names
}

/**
 * What Cedar stages from a collect dir holding a subdirectory `inner`: the names listed before
 * it, in readdir order (the copy loop raises on the directory and stops there).
 *
 * @since 0.1.0
 * @category snapshots
 */
export const cedarPartialStage = (collectDir: string, subdirectory: string): Array<string> => {
  const order = readdirOrder(collectDir)
  return order.slice(0, order.indexOf(subdirectory)).sort()
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly exitCode: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a program to its end with the given time zone (see {@link noonZone}).
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>, options: { readonly tz: string; readonly cwd?: string }): RunResult => {
  const [command, ...args] = argv
  const done = spawnSync(command!, args, {
    encoding: "utf8",
    env: { ...process.env, TZ: options.tz },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    timeout: 120_000
  })
  if (done.error !== undefined) throw done.error
  return { exitCode: done.status, stdout: done.stdout, stderr: done.stderr }
}

/**
 * `cback3 --config … --logfile … [--full] stage`, as cron would run it (no `--stack`: exceptions
 * become exit statuses as in production). Cedar logs ERROR lines to stdout, everything to the log;
 * `log` is the part of the log this run wrote.
 *
 * @since 0.1.0
 * @category running
 */
export const runCback3 = (pool: PoolRoot, options: { readonly full: boolean; readonly tz: string }): RunResult & {
  readonly log: string
} => {
  // cback3 appends to its log: keep only what this run wrote
  const before = fs.existsSync(pool.logPath) ? fs.statSync(pool.logPath).size : 0
  const result = run(
    [CBACK3, "--config", pool.configPath, "--logfile", pool.logPath, ...(options.full ? ["--full"] : []), "stage"],
    { tz: options.tz }
  )
  const log = fs.existsSync(pool.logPath) ? fs.readFileSync(pool.logPath).subarray(before).toString("utf8") : ""
  return { ...result, log }
}

/**
 * The peers whose "not ready" or "Error staging" Cedar logged at ERROR level (the ones whose
 * failure was not ignored), read from its log.
 *
 * @since 0.1.0
 * @category running
 */
export const cedarErrors = (log: string): { readonly notReady: Array<string>; readonly failed: Array<string> } => {
  const notReady: Array<string> = []
  const failed: Array<string> = []
  for (const line of log.split("\n")) {
    if (!line.includes("[ERROR  ]")) continue
    const notReadyMatch = /Peer \[(.*)\] was not ready to be staged\./.exec(line)
    if (notReadyMatch) notReady.push(notReadyMatch[1]!)
    const failedMatch = /Error staging \[(.*)\]: /.exec(line)
    if (failedMatch) failed.push(failedMatch[1]!)
  }
  return { notReady, failed }
}

/**
 * One entry of a snapshot: a path relative to the pool root and what a backup cares about.
 * No times: neither Cedar (`shutil.copy`) nor cedar-peer keeps a staged file's mtime.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly path: string
  readonly type: "file" | "directory" | "symlink" | "other"
  /** permission bits in octal, e.g. "0640" */
  readonly mode: string
  readonly uid: number
  readonly gid: number
  readonly size?: number
  readonly sha256?: string
  readonly linkTarget?: string
}

/**
 * Every entry under `peers/`, `staging/` and `work/` of a pool root, sorted by path. Links are
 * not followed. Leftover temporary files of a stage would show up here and break equality.
 *
 * @since 0.1.0
 * @category snapshots
 */
export const snapshot = (root: string): Array<Entry> => {
  const entries: Array<Entry> = []
  const walk = (relative: string) => {
    const absolute = path.join(root, relative)
    const info = fs.lstatSync(absolute)
    const base = {
      path: relative,
      mode: (info.mode & 0o7777).toString(8).padStart(4, "0"),
      uid: info.uid,
      gid: info.gid
    }
    if (info.isSymbolicLink()) {
      entries.push({ ...base, type: "symlink", linkTarget: fs.readlinkSync(absolute) })
    } else if (info.isFile()) {
      const sha256 = createHash("sha256").update(fs.readFileSync(absolute)).digest("hex")
      entries.push({ ...base, type: "file", size: info.size, sha256 })
    } else if (info.isDirectory()) {
      entries.push({ ...base, type: "directory" })
      for (const name of fs.readdirSync(absolute)) walk(path.join(relative, name))
    } else {
      entries.push({ ...base, type: "other" })
    }
  }
  for (const top of ["peers", "staging", "work"]) {
    if (fs.existsSync(path.join(root, top))) walk(top)
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * The indicator files present after a stage: `cback.stage` in which collect dirs (by peer name)
 * and whether the master's `cback.stage` is in the daily dir.
 *
 * @since 0.1.0
 * @category snapshots
 */
export const indicators = (
  pool: PoolRoot,
  daily: string
): { readonly peersWithStageIndicator: Array<string>; readonly dailyIndicator: boolean } => ({
  peersWithStageIndicator: pool.spec.peers
    .filter((peer) => fs.existsSync(path.join(pool.collectDir(peer.name), "cback.stage")))
    .map((peer) => peer.name),
  dailyIndicator: fs.existsSync(path.join(pool.stagingDir, daily, "cback.stage"))
})

/**
 * The entries of a snapshot under one staged peer's directory (`staging/<daily>/<peer>/…`),
 * with paths relative to that directory.
 *
 * @since 0.1.0
 * @category snapshots
 */
export const stagedFiles = (entries: ReadonlyArray<Entry>, daily: string, peer: string): Array<Entry> => {
  const prefix = path.join("staging", daily, peer) + "/"
  return entries.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, path: e.path.slice(prefix.length) }))
}

/**
 * A fixed-offset time zone (`Etc/GMT±N`, understood by glibc, Python and Node's ICU) in which it
 * is now about noon. Running cback3 and the cedar-peer CLI under it keeps both runs on the same
 * calendar day whatever the wall clock says: no midnight straddling, no flaky date.
 *
 * @since 0.1.0
 * @category dates
 */
export const noonZone = (now: Date): string => {
  const offset = 12 - now.getUTCHours() // -11 … 12, all of which exist as Etc/GMT zones
  return offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}` // POSIX sign: Etc/GMT-5 is UTC+5
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const

/**
 * The calendar date of `now` in time zone `tz`: the daily dir path `YYYY/MM/DD`, the weekday
 * name (Cedar's `starting_day` vocabulary), and a `Date` at noon of that day in *this* process's
 * time zone, to give cedar-peer's `Pool.stage({ now })` the same daily dir.
 *
 * @since 0.1.0
 * @category dates
 */
export const dayIn = (tz: string, now: Date): {
  readonly daily: string
  readonly weekday: (typeof WEEKDAYS)[number]
  readonly nextWeekday: (typeof WEEKDAYS)[number]
  readonly localNoon: Date
} => {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(now)
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value)
  const [year, month, day] = [part("year"), part("month"), part("day")]
  const localNoon = new Date(year, month - 1, day, 12, 0, 0)
  const weekdayIndex = localNoon.getDay()
  return {
    daily: `${year}/${String(month).padStart(2, "0")}/${String(day).padStart(2, "0")}`,
    weekday: WEEKDAYS[weekdayIndex]!,
    nextWeekday: WEEKDAYS[(weekdayIndex + 1) % 7]!,
    localNoon
  }
}

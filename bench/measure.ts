// Timing one process run for `npm run bench`: wall time around the spawn, peak RSS from GNU time
// (`/usr/bin/time -f %M`, the largest resident set of the command or any child it waited for), and
// the small statistics and formatting the report needs. Plain synchronous Node: the benchmark runs
// one command at a time on purpose, so a blocking spawn adds nothing to what it measures.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** GNU time, when installed (Debian package `time`): the peak RSS comes from it. */
export const GNU_TIME = "/usr/bin/time"

/**
 * One timed run of one tool.
 */
export interface Sample {
  readonly seconds: number
  /** peak resident set in KiB, when GNU time is there */
  readonly rssKiB: number | undefined
  /**
   * CPU seconds the whole machine was busy during the run (every process, both ends of a
   * loopback ssh, the kernel; from /proc/stat), when readable: how close a run came to the
   * machine's cores, whatever the work was spread over
   */
  readonly cpuSeconds?: number | undefined
  /**
   * CPU seconds of the command and every process it started, the master's own share whatever else
   * runs on the machine (the far end of a loopback ssh and other users' work are not in it): from
   * a cpuacct cgroup of the benchmark's own where the kernel has one (then a child that detached,
   * such as a persisting ssh master that decrypts the stream, counts too), else user + system time
   * of what GNU time saw (the command and the children it waited for)
   */
  readonly processCpuSeconds?: number | undefined
  /** why the run does not count (non-zero exit, wrong result) */
  readonly error?: string | undefined
}

/** Where `name` is found on PATH, or undefined. */
export const which = (name: string): string | undefined => {
  if (name.includes("/")) return fs.existsSync(name) ? name : undefined
  for (const dir of (process.env["PATH"] ?? "/usr/bin:/bin").split(":")) {
    const candidate = path.join(dir, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const tail = (text: string, lines = 4): string => text.trim().split("\n").slice(-lines).join(" | ")

/**
 * A cpuacct cgroup (cgroup v1) for the timed commands, when the machine has the controller and
 * we may make one (root): every process a command starts stays in it, detached or not.
 */
const CPUACCT = "/sys/fs/cgroup/cpuacct"
let cgroup: string | undefined | null = null
const benchCgroup = (): string | undefined => {
  if (cgroup !== null) return cgroup
  cgroup = undefined
  try {
    const dir = path.join(CPUACCT, `cedar-bench-${process.pid}`)
    fs.mkdirSync(dir)
    fs.readFileSync(path.join(dir, "cpuacct.usage"), "utf8")
    cgroup = dir
    process.on("exit", () => {
      try {
        fs.rmdirSync(dir) // only an empty one goes; a leftover process keeps it, harmlessly
      } catch {
        // a process of a tool is still in it
      }
    })
  } catch {
    // no cpuacct here, or not allowed: GNU time's figure serves
  }
  return cgroup
}
const cgroupSeconds = (dir: string): number | undefined => {
  try {
    return Number(fs.readFileSync(path.join(dir, "cpuacct.usage"), "utf8").trim()) / 1e9
  } catch {
    return undefined
  }
}

/**
 * Runs `argv` to its end and times it. `rssFile` is a scratch file for GNU time's report.
 */
export const timed = (
  argv: ReadonlyArray<string>,
  options: { readonly rssFile: string; readonly cwd?: string | undefined; readonly timeoutSeconds?: number }
): Sample => {
  const useTime = fs.existsSync(GNU_TIME)
  const group = benchCgroup()
  const measured = useTime ? [GNU_TIME, "-f", "%M %U %S", "-o", options.rssFile, ...argv] : [...argv]
  // the shell enters the cgroup, then becomes the command: nothing else of it is counted
  const full = group === undefined ? measured : ["/bin/sh", "-c", 'echo $$ >"$0/cgroup.procs" && exec "$@"', group, ...measured]
  const groupBefore = group === undefined ? undefined : cgroupSeconds(group)
  fs.rmSync(options.rssFile, { force: true })
  const busyBefore = machineBusySeconds()
  const started = performance.now()
  const done = spawnSync(full[0]!, full.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: (options.timeoutSeconds ?? 3600) * 1000,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd })
  })
  const seconds = (performance.now() - started) / 1000
  const busyAfter = machineBusySeconds()
  const groupAfter = group === undefined ? undefined : cgroupSeconds(group)
  const cpuSeconds = busyBefore === undefined || busyAfter === undefined ? undefined : busyAfter - busyBefore
  let rssKiB: number | undefined
  let processCpuSeconds: number | undefined
  if (useTime) {
    try {
      // a failing command makes GNU time write "Command exited with non-zero status N" first
      const last = fs.readFileSync(options.rssFile, "utf8").trim().split("\n").pop() ?? ""
      const match = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last)
      rssKiB = match === null ? undefined : Number(match[1])
      processCpuSeconds = match === null ? undefined : Number(match[2]) + Number(match[3])
    } catch {
      rssKiB = undefined
    }
  }
  const error = done.error !== undefined
    ? `${done.error.message}`
    : done.status !== 0
    ? `exit ${done.status ?? done.signal}: ${tail(done.stderr || done.stdout)}`
    : undefined
  if (groupBefore !== undefined && groupAfter !== undefined) processCpuSeconds = groupAfter - groupBefore
  return { seconds, rssKiB, cpuSeconds, processCpuSeconds, error }
}

/** Seconds all CPUs together spent busy since boot (/proc/stat: all but idle and iowait), if readable. */
export const machineBusySeconds = (): number | undefined => {
  try {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    const [user, nice, system, , , irq, softirq, steal] = fields
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (v ?? 0), 0)
    // USER_HZ, which Linux keeps at 100 for /proc/stat whatever the kernel's own tick
    return ticks / 100
  } catch {
    return undefined
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const MiB = 1024 * 1024
export const GiB = 1024 * MiB

/** 5000 -> "5,000" */
export const count = (value: number): string => Math.round(value).toLocaleString("en-US")

/** bytes as KiB / MiB / GiB with one decimal when useful */
export const size = (bytes: number): string => {
  if (bytes >= 1024 * MiB) return `${(bytes / (1024 * MiB)).toFixed(1)} GiB`
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB`
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KiB`
  return `${bytes} B`
}

/** peak RSS in MB (10^6 bytes, as the targets are written) */
export const megabytes = (rssKiB: number): number => (rssKiB * 1024) / 1e6

/**
 * Regular files and their bytes under `dir` (recursively), leaving out Cedar's indicator files
 * (`cback.*`): what a tool staged, to tell a fast run from a wrong one.
 */
export const staged = (dir: string): { readonly files: number; readonly bytes: number } => {
  let files = 0
  let bytes = 0
  const walk = (current: string) => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && !entry.name.startsWith("cback.")) {
        files++
        bytes += fs.lstatSync(full).size
      }
    }
  }
  walk(dir)
  return { files, bytes }
}

/**
 * The command line that starts the bin as its `#!` line does (`/usr/bin/env -S node FLAGS`), with
 * `node` the given binary: the Node flags the bin asks for count in what is measured.
 */
export const binCommand = (node: string, bin: string): ReadonlyArray<string> => {
  const first = fs.readFileSync(bin, "utf8").split("\n", 1)[0] ?? ""
  const words = first.replace(/^#!\s*/, "").split(/\s+/).filter((w) => w !== "")
  const at = words.findIndex((w) => w === "node" || w.endsWith("/node"))
  return [node, ...(at === -1 ? [] : words.slice(at + 1)), bin]
}

/**
 * Builds the reference program (bench/reference/effect-cli-hello.ts) into `dir` the way the bin
 * is built, and returns its launcher: the start-up floor Effect and its `effect/cli` set.
 */
export const buildReference = async (dir: string): Promise<string> => {
  const { bundleBin } = (await import(/* @vite-ignore */ path.join(import.meta.dirname, "..", "scripts", "bundle.mjs"))) as {
    readonly bundleBin: (options: { readonly entry: string; readonly outDir: string }) => Promise<void>
  }
  await bundleBin({ entry: path.join(import.meta.dirname, "reference", "effect-cli-hello.ts"), outDir: dir })
  return path.join(dir, "main.js")
}

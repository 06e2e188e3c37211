// `npm run bench`: cedar-peer side by side with Cedar Backup 3 and the plain tools.
//
//   npm run bench -- [--runs 3] [--only local,remote-pool] [--quick] [--out bench/results/NAME.md] [--keep]
//                    [--baseline v0.2.1|none] [--wan-scale 10] [--tar-before DIR]
//
// Every cedar-peer tool also runs as the last Effect 3 release ("cedar-peer 0.2 …", built from
// its git tag), held to no more than 5 % slower. The big-file workloads (`remote-big`,
// `cedar-night`) and the far-peer ones (`wan-*`, through bench/relay.mjs) report the CPU of the
// master's own processes per GiB beside the wall time.
//
// Generates every workload in one fresh temp dir, starts the loopback sshd of the tests for the
// remote ones (root only), and times each tool as a user runs it, one process at a time, tools
// interleaved run by run (the order rotates), each run into a fresh, never-used target dir (ext4
// without a journal creates files slowly for minutes after mass deletes, so nothing is reused or
// deleted in between). Every run is checked afterwards (files and bytes staged), so a fast wrong
// run is reported as failed, not counted. Prints per workload the medians, MiB/s, files/s and peak
// RSS, and each ratio against the target it is held to; `--out` also writes the report as
// Markdown and the raw samples as JSON next to it. A missing tool or server is reported as
// skipped. Figures, not assertions: the exit status is 0 unless the harness itself breaks.
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { chownTree, startSshd } from "../test/support/sshd.js"
import type { SshServer } from "../test/support/sshd.js"
import { binCommand, buildReference, count, GiB, GNU_TIME, megabytes, median, MiB, size, staged, timed, which } from "./measure.js"
import type { Sample } from "./measure.js"

const REPO = path.resolve(import.meta.dirname, "..")
const CEDAR_DRIVER = path.join(import.meta.dirname, "cedar.py")
const PYTHON = "/usr/bin/python3" // Debian's, where the cedar-backup3 package puts CedarBackup3

// ---------------------------------------------------------------------------------------------
// Command line

const { values: args } = parseArgs({
  options: {
    runs: { type: "string" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
    note: { type: "string" },
    baseline: { type: "string" },
    "tar-before": { type: "string" },
    "wan-scale": { type: "string" },
    help: { type: "boolean", default: false }
  },
  allowPositionals: false
})

/** The last release on Effect 3: 1.0 is held to be no slower than it. */
const DEFAULT_BASELINE = "v0.2.1"

const WORKLOAD_NAMES = [
  "startup",
  "local-small",
  "local-pool",
  "local-many",
  "local-big",
  "remote-small",
  "remote-pool",
  "remote-big",
  "cedar-night",
  "wan-small",
  "wan-pool"
] as const
type WorkloadName = typeof WORKLOAD_NAMES[number]

if (args.help) {
  console.log([
    "npm run bench -- [--runs N] [--only NAMES] [--quick] [--out FILE.md] [--note TEXT] [--keep]",
    `  --runs N      timed runs per tool (default 3; start-up at least 5); the median counts`,
    `  --only NAMES  comma-separated workloads or prefixes: ${WORKLOAD_NAMES.join(", ")} (local = every local-*)`,
    "  --quick       small sizes, one run: checks the harness works, measures nothing worth keeping",
    "  --out FILE    also write the report as Markdown to FILE and the samples as JSON beside it",
    "  --note TEXT   a paragraph for the Markdown report (what else ran on the machine, …)",
    "  --keep        keep the temp dir (sources and every target) for inspection",
    `  --baseline REF  the release every cedar-peer tool is also timed as (default ${DEFAULT_BASELINE}: built from`,
    "                the git tag in a temp dir, kept there for the next run); none: leave it out",
    "  --tar-before DIR  remote-big and remote-pool time only the tar transport, the same from the build in DIR",
    "                (a checkout with dist/ built: the commit before a change) and plain ssh tar | tar x per peer",
    "                (remote-pool: and the default transport), interleaved",
    "  --wan-scale S   divide the file counts of the wan workloads by S (SFTP across 20 ms takes ~0.15 s a file)"
  ].join("\n"))
  process.exit(0)
}

const quick = args.quick
const runs = Math.max(1, Number(args.runs ?? (quick ? 1 : 3)))
if (!Number.isInteger(runs)) throw new Error(`--runs must be a whole number, got ${args.runs}`)
const only = args.only?.split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const entry of only ?? []) {
  if (!WORKLOAD_NAMES.some((name) => name === entry || name.startsWith(`${entry}-`))) {
    throw new Error(`--only: unknown workload ${entry} (known: ${WORKLOAD_NAMES.join(", ")})`)
  }
}
const selected = (name: WorkloadName) => only === undefined || only.some((entry) => name === entry || name.startsWith(`${entry}-`))

const WAN_SCALE = Number(args["wan-scale"] ?? 1)
if (!(WAN_SCALE >= 1)) throw new Error(`--wan-scale must be 1 or more, got ${args["wan-scale"]}`)
// Sizes: the issue's workloads, or small ones that exercise every path quickly.
const SIZES = quick
  ? {
    small: [300, 4096],
    pool: [3, 30, 16384],
    many: [2000, 1],
    big: [2, 4 * MiB],
    remote: [200, 4096],
    remotePool: [3, 30, 16384],
    // peers × big files × size, + small files × size
    remoteBig: [2, 2, 8 * MiB, 0, 0],
    night: [3, 3, 4 * MiB, 20, 4096],
    wan: [100, 4096],
    wanPool: [3, 20, 16384]
  }
  : {
    small: [5000, 4096],
    pool: [12, 200, 16384],
    many: [100_000, 1],
    big: [2, 256 * MiB],
    remote: [5000, 4096],
    remotePool: [12, 200, 16384],
    remoteBig: [4, 2, 512 * MiB, 0, 0],
    night: [8, 3, 64 * MiB, 20, 4096],
    wan: [Math.round(5000 / WAN_SCALE), 4096],
    wanPool: [12, Math.round(200 / WAN_SCALE), 16384]
  }
/** half the round trip the `wan` workloads add (each way, per chunk) */
const WAN_DELAY_MS = 10

// ---------------------------------------------------------------------------------------------
// The scratch tree: sources under src/, one fresh dir per timed run under runs/

if (process.getuid?.() !== 0) console.warn("not root: remote workloads are skipped (the loopback sshd needs root)")
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-bench-"))
fs.chmodSync(ROOT, 0o755) // the backup user (remote copies run as it) must reach the dirs below
let serial = 0
const fresh = (label: string, owner?: { readonly uid: number; readonly gid: number }): string => {
  // short names: cedar-peer puts its ssh control sockets under the working dir, and a socket path
  // may not exceed ~100 bytes
  const dir = path.join(ROOT, "r", `${String(++serial).padStart(4, "0")}-${label.replace(/[^A-Za-z0-9.-]+/g, "_")}`)
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 })
  fs.chmodSync(dir, 0o755)
  if (owner !== undefined) fs.chownSync(dir, owner.uid, owner.gid)
  return dir
}
const rssFile = path.join(ROOT, "rss.txt")

const RANDOM = randomBytes(MiB)
/** `count` files of `bytes` each in a new dir (contents: slices of one random MiB, so not compressible) */
const makeFiles = (dir: string, files: number, bytes: number, prefix = "file"): string => {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (let i = 0; i < files; i++) {
    const name = path.join(dir, `${prefix}-${String(i).padStart(6, "0")}.dat`)
    if (bytes <= RANDOM.length) {
      const offset = (i * 4099) % (RANDOM.length - bytes + 1)
      fs.writeFileSync(name, RANDOM.subarray(offset, offset + bytes), { mode: 0o644 })
    } else {
      const fd = fs.openSync(name, "w", 0o644)
      for (let written = 0; written < bytes; written += RANDOM.length) fs.writeSync(fd, RANDOM, 0, Math.min(RANDOM.length, bytes - written))
      fs.closeSync(fd)
    }
  }
  return dir
}

// ---------------------------------------------------------------------------------------------
// What is there to compare with

const packageJson = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  readonly version: string
  readonly bin: string | Record<string, string>
}
const BIN = path.join(REPO, typeof packageJson.bin === "string" ? packageJson.bin : packageJson.bin["cedar-peer"]!)
if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first (npm run bench does)`)
const cedarPeer = (...rest: ReadonlyArray<string>) => [...binCommand(process.execPath, BIN), ...rest]
// The bin keeps a code cache per command, written by the command's first run (see the launcher).
// Each cedar-peer tool below runs from a copy of the built bin of its own and once untimed before
// the timed runs (`warmUp`): it is timed as a master that runs that one command every night is,
// on its second night, never with a cache another tool's run wrote.
const quiet = (argv: ReadonlyArray<string>) => spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 60_000 })
const firstLine = (text: string | undefined) => (text ?? "").trim().split("\n")[0] ?? ""
const binCopies = new Map<string, string>()
const binAs = (dist: string, label: string) => (...rest: ReadonlyArray<string>) => {
  let bin = binCopies.get(label)
  if (bin === undefined) {
    const dir = path.join(ROOT, "bin", label)
    fs.mkdirSync(path.join(dir, "dist", "cli"), { recursive: true })
    for (const file of ["main.js", "cedar-peer.cjs"]) fs.copyFileSync(path.join(dist, "dist", "cli", file), path.join(dir, "dist", "cli", file))
    fs.copyFileSync(path.join(dist, "package.json"), path.join(dir, "package.json"))
    bin = path.join(dir, "dist", "cli", "main.js")
    binCopies.set(label, bin)
  }
  return [...binCommand(process.execPath, bin), ...rest]
}
const cedarPeerAs = (label: string) => binAs(REPO, label)

// ---------------------------------------------------------------------------------------------
// The baseline: the last release on Effect 3, built from its git tag in a temp dir of its own
// (`npm ci`, `npm run build`, as a user of that release would), and timed beside this build as
// "cedar-peer 0.2 …", started by the same Node. The build is kept under the temp dir, named by
// the tag's commit, so the next run reuses it.

const BASELINE_LABEL = "cedar-peer 0.2"

const buildBaseline = (ref: string): { readonly dir: string; readonly version: string } | string => {
  const commit = quiet(["git", "-C", REPO, "rev-parse", "--verify", `${ref}^{commit}`])
  if (commit.status !== 0) return `${ref} is not a git ref of ${REPO}`
  const dir = path.join(os.tmpdir(), `cedar-peer-baseline-${ref.replace(/[^A-Za-z0-9.-]+/g, "_")}-${commit.stdout.trim().slice(0, 12)}`)
  const ready = path.join(dir, ".bench-ready")
  if (!fs.existsSync(ready)) {
    process.stderr.write(`building the baseline ${ref} in ${dir} (npm ci, npm run build)…\n`)
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
    const steps: Array<ReadonlyArray<string>> = [
      ["bash", "-c", 'set -o pipefail; git -C "$1" archive "$2" | tar x -C "$3"', "bash", REPO, commit.stdout.trim(), dir],
      ["npm", "ci", "--no-audit", "--no-fund"],
      ["npm", "run", "build"]
    ]
    for (const step of steps) {
      const done = spawnSync(step[0]!, step.slice(1), { cwd: dir, encoding: "utf8", timeout: 15 * 60_000 })
      if (done.status !== 0) return `building ${ref} failed at ${step.join(" ")}: ${firstLine(done.stderr || done.stdout || done.error?.message)}`
    }
    fs.writeFileSync(ready, `${commit.stdout.trim()}\n`)
  }
  const version = (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { readonly version: string }).version
  return { dir, version }
}

const baseline = args.baseline === "none" ? "left out (--baseline none)" : buildBaseline(args.baseline ?? DEFAULT_BASELINE)
const baselineSkip = typeof baseline === "string" ? baseline : undefined
const baselineAs = (label: string) => (...rest: ReadonlyArray<string>) =>
  typeof baseline === "string" ? [] : binAs(baseline.dir, `v02-${label}`)(...rest)
type BinAs = (label: string) => (...rest: ReadonlyArray<string>) => ReadonlyArray<string>

/**
 * A cedar-peer tool, and the same tool run by the baseline release (named "cedar-peer 0.2 …"),
 * made by `make` from the launcher of each.
 */
const bothReleases = (name: string, make: (as: BinAs) => Omit<Tool, "name">): Array<Tool> => {
  const old = make(baselineAs)
  return [{ name, ...make(cedarPeerAs) }, { ...old, name: name.replace(/^cedar-peer/, BASELINE_LABEL), skip: baselineSkip ?? old.skip }]
}

/**
 * this build against the baseline for each cedar-peer tool: at most `target` times its wall time,
 * and (informational: what a busy machine moves least) its own CPU time
 */
const againstBaseline = (names: ReadonlyArray<string>, target = 1.05): Array<Ratio> =>
  names.flatMap((tool) => {
    const versus = tool.replace(/^cedar-peer/, BASELINE_LABEL)
    return [{ tool, versus, target }, { tool, versus, by: "cpu" as const }]
  })


const cedarPython: string | undefined = (() => {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is missing`
  const probe = quiet([PYTHON, "-c", "import CedarBackup3.release as r; print(r.VERSION)"])
  return probe.status === 0 ? undefined : "Cedar Backup 3 is not installed (Debian package cedar-backup3)"
})()
const missing = (program: string) => (which(program) === undefined ? `${program} is not installed` : undefined)

const machine = {
  date: new Date().toISOString(),
  host: os.hostname(),
  os: firstLine(fs.existsSync("/etc/os-release") ? fs.readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] : os.type()),
  kernel: os.release(),
  cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}`,
  memory: size(os.totalmem()),
  tmp: `${ROOT}: ${firstLine(quiet(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", "-T", ROOT]).stdout) || "?"}`,
  node: process.version,
  cedarPeer: `${packageJson.version} (${firstLine(quiet(["git", "-C", REPO, "describe", "--always", "--dirty"]).stdout)})`,
  baseline: typeof baseline === "string" ? baseline : `${baseline.version} (${args.baseline ?? DEFAULT_BASELINE}, built in ${baseline.dir})`,
  cedarBackup3: cedarPython ?? firstLine(quiet([PYTHON, "-c", "import CedarBackup3.release as r; print(r.VERSION)"]).stdout),
  openssh: firstLine(quiet(["ssh", "-V"]).stderr),
  rsync: which("rsync") === undefined ? "not installed" : firstLine(quiet(["rsync", "--version"]).stdout),
  peakRss: fs.existsSync(GNU_TIME) ? "GNU time %M" : "not measured (install the Debian package time)",
  runs,
  quick,
  ...(WAN_SCALE === 1 ? {} : { wanScale: `wan workloads' file counts divided by ${WAN_SCALE}` }),
  loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(" ")
}

// ---------------------------------------------------------------------------------------------
// Workloads and tools

/** One timed run of a tool: what to spawn, and what it must have staged where. */
interface Prepared {
  readonly argv: ReadonlyArray<string>
  /** the dir whose files are counted afterwards (undefined: start-up, nothing to check) */
  readonly target?: string
  /** put the sources back as they were (stage indicators written into collect dirs) */
  readonly after?: () => void
}

interface Tool {
  readonly name: string
  /** why it cannot run here */
  readonly skip?: string | undefined
  readonly prepare: () => Prepared
  /** run once, untimed, before the timed runs (cedar-peer: its first run writes its code cache) */
  readonly warmUp?: boolean
}

interface Ratio {
  readonly tool: string
  readonly versus: string
  /** PASS when tool's median / versus's median ≤ target; informational when absent */
  readonly target?: number
  /** compare the tools' own CPU seconds (GNU time) instead of their wall time */
  readonly by?: "cpu"
}

interface RssLimit {
  readonly tool: string
  readonly maxMB: number
}

interface Workload {
  readonly name: WorkloadName
  readonly title: string
  readonly files: number
  readonly bytes: number
  readonly runs: number
  readonly tools: ReadonlyArray<Tool>
  readonly ratios: ReadonlyArray<Ratio>
  readonly rssLimits: ReadonlyArray<RssLimit>
  /** skips the whole workload (no server, not root) */
  readonly skip?: string | undefined
}

const xml = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

interface PoolXml {
  readonly workingDir: string
  readonly stagingDir: string
  readonly backupUser: string
  readonly rcpCommand: string
  readonly rshCommand: string
  /** extra `<options>` children, e.g. `<transport>tar</transport>` */
  readonly options?: ReadonlyArray<[string, string]>
  readonly peers: ReadonlyArray<{ readonly name: string; readonly type: "local" | "remote"; readonly collectDir: string }>
}

/** A cback3.conf both cedar-peer and Cedar Backup 3 read. */
const writeConfig = (file: string, pool: PoolXml): string => {
  const peers = pool.peers.map((peer) =>
    [
      "    <peer>",
      `      <name>${xml(peer.name)}</name>`,
      `      <type>${peer.type}</type>`,
      `      <collect_dir>${xml(peer.collectDir)}</collect_dir>`,
      "    </peer>"
    ].join("\n")
  )
  fs.writeFileSync(
    file,
    [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      "<cb_config>",
      "  <reference><author>cedar-peer benchmark</author></reference>",
      "  <options>",
      "    <starting_day>monday</starting_day>",
      `    <working_dir>${xml(pool.workingDir)}</working_dir>`,
      `    <backup_user>${xml(pool.backupUser)}</backup_user>`,
      `    <backup_group>${xml(pool.backupUser)}</backup_group>`,
      `    <rcp_command>${xml(pool.rcpCommand)}</rcp_command>`,
      `    <rsh_command>${xml(pool.rshCommand)}</rsh_command>`,
      ...(pool.options ?? []).map(([key, value]) => `    <${key}>${xml(value)}</${key}>`),
      "  </options>",
      "  <peers>",
      ...peers,
      "  </peers>",
      "  <stage>",
      `    <staging_dir>${xml(pool.stagingDir)}</staging_dir>`,
      "  </stage>",
      "</cb_config>",
      ""
    ].join("\n"),
    { mode: 0o644 }
  )
  return file
}

const LOCAL_USER = "backup" // Debian's backup:backup, owner of what the pool stages as root

const startupWorkload = async (): Promise<Workload> => {
  const dir = fresh("startup")
  const reference = await buildReference(path.join(dir, "reference"))
  // its code cache written once, as the bin's is before the timed runs
  spawnSync(binCommand(process.execPath, reference)[0]!, [...binCommand(process.execPath, reference).slice(1), "--version"], { stdio: "ignore" })
  fs.mkdirSync(path.join(dir, "alpha")) // validate checks that a local peer's collect dir exists
  const config = writeConfig(path.join(dir, "cback3.conf"), {
    workingDir: dir,
    stagingDir: dir,
    backupUser: LOCAL_USER,
    rcpCommand: "/usr/bin/scp -B",
    rshCommand: "/usr/bin/ssh",
    peers: [
      { name: "alpha", type: "local", collectDir: path.join(dir, "alpha") },
      { name: "db1.example.org", type: "remote", collectDir: "/opt/backup/collect" }
    ]
  })
  return {
    name: "startup",
    title: "start-up: `--version`, and `validate` of a two-peer config",
    files: 0,
    bytes: 0,
    // short runs, so many of them: a busy shared machine scatters each one widely
    runs: quick ? 1 : Math.max(runs, 11),
    tools: [
      { name: "node -e 0", prepare: () => ({ argv: [process.execPath, "-e", "0"] }) },
      ...bothReleases("cedar-peer --version", (as) => ({ warmUp: true, prepare: () => ({ argv: as("startup")("--version") }) })),
      ...bothReleases("cedar-peer validate", (as) => ({ warmUp: true, prepare: () => ({ argv: as("startup")("validate", "--config", config) }) })),
      { name: "effect cli hello --version", prepare: () => ({ argv: [...binCommand(process.execPath, reference), "--version"] }) },
      { name: "cback3 --version", skip: missing("/usr/bin/cback3"), prepare: () => ({ argv: ["/usr/bin/cback3", "--version"] }) }
    ],
    ratios: [
      { tool: "cedar-peer --version", versus: "node -e 0", target: 2 },
      { tool: "cedar-peer validate", versus: "node -e 0", target: 2 },
      { tool: "cback3 --version", versus: "node -e 0" },
      { tool: "effect cli hello --version", versus: "node -e 0" },
      { tool: "cedar-peer --version", versus: "effect cli hello --version" },
      ...againstBaseline(["cedar-peer --version"], 0.85),
      ...againstBaseline(["cedar-peer validate"])
    ],
    rssLimits: [{ tool: "cedar-peer --version", maxMB: 60 }, { tool: "cedar-peer validate", maxMB: 80 }]
  }
}

const ATOMIC_CP = 'p="$2/.private" && mkdir "$p" && cp -pR "$1/." "$p/" && find "$p" -mindepth 1 -maxdepth 1 -exec mv -t "$2" -- {} + && rmdir "$p"'

/** One local collect dir staged by `stage-peer`, Cedar's LocalPeer.stagePeer, cp (alone and then mv) and rsync. */
const localPeerWorkload = (name: WorkloadName, title: string, files: number, bytes: number, targets: {
  readonly ratios: ReadonlyArray<Ratio>
  readonly rssLimits?: ReadonlyArray<RssLimit>
}): Workload => ({
  name,
  title: `${title}: ${count(files)} files × ${size(bytes)} (${size(files * bytes)})`,
  files,
  bytes: files * bytes,
  runs,
  tools: (() => {
    const source = makeFiles(path.join(ROOT, "src", name), files, bytes)
    const config = writeConfig(path.join(ROOT, "src", `${name}.conf`), {
      workingDir: path.join(ROOT, "src"),
      stagingDir: path.join(ROOT, "src"),
      backupUser: LOCAL_USER,
      rcpCommand: "/usr/bin/scp -B",
      rshCommand: "/usr/bin/ssh",
      peers: [{ name, type: "local", collectDir: source }]
    })
    const into = (tool: string, argv: (target: string) => ReadonlyArray<string>) => () => {
      const target = fresh(`${name}-${tool}`)
      return { argv: argv(target), target }
    }
    return [
      ...bothReleases("cedar-peer", (as) => ({
        warmUp: true,
        prepare: into("cedar-peer", (t) => as(name)("stage-peer", "--config", config, "--peer", name, "--target", t))
      })),
      { name: "cedar-python", skip: cedarPython, prepare: into("cedar-python", (t) => [PYTHON, CEDAR_DRIVER, "local-peer", name, source, t]) },
      { name: "cp -p", prepare: into("cp", (t) => ["cp", "-pR", `${source}/.`, t]) },
      // the least an atomic stager does with plain tools: copy into a private directory of the
      // target, then rename every file into place (`mv -t`, a rename(2) each, in a few processes)
      { name: "cp -p, then mv", prepare: into("cp-mv", (t) => ["bash", "-c", ATOMIC_CP, "bash", source, t]) },
      { name: "rsync -a", skip: missing("rsync"), prepare: into("rsync", (t) => ["rsync", "-a", `${source}/`, `${t}/`]) }
    ]
  })(),
  ratios: [...targets.ratios, ...againstBaseline(["cedar-peer"])],
  rssLimits: targets.rssLimits ?? []
})

const localPoolWorkload = (): Workload => {
  const [peers, files, bytes] = SIZES.pool as [number, number, number]
  const collectDirs = Array.from({ length: peers }, (_, i) => {
    const dir = makeFiles(path.join(ROOT, "src", "local-pool", `peer${String(i + 1).padStart(2, "0")}`), files, bytes)
    fs.writeFileSync(path.join(dir, "cback.collect"), "")
    return dir
  })
  const resetIndicators = () => collectDirs.forEach((dir) => fs.rmSync(path.join(dir, "cback.stage"), { force: true }))
  const pool = (tool: string, options?: ReadonlyArray<[string, string]>) => () => {
    const run = fresh(`local-pool-${tool}`)
    const stagingDir = path.join(run, "staging")
    const workingDir = path.join(run, "work")
    fs.mkdirSync(stagingDir)
    fs.mkdirSync(workingDir)
    const config = writeConfig(path.join(run, "cback3.conf"), {
      workingDir,
      stagingDir,
      backupUser: LOCAL_USER,
      rcpCommand: "/usr/bin/scp -B",
      rshCommand: "/usr/bin/ssh",
      ...(options === undefined ? {} : { options }),
      peers: collectDirs.map((dir) => ({ name: path.basename(dir), type: "local" as const, collectDir: dir }))
    })
    return { config, stagingDir }
  }
  return {
    name: "local-pool",
    title: `local pool (\`stage\`): ${peers} peers × ${count(files)} files × ${size(bytes)} (${size(peers * files * bytes)})`,
    files: peers * files,
    bytes: peers * files * bytes,
    runs,
    tools: [
      ...bothReleases("cedar-peer stage", (as) => ({
        warmUp: true,
        prepare: () => {
          const { config, stagingDir } = pool("cedar-peer")()
          return { argv: as("local-pool")("stage", "--config", config), target: stagingDir, after: resetIndicators }
        }
      })),
      {
        name: "cedar-python stage",
        skip: cedarPython,
        prepare: () => {
          const { config, stagingDir } = pool("cedar-python")()
          return { argv: [PYTHON, CEDAR_DRIVER, "stage", config], target: stagingDir, after: resetIndicators }
        }
      },
      {
        name: "cp loop",
        prepare: () => {
          const target = fresh("local-pool-cp-loop")
          const script = 'target=$1; shift; for c; do d="$target/${c##*/}"; mkdir "$d" && cp -pR "$c/." "$d" || exit 1; done'
          return { argv: ["bash", "-c", script, "bash", target, ...collectDirs], target }
        }
      }
    ],
    ratios: [
      { tool: "cedar-peer stage", versus: "cp loop", target: 1 },
      { tool: "cedar-peer stage", versus: "cedar-python stage", target: 1 },
      ...againstBaseline(["cedar-peer stage"])
    ],
    rssLimits: []
  }
}

// ---------------------------------------------------------------------------------------------
// Remote: the loopback sshd of the tests; every peer is this machine, logged in to as cpremote

interface Remote {
  readonly server: SshServer
  /** the backup user on both sides (as root, cedar-peer and Cedar copy as options.backupUser) */
  readonly user: string
  readonly uid: number
  readonly gid: number
  /** a client config: the harness's, plus `peerNN` host names for 127.0.0.1 */
  readonly sshConfig: string
  readonly rcp: string
  readonly rcpLegacy: string
  readonly rsh: string
}

const startRemote = async (): Promise<Remote | string> => {
  if (process.getuid?.() !== 0) return "not root (the loopback sshd needs root)"
  let server: SshServer
  try {
    server = await startSshd()
  } catch (error) {
    return `the loopback sshd did not start: ${error instanceof Error ? error.message : String(error)}`
  }
  const info = server.info
  // The backup user copies as itself, so it needs a client key the harness's IdentityFile
  // (<dir>/keys/%u/id_ed25519) finds; the remote user (a login shell, for Cedar's `su -c`) serves.
  const keyDir = path.join(info.dir, "keys", info.remoteUser)
  fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 })
  fs.copyFileSync(path.join(info.dir, "keys", "root", "id_ed25519"), path.join(keyDir, "id_ed25519"))
  fs.chmodSync(path.join(keyDir, "id_ed25519"), 0o600)
  fs.chownSync(path.join(keyDir, "id_ed25519"), info.remoteUid, info.remoteGid)
  fs.chownSync(keyDir, info.remoteUid, info.remoteGid)
  const sshConfig = path.join(ROOT, "ssh_config")
  fs.writeFileSync(sshConfig, `Host peer*\n  HostName 127.0.0.1\n\n${fs.readFileSync(info.configFile, "utf8")}`, { mode: 0o644 })
  return {
    server,
    user: info.remoteUser,
    uid: info.remoteUid,
    gid: info.remoteGid,
    sshConfig,
    rcp: `/usr/bin/scp -B -q -F ${sshConfig}`,
    rcpLegacy: `/usr/bin/scp -B -q -O -F ${sshConfig}`,
    rsh: `/usr/bin/ssh -F ${sshConfig}`
  }
}

/**
 * The loopback server through bench/relay.mjs, which delays every chunk by WAN_DELAY_MS each way:
 * the same remote with a client config whose every host goes through the relay. The relay stops
 * with the benchmark (its stdin closes) or after two hours.
 */
const throughRelay = async (remote: Remote): Promise<Remote | string> => {
  const relay = spawn(process.execPath, [path.join(import.meta.dirname, "relay.mjs"), String(remote.server.info.port), String(WAN_DELAY_MS), "7200"], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const port = await new Promise<number | undefined>((resolve) => {
    let text = ""
    relay.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      if (text.includes("\n")) resolve(Number(text.trim()))
    })
    relay.on("exit", () => resolve(undefined))
  })
  if (port === undefined || !Number.isInteger(port)) return "the delaying relay did not start"
  relays.push(relay)
  const sshConfig = path.join(ROOT, "ssh_config_wan")
  fs.writeFileSync(sshConfig, `Host *\n  HostName 127.0.0.1\n  Port ${port}\n\n${fs.readFileSync(remote.server.info.configFile, "utf8")}`, { mode: 0o644 })
  return {
    ...remote,
    sshConfig,
    rcp: `/usr/bin/scp -B -q -F ${sshConfig}`,
    rcpLegacy: `/usr/bin/scp -B -q -O -F ${sshConfig}`,
    rsh: `/usr/bin/ssh -F ${sshConfig}`
  }
}
const relays: Array<ReturnType<typeof spawn>> = []
const stopRelays = () => {
  for (const relay of relays) {
    relay.stdin?.end()
    if (relay.exitCode === null && relay.pid !== undefined) {
      try {
        process.kill(relay.pid, "SIGTERM")
      } catch {
        // gone already
      }
    }
  }
}

/**
 * Does this build of cedar-peer stage with `transport: tar`? Asked by staging one file with the
 * rcp command replaced by `/bin/false`: a build that ignores the option (or does not know it)
 * fails, so "cedar-peer tar" can never silently time scp.
 */
const knowsTarTransport = (remote: Remote | string): string | undefined => {
  if (typeof remote === "string") return remote
  const run = fresh("probe-tar")
  const collectDir = path.join(run, "collect")
  makeFiles(collectDir, 1, 16)
  chownTree(collectDir, remote.uid, remote.gid)
  const target = path.join(run, "target")
  fs.mkdirSync(target)
  const config = writeConfig(path.join(run, "cback3.conf"), {
    workingDir: run,
    stagingDir: run,
    backupUser: remote.user,
    rcpCommand: "/bin/false",
    rshCommand: remote.rsh,
    options: [["transport", "tar"]],
    peers: [{ name: "127.0.0.1", type: "remote", collectDir }]
  })
  const done = quiet(cedarPeer("stage-peer", "--config", config, "--peer", "127.0.0.1", "--target", target))
  return done.status === 0 && staged(target).files === 1
    ? undefined
    : `this build does not stage with transport tar (${firstLine(done.stderr || done.stdout) || `exit ${done.status}`})`
}

/** the remote workloads through the delaying relay: other names, their own sizes, no baseline */
interface Variant {
  readonly name: WorkloadName
  readonly where: string
  readonly sizes: ReadonlyArray<number>
  readonly baseline: boolean
  readonly ratios: ReadonlyArray<Ratio>
}

const remoteSmallWorkload = (remote: Remote | string, tarTransport: string | undefined, variant?: Variant): Workload => {
  const [files, bytes] = (variant?.sizes ?? SIZES.remote) as [number, number]
  const name = variant?.name ?? "remote-small"
  const base = {
    name,
    title: `remote peer${variant?.where ?? ""} (\`stage-peer\`, scp SFTP mode unless named): ${count(files)} files × ${size(bytes)} (${size(files * bytes)})`,
    files,
    bytes: files * bytes,
    runs,
    ratios: [
      ...(variant?.ratios ?? [{ tool: "cedar-peer", versus: "scp", target: 1.05 }, { tool: "cedar-peer tar", versus: "scp", target: 0.5 }]),
      { tool: "cedar-peer -O", versus: "scp -O" },
      { tool: "cedar-peer", versus: "cedar-python" },
      { tool: "ssh tar | tar x", versus: "scp" },
      ...(variant?.baseline === false ? [] : againstBaseline(["cedar-peer", "cedar-peer -O", "cedar-peer tar"]))
    ],
    rssLimits: variant === undefined ? [{ tool: "cedar-peer stage tar", maxMB: 100 }] : []
  }
  if (typeof remote === "string") return { ...base, tools: [], skip: remote }
  const withBaseline = (tools: Array<Tool>) => (variant?.baseline === false ? tools.filter((t) => !t.name.startsWith(BASELINE_LABEL)) : tools)
  const host = "127.0.0.1"
  const login = `${remote.user}@${host}`
  const source = makeFiles(path.join(ROOT, "src", name), files, bytes)
  chownTree(source, remote.uid, remote.gid)
  const owner = { uid: remote.uid, gid: remote.gid }
  const cedar = (as: BinAs, tool: string, rcpCommand: string, options?: ReadonlyArray<[string, string]>) => () => {
    const run = fresh(`${name}-${tool}`)
    const target = path.join(run, "target")
    const workingDir = path.join(run, "work")
    fs.mkdirSync(target, { mode: 0o755 })
    fs.mkdirSync(workingDir, { mode: 0o755 })
    const config = writeConfig(path.join(run, "cback3.conf"), {
      workingDir,
      stagingDir: run,
      backupUser: remote.user,
      rcpCommand,
      rshCommand: remote.rsh,
      ...(options === undefined ? {} : { options }),
      peers: [{ name: host, type: "remote", collectDir: source }]
    })
    return { argv: as(`${name}-${tool}`)("stage-peer", "--config", config, "--peer", host, "--target", target), target }
  }
  const plain = (tool: string, argv: (target: string) => ReadonlyArray<string>) => () => {
    const target = fresh(`${name}-${tool}`)
    return { argv: argv(target), target }
  }
  return {
    ...base,
    tools: withBaseline([
      ...bothReleases("cedar-peer", (as) => ({ warmUp: true, prepare: cedar(as, "cedar-peer", remote.rcp) })),
      ...bothReleases("cedar-peer -O", (as) => ({ warmUp: true, prepare: cedar(as, "cedar-peer-O", remote.rcpLegacy) })),
      ...bothReleases("cedar-peer tar", (as) => ({
        warmUp: true,
        skip: tarTransport,
        prepare: cedar(as, "cedar-peer-tar", remote.rcp, [["transport", "tar"]])
      })),
      {
        name: "cedar-python",
        skip: cedarPython,
        prepare: () => {
          // Cedar copies as the backup user into the target and working dir: both are its own
          const target = fresh(`${name}-cedar-python`, owner)
          const workingDir = fresh(`${name}-cedar-python-work`, owner)
          return { argv: [PYTHON, CEDAR_DRIVER, "remote-peer", host, source, target, workingDir, remote.user, remote.user, remote.rcp], target }
        }
      },
      { name: "scp", prepare: plain("scp", (t) => ["/usr/bin/scp", "-B", "-q", "-F", remote.sshConfig, `${login}:${source}/*`, `${t}/`]) },
      { name: "scp -O", prepare: plain("scp-O", (t) => ["/usr/bin/scp", "-B", "-q", "-O", "-F", remote.sshConfig, `${login}:${source}/*`, `${t}/`]) },
      {
        name: "rsync -e ssh",
        skip: missing("rsync"),
        prepare: plain("rsync", (t) => ["rsync", "-a", "-e", `/usr/bin/ssh -F ${remote.sshConfig}`, `${login}:${source}/`, `${t}/`])
      },
      {
        name: "ssh tar | tar x",
        prepare: plain("ssh-tar", (t) => [
          "bash",
          "-c",
          'set -o pipefail; /usr/bin/ssh -F "$1" "$2" tar cf - -C "$3" . | tar xf - -C "$4"',
          "bash",
          remote.sshConfig,
          login,
          source,
          t
        ])
      }
    ])
  }
}

/**
 * The peers of a remote pool workload (`peer01`…, each collect dir filled by `fill` and given its
 * collect indicator, owned by the remote user) and how a tool stages them: a fresh staging and
 * working dir per run (Cedar's working dir is the backup user's own: it fetches the collect
 * indicator into it), a cback3.conf naming them, and the peers' stage indicators reset after.
 */
const remotePool = (remote: Remote, name: string, peers: number, fill: (dir: string) => string) => {
  const names = Array.from({ length: peers }, (_, i) => `peer${String(i + 1).padStart(2, "0")}`)
  const sourceRoot = path.join(ROOT, "src", name)
  const collectDirs = names.map((peer) => {
    const dir = fill(path.join(sourceRoot, peer))
    fs.writeFileSync(path.join(dir, "cback.collect"), "")
    return dir
  })
  chownTree(sourceRoot, remote.uid, remote.gid)
  const owner = { uid: remote.uid, gid: remote.gid }
  const resetIndicators = () => collectDirs.forEach((dir) => fs.rmSync(path.join(dir, "cback.stage"), { force: true }))
  const stage = (tool: string, driver: (config: string) => ReadonlyArray<string>, options?: ReadonlyArray<[string, string]>) => () => {
    const run = fresh(`${name}-${tool}`)
    const stagingDir = path.join(run, "staging")
    fs.mkdirSync(stagingDir)
    const workingDir = fresh(`${name}-${tool}-work`, tool === "cedar-python" ? owner : undefined)
    const config = writeConfig(path.join(run, "cback3.conf"), {
      workingDir,
      stagingDir,
      backupUser: remote.user,
      rcpCommand: remote.rcp,
      rshCommand: remote.rsh,
      ...(options === undefined ? {} : { options }),
      peers: names.map((peer, i) => ({ name: peer, type: "remote" as const, collectDir: collectDirs[i]! }))
    })
    return { argv: driver(config), target: stagingDir, after: resetIndicators }
  }
  return { names, collectDirs, sourceRoot, resetIndicators, stage }
}

/** The plain tools' tar pool: cedar-peer's rules (a connection per peer, indicators, four at once). */
const TAR_PER_PEER = "ssh tar | tar x, a connection per peer, 4 at once"

const remotePoolWorkload = (remote: Remote | string, tarTransport: string | undefined, variant?: Variant): Workload => {
  const [peers, files, bytes] = (variant?.sizes ?? SIZES.remotePool) as [number, number, number]
  const name = variant?.name ?? "remote-pool"
  const base = {
    name,
    title: `remote pool${variant?.where ?? ""} (\`stage\`, indicators checked and written): ${peers} peers × ${count(files)} files × ${size(bytes)} (${
      size(peers * files * bytes)
    })`,
    files: peers * files,
    bytes: peers * files * bytes,
    runs,
    ratios: [
      ...(variant?.ratios ?? [{ tool: "cedar-peer stage", versus: "cedar-python stage", target: 0.2 }]),
      { tool: "cedar-peer stage tar", versus: "cedar-python stage" },
      { tool: "cedar-peer stage", versus: "cedar-peer stage -c 1" },
      { tool: "cedar-peer stage", versus: "scp loop, 1 master" },
      ...(variant === undefined
        ? [
          { tool: "cedar-peer stage", versus: "scp, a connection per peer, 4 at once", target: 1.15 },
          { tool: "cedar-peer stage tar", versus: "cedar-peer stage", target: 0.7 },
          { tool: "cedar-peer stage tar", versus: TAR_PER_PEER },
          { tool: TAR_PER_PEER, versus: "scp, a connection per peer, 4 at once" },
          { tool: "cedar-peer stage", versus: "the same, as the backup user (runuser a command)" }
        ]
        : [{ tool: "cedar-peer stage", versus: "scp, a connection per peer, 4 at once" }]),
      { tool: "scp, a connection per peer, 4 at once", versus: "cedar-python stage" },
      { tool: "ssh tar, all peers", versus: "cedar-python stage" },
      ...(variant?.baseline === false ? [] : againstBaseline(["cedar-peer stage", "cedar-peer stage -c 1", "cedar-peer stage tar"]))
    ],
    rssLimits: variant === undefined ? [{ tool: "cedar-peer stage tar", maxMB: 100 }] : []
  }
  if (typeof remote === "string") return { ...base, tools: [], skip: remote }
  const withBaseline = (tools: Array<Tool>) => (variant?.baseline === false ? tools.filter((t) => !t.name.startsWith(BASELINE_LABEL)) : tools)
  const { names, collectDirs, sourceRoot, resetIndicators, stage } = remotePool(remote, name, peers, (dir) => makeFiles(dir, files, bytes))
  // What Cedar does per peer (fetch the collect indicator, copy, push the stage indicator), with
  // plain scp over one ControlMaster connection for all peers.
  const scpLoop = [
    "set -e",
    'cfg=$1 host=$2 work=$3 target=$4; shift 4',
    'cm="$work/cm"',
    'scp="/usr/bin/scp -B -q -F $cfg -o ControlPath=$cm"',
    '/usr/bin/ssh -F "$cfg" -o ControlMaster=yes -o ControlPath="$cm" -o ControlPersist=yes -f -N "$host" >"$work/master.log" 2>&1',
    'trap \'/usr/bin/ssh -F "$cfg" -o ControlPath="$cm" -O exit "$host" 2>/dev/null\' EXIT',
    ': >"$work/cback.stage"',
    'for c; do',
    '  $scp "$host:$c/cback.collect" "$work/"',
    '  mkdir "$target/${c##*/}"',
    '  $scp "$host:$c/*" "$target/${c##*/}/"',
    '  $scp "$work/cback.stage" "$host:$c/"',
    "done"
  ].join("\n")
  // cedar-peer's own rules with nothing of cedar-peer: per peer, its own ssh connection (fetch the
  // collect indicator, copy, push the stage indicator, close it), four peers at once. The floor
  // for a pool that never shares a connection between peers.
  const scpPerPeerAs = (as: string) => [
    "set -e",
    'export cfg=$1 host=$2 work=$3 target=$4; shift 4',
    "one() {",
    '  c=$1 n=${1##*/}',
    `  scp="${as}/usr/bin/scp -B -q -F $cfg -o ControlMaster=auto -o ControlPath=$work/$n.cm -o ControlPersist=60"`,
    '  $scp "$host:$c/cback.collect" "$work/$n.collect"',
    `  ${as}mkdir "$target/$n"`,
    '  $scp "$host:$c/*" "$target/$n/"',
    as === "" ? '  : >"$work/$n.stage"' : `  ${as}touch "$work/$n.stage"`,
    '  $scp "$work/$n.stage" "$host:$c/cback.stage"',
    `  ${as}/usr/bin/ssh -F "$cfg" -o ControlPath="$work/$n.cm" -O exit "$host" 2>/dev/null`,
    "}",
    "export -f one",
    'printf "%s\\n" "$@" | xargs -P 4 -I{} bash -ec \'one "$1"\' bash {}'
  ].join("\n")
  const scpPerPeer = scpPerPeerAs("")
  // The same rules with the copy through one tar stream per peer over its connection: the floor
  // of the tar transport's pool, to hold against the one above.
  const tarPerPeer = [
    "set -e -o pipefail",
    'export cfg=$1 host=$2 work=$3 target=$4; shift 4',
    "one() {",
    '  c=$1 n=${1##*/}',
    '  shared="-F $cfg -o ControlMaster=auto -o ControlPath=$work/$n.cm -o ControlPersist=60"',
    '  /usr/bin/scp -B -q $shared "$host:$c/cback.collect" "$work/$n.collect"',
    '  mkdir "$target/$n"',
    '  /usr/bin/ssh $shared "$host" tar cf - -C "$c" . | tar xf - -C "$target/$n"',
    '  : >"$work/$n.stage"',
    '  /usr/bin/scp -B -q $shared "$work/$n.stage" "$host:$c/cback.stage"',
    '  /usr/bin/ssh -F "$cfg" -o ControlPath="$work/$n.cm" -O exit "$host" 2>/dev/null',
    "}",
    "export -f one",
    'printf "%s\\n" "$@" | xargs -P 4 -I{} bash -ec \'set -o pipefail; one "$1"\' bash {}'
  ].join("\n")
  // The same as the backup user, each command through runuser as cedar-peer runs them (root
  // stages; the copies run as the backup user, as Cedar's `su` does): the floor with that cost.
  const scpPerPeerAsUser = scpPerPeerAs(`runuser -u ${remote.user} -- `)
  // One of the scripts above over every collect dir, with a fresh target and working dir.
  const plainScript = (label: string, script: string, owner?: { readonly uid: number; readonly gid: number }) => () => {
    const target = fresh(label, owner)
    const work = fresh(`${label}-work`, owner)
    return {
      argv: ["bash", "-c", script, "bash", remote.sshConfig, `${remote.user}@peer01`, work, target, ...collectDirs],
      target,
      after: resetIndicators
    }
  }
  return {
    ...base,
    tools: withBaseline([
      ...bothReleases("cedar-peer stage", (as) => ({ warmUp: true, prepare: stage("cedar-peer", (config) => as(name)("stage", "--config", config)) })),
      // one peer at a time, as Cedar does: what the parallel pool gains
      ...bothReleases("cedar-peer stage -c 1", (as) => ({
        warmUp: true,
        prepare: stage("cedar-peer-c1", (config) => as(`${name}-c1`)("stage", "--concurrency", "1", "--config", config))
      })),
      ...bothReleases("cedar-peer stage tar", (as) => ({
        skip: tarTransport,
        warmUp: true,
        prepare: stage("cedar-peer-tar", (config) => as(`${name}-tar`)("stage", "--config", config), [["transport", "tar"]])
      })),
      { name: "cedar-python stage", skip: cedarPython, prepare: stage("cedar-python", (config) => [PYTHON, CEDAR_DRIVER, "stage", config]) },
      { name: "scp loop, 1 master", prepare: plainScript(`${name}-scp-loop`, scpLoop) },
      { name: "scp, a connection per peer, 4 at once", prepare: plainScript(`${name}-scp-per-peer`, scpPerPeer) },
      ...(variant === undefined ? [{ name: TAR_PER_PEER, prepare: plainScript(`${name}-tar-per-peer`, tarPerPeer) }] : []),
      ...(variant === undefined
        ? [{
          name: "the same, as the backup user (runuser a command)",
          prepare: plainScript(`${name}-scp-per-peer-as`, scpPerPeerAsUser, { uid: remote.uid, gid: remote.gid })
        }]
        : []),
      {
        name: "ssh tar, all peers",
        prepare: () => {
          const target = fresh(`${name}-ssh-tar`)
          return {
            argv: [
              "bash",
              "-c",
              'set -o pipefail; cfg=$1 host=$2 root=$3 target=$4; shift 4; /usr/bin/ssh -F "$cfg" "$host" tar cf - -C "$root" "$@" | tar xf - -C "$target"',
              "bash",
              remote.sshConfig,
              `${remote.user}@peer01`,
              sourceRoot,
              target,
              ...names
            ],
            target
          }
        }
      }
    ])
  }
}

/**
 * A pool of remote peers holding big files (and, for `cedar-night`, a few small ones each), as
 * a night of the collect action leaves them: cedar-peer's two transports and Cedar against the
 * plain tools, each copying every peer over a connection of its own, four peers at once (no
 * indicators: the plain tools' floor).
 */
const remoteBigWorkload = (
  remote: Remote | string,
  tarTransport: string | undefined,
  name: "remote-big" | "cedar-night",
  sizes: ReadonlyArray<number>,
  ratios: ReadonlyArray<Ratio>
): Workload => {
  const [peers, bigFiles, bigBytes, smallFiles, smallBytes] = sizes as [number, number, number, number, number]
  const perPeer = bigFiles * bigBytes + smallFiles * smallBytes
  const base = {
    name,
    title: `remote pool of big files (\`stage\`): ${peers} peers × (${bigFiles} × ${size(bigBytes)}${
      smallFiles === 0 ? "" : ` + ${smallFiles} × ${size(smallBytes)}`
    }) (${size(peers * perPeer)})`,
    files: peers * (bigFiles + smallFiles),
    bytes: peers * perPeer,
    runs,
    ratios,
    rssLimits: [{ tool: "cedar-peer stage tar", maxMB: 100 }]
  }
  if (typeof remote === "string") return { ...base, tools: [], skip: remote }
  const { collectDirs, stage } = remotePool(remote, name, peers, (dir) => {
    makeFiles(dir, bigFiles, bigBytes, "backup")
    if (smallFiles > 0) makeFiles(dir, smallFiles, smallBytes, "small")
    return dir
  })
  // one copy per peer, its own connection, four at once; $copy is the copy of one collect dir
  // ($c, on $host) into a new dir ($d)
  const perPeer4 = (copy: string) =>
    [
      "set -e",
      "export cfg=$1 host=$2 target=$3; shift 3",
      `one() { c=$1; d="$target/\${1##*/}"; mkdir "$d"; ${copy}; }`,
      "export -f one",
      'printf "%s\\n" "$@" | xargs -P 4 -I{} bash -ec \'set -o pipefail; one "$1"\' bash {}'
    ].join("\n")
  const plain = (tool: string, copy: string) => () => {
    const target = fresh(`${name}-${tool}`)
    return { argv: ["bash", "-c", perPeer4(copy), "bash", remote.sshConfig, `${remote.user}@peer01`, target, ...collectDirs], target }
  }
  return {
    ...base,
    tools: [
      { name: "cedar-peer stage", warmUp: true, prepare: stage("cedar-peer", (config) => cedarPeerAs(name)("stage", "--config", config)) },
      {
        name: "cedar-peer stage tar",
        skip: tarTransport,
        warmUp: true,
        prepare: stage("cedar-peer-tar", (config) => cedarPeerAs(`${name}-tar`)("stage", "--config", config), [["transport", "tar"]])
      },
      { name: "cedar-python stage", skip: cedarPython, prepare: stage("cedar-python", (config) => [PYTHON, CEDAR_DRIVER, "stage", config]) },
      { name: "scp, per peer, 4 at once", prepare: plain("scp", '/usr/bin/scp -B -q -F "$cfg" "$host:$c/*" "$d/"') },
      { name: "scp -O, per peer, 4 at once", prepare: plain("scp-O", '/usr/bin/scp -B -q -O -F "$cfg" "$host:$c/*" "$d/"') },
      {
        name: "rsync -e ssh, per peer, 4 at once",
        skip: missing("rsync"),
        prepare: plain("rsync", 'rsync -a -e "/usr/bin/ssh -F $cfg" "$host:$c/" "$d/"')
      },
      { name: "ssh tar | tar x, per peer, 4 at once", prepare: plain("ssh-tar", '/usr/bin/ssh -F "$cfg" "$host" tar cf - -C "$c" . | tar xf - -C "$d"') }
    ]
  }
}

// A change to the tar read path against the build before it: a difference of a few percent,
// seen only when the two builds and the floor take turns in one run on this noisy machine.
const TAR_BEFORE = "cedar-peer stage tar (before)"
const tarBefore = (
  workload: Workload,
  floor: string,
  { others = [], target }: { readonly others?: ReadonlyArray<string>; readonly target?: number } = {}
): Workload => {
  const dir = args["tar-before"]
  if (dir === undefined || workload.skip !== undefined) return workload
  const kept = workload.tools.filter((t) => t.name === "cedar-peer stage tar" || t.name === floor || others.includes(t.name))
  const tar = kept.find((t) => t.name === "cedar-peer stage tar")!
  const before: Tool = {
    ...tar,
    name: TAR_BEFORE,
    prepare: () => {
      const prepared = tar.prepare()
      // the same staging, started from the other build's bin
      const main = path.join("dist", "cli", "main.js")
      const bin = binAs(path.resolve(dir), `${workload.name}-tar-before`)().find((word) => word.endsWith(main))!
      const argv = prepared.argv.map((word) => (word.endsWith(main) ? bin : word))
      return { ...prepared, argv }
    }
  }
  return {
    ...workload,
    tools: [...kept, before],
    ratios: [
      { tool: "cedar-peer stage tar", versus: TAR_BEFORE },
      { tool: "cedar-peer stage tar", versus: TAR_BEFORE, by: "cpu" },
      { tool: "cedar-peer stage tar", versus: floor, ...(target === undefined ? {} : { target }) },
      { tool: "cedar-peer stage tar", versus: floor, ...(target === undefined ? {} : { target }), by: "cpu" as const },
      { tool: TAR_BEFORE, versus: floor },
      { tool: TAR_BEFORE, versus: floor, by: "cpu" },
      ...others.flatMap((other) => [{ tool: "cedar-peer stage tar", versus: other }, { tool: TAR_BEFORE, versus: other }])
    ],
    rssLimits: [...workload.rssLimits, { tool: TAR_BEFORE, maxMB: 100 }]
  }
}

// ---------------------------------------------------------------------------------------------
// Running and reporting

interface ToolResult {
  readonly name: string
  readonly skip?: string | undefined
  readonly samples: Array<Sample>
}

interface WorkloadResult {
  readonly workload: Workload
  readonly tools: ReadonlyArray<ToolResult>
  readonly load: { readonly before: string; readonly after: string }
}

const ok = (tool: ToolResult) => tool.samples.filter((s) => s.error === undefined)
const medianOf = (tool: ToolResult | undefined): number | undefined => {
  if (tool === undefined || tool.skip !== undefined) return undefined
  const good = ok(tool)
  return good.length === 0 || good.length < tool.samples.length ? undefined : median(good.map((s) => s.seconds))
}
const peakOf = (tool: ToolResult): number | undefined => {
  const values = tool.samples.map((s) => s.rssKiB).filter((v): v is number => v !== undefined)
  return values.length === 0 ? undefined : Math.max(...values)
}
/** median CPU seconds of the tool's own process tree (GNU time), when every good run has one */
const ownCpuOf = (tool: ToolResult | undefined): number | undefined => {
  if (tool === undefined || tool.skip !== undefined) return undefined
  const values = ok(tool).map((s) => s.processCpuSeconds).filter((v): v is number => v !== undefined)
  return values.length === 0 || values.length < tool.samples.length ? undefined : median(values)
}
const loadNow = () => os.loadavg()[0]!.toFixed(2)

/** workloads of few, big files: a run's target is removed right after it is checked, to free the disk */
const FREED: ReadonlySet<WorkloadName> = new Set(["local-big", "remote-big", "cedar-night"])

const runWorkload = (workload: Workload): WorkloadResult => {
  const before = loadNow()
  const results: Array<ToolResult> = workload.tools.map((tool) => ({ name: tool.name, skip: tool.skip, samples: [] }))
  const active = workload.tools.map((tool, i) => ({ tool, result: results[i]! })).filter(({ tool }) => tool.skip === undefined)
  for (const { tool } of active.filter(({ tool }) => tool.warmUp === true)) {
    const prepared = tool.prepare()
    spawnSync(prepared.argv[0]!, prepared.argv.slice(1), { stdio: "ignore", timeout: 30 * 60_000 })
    prepared.after?.()
    if (prepared.target !== undefined && FREED.has(workload.name)) fs.rmSync(prepared.target, { recursive: true, force: true })
  }
  for (let run = 0; run < workload.runs; run++) {
    // rotate the order each run, so no tool always runs right after the same neighbour
    const order = active.map((_, i) => active[(i + run) % active.length]!)
    for (const { tool, result } of order) {
      const prepared = tool.prepare()
      spawnSync("sync") // write-back of the previous run's files is not charged to this one
      const sample = timed(prepared.argv, { rssFile })
      let error = sample.error
      if (error === undefined && prepared.target !== undefined) {
        const got = staged(prepared.target)
        if (got.files !== workload.files || got.bytes !== workload.bytes) {
          error = `staged ${count(got.files)} files, ${count(got.bytes)} bytes; expected ${count(workload.files)}, ${count(workload.bytes)}`
        }
      }
      prepared.after?.()
      // big files: free the disk now (few names, so no slow-create aftermath)
      if (prepared.target !== undefined && FREED.has(workload.name)) fs.rmSync(prepared.target, { recursive: true, force: true })
      result.samples.push({ ...sample, error })
      process.stderr.write(
        `  ${workload.name} run ${run + 1}/${workload.runs} ${tool.name}: ${sample.seconds.toFixed(2)} s${error === undefined ? "" : ` FAILED ${error}`}\n`
      )
    }
  }
  return { workload, tools: results, load: { before, after: loadNow() } }
}

interface RatioLine {
  readonly label: string
  readonly value: number | undefined
  readonly target: number | undefined
  readonly verdict: "PASS" | "FAIL" | "info" | "n/a"
}

const ratioLines = (result: WorkloadResult): Array<RatioLine> => {
  const byName = new Map(result.tools.map((t) => [t.name, t]))
  const lines: Array<RatioLine> = []
  for (const ratio of result.workload.ratios) {
    const of = ratio.by === "cpu" ? ownCpuOf : medianOf
    const a = of(byName.get(ratio.tool))
    const b = of(byName.get(ratio.versus))
    const value = a !== undefined && b !== undefined && b > 0 ? a / b : undefined
    const verdict = value === undefined ? "n/a" : ratio.target === undefined ? "info" : value <= ratio.target ? "PASS" : "FAIL"
    lines.push({ label: `${ratio.tool} / ${ratio.versus}${ratio.by === "cpu" ? " (own CPU)" : ""}`, value, target: ratio.target, verdict })
  }
  for (const limit of result.workload.rssLimits) {
    const tool = byName.get(limit.tool)
    const peak = tool === undefined || tool.skip !== undefined ? undefined : peakOf(tool)
    const value = peak === undefined ? undefined : megabytes(peak)
    lines.push({
      label: `${limit.tool} peak RSS (MB)`,
      value,
      target: limit.maxMB,
      verdict: value === undefined ? "n/a" : value <= limit.maxMB ? "PASS" : "FAIL"
    })
  }
  return lines
}

/**
 * One workload as rows of cells: tool, median, min–max, the machine's busy CPU seconds in the run
 * (median; in brackets, how many cores that kept busy on average), MiB/s, files/s, peak RSS, note.
 */
const rows = (result: WorkloadResult): Array<Array<string>> =>
  result.tools.map((tool) => {
    if (tool.skip !== undefined) return [tool.name, "—", "—", "—", "—", "—", "—", "—", "—", `skipped: ${tool.skip}`]
    const failed = tool.samples.filter((s) => s.error !== undefined)
    const seconds = ok(tool).map((s) => s.seconds)
    const m = medianOf(tool)
    const peak = peakOf(tool)
    const w = result.workload
    const cpu = ok(tool).map((s) => s.cpuSeconds).filter((v): v is number => v !== undefined)
    const cpuMedian = cpu.length === 0 || cpu.length < seconds.length ? undefined : median(cpu)
    const own = ownCpuOf(tool)
    return [
      tool.name,
      m === undefined ? "—" : m.toFixed(3),
      seconds.length === 0 ? "—" : `${Math.min(...seconds).toFixed(3)}–${Math.max(...seconds).toFixed(3)}`,
      cpuMedian === undefined || m === undefined ? "—" : `${cpuMedian.toFixed(2)} (${(cpuMedian / m).toFixed(1)})`,
      own === undefined ? "—" : own.toFixed(2),
      own === undefined || w.bytes < 64 * MiB ? "—" : (own / (w.bytes / GiB)).toFixed(2),
      m === undefined || w.bytes === 0 ? "—" : (w.bytes / MiB / m).toFixed(1),
      m === undefined || w.files === 0 ? "—" : w.files / m < 100 ? (w.files / m).toFixed(1) : count(w.files / m),
      peak === undefined ? "—" : `${megabytes(peak).toFixed(0)} MB`,
      failed.length === 0 ? "" : `FAILED ${failed.length}/${tool.samples.length}: ${failed[0]!.error}`
    ]
  })

const HEAD = ["tool", "median s", "min–max s", "CPU s (cores)", "own CPU s", "own CPU s/GiB", "MiB/s", "files/s", "peak RSS", ""]

const textTable = (table: Array<Array<string>>): string => {
  const widths = HEAD.map((_, c) => Math.max(...[HEAD, ...table].map((row) => row[c]!.length)))
  return [HEAD, ...table].map((row) => row.map((cell, c) => (c === 0 || c === HEAD.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd()).join("\n")
}

const ratioText = (line: RatioLine) =>
  `${line.label.padEnd(52)} ${line.value === undefined ? "   —  " : line.value.toFixed(2).padStart(6)}  ${
    line.target === undefined ? "".padEnd(13) : `target ≤ ${line.target.toFixed(2)}`.padEnd(13)
  }  ${line.verdict}`

const printWorkload = (result: WorkloadResult) => {
  const w = result.workload
  console.log(`\n== ${w.name}: ${w.title}`)
  if (w.skip !== undefined) {
    console.log(`   skipped: ${w.skip}`)
    return
  }
  console.log(`   ${w.runs} run(s) per tool, load average ${result.load.before} → ${result.load.after}`)
  console.log(textTable(rows(result)).replace(/^/gm, "   "))
  for (const line of ratioLines(result)) console.log(`   ${ratioText(line)}`)
}

/**
 * What this machine allows, from the same run: for each target, the ratio that the part of the
 * work no implementation choice removes already reaches. A floor at or above its target means
 * the target cannot be met on this machine, whatever cedar-peer does.
 */
interface Floor {
  readonly workload: WorkloadName
  readonly label: string
  readonly value: number
  readonly target: number
  readonly why: string
}

const floors = (results: ReadonlyArray<WorkloadResult>): Array<Floor> => {
  const timeOf = (workload: WorkloadName, tool: string) =>
    medianOf(results.find((r) => r.workload.name === workload)?.tools.find((t) => t.name === tool))
  const cpuOf = (workload: WorkloadName, tool: string): number | undefined => {
    const found = results.find((r) => r.workload.name === workload)?.tools.find((t) => t.name === tool)
    const cpu = found === undefined ? [] : ok(found).map((s) => s.cpuSeconds).filter((v): v is number => v !== undefined)
    return found === undefined || cpu.length === 0 || cpu.length < found.samples.length ? undefined : median(cpu)
  }
  const out: Array<Floor> = []
  const add = (workload: WorkloadName, label: string, a: number | undefined, b: number | undefined, target: number, why: string) => {
    if (a !== undefined && b !== undefined && b > 0) out.push({ workload, label, value: a / b, target, why })
  }
  const node = timeOf("startup", "node -e 0")
  const floor = timeOf("startup", "effect cli hello --version")
  add("startup", "effect cli hello / node -e 0", floor, node, 2, "the smallest effect/cli program, built and started as the bin is")
  // Any program built on Effect pays the Effect floor's start-up before its first file; the best
  // it can then do is copy at the plain tool's own rate. Start-up plus that tool's whole time is
  // therefore a floor for cedar-peer (the tool's own start, a few ms, counted twice).
  const plus = (tool: number | undefined) => (floor === undefined || tool === undefined ? undefined : floor + tool)
  const cp = timeOf("local-small", "cp -p")
  add("local-small", "(Effect start-up + cp -p) / cp -p", plus(cp), cp, 1, "start Effect, then copy as fast as cp")
  add("local-small", "(Effect start-up + cp -p) / cedar-python", plus(cp), timeOf("local-small", "cedar-python"), 1, "start Effect, then copy as fast as cp")
  // staging is atomic (copied aside, renamed into place once all are there): a second directory
  // operation per file that neither cp nor Cedar does
  const atomic = timeOf("local-small", "cp -p, then mv")
  add("local-small", "(Effect start-up + cp -p, then mv) / cedar-python", plus(atomic), timeOf("local-small", "cedar-python"), 1, "start Effect, then copy aside and rename into place as fast as cp and mv")
  const many = timeOf("local-many", "cp -p")
  add("local-many", "(Effect start-up + cp -p, then mv) / cp -p", plus(timeOf("local-many", "cp -p, then mv")), many, 2, "start Effect, then copy aside and rename into place as fast as cp and mv")
  const loop = timeOf("local-pool", "cp loop")
  add("local-pool", "(Effect start-up + cp loop) / cp loop", plus(loop), loop, 1, "start Effect, then copy as fast as the cp loop")
  add("local-pool", "(Effect start-up + cp loop) / cedar-python stage", plus(loop), timeOf("local-pool", "cedar-python stage"), 1, "start Effect, then copy as fast as the cp loop")
  const big = timeOf("local-big", "cp -p")
  add("local-big", "(Effect start-up + cp -p) / cp -p", plus(big), big, 1.1, "start Effect, then copy as fast as cp")
  const scp = timeOf("remote-small", "scp")
  add("remote-small", "(Effect start-up + scp) / scp", plus(scp), scp, 1.05, "start Effect, then copy as fast as scp")
  add("remote-small", "(Effect start-up + ssh tar | tar x) / scp", plus(timeOf("remote-small", "ssh tar | tar x")), scp, 0.5, "start Effect, then stream and unpack as fast as two tars")
  add(
    "remote-pool",
    "(Effect start-up + scp per peer) / cedar-python stage",
    plus(timeOf("remote-pool", "scp, a connection per peer, 4 at once")),
    timeOf("remote-pool", "cedar-python stage"),
    0.2,
    "start Effect, then do what plain scp does under cedar-peer's rules (a connection of its own per peer, indicators, four at once)"
  )
  const perPeer = timeOf("remote-pool", "scp, a connection per peer, 4 at once")
  add("remote-pool", "(Effect start-up + scp per peer) / scp per peer", plus(perPeer), perPeer, 1.15, "start Effect, then do what plain scp does under cedar-peer's rules")
  add(
    "remote-pool",
    "(Effect start-up + scp per peer as the user) / scp per peer",
    plus(timeOf("remote-pool", "the same, as the backup user (runuser a command)")),
    perPeer,
    1.15,
    "start Effect, then do what plain scp does under cedar-peer's rules, each command run as the backup user as cedar-peer runs it"
  )
  add(
    "remote-pool",
    "(start-up + tar per peer) / (start-up + scp per peer)",
    plus(timeOf("remote-pool", TAR_PER_PEER)),
    plus(perPeer),
    0.7,
    "both pools at their floors: start Effect, then do what plain ssh tar | tar x, or plain scp, does under cedar-peer's rules (the tar pool's target is 0.7× the default pool)"
  )
  const bigScp = timeOf("remote-big", "scp, per peer, 4 at once")
  add("remote-big", "(Effect start-up + scp per peer) / scp per peer", plus(bigScp), bigScp, 1.05, "start Effect, then copy as fast as scp, four peers at once")
  const nightScp = timeOf("cedar-night", "scp, per peer, 4 at once")
  const nightCedar = timeOf("cedar-night", "cedar-python stage")
  add("cedar-night", "scp per peer, 4 at once / cedar-python stage", nightScp, nightCedar, 0.35, "copy as fast as plain scp, four peers at once, with no start-up, no check and no landing")
  add("cedar-night", "ssh tar | tar x per peer, 4 at once / cedar-python", timeOf("cedar-night", "ssh tar | tar x, per peer, 4 at once"), nightCedar, 0.35, "stream and unpack as fast as two tars, four peers at once")
  const cores = os.cpus().length
  const perPeerCpu = cpuOf("remote-pool", "scp, a connection per peer, 4 at once")
  add(
    "remote-pool",
    `scp per peer CPU s / ${cores} cores / cedar-python stage`,
    perPeerCpu === undefined ? undefined : perPeerCpu / cores,
    timeOf("remote-pool", "cedar-python stage"),
    0.2,
    "plain scp under cedar-peer's rules (a connection of its own per peer, indicators), spread over every core"
  )
  const loopCpu = cpuOf("remote-pool", "scp loop, 1 master")
  add(
    "remote-pool",
    `scp loop CPU s / ${cores} cores / cedar-python stage`,
    loopCpu === undefined ? undefined : loopCpu / cores,
    timeOf("remote-pool", "cedar-python stage"),
    0.2,
    "scp alone over one connection (no handshake per peer, no checks, no landing), spread over every core"
  )
  return out
}

const floorText = (line: Floor) =>
  `${line.label.padEnd(52)} ${line.value.toFixed(2).padStart(6)}  ${`target ≤ ${line.target.toFixed(2)}`.padEnd(13)}  ${
    line.value >= line.target ? "out of reach here" : "within reach"
  }`

/** Text for a Markdown table cell: a `|` of its own (`ssh tar | tar x`) would end the cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|")

const markdown = (results: ReadonlyArray<WorkloadResult>, finished: string): string => {
  const out: Array<string> = []
  out.push(`# cedar-peer benchmark, ${machine.date.slice(0, 10)}`, "")
  out.push("Written by `npm run bench`; medians of the runs, every run into a fresh target dir.", "")
  out.push(
    "Columns: *CPU s (cores)* is what the whole machine was busy during a run (/proc/stat: both ends of a " +
      "loopback ssh, and anything else running), with the cores that kept busy in brackets; *own CPU s* is the " +
      "user + system time of the tool's own process tree (GNU time), per GiB moved in the next column. " +
      "Compare ratios within one run only: the tools ran interleaved under the same load, another run's " +
      "absolute times are not comparable.",
    ""
  )
  if (args.note !== undefined) out.push(args.note, "")
  const busiest = Math.max(...results.map((r) => Number(r.load.before)), ...results.map((r) => Number(r.load.after)))
  if (busiest > os.cpus().length) {
    out.push(
      `The 1-minute load average reached ${busiest.toFixed(1)} on ${os.cpus().length} cores: other processes competed for the CPU ` +
        "during this run, so the times are longer and the ratios rougher than on a quiet machine.",
      ""
    )
  }
  out.push("| | |", "|---|---|")
  for (const [key, value] of Object.entries({ ...machine, loadAfter: finished })) out.push(`| ${key} | ${cell(String(value))} |`)
  for (const result of results) {
    const w = result.workload
    out.push("", `## ${w.name}: ${w.title}`, "")
    if (w.skip !== undefined) {
      out.push(`Skipped: ${w.skip}`)
      continue
    }
    out.push(`${w.runs} run(s) per tool; load average (1 min) ${result.load.before} before, ${result.load.after} after.`, "")
    out.push(`| ${HEAD.slice(0, -1).join(" | ")} | note |`, `|${HEAD.map((_, i) => (i === 0 || i === HEAD.length - 1 ? "---" : "---:")).join("|")}|`)
    for (const row of rows(result)) out.push(`| ${row.map(cell).join(" | ")} |`)
    out.push("", "| ratio | value | target | |", "|---|---:|---|---|")
    for (const line of ratioLines(result)) {
      out.push(`| ${cell(line.label)} | ${line.value === undefined ? "—" : line.value.toFixed(2)} | ${line.target === undefined ? "" : `≤ ${line.target}`} | ${line.verdict} |`)
    }
  }
  const limits = floors(results)
  if (limits.length > 0) {
    out.push(
      "",
      "## Floors: what this machine allows",
      "",
      "From this run: for a target, the ratio that a part of the work no implementation choice removes " +
        "already reaches. A floor at or above its target puts the target out of reach on this machine.",
      "",
      "| workload | floor | value | target | | what |",
      "|---|---|---:|---|---|---|"
    )
    for (const line of limits) {
      out.push(
        `| ${line.workload} | ${cell(line.label)} | ${line.value.toFixed(2)} | ≤ ${line.target} | ${
          line.value >= line.target ? "out of reach here" : "within reach"
        } | ${cell(line.why)} |`
      )
    }
  }
  return `${out.join("\n")}\n`
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  let remote: Remote | string = "not selected"
  const results: Array<WorkloadResult> = []
  try {
    console.log(`cedar-peer benchmark: ${machine.cpu}, ${machine.os}, node ${machine.node}, ${machine.openssh}`)
    console.log(`runs ${runs}${quick ? " (quick: small sizes, nothing worth keeping)" : ""}, load average ${machine.loadBefore}, scratch ${ROOT}`)
    if (!fs.existsSync(GNU_TIME)) console.log(`${GNU_TIME} is missing: no peak RSS (apt-get install time)`)
    const wantsRemote = WORKLOAD_NAMES.some((name) => (name.startsWith("remote-") || name === "cedar-night" || name.startsWith("wan-")) && selected(name))
    if (wantsRemote) remote = await startRemote()
    const wan = typeof remote === "string" ? remote : selected("wan-small") || selected("wan-pool") ? await throughRelay(remote) : "not selected"
    const rtt = `${2 * WAN_DELAY_MS} ms`
    const tarTransport = wantsRemote ? knowsTarTransport(remote) : "not selected"
    const plan: Array<[WorkloadName, () => Workload | Promise<Workload>]> = [
      ["startup", startupWorkload],
      ["local-small", () =>
        localPeerWorkload("local-small", "local peer (`stage-peer`)", SIZES.small[0]!, SIZES.small[1]!, {
          ratios: [{ tool: "cedar-peer", versus: "cp -p", target: 1 }, { tool: "cedar-peer", versus: "cedar-python", target: 1 }, {
            tool: "rsync -a",
            versus: "cp -p"
          }, { tool: "cp -p, then mv", versus: "cp -p" }, { tool: "cedar-peer", versus: "cp -p, then mv" }]
        })],
      ["local-pool", localPoolWorkload],
      ["local-many", () =>
        localPeerWorkload("local-many", "local peer, many tiny files (`stage-peer`)", SIZES.many[0]!, SIZES.many[1]!, {
          ratios: [{ tool: "cedar-peer", versus: "cp -p", target: 2 }, { tool: "cedar-peer", versus: "cedar-python" }, {
            tool: "cp -p, then mv",
            versus: "cp -p"
          }],
          rssLimits: [{ tool: "cedar-peer", maxMB: 120 }]
        })],
      ["local-big", () =>
        localPeerWorkload("local-big", "local peer, big files (`stage-peer`)", SIZES.big[0]!, SIZES.big[1]!, {
          ratios: [{ tool: "cedar-peer", versus: "cp -p", target: 1.1 }, { tool: "cedar-peer", versus: "cedar-python" }]
        })],
      ["remote-small", () => remoteSmallWorkload(remote, tarTransport)],
      ["remote-pool", () => tarBefore(remotePoolWorkload(remote, tarTransport), TAR_PER_PEER, { others: ["cedar-peer stage"] })],
      ["remote-big", () =>
        tarBefore(remoteBigWorkload(remote, tarTransport, "remote-big", SIZES.remoteBig, [
          { tool: "cedar-peer stage tar", versus: "ssh tar | tar x, per peer, 4 at once", target: 1.1 },
          { tool: "cedar-peer stage tar", versus: "ssh tar | tar x, per peer, 4 at once", target: 1.1, by: "cpu" },
          { tool: "cedar-peer stage", versus: "scp, per peer, 4 at once", target: 1.05 },
          { tool: "cedar-peer stage", versus: "scp, per peer, 4 at once", by: "cpu" },
          { tool: "cedar-peer stage tar", versus: "cedar-peer stage" },
          { tool: "cedar-peer stage", versus: "cedar-python stage" },
          { tool: "scp -O, per peer, 4 at once", versus: "scp, per peer, 4 at once" },
          { tool: "ssh tar | tar x, per peer, 4 at once", versus: "scp, per peer, 4 at once" }
        ]), "ssh tar | tar x, per peer, 4 at once", { target: 1.1 })],
      ["cedar-night", () =>
        remoteBigWorkload(remote, tarTransport, "cedar-night", SIZES.night, [
          { tool: "cedar-peer stage", versus: "cedar-python stage", target: 0.35 },
          { tool: "cedar-peer stage tar", versus: "cedar-python stage", target: 0.35 },
          { tool: "cedar-peer stage", versus: "scp, per peer, 4 at once" },
          { tool: "cedar-peer stage tar", versus: "ssh tar | tar x, per peer, 4 at once" }
        ])],
      ["wan-small", () =>
        remoteSmallWorkload(wan, tarTransport, {
          name: "wan-small",
          where: ` across a ${rtt} round trip`,
          sizes: SIZES.wan,
          baseline: false,
          ratios: [{ tool: "cedar-peer tar", versus: "scp", target: 0.1 }, { tool: "cedar-peer", versus: "scp" }]
        })],
      ["wan-pool", () =>
        remotePoolWorkload(wan, tarTransport, {
          name: "wan-pool",
          where: ` across a ${rtt} round trip`,
          sizes: SIZES.wanPool,
          baseline: false,
          ratios: [{ tool: "cedar-peer stage", versus: "cedar-python stage" }, { tool: "cedar-peer stage tar", versus: "cedar-peer stage" }]
        })]
    ]
    for (const [name, make] of plan) {
      if (!selected(name)) continue
      process.stderr.write(`preparing ${name}…\n`)
      const workload = await make()
      const result = workload.skip === undefined ? runWorkload(workload) : { workload, tools: [], load: { before: loadNow(), after: loadNow() } }
      results.push(result)
      printWorkload(result)
    }
    const finished = os.loadavg().map((l) => l.toFixed(2)).join(" ")
    const verdicts = results.flatMap((r) => ratioLines(r).filter((l) => l.target !== undefined).map((l) => ({ ...l, workload: r.workload.name })))
    console.log(`\n== targets (load average now ${finished})`)
    for (const line of verdicts) console.log(`   ${line.workload.padEnd(13)} ${ratioText(line)}`)
    const failed = verdicts.filter((l) => l.verdict !== "PASS").length
    console.log(failed === 0 ? "   every target met" : `   ${failed} of ${verdicts.length} targets not met (or not measured)`)
    const limits = floors(results)
    if (limits.length > 0) {
      console.log("\n== floors: the ratio a part of the work no implementation choice removes already reaches here")
      for (const line of limits) console.log(`   ${line.workload.padEnd(13)} ${floorText(line)}`)
    }
    if (args.out !== undefined) {
      const file = path.resolve(args.out)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, markdown(results, finished))
      const json = file.replace(/\.md$/, "") + ".json"
      fs.writeFileSync(
        json,
        `${
          JSON.stringify(
            {
              machine: { ...machine, loadAfter: finished },
              floors: floors(results),
              workloads: results.map((r) => ({
                name: r.workload.name,
                title: r.workload.title,
                files: r.workload.files,
                bytes: r.workload.bytes,
                skip: r.workload.skip,
                load: r.load,
                tools: r.tools,
                ratios: ratioLines(r)
              }))
            },
            null,
            2
          )
        }\n`
      )
      console.log(`\nwrote ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), json)}`)
    }
  } finally {
    stopRelays()
    if (typeof remote !== "string") await remote.server.stop()
    if (args.keep) console.log(`kept ${ROOT}`)
    else spawnSync("rm", ["-rf", "--one-file-system", "--", ROOT])
  }
}

await main()

// Start-up of the cedar-peer bin as users run it (dist/cli/main.js: the bundle behind its launcher),
// against `node -e 0` on the same Node, interleaved, medians of several runs. Targets: wall time
// within 2x of `node -e 0` and peak RSS at most 80 MB, for `--version` and for `validate`.
//
//   npm run build && node scripts/run-ts.mjs bench/startup.ts [--runs 9] [--node /path/to/node ...]
//
// Figures, never assertions: the machine's load moves every number, the ratio far less.
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { binCommand, buildReference } from "./measure.js"

const root = join(import.meta.dirname, "..")
const bin = join(root, "dist", "cli", "main.js")
if (!existsSync(bin)) {
  console.error("dist/cli/main.js is missing: run `npm run build` first")
  process.exit(1)
}

const args = process.argv.slice(2)
const option = (name: string): Array<string> => args.flatMap((arg, i) => (arg === name && args[i + 1] ? [args[i + 1]!] : []))
const runs = Number(option("--runs")[0] ?? 7)
const nodes = [process.execPath, ...option("--node")]
const hasTime = existsSync("/usr/bin/time")

// A small valid pool in a fresh temp dir, in Cedar's XML (the common case: the XML parser loads too).
const dir = mkdtempSync(join(tmpdir(), "cedar-peer-startup-"))
for (const sub of ["work", "stage", "alpha"]) spawnSync("mkdir", ["-p", join(dir, sub)])
const user = userInfo().username
const config = join(dir, "cback3.conf")
writeFileSync(
  config,
  `<?xml version="1.0"?>
<cb_config>
  <options><starting_day>monday</starting_day><working_dir>${dir}/work</working_dir>
    <backup_user>${user}</backup_user><backup_group>${user === "root" ? "root" : user}</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command></options>
  <peers><peer><name>alpha</name><type>local</type><collect_dir>${dir}/alpha</collect_dir></peer></peers>
  <stage><staging_dir>${dir}/stage</staging_dir></stage>
</cb_config>
`
)

interface Sample {
  readonly wall: number
  readonly rssKiB: number | undefined
  readonly status: number | null
}

const measure = (argv: ReadonlyArray<string>): Sample => {
  if (hasTime) {
    const done = spawnSync("/usr/bin/time", ["-f", "TIME %e %M", ...argv], { encoding: "utf8" })
    const match = /TIME ([\d.]+) (\d+)\s*$/.exec(done.stderr)
    const status = done.status
    if (match) return { wall: Number(match[1]), rssKiB: Number(match[2]), status }
  }
  const started = performance.now()
  const done = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" })
  return { wall: (performance.now() - started) / 1000, rssKiB: undefined, status: done.status }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// The floor: Effect, @effect/cli and the Node layer in a one-command program, built and started
// the same way (no target of its own).
const reference = await buildReference(join(dir, "reference"))
const cases = [
  { name: "cedar-peer --version", bin, argv: ["--version"], target: true },
  { name: "cedar-peer validate", bin, argv: ["validate", "--config", config], target: true },
  { name: "effect cli hello", bin: reference, argv: ["--version"], target: false }
] as const

let allMet = true
for (const node of nodes) {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim()
  // one warm-up each: page cache, and the bin's code cache filled as a second night finds it
  measure([node, "-e", "0"])
  for (const c of cases) measure([...binCommand(node, c.bin), ...c.argv])
  const samples = new Map<string, Array<Sample>>([["node -e 0", []], ...cases.map((c) => [c.name, []] as [string, Array<Sample>])])
  for (let i = 0; i < runs; i++) {
    samples.get("node -e 0")!.push(measure([node, "-e", "0"]))
    for (const c of cases) samples.get(c.name)!.push(measure([...binCommand(node, c.bin), ...c.argv]))
  }
  const base = median(samples.get("node -e 0")!.map((s) => s.wall))
  console.log(`\nNode ${version} (${node}), medians of ${runs}, interleaved`)
  console.log(`${"command".padEnd(24)} ${"wall s".padStart(7)} ${"x node".padStart(7)} ${"peak RSS MB".padStart(12)}  status  target`)
  for (const [name, list] of samples) {
    const wall = median(list.map((s) => s.wall))
    const rss = list[0]!.rssKiB === undefined ? undefined : median(list.map((s) => s.rssKiB!)) / 1024
    const ratio = wall / base
    const isBase = name === "node -e 0"
    const targeted = cases.some((c) => c.name === name && c.target)
    const met = !targeted || (ratio <= 2 && (rss === undefined || rss <= 80))
    if (!met) allMet = false
    console.log(
      `${name.padEnd(24)} ${wall.toFixed(3).padStart(7)} ${ratio.toFixed(2).padStart(7)} ${(rss?.toFixed(1) ?? "?").padStart(12)}  ${String(list[0]!.status).padStart(6)}  ${isBase ? "" : !targeted ? "floor" : met ? "met" : "NOT met (<= 2x, <= 80 MB)"}`
    )
  }
}
rmSync(dir, { recursive: true, force: true })
console.log(allMet ? "\nstart-up targets met" : "\nstart-up targets NOT met on every Node above")

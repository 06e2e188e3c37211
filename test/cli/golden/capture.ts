// What a user of the built bin sees, captured case by case in a fixed order and made deterministic
// (temporary root, dates, times, durations and the backup user replaced by placeholders), so that the
// outputs of two builds can be compared. Node built-ins only: it also runs as a script on the bin of
// another checkout, to write the goldens:
//
//   node test/cli/golden/capture.ts path/to/dist/cli/main.js test/cli/golden
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"

/** One captured run: the command line, its exit status and its output. */
export interface Captured {
  readonly name: string
  readonly text: string
}

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

const COMMANDS = ["stage", "check", "stage-peer", "write-indicator", "exec", "action", "validate", "demo", "verify"]

/** Runs the bin without blocking (a test worker that blocks misses the runner's heartbeats). */
const runBin = (bin: string, args: ReadonlyArray<string>, cwd: string | undefined): Promise<Run> =>
  new Promise((done) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", TZ: "UTC", LC_ALL: "C" }
    for (const name of ["CEDAR_PEER_LOG", "JOURNAL_STREAM", "FORCE_COLOR"]) delete env[name]
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("close", (status) => done({ status, stdout, stderr }))
  })

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The version of the package the bin belongs to (its package.json, two levels up). */
const versionOf = (bin: string): string =>
  (JSON.parse(readFileSync(join(dirname(bin), "..", "..", "package.json"), "utf8")) as { readonly version: string }).version

/** The version the bin prints and the man page carries, as a placeholder: a release changes it, not a port. */
const withoutVersion = (text: string, version: string): string =>
  text.replace(new RegExp(`(?<![\\w.])${escapeRegExp(version)}(?![\\w.])`, "g"), "<VERSION>")

/** Replaces what changes from run to run by placeholders. */
const normalize = (text: string, root: string, version: string): string =>
  withoutVersion(text, version)
    .replace(new RegExp(escapeRegExp(root), "g"), "<ROOT>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<TIME>")
    .replace(/\/\d{4}\/\d\d\/\d\d\b/g, "/<DATE>")
    .replace(/(?<=\s)\d+\.\ds(?=\s|$)/gm, "0.0s")
    .replace(/\bpid \d+\b/g, "pid <PID>")
    .replace(/(backup user\/group: )[^\s,]+\/[^\s,]+/g, "$1<USER>/<GROUP>")
    .replace(/("backup(?:User|Group)": )"[^"]*"/g, "$1\"<NAME>\"")

const quote = (arg: string) => (/^[\w./<>=:@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`)

/**
 * Runs every case on `bin` in a fresh directory under `scratch` and returns what each showed.
 * The cases share one demo pool and run in this order: later ones see what earlier ones staged.
 */
export const captureAll = async (binPath: string, scratch: string = tmpdir()): Promise<Array<Captured>> => {
  const bin = resolve(binPath)
  const version = versionOf(bin)
  const root = mkdtempSync(join(scratch, "cedar-golden-"))
  const out: Array<Captured> = []
  const record = async (
    name: string,
    args: ReadonlyArray<string>,
    options: { readonly cwd?: string; readonly sortStderr?: boolean } = {}
  ): Promise<Run> => {
    const run = await runBin(bin, args, options.cwd)
    const stderr = normalize(run.stderr, root, version)
    const stderrLines = options.sortStderr ? stderr.split("\n").filter((l) => l !== "").sort().map((l) => `${l}\n`).join("") : stderr
    out.push({
      name,
      text: [
        `$ cedar-peer ${args.map((a) => quote(normalize(a, root, version))).join(" ")}`,
        ...(options.cwd === undefined ? [] : [`(in ${normalize(options.cwd, root, version)})`]),
        `exit: ${run.status}`,
        "--- stdout",
        normalize(run.stdout, root, version) + "--- stderr" + (options.sortStderr ? " (lines sorted)" : ""),
        stderrLines
      ].join("\n")
    })
    return run
  }
  try {
    // help, version, completions
    await record("help", ["--help"])
    for (const command of COMMANDS) await record(`help-${command}`, [command, "--help"])
    await record("help-before-command", ["--help", "stage-peer"])
    await record("version", ["--version"])
    await record("version-short", ["-V"])
    for (const shell of ["bash", "fish", "zsh"]) await record(`completions-${shell}`, ["--completions", shell])

    // the demo pool: its config is what the other commands read
    const demo = join(root, "demo")
    await record("demo", ["demo", demo], { sortStderr: true })
    await record("demo-json", ["demo", join(root, "demo-json"), "--json"], { sortStderr: true })
    const config = join(demo, "cback3.conf")

    await record("validate", ["validate", "--config", config])
    await record("validate-json", ["validate", "--config", config, "--json"])
    await record("validate-syntax-only", ["validate", "--syntax-only", "-c", config])
    await record("check", ["check", "--config", config])
    await record("check-json", ["check", "--config", config, "--json"])
    await record("check-one-peer", ["check", "--config", config, "--peer", "alpha"])
    await record("stage-dry-run", ["stage", "--config", config, "--dry-run"])
    await record("stage-dry-run-json", ["stage", "--dry-run", "--json", "--config", config])
    await record("stage", ["stage", "--config", config], { sortStderr: true })
    await record("stage-json", ["stage", "--config", config, "--json"], { sortStderr: true })
    await record("stage-options-before-command", ["-c", config, "-f", "--peer", "alpha", "stage"], { sortStderr: true })
    await record("stage-quiet", ["stage", "-q", "--config", config, "--peer", "beta"])
    await record("stage-verbose", ["-v", "stage", "--config", config, "--peer", "beta"])
    await record("stage-log-level-error", ["stage", "--config", config, "--log-level=error"])
    const verified = await record("stage-verify-json", ["stage", "--config", config, "--verify", "--json"], { sortStderr: true })
    const daily = (JSON.parse(verified.stdout) as { dailyDir: string }).dailyDir
    await record("verify", ["verify", daily])
    await record("verify-json", ["verify", daily, "--json"])
    writeFileSync(join(daily, "alpha", "etc.tar.gz"), "tampered")
    rmSync(join(daily, "beta", "crontab.txt"))
    await record("verify-mismatch", ["verify", daily])
    await record("verify-mismatch-json", ["verify", "--json", daily])
    await record("verify-nowhere", ["verify", join(root, "nowhere")])

    const target = (name: string) => {
      const dir = join(root, name)
      mkdirSync(dir, { recursive: true })
      return dir
    }
    await record("stage-peer", ["stage-peer", "--config", config, "--peer", "alpha", "--target", target("t1")])
    await record("stage-peer-json", ["stage-peer", "--config", config, "--peer", "beta", "--target", target("t2"), "--json", "--mode", "640"])
    await record("stage-peer-not-ready", ["stage-peer", "--config", config, "--peer", "gamma", "--target", target("t3")])
    await record("stage-peer-relative-target", ["stage-peer", "--config", config, "--peer", "beta", "--target", "t4", "--json"], {
      cwd: dirname(target("t4"))
    })
    await record("stage-peer-missing-target", ["stage-peer", "--config", config, "--peer", "alpha", "--target", join(root, "none")])
    await record("stage-peer-bad-mode", ["stage-peer", "--config", config, "--peer", "alpha", "--target", target("t5"), "--mode", "999"])
    await record("stage-peer-bad-owner", ["stage-peer", "--config", config, "--peer", "alpha", "--target", target("t5"), "--owner", "34"])
    await record("stage-peer-unknown-owner", ["stage-peer", "--config", config, "--peer", "alpha", "--target", target("t5"), "--owner", "no-such-user-xyz:root"])
    await record("write-indicator", ["write-indicator", "--config", config, "--peer", "alpha"])
    await record("write-indicator-json", ["write-indicator", "--config", config, "--peer", "beta", "--json", "--indicator", "custom.stage"])
    await record("exec-local-peer", ["exec", "--config", config, "--peer", "alpha", "true"])
    await record("action-none-managed", ["action", "collect", "--config", config])
    await record("action-none-managed-json", ["action", "--config", config, "collect", "--json"])
    await record("action-bad-name", ["action", "collect;touch x", "--config", config])

    // usage and configuration errors
    await record("usage-no-command", [])
    await record("usage-unknown-command", ["stag"])
    await record("usage-unknown-flag", ["stage", "--no-such-flag"])
    await record("usage-unknown-flag-json", ["stage", "--no-such-flag", "--config", config, "--json"])
    await record("usage-extra-argument", ["check", "--config", config, "extra"])
    await record("usage-missing-option", ["stage-peer", "--config", config, "--target", root])
    await record("usage-missing-argument", ["exec", "--config", config, "--peer", "alpha"])
    await record("usage-missing-argument-verify", ["verify"])
    await record("usage-concurrency-zero", ["stage", "--config", config, "--concurrency", "0"])
    await record("usage-concurrency-word", ["stage", "--config", config, "--concurrency", "two"])
    await record("usage-max-files", ["stage", "--config", config, "--max-files", "1.5"])
    await record("usage-max-bytes", ["stage", "--config", config, "--max-bytes", "ten"])
    await record("usage-timeout-name", ["stage", "--config", config, "--timeout", "lunch=30"])
    await record("usage-timeout-value", ["stage", "--config", config, "--timeout", "stall=-3"])
    await record("usage-wizard", ["--wizard"])
    await record("usage-quiet-verbose", ["-q", "-v", "stage"])
    await record("usage-log-level", ["stage", "--log-level", "loud"])
    await record("usage-log-file-value", ["stage", "--log-file"])
    await record("usage-log-file-dir", ["stage", "--config", config, "--log-file", join(root, "no", "such", "x.log")])
    await record("usage-completions-shell", ["--completions", "tcsh"])
    await record("config-missing", ["validate", "--config", join(root, "missing.conf")])
    await record("config-missing-json", ["check", "--json", "--config", join(root, "missing.json")])
    await record("unknown-peer", ["write-indicator", "--config", config, "--peer", "nope"])
    await record("unknown-peer-json", ["stage", "--config", config, "--peer", "nope", "--json"])
    return out
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

/** The man page the build wrote beside the bin (dist/man/cedar-peer.1). */
export const manPageOf = (bin: string): string =>
  withoutVersion(readFileSync(join(dirname(bin), "..", "man", "cedar-peer.1"), "utf8"), versionOf(bin))

/** The goldens as stored: one file per case, and the man page. */
export const readGoldens = (dir: string): Map<string, string> =>
  new Map(readdirSync(dir).filter((f) => f.endsWith(".txt") || f.endsWith(".1")).map((f) => [f, readFileSync(join(dir, f), "utf8")]))

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [bin, dir] = process.argv.slice(2)
  if (bin === undefined || dir === undefined) throw new Error("usage: capture.ts BIN DIR")
  mkdirSync(dir, { recursive: true })
  for (const { name, text } of await captureAll(resolve(bin))) writeFileSync(join(dir, `${name}.txt`), text)
  writeFileSync(join(dir, "cedar-peer.1"), manPageOf(resolve(bin)))
}

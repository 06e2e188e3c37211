// The bin's launcher: a copy of the built bin in a temp dir, run as users run it (through its `#!`
// line), with its V8 code cache missing, present, damaged and impossible to write.
import { execFile } from "node:child_process"
import { builtinModules } from "node:module"
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { commandNames } from "../../src/cli/commands.js"

const built = join(import.meta.dirname, "../../dist/cli")
const version = (JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as { version: string }).version

let root: string
let bin: string
let cacheDir: string

const run = (...args: ReadonlyArray<string>) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    // the bin itself, not `node bin`: its #! line and the flags it carries are part of what is tested
    execFile(bin, [...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr })
    )
  })

const cacheFiles = () => readdirSync(cacheDir).filter((name) => name.endsWith(".v8"))

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "cedar-launcher-"))
  mkdirSync(join(root, "dist", "cli"), { recursive: true })
  for (const file of ["main.js", "cedar-peer.cjs"]) copyFileSync(join(built, file), join(root, "dist", "cli", file))
  copyFileSync(join(import.meta.dirname, "../../package.json"), join(root, "package.json"))
  bin = join(root, "dist", "cli", "main.js")
  cacheDir = join(root, "dist", "cli", ".cache")
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("the bin's launcher", () => {
  it("starts through its #! line with the Node flags it carries", () => {
    expect(readFileSync(bin, "utf8").split("\n")[0]).toBe("#!/usr/bin/env -S node --max-semi-space-size=1")
    expect(statSync(bin).mode & 0o111).not.toBe(0)
  })

  it("writes the code cache on a first run and starts from it on the next without rewriting it", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    expect(await run("--version")).toMatchObject({ status: 0, stdout: `${version}\n` })
    expect(cacheFiles()).toEqual([expect.stringMatching(new RegExp(`^cedar-peer-${process.version}-${process.arch}-[0-9a-f]+-start\\.v8$`))])
    const file = join(cacheDir, cacheFiles()[0]!)
    const written = statSync(file)
    expect(written.size).toBeGreaterThan(100_000)
    expect(await run("--version")).toMatchObject({ status: 0, stdout: `${version}\n` })
    expect(statSync(file).mtimeMs).toBe(written.mtimeMs)
    // nothing half-written left behind
    expect(readdirSync(cacheDir)).toEqual(cacheFiles())
  })

  it("keeps a cache per command, written by a run that went through it", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    await run("--version")
    const [quick] = cacheFiles()
    const named = (command: string) => quick!.replace(/-start\.v8$/, `-${command}.v8`)
    const written = statSync(join(cacheDir, quick!))
    // a run that failed early (exit 2) compiled too little to be worth keeping
    expect(await run("stage", "--config", join(root, "missing.conf"))).toMatchObject({ status: 2 })
    expect(cacheFiles()).toEqual([quick])
    expect(await run("demo", join(root, "demo"))).toMatchObject({ status: 0 })
    expect(cacheFiles().sort()).toEqual([named("demo"), quick].sort())
    // what the demo's stage compiled (the config reader, the pool, the copy…) is in its cache, not in the quick one
    expect(statSync(join(cacheDir, named("demo"))).size).toBeGreaterThan(written.size * 1.1)
    expect(statSync(join(cacheDir, quick!)).mtimeMs).toBe(written.mtimeMs)
    const used = statSync(join(cacheDir, named("demo"))).mtimeMs
    expect(await run("demo", join(root, "demo2"))).toMatchObject({ status: 0 })
    expect(statSync(join(cacheDir, named("demo"))).mtimeMs).toBe(used)
    // exit 1 (a peer of the demo is not ready) went through the command: its cache is written
    const config = join(root, "demo", "cback3.conf")
    expect(await run("check", "--config", config)).toMatchObject({ status: 1 })
    expect(cacheFiles()).toContain(named("check"))
    // a dry run is not the real thing
    expect(await run("stage", "--dry-run", "--config", config)).toMatchObject({ status: 0 })
    expect(cacheFiles()).toContain(named("stage-dry-run"))
    expect(cacheFiles()).not.toContain(named("stage"))
  })

  it("writes no command's cache for help, the version or completions: they share the start cache", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    for (const args of [["stage", "--help"], ["check", "-h"], ["validate", "--version"], ["stage", "--completions", "bash"], ["--help"]]) {
      expect(await run(...args)).toMatchObject({ status: 0 })
    }
    expect(cacheFiles()).toEqual([expect.stringMatching(/-start\.v8$/)])
    // so the first real stage writes a stage cache of its own (one written by `stage --help` would
    // have been accepted, holding only the help, and never replaced)
    expect(await run("demo", join(root, "demo-help"))).toMatchObject({ status: 0 })
    expect(await run("stage", "--config", join(root, "demo-help", "cback3.conf"))).toMatchObject({ status: 0 })
    expect(cacheFiles().map((name) => name.replace(/^.*-/, "")).sort()).toEqual(["demo.v8", "stage.v8", "start.v8"])
  })

  it("keeps the cache directory bounded: another Node's caches go, then the oldest beyond 16", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    mkdirSync(cacheDir)
    const old = new Date(Date.now() - 86_400_000)
    const plant = (name: string, age: number) => {
      writeFileSync(join(cacheDir, name), "cache")
      utimesSync(join(cacheDir, name), old, new Date(old.getTime() + age * 1000))
    }
    // what an upgrade of Node leaves behind
    plant(`cedar-peer-v0.1.0-${process.arch}-1505-stage.v8`, 100)
    // this Node under 20 other sets of flags, the first written first
    for (let i = 0; i < 20; i++) plant(`cedar-peer-${process.version}-${process.arch}-f${i}-stage.v8`, i)
    writeFileSync(join(cacheDir, "notes.txt"), "not a cache")
    expect(await run("--version")).toMatchObject({ status: 0 })
    const left = cacheFiles()
    expect(left).toHaveLength(16)
    expect(left.filter((name) => name.startsWith("cedar-peer-v0.1.0-"))).toEqual([])
    expect(left).toContainEqual(expect.stringMatching(/-start\.v8$/))
    // the five oldest went
    for (let i = 0; i < 5; i++) expect(left).not.toContain(`cedar-peer-${process.version}-${process.arch}-f${i}-stage.v8`)
    expect(readFileSync(join(cacheDir, "notes.txt"), "utf8")).toBe("not a cache")
  })

  it("keeps its cache where the Debian package says (scripts/package-deb.mjs), nothing beside the bundle", async () => {
    const { launcherFor } = (await import(join(import.meta.dirname, "../../scripts/package-deb.mjs"))) as {
      readonly launcherFor: (source: string, options: { readonly cacheDir: string; readonly node: string }) => string
    }
    const installed = join(root, "deb", "usr", "share", "cedar-peer")
    const cache = join(root, "deb", "var", "cache", "cedar-peer")
    mkdirSync(join(installed, "dist", "cli"), { recursive: true })
    copyFileSync(join(root, "package.json"), join(installed, "package.json"))
    copyFileSync(join(built, "cedar-peer.cjs"), join(installed, "dist", "cli", "cedar-peer.cjs"))
    const launcher = launcherFor(readFileSync(bin, "utf8"), { cacheDir: `${cache}/`, node: process.execPath })
    expect(launcher.split("\n")[0]).toBe(`#!${process.execPath} --max-semi-space-size=1`)
    writeFileSync(join(installed, "dist", "cli", "main.js"), launcher, { mode: 0o755 })
    const result = await new Promise<number>((resolve) =>
      execFile(join(installed, "dist", "cli", "main.js"), ["demo", join(root, "demo-deb")], (error) => resolve(error === null ? 0 : 1))
    )
    expect(result).toBe(0)
    expect(readdirSync(cache)).toEqual([expect.stringMatching(/-demo\.v8$/)])
    expect(existsSync(join(installed, "dist", "cli", ".cache"))).toBe(false)
  })

  it("names each cache after one of the CLI's own commands", () => {
    const launcher = readFileSync(join(import.meta.dirname, "../../scripts/launcher.mjs"), "utf8")
    const listed = JSON.parse(launcher.match(/^const COMMANDS = (\[.*\])$/m)![1]!) as Array<string>
    expect(commandNames.length).toBeGreaterThan(0)
    expect([...listed].sort()).toEqual([...commandNames].sort())
  })

  it("keeps one cache per set of Node flags: a run under other flags leaves the bin's own cache alone", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    await run("--version")
    const own = cacheFiles()
    const written = statSync(join(cacheDir, own[0]!)).mtimeMs
    const other = await new Promise<number | null>((resolve) =>
      execFile(process.execPath, ["--stack-size=2000", bin, "--version"], (error) => resolve(error === null ? 0 : 1))
    )
    expect(other).toBe(0)
    expect(cacheFiles()).toHaveLength(2)
    expect(cacheFiles()).toContain(own[0])
    expect(statSync(join(cacheDir, own[0]!)).mtimeMs).toBe(written)
  })

  it("ignores a damaged cache, runs as usual and writes a good one", async () => {
    await run("--version")
    const file = join(cacheDir, cacheFiles()[0]!)
    writeFileSync(file, "not V8's code cache")
    expect(await run("--version")).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: "" })
    expect(statSync(file).size).toBeGreaterThan(100_000)
  })

  it("never reads a cache that someone else could have written; writes its own in its place", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    await run("--version")
    const file = join(cacheDir, cacheFiles()[0]!)
    // a planted file, writable by everyone: not read (a damaged one would be ignored by V8
    // anyway, so it is replaced by a good one, proving it was not taken as it was)
    writeFileSync(file, "planted")
    chmodSync(file, 0o666)
    expect(await run("--version")).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: "" })
    expect(statSync(file).mode & 0o777).toBe(0o644)
    expect(statSync(file).size).toBeGreaterThan(100_000)
    // a cache directory others can write: its files are not read, whatever they hold
    chmodSync(cacheDir, 0o777)
    const before = statSync(file).mtimeMs
    expect(await run("--version")).toMatchObject({ status: 0, stdout: `${version}\n` })
    // rewritten: a cache that was used is never written again, so the one there was not used
    expect(statSync(file).mtimeMs).not.toBe(before)
    chmodSync(cacheDir, 0o755)
  })

  it("runs as usual where no cache can be written", async () => {
    rmSync(cacheDir, { recursive: true, force: true })
    writeFileSync(cacheDir, "a file where the cache directory would go")
    const result = await run("--help")
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("cedar-peer")
    expect(result.stderr).toBe("")
    expect(readFileSync(cacheDir, "utf8")).toBe("a file where the cache directory would go")
    rmSync(cacheDir)
  })

  it("runs a bundle that needs nothing but Node's own modules, and never undici (which fails to import on Node 20)", () => {
    const bundle = readFileSync(join(built, "cedar-peer.cjs"), "utf8")
    const required = [...new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!))]
    expect(required.length).toBeGreaterThan(0)
    expect(required.filter((name) => !builtinModules.includes(name.replace(/^node:/, "")))).toEqual([])
    expect(bundle).not.toMatch(/undici/i)
  })

  it("passes the command's exit status through", async () => {
    const result = await run("stage", "--config", join(root, "missing.conf"))
    expect(result.status).toBe(2)
    expect(result.stderr).toContain("missing.conf")
  })
})

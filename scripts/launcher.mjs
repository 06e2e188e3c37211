#!/usr/bin/env -S node --max-semi-space-size=1
// The cedar-peer bin. The CLI is cedar-peer.cjs beside this file, one bundle; this launcher
// compiles it through V8's code cache, kept in .cache/ beside it (the Debian package keeps it in
// /var/cache/cedar-peer/ instead: scripts/package-deb.mjs rewrites the cacheDir line), so that a
// start skips parsing and compiling most of the bundle. V8 checks a cache against the bundle's
// source, its own version and its flags and ignores one that does not match; a missing or
// ignored cache is written anew as the command ends (exit 0 or 1), holding everything the run
// compiled; there is one per command (see below), at most MAX_CACHES in all. Where the cache
// directory cannot be written (a user running a root install) the bundle is compiled as usual:
// slower, same behaviour.
//
// --max-semi-space-size=1 (MiB): V8 otherwise lets its young generation grow to 2 x 16 MiB while a
// run allocates its way through a large collect dir; capped, a 100,000-file stage and the
// start-up itself peak lower, at no cost in time we could measure. 1 rather than 2: the tar
// transport's 64 KiB read buffers die young but are freed only by a scavenge, and four streams
// at once peaked 9 MiB lower (docs/performance.md).
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import Module from "node:module"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { Script } from "node:vm"

// A run lasts seconds and spends its JavaScript across many small functions of the Effect
// runtime; V8's default tier-up has TurboFan compile hundreds of them on background threads, and
// a 12-peer stage ended before that paid off: a quarter of the process's CPU time went to it. A
// larger interrupt budget optimises only what stays hot (a 100,000-file listing still is): −20 %
// CPU for a remote pool, nothing lost elsewhere (docs/performance.md). Set before the bundle is
// compiled, as V8 checks a code cache against its flags. V8 11 (Node 20) only: later versions tier
// up differently (Maglev) and name the knob otherwise; they keep their defaults.
if (process.versions.v8.startsWith("11.")) setFlagsFromString("--interrupt-budget=1000000")

const bundle = fileURLToPath(new URL("./cedar-peer.cjs", import.meta.url))
const cacheDir = fileURLToPath(new URL("./.cache/", import.meta.url))
// V8 also ignores a cache made under other flags: one file per Node version and set of flags, so
// that a run under other flags (a profile, a test calling `node main.js`) does not throw away the
// cache the bin's own runs use.
const flags = process.execArgv.join(" ")
let flagsHash = 5381
for (let i = 0; i < flags.length; i++) flagsHash = (flagsHash * 33 + flags.charCodeAt(i)) >>> 0
// A cache holds what the run that wrote it compiled, and each command runs its own part of the
// bundle: `stage` compiles a fifth more than `--version`, and would compile that lazily on every
// run from a cache `--version` wrote, while a cache holding everything would slow `--version`. So
// each command keeps its own cache, named after its word among the arguments (`--dry-run` runs
// apart from the real ones), and `--version`, `--help` and no command share "start". An option's
// value that happens to be a command's word only picks another cache: a little slower, same
// behaviour.
const COMMANDS = ["stage", "check", "stage-peer", "write-indicator", "exec", "action", "validate", "demo", "verify"]
// Help, the version and completions run none of a command's own code: they share "start" too, so
// that `stage --help` does not leave a `stage` cache that the nights would then start from and,
// since it was accepted, never replace.
const QUICK = ["--help", "-h", "--version", "-V", "--completions"]
const args = process.argv.slice(2)
const line = args.includes("--") ? args.slice(0, args.indexOf("--")) : args
const quick = line.some((arg) => QUICK.includes(arg) || arg.startsWith("--completions="))
const command = quick ? undefined : line.find((arg) => COMMANDS.includes(arg))
const kind = command === undefined ? "start" : line.includes("--dry-run") ? `${command}-dry-run` : command
const CACHE_PREFIX = "cedar-peer-"
const thisNode = `${CACHE_PREFIX}${process.version}-${process.arch}-`
const cacheFile = `${cacheDir}${thisNode}${flagsHash.toString(16)}-${kind}.v8`
// Bounds the directory: about 2 MB a file, and a master runs a few commands on one Node.
const MAX_CACHES = 16

// Compiled code is code: a cache is used only when it and its directory belong to the bundle's
// owner and nobody else can write them (root running a root install never reads a file another
// user could have planted), and it is opened without following a link.
const owner = statSync(bundle).uid
const trusted = (info) => info.uid === owner && (info.mode & 0o022) === 0

const readCache = () => {
  try {
    const dir = lstatSync(cacheDir)
    if (!dir.isDirectory() || !trusted(dir)) return undefined
    const fd = openSync(cacheFile, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      const info = fstatSync(fd)
      return info.isFile() && trusted(info) ? readFileSync(fd) : undefined
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined
  }
}

// The caches of another Node or architecture go first (V8 rejects them: they are what an
// upgrade of Node leaves behind), then the oldest written, down to MAX_CACHES. Only names this
// launcher writes; unlinking never follows a link.
const writtenAt = (name) => {
  try {
    return lstatSync(`${cacheDir}${name}`).mtimeMs
  } catch {
    return undefined // pruned by a run ending at the same time
  }
}
const pruneCaches = () => {
  const caches = readdirSync(cacheDir)
    .filter((name) => name.startsWith(CACHE_PREFIX) && name.endsWith(".v8"))
    .map((name) => ({ name, stale: !name.startsWith(thisNode), written: writtenAt(name) }))
    .filter((cache) => cache.written !== undefined)
  for (const { name } of caches.filter((cache) => cache.stale)) rmSync(`${cacheDir}${name}`, { force: true })
  const current = caches.filter((cache) => !cache.stale).sort((a, b) => a.written - b.written)
  for (const { name } of current.slice(0, Math.max(0, current.length - MAX_CACHES))) rmSync(`${cacheDir}${name}`, { force: true })
}

// Written whole under a temporary name, then renamed: a run starting meanwhile reads the old
// cache or the new one, never half of one.
const writeCache = (script) => {
  const partial = `${cacheFile}.${process.pid}`
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o755 })
    writeFileSync(partial, script.createCachedData(), { mode: 0o644 })
    renameSync(partial, cacheFile)
    pruneCaches()
  } catch {
    try {
      rmSync(partial, { force: true })
    } catch {
      // no cache directory at all: nothing was written
    }
  }
}

let cachedData = readCache()
// The bundle is ASCII and already wrapped in the module function (scripts/bundle.mjs): read as
// Latin-1, it is compiled as it is, one copy of it in memory.
const script = new Script(readFileSync(bundle, "latin1"), { filename: bundle, cachedData })
const cacheMissed = cachedData === undefined || script.cachedDataRejected === true
// The cache (1.3 MB) is not needed once compiled: let it go before the bundle runs, or it stays
// resident to the end and counts in every command's peak memory (−1.4 MB for `--version`).
cachedData = undefined
// Only a run that went through its command writes (exit 0, or 1: done, with a peer that failed
// or was not ready, as happens on many nights): one that stopped early (a usage error, a missing
// config: exit 2) compiled too little of it, and a cache that was accepted is never written again.
if (cacheMissed) {
  process.once("exit", (status) => {
    if (status === 0 || status === 1) writeCache(script)
  })
}
const module = { exports: {} }
script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle))

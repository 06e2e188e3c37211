#!/usr/bin/env node
// Builds what the package ships: the library's per-module dist/ (tsc, with declarations and
// source maps that embed their sources), the cedar-peer bin as one bundled, tree-shaken file
// (esbuild), and the man page rendered from the CLI's own definitions.
//
//   node scripts/build.mjs             always build
//   node scripts/build.mjs --if-stale  build only when a source is newer than the last build
//                                      (so `npm start` and `npm test` do not rebuild for nothing)
//   node scripts/build.mjs --check     print "fresh" or "stale" and build nothing
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bundleBin } from "./bundle.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const at = (...parts) => join(root, ...parts)
const stamp = at("dist", ".build-stamp")

/** The newest modification time among the inputs of the build. */
const newestInput = () => {
  let newest = 0
  const visit = (path) => {
    const info = statSync(path)
    if (info.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry))
    else newest = Math.max(newest, info.mtimeMs)
  }
  for (const input of ["src", "scripts", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"]) {
    if (existsSync(at(input))) visit(at(input))
  }
  return newest
}

const fresh = () => existsSync(stamp) && statSync(stamp).mtimeMs >= newestInput()
if (process.argv.includes("--check")) {
  console.log(fresh() ? "fresh" : "stale")
  process.exit(0)
}
if (process.argv.includes("--if-stale") && fresh()) process.exit(0)

const started = Date.now()
rmSync(at("dist"), { recursive: true, force: true })

// 1. The library, one module per file, as importers use it.
const tsc = spawnSync(process.execPath, [at("node_modules", "typescript", "bin", "tsc"), "-p", at("tsconfig.build.json")], {
  stdio: "inherit"
})
if (tsc.status !== 0) process.exit(tsc.status ?? 1)

// 2. The bin: one file holding cedar-peer and everything it imports, so that starting it reads
//    one file instead of resolving hundreds of modules, and a global install needs no peers;
//    CommonJS, so that its launcher can compile it through V8's code cache (scripts/bundle.mjs).
await bundleBin({ entry: at("src", "cli", "main.ts"), outDir: at("dist", "cli"), readable: process.env.CEDAR_BUILD_READABLE === "1" })

// 3. The man page, from the command definitions the bin runs.
const { manPage } = await import(pathToFileURL(at("dist", "cli", "manPage.js")).href)
const { cedarPeer } = await import(pathToFileURL(at("dist", "cli", "commands.js")).href)
const { version } = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(at("package.json"), "utf8")))
mkdirSync(at("dist", "man"), { recursive: true })
writeFileSync(at("dist", "man", "cedar-peer.1"), manPage(cedarPeer, { version }))

writeFileSync(stamp, `built in ${Date.now() - started} ms\n`)

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
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

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
//    one file instead of resolving hundreds of modules, and a global install needs no peers.
//    CommonJS, so that the launcher can compile it through `vm.Script` with V8's code cache.
const esbuild = await import("esbuild")
// @effect/cli can read options from YAML, TOML and INI files; cedar-peer never does, so those
// parsers (a third of the bundle, evaluated at start-up) are left out. Should a command ever use
// that, it fails loudly instead of silently.
const unused = {
  name: "unused-config-file-formats",
  setup(build) {
    build.onResolve({ filter: /^(yaml|toml|ini)$/ }, (args) => ({ path: args.path, namespace: "unused" }))
    build.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: `const fail = () => { throw new Error("cedar-peer is built without the ${args.path} parser") }
export const parse = fail, stringify = fail, decode = fail, encode = fail`,
      loader: "js"
    }))
  }
}
await esbuild.build({
  entryPoints: [at("src", "cli", "main.ts")],
  outfile: at("dist", "cli", "cedar-peer.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  treeShaking: true,
  // whitespace and syntax only: names stay readable in a stack trace
  minifySyntax: true,
  minifyWhitespace: process.env.CEDAR_BUILD_READABLE !== "1",
  legalComments: "eof",
  plugins: [unused],
  inject: [at("scripts", "import-meta-url.js")],
  define: { "import.meta.url": "importMetaUrl" },
  logLevel: "warning"
})
// the entry's own "#!" line would be a syntax error inside the launcher's function wrapper
const cli = at("dist", "cli", "cedar-peer.cjs")
writeFileSync(cli, readFileSync(cli, "utf8").replace(/^#!.*\n/, ""))
writeFileSync(at("dist", "cli", "main.js"), readFileSync(at("scripts", "launcher.mjs"), "utf8"), { mode: 0o755 })

// 3. The man page, from the command definitions the bin runs.
const { manPage } = await import(pathToFileURL(at("dist", "cli", "manPage.js")).href)
const { cedarPeer } = await import(pathToFileURL(at("dist", "cli", "commands.js")).href)
const { version } = JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(at("package.json"), "utf8")))
mkdirSync(at("dist", "man"), { recursive: true })
writeFileSync(at("dist", "man", "cedar-peer.1"), manPage(cedarPeer, { version }))

writeFileSync(stamp, `built in ${Date.now() - started} ms\n`)

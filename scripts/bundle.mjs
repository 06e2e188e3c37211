// The bin as users run it: one CommonJS bundle of an entry and everything it imports, and the
// launcher beside it that compiles the bundle through V8's code cache (scripts/launcher.mjs).
// Used by the build for cedar-peer itself, and by the start-up benchmark for its reference
// program, so that both are bundled and started the same way.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import Module from "node:module"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const scripts = dirname(fileURLToPath(import.meta.url))

// undici (@effect/platform-node's HTTP client) fails to import on Node 20: the bin never makes an
// HTTP request, and a deep import or a new dependency that pulled it in would break the bin on
// Node 20 only. So the build fails instead.
const noUndici = {
  name: "no-undici",
  setup(build) {
    build.onResolve({ filter: /^undici(\/|$)/ }, (args) => ({
      errors: [{ text: `the bin must not bundle undici (imported by ${args.importer}): it fails to import on Node 20` }]
    }))
  }
}

/**
 * Bundles `entry` into `<outDir>/cedar-peer.cjs` and writes the launcher as `<outDir>/main.js`.
 * `readable`: no whitespace minification (for profiles that name lines).
 */
export const bundleBin = async ({ entry, outDir, readable = false }) => {
  const esbuild = await import("esbuild")
  const cli = join(outDir, "cedar-peer.cjs")
  mkdirSync(outDir, { recursive: true })
  const { metafile } = await esbuild.build({
    entryPoints: [entry],
    outfile: cli,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    treeShaking: true,
    // whitespace and syntax only: names stay readable in a stack trace
    minifySyntax: true,
    minifyWhitespace: !readable,
    legalComments: "eof",
    charset: "ascii",
    plugins: [noUndici],
    // the sources are ES modules; import.meta.url is the only part of import.meta they use
    inject: [join(scripts, "import-meta-url.js")],
    define: { "import.meta.url": "importMetaUrl" },
    logLevel: "warning",
    metafile: true
  })
  // The file holds the bundle already wrapped in CommonJS's module function, and only ASCII (esbuild
  // escapes the rest): the launcher compiles it as read, in Latin-1, with no copy made to wrap or
  // to decode it: the source stays in memory for the whole run, and for `--version` two copies of
  // it were 2.5 MB of the peak (docs/performance.md). The entry's own "#!" line would be a syntax
  // error inside the wrapper.
  const code = readFileSync(cli, "utf8").replace(/^#!.*\n/, "")
  if (!/^[\x00-\x7f]*$/.test(code)) throw new Error(`${cli}: the bundle must be ASCII (the launcher reads it as Latin-1)`)
  writeFileSync(cli, Module.wrap(`${code}\n`))
  writeFileSync(join(outDir, "main.js"), readFileSync(join(scripts, "launcher.mjs"), "utf8"), { mode: 0o755 })
  writeFileSync(join(outDir, "bundled.json"), `${JSON.stringify(bundledPackages(metafile), null, 2)}\n`)
}

/**
 * The packages whose code is in the bundle, with their licenses: the Debian package's copyright
 * file names them (scripts/package-deb.mjs). Not shipped by npm (package.json's files).
 */
const bundledPackages = (metafile) => {
  const dirs = new Set()
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (match !== null) dirs.add(match[1])
  }
  return [...dirs].sort().map((dir) => {
    const { name, version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    return { name, version, license, dir: relative(join(scripts, ".."), resolve(dir)) }
  })
}

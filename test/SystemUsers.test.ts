// The real SystemUsers layer over a getent of our own on PATH: what it answers, and that each
// name is asked once a minute, not once per question (every getent is a process).
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as SystemUsers from "../src/peers/SystemUsers.js"

let bin: string
let log: string
const savedPath = process.env["PATH"]

beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-getent-"))
  log = path.join(bin, "calls")
  fs.writeFileSync(
    path.join(bin, "getent"),
    `#!/bin/sh
echo "$*" >> ${log}
case "$2 $3" in
  "passwd alice") echo "alice:x:1234:5678:Alice:/home/alice:/bin/sh" ;;
  "group backup") echo "backup:x:34:" ;;
  *) exit 2 ;;
esac
`,
    { mode: 0o755 }
  )
  process.env["PATH"] = `${bin}:${savedPath}`
})

afterAll(() => {
  process.env["PATH"] = savedPath
  fs.rmSync(bin, { recursive: true, force: true })
})

const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [])

const users = Layer.provide(SystemUsers.SystemUsers.layer, NodeServices.layer)

describe("SystemUsers.layer", () => {
  it.effect("answers from getent, and asks it once per name and minute", () =>
    Effect.gen(function*() {
      fs.rmSync(log, { force: true })
      const system = yield* SystemUsers.SystemUsers
      const alice = yield* Effect.all(Array.from({ length: 3 }, () => system.lookupUser("alice")), { concurrency: "unbounded" })
      expect(alice).toEqual(Array.from({ length: 3 }, () => Option.some({ uid: 1234, gid: 5678, shell: "/bin/sh" })))
      expect(yield* system.lookupUser("alice")).toEqual(Option.some({ uid: 1234, gid: 5678, shell: "/bin/sh" }))
      expect(yield* system.lookupUser("nobody-here")).toEqual(Option.none())
      expect(yield* system.lookupUser("nobody-here")).toEqual(Option.none())
      expect(yield* system.lookupGroup("backup")).toEqual(Option.some(34))
      expect(yield* system.lookupGroup("backup")).toEqual(Option.some(34))
      expect(calls().sort()).toEqual(["-- group backup", "-- passwd alice", "-- passwd nobody-here"])
      // a minute later the answer is asked for again
      yield* TestClock.adjust("61 seconds")
      expect(yield* system.lookupUser("alice")).toEqual(Option.some({ uid: 1234, gid: 5678, shell: "/bin/sh" }))
      expect(calls().filter((line) => line === "-- passwd alice")).toHaveLength(2)
    }).pipe(Effect.provide(users)))
})

// A child that must stop is stopped with its whole process group: on its time limit and on
// interruption, SIGTERM first, SIGKILL after the grace for what ignores SIGTERM. Real processes
// (the Node executor starts each child as the leader of its own group); nothing of the group may
// survive, checked in /proc.
import { Command, CommandExecutor } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it as plain, layer } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Expired, runToEnd } from "../../src/internal/process.js"

/** Pids of the live (not zombie) processes whose process group is `pgid`. */
const groupMembers = (pgid: number): Array<number> =>
  fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      return fields[0] !== "Z" && Number(fields[2]) === pgid ? [Number(name)] : []
    } catch {
      return []
    }
  })

const waitUntil = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return check()
}

// A shell that starts a grandchild, writes both pids, then waits; `trap '' TERM` makes both ignore SIGTERM.
const script = (dir: string, ignoreTerm: boolean) =>
  [
    "sh",
    "-c",
    `${ignoreTerm ? "trap '' TERM; " : ""}sleep 300 & echo $$ $! > ${dir}/pids; wait`
  ]

const pidsIn = (dir: string): Array<number> =>
  fs.existsSync(`${dir}/pids`) ? fs.readFileSync(`${dir}/pids`, "utf8").trim().split(" ").map(Number) : []

layer(NodeContext.layer, { excludeTestServices: true })("runToEnd", (it) => {
  for (const ignoreTerm of [false, true]) {
    it.effect(`on its time limit kills the whole group${ignoreTerm ? ", SIGKILL for what ignores SIGTERM" : ""}`, () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-process-"))
        const executor = yield* CommandExecutor.CommandExecutor
        const [program, ...args] = script(dir, ignoreTerm)
        const started = Date.now()
        const exit = yield* Effect.exit(
          runToEnd(executor, Command.make(program!, ...args), { timeout: "1 second", grace: "500 millis" })
        )
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error).toEqual(new Expired({ after: "1s" }))
        const [shell, sleeper] = pidsIn(dir)
        expect(shell).toBeGreaterThan(0)
        expect(sleeper).toBeGreaterThan(0)
        // bounded by the limit and the grace, not by the 300 s the children would wait
        expect(Date.now() - started).toBeLessThan(10_000)
        expect(yield* Effect.promise(() => waitUntil(() => groupMembers(shell!).length === 0))).toBe(true)
        fs.rmSync(dir, { recursive: true, force: true })
      }))
  }

  it.effect("on interruption kills the whole group, SIGKILL included", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-process-"))
      const executor = yield* CommandExecutor.CommandExecutor
      const [program, ...args] = script(dir, true)
      const fiber = yield* Effect.fork(runToEnd(executor, Command.make(program!, ...args), { grace: "500 millis" }))
      expect(yield* Effect.promise(() => waitUntil(() => pidsIn(dir).length === 2))).toBe(true)
      const [shell] = pidsIn(dir)
      expect(groupMembers(shell!).length).toBe(2)
      yield* Fiber.interrupt(fiber)
      expect(yield* Effect.promise(() => waitUntil(() => groupMembers(shell!).length === 0))).toBe(true)
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("a child that ends by itself is read to the end as before", () =>
    Effect.gen(function*() {
      const executor = yield* CommandExecutor.CommandExecutor
      const done = yield* runToEnd(executor, Command.make("sh", "-c", "echo out; echo err >&2; exit 3"), { timeout: "30 seconds" })
      expect(done).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" })
    }))

  it.effect("many short children in a row, four at once, all end within their time limit", () =>
    Effect.gen(function*() {
      // a child that exits before its input is closed must not leave its run waiting
      const executor = yield* CommandExecutor.CommandExecutor
      const runs = yield* Effect.forEach(
        Array.from({ length: 400 }, () => Command.make("true").pipe(Command.feed(""))),
        (command) => Effect.either(runToEnd(executor, command, { timeout: "5 seconds" })),
        { concurrency: 4 }
      )
      expect(runs.filter((run) => run._tag === "Left")).toEqual([])
    }), 120_000)

  it.effect("keeps the last 64 KiB of a long output, and multi-byte text whole", () =>
    Effect.gen(function*() {
      const executor = yield* CommandExecutor.CommandExecutor
      // 200,000 lines of "é" (3 bytes each with the newline) in many chunks, then a last line
      const done = yield* runToEnd(
        executor,
        Command.make("sh", "-c", "yes é | head -n 200000; echo last >&2; echo end"),
        { timeout: "20 seconds" }
      )
      expect(done.exitCode).toBe(0)
      expect(done.stderr).toBe("last\n")
      expect(done.stdout.endsWith("é\né\nend\n")).toBe(true)
      expect(Buffer.byteLength(done.stdout)).toBeLessThanOrEqual(64 * 1024)
      expect(Buffer.byteLength(done.stdout)).toBeGreaterThan(64 * 1024 - 3)
      // cut at a byte boundary at most once, at the very start
      expect(done.stdout.slice(1)).not.toContain("\uFFFD")
    }))
})

describe("groupMembers", () => {
  plain("sees this process's own group", () => {
    expect(groupMembers(Number(fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[2]))).not.toEqual([])
  })
})

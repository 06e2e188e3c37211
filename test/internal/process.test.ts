// A child that must stop is stopped with its whole process group: on its time limit and on
// interruption, SIGTERM first, SIGKILL after the grace for what ignores SIGTERM. Real processes
// (the Node spawner starts each child as the leader of its own group); nothing of the group may
// survive, checked in /proc.
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it as plain, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { Duration } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { command, Expired, runToEnd } from "../../src/peers/process.js"

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

/** Whether `pid` is a live process (not gone, not a zombie). */
/**
 * Runs a shell that leaves a background sleep in its group and ends with `end`: its status, and the
 * sleeper's pid. The sleep's output is closed, so the child's output ends with the shell.
 */
const sleeperLeftBy = (before: string, end: string, grace: Duration.Input) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const script = `${before}sleep 300 >/dev/null 2>&1 & echo $!; ${end}`
    const done = yield* runToEnd(spawner, command(["sh", "-c", script]), { timeout: "30 seconds", grace })
    const sleeper = Number(done.stdout.trim())
    expect(sleeper).toBeGreaterThan(0)
    return { exitCode: done.exitCode, sleeper }
  })

const isLive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    return false
  }
}

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

layer(NodeServices.layer, { excludeTestServices: true })("runToEnd", (it) => {
  for (const ignoreTerm of [false, true]) {
    it.effect(`on its time limit kills the whole group${ignoreTerm ? ", SIGKILL for what ignores SIGTERM" : ""}`, () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-process-"))
        const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
        const [program, ...args] = script(dir, ignoreTerm)
        const started = Date.now()
        const error = yield* Effect.flip(
          runToEnd(spawner, ChildProcess.make(program!, args), { timeout: "1 second", grace: "500 millis" })
        )
        expect(error).toEqual(new Expired({ after: "1s" }))
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
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const [program, ...args] = script(dir, true)
      const fiber = yield* Effect.forkChild(runToEnd(spawner, ChildProcess.make(program!, args), { grace: "500 millis" }))
      expect(yield* Effect.promise(() => waitUntil(() => pidsIn(dir).length === 2))).toBe(true)
      const [shell] = pidsIn(dir)
      expect(groupMembers(shell!).length).toBe(2)
      yield* Fiber.interrupt(fiber)
      expect(yield* Effect.promise(() => waitUntil(() => groupMembers(shell!).length === 0))).toBe(true)
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  // An ssh master started by a legacy scp stays in the scp's process group: it is the peer's shared
  // connection and must outlive the scp (it has its own close and idle limit).
  it.effect("what a child that exited 0 left running in its group is left running, and not waited for", () =>
    Effect.gen(function*() {
      const { exitCode, sleeper } = yield* sleeperLeftBy("", "exit 0", "5 seconds")
      expect(exitCode).toBe(0)
      // the grace is 5 s: a spawner that signalled the group would have killed it by now, or still be waiting
      yield* Effect.sleep("300 millis")
      expect(isLive(sleeper)).toBe(true)
      process.kill(sleeper, "SIGKILL")
    }))

  it.effect("a child that exited non-zero is returned at once; its group is stopped on its own, SIGKILL included", () =>
    Effect.gen(function*() {
      // What a ControlMaster's first fork leaves looks the same to the spawner: a group that does
      // not go at SIGTERM. Here a sleeper that ignores it.
      const { exitCode, sleeper } = yield* sleeperLeftBy("trap '' TERM; ", "exit 3", "2 seconds")
      expect(exitCode).toBe(3)
      // returned before the grace was out: the sleeper, which only SIGKILL stops, is still there
      expect(isLive(sleeper)).toBe(true)
      // and the clean-up ran on its own: SIGKILL once the grace had passed
      expect(yield* Effect.promise(() => waitUntil(() => !isLive(sleeper)))).toBe(true)
    }))

  it.effect("a child that ends by itself is read to the end as before", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const done = yield* runToEnd(spawner, command(["sh", "-c", "echo out; echo err >&2; exit 3"]), { timeout: "30 seconds" })
      expect(done).toEqual({ exitCode: 3, stdout: "out\n", stderr: "err\n" })
    }))

  it.effect("many short children in a row, four at once, all end within their time limit", () =>
    Effect.gen(function*() {
      // a child that exits before its input is closed must not leave its run waiting: neither with
      // stdin at its end from the start (the default here) nor with an input stream to feed
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const fed = () => ChildProcess.make("true", [], { stdin: Stream.make(new Uint8Array(0)) })
      const runs = yield* Effect.forEach(
        Array.from({ length: 400 }, (_, i) => i % 2 === 0 ? command(["true"]) : fed()),
        (cmd) => Effect.result(runToEnd(spawner, cmd, { timeout: "5 seconds" })),
        { concurrency: 4 }
      )
      expect(runs.filter((run) => run._tag === "Failure")).toEqual([])
      expect(runs.every((run) => run._tag === "Success" && run.success.exitCode === 0)).toBe(true)
    }), 120_000)

  it.effect("a child reading stdin gets its end at once, whatever stdin the command asked for", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      for (const cmd of [command(["cat"]), ChildProcess.make("cat", []), ChildProcess.make("cat", [], { stdin: "pipe" })]) {
        const done = yield* runToEnd(spawner, cmd, { timeout: "5 seconds" })
        expect(done).toEqual({ exitCode: 0, stdout: "", stderr: "" })
      }
    }))

  it.effect("a command's own input stream reaches the child", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const input = Stream.make(new TextEncoder().encode("fed\n"))
      const done = yield* runToEnd(spawner, ChildProcess.make("cat", [], { stdin: input }), { timeout: "5 seconds" })
      expect(done).toEqual({ exitCode: 0, stdout: "fed\n", stderr: "" })
    }))

  it.effect("a program that cannot start fails, not a status", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const error = yield* Effect.flip(runToEnd(spawner, command(["/nonexistent/cedar-no-such-program"]), { timeout: "5 seconds" }))
      expect(error._tag).toBe("PlatformError")
    }))

  it.effect("keeps the last 64 KiB of a long output, and multi-byte text whole", () =>
    Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      // 200,000 lines of "é" (3 bytes each with the newline) in many chunks, then a last line
      const done = yield* runToEnd(
        spawner,
        command(["sh", "-c", "yes é | head -n 200000; echo last >&2; echo end"]),
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

// RunLock on a real disk: held and released, refused while its holder lives, taken over when the
// holder is gone or its pid was reused, never followed through a symbolic link. Concurrent runs of
// the real CLI are in test/cli/runControl.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Scope } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import * as RunLock from "../src/pool/RunLock.js"

const fresh = () => mkdtempSync(join(tmpdir(), "cedar-peer-lock-"))

const record = (fields: Partial<RunLock.Holder>) =>
  JSON.stringify({ pid: 1, startTime: "1", startedAt: "2026-11-26T02:00:00.000Z", host: hostname(), nonce: "0123", ...fields }) + "\n"

const logs: Array<string> = []
const layer = Layer.merge(
  RunLock.layer,
  Logger.layer(
    [Logger.make(({ message }) => void logs.push(Array.isArray(message) ? message.join(" ") : String(message)))],
    { mergeWithExisting: true }
  )
)

/** A live process holding `file` open (as its descriptor 3), as the run holding a lock does. */
const holding = (file: string, ids: { readonly uid?: number; readonly gid?: number } = {}) => {
  const fd = openSync(file, "r")
  try {
    return spawn("sleep", ["60"], { stdio: ["ignore", "ignore", "ignore", fd], ...ids })
  } finally {
    closeSync(fd)
  }
}

/** A process that is surely gone: one that ran and exited. */
const deadPid = () => spawnSync("true").pid!

describe("RunLock", () => {
  it.effect("holds a lock file naming this process while the scope is open, removes it after", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      const scope = yield* Scope.make()
      const holder = yield* RunLock.acquire(file).pipe(Scope.provide(scope))
      const written = JSON.parse(readFileSync(file, "utf8"))
      expect(written).toEqual(holder)
      expect(written.pid).toBe(process.pid)
      expect(written.startTime).toMatch(/^\d+$/)
      expect(readdirSync(dir)).toEqual([".cedar-peer.lock"]) // no draft left
      yield* Scope.close(scope, Exit.void)
      expect(readdirSync(dir)).toEqual([])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("a second acquire while the first is held fails with AlreadyRunning naming the holder", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* RunLock.acquire(file)
        const error = yield* Effect.flip(Effect.scoped(RunLock.acquire(file)))
        expect(error).toMatchObject({ _tag: "AlreadyRunning", lockFile: file, pid: process.pid, startedAt: first.startedAt })
        expect(error.message).toContain(`pid ${process.pid}`)
        // the refused run touched nothing: the holder's lock is as it was
        expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(first)
        expect(readdirSync(dir)).toEqual([".cedar-peer.lock"])
      }))
      expect(existsSync(file)).toBe(false)
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("a lock held by another live process is refused", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      // a holder keeps the lock file open: this one gets it as its descriptor 3
      writeFileSync(file, "")
      const child = holding(file)
      try {
        const start = yield* RunLock.processStart(child.pid!)
        writeFileSync(file, record({ pid: child.pid!, startTime: start!.startTime }))
        const error = yield* Effect.flip(Effect.scoped(RunLock.acquire(file)))
        expect(error).toMatchObject({ _tag: "AlreadyRunning", pid: child.pid, startedAt: "2026-11-26T02:00:00.000Z" })
      } finally {
        child.kill("SIGKILL")
      }
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  const stale: ReadonlyArray<readonly [string, () => string, string]> = [
    ["its process is gone", () => record({ pid: deadPid() }), "that process is gone"],
    ["its pid now belongs to another process (start time differs)", () => record({ pid: process.pid, startTime: "1" }), "that process is gone"],
    ["it is not a lock file of ours", () => "garbage\n", "it is not a lock file of cedar-peer"]
  ]
  it.effect.each(stale)("a lock is taken over, with a log line, when %s", ([, content, why]) =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      writeFileSync(file, content())
      logs.length = 0
      yield* Effect.scoped(Effect.gen(function*() {
        const me = yield* RunLock.acquire(file)
        expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(me)
        expect(readdirSync(dir)).toEqual([".cedar-peer.lock"]) // no draft, no takeover token left
      }))
      expect(logs.some((l) => l.startsWith(`${file}: took over`) && l.endsWith(why))).toBe(true)
      expect(readdirSync(dir)).toEqual([])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  // What another user who can write the staging dir could plant: a live process that is not a
  // cedar-peer run holding this lock. Each is taken over, the warning naming what was found.
  const forged: ReadonlyArray<readonly [string, (file: string) => Effect.Effect<{ readonly content: string; readonly stop?: () => void }>, RegExp]> = [
    [
      "pid 1 with its real start time",
      () => Effect.map(RunLock.processStart(1), (start) => ({ content: record({ pid: 1, startTime: start!.startTime }) })),
      /took over the lock of pid 1 \(started [^)]*\): pid 1 \("[^"]*"\) does not hold the lock file open: it is not a cedar-peer run$/
    ],
    [
      "this very process under another host name",
      () => Effect.map(RunLock.processStart(process.pid), (start) => ({ content: record({ pid: process.pid, startTime: start!.startTime, host: "elsewhere.invalid" }) })),
      /took over the lock of pid \d+ \(started [^)]*\): it names another host \("elsewhere\.invalid"\), not this one$/
    ],
    [
      "a process of another user holding the lock file open",
      (file) =>
        Effect.gen(function*() {
          const child = holding(file, { uid: 65534, gid: 65534 })
          const start = yield* RunLock.processStart(child.pid!)
          return { content: record({ pid: child.pid!, startTime: start!.startTime }), stop: () => child.kill("SIGKILL") }
        }),
      /took over the lock of pid \d+ \(started [^)]*\): pid \d+ \("sleep"\) runs as uid 65534, not as this run's uid 0: it is not a cedar-peer run$/
    ]
  ]
  it.effect.each(forged)("a forged lock is taken over, with a warning naming what was found: %s", ([, plant, warning]) =>
    Effect.gen(function*() {
      if (process.getuid?.() !== 0) return // forging as another user needs root
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      writeFileSync(file, "")
      const planted = yield* plant(file)
      writeFileSync(file, planted.content)
      logs.length = 0
      try {
        yield* Effect.scoped(Effect.gen(function*() {
          const me = yield* RunLock.acquire(file)
          expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(me)
        }))
      } finally {
        planted.stop?.()
      }
      expect(logs.filter((l) => l.startsWith(`${file}: took over`))).toEqual([expect.stringMatching(warning)])
      expect(readdirSync(dir)).toEqual([])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("a takeover token left by a run that died mid-takeover is removed, then the stale lock taken over", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      writeFileSync(file, record({ pid: deadPid() }))
      writeFileSync(`${file}.takeover`, record({ pid: deadPid(), nonce: "4567" }))
      yield* Effect.scoped(RunLock.acquire(file))
      expect(readdirSync(dir)).toEqual([])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("a symbolic link at the lock's name is never followed: the acquire fails and the link's target is untouched", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      writeFileSync(join(dir, "precious"), "keep me")
      symlinkSync(join(dir, "precious"), file)
      const error = yield* Effect.flip(Effect.scoped(RunLock.acquire(file)))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "lock", path: file })
      expect(readFileSync(join(dir, "precious"), "utf8")).toBe("keep me")
      expect(readdirSync(dir).sort()).toEqual([".cedar-peer.lock", "precious"])
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("the lock is released when the run fails and when it is interrupted", () =>
    Effect.gen(function*() {
      const dir = fresh()
      const file = join(dir, ".cedar-peer.lock")
      const failed = yield* Effect.exit(Effect.scoped(Effect.andThen(RunLock.acquire(file), Effect.fail("boom"))))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(existsSync(file)).toBe(false)
      const interrupted = yield* Effect.exit(Effect.scoped(Effect.andThen(RunLock.acquire(file), Effect.interrupt)))
      expect(Exit.hasInterrupts(interrupted)).toBe(true)
      expect(existsSync(file)).toBe(false)
      rmSync(dir, { recursive: true })
    }).pipe(Effect.provide(layer)))

  it.effect("a missing directory is a FileOperationFailed (lock), not a defect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(RunLock.acquire("/nonexistent/dir/.cedar-peer.lock")))
      expect(error).toMatchObject({ _tag: "FileOperationFailed", operation: "lock" })
    }).pipe(Effect.provide(layer)))

  it.effect("processStart reads the start time of a live process and nothing for a gone one", () =>
    Effect.gen(function*() {
      expect((yield* RunLock.processStart(process.pid))?.startTime).toMatch(/^\d+$/)
      expect(yield* RunLock.processStart(deadPid())).toBeUndefined()
    }))
})

import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, FileSystem, Layer, PlatformError, Redacted, Scope, Stream } from "effect"
import * as ChildProcess from "effect/process/ChildProcess"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import { TestClock } from "effect/testing"
import * as Testing from "../../src/testing/index.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"
import * as ScriptedSpawner from "../../src/testing/ScriptedSpawner.js"

const decoder = new TextDecoder()
const text = <E>(s: Stream.Stream<Uint8Array, E>) =>
  Stream.runFold(s, () => "", (acc, chunk: Uint8Array) => acc + decoder.decode(chunk))

/** Spawns `command` and reads it to its end, the way the library does (output and status together). */
const runToEnd = (command: ChildProcess.Command) =>
  Effect.scoped(Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner
    const child = yield* spawner.spawn(command)
    const [stdout, stderr, exitCode] = yield* Effect.all([text(child.stdout), text(child.stderr), child.exitCode], {
      concurrency: "unbounded"
    })
    return { exitCode: Number(exitCode), stdout, stderr }
  }))

const exec = (...argv: Array<string>) => runToEnd(ChildProcess.make(argv[0]!, argv.slice(1))).pipe(Effect.orDie)

describe("ScriptedSpawner", () => {
  it.effect("answers from the script and records every argv", () => {
    const scripted = ScriptedSpawner.make((argv) =>
      argv[0] === "echo" ? { exitCode: 0, stdout: argv.slice(1).join(" ") } : { exitCode: 3, stderr: "nope" }
    )
    return Effect.gen(function*() {
      expect(yield* exec("echo", "a", "b c")).toEqual({ exitCode: 0, stdout: "a b c", stderr: "" })
      expect(yield* exec("false", "--", "x")).toEqual({ exitCode: 3, stdout: "", stderr: "nope" })
      expect(scripted.calls).toEqual([["echo", "a", "b c"], ["false", "--", "x"]])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("an exit status is data: 1, 127 and 255 succeed, with their output", () => {
    const scripted = ScriptedSpawner.make((argv) => ({ exitCode: Number(argv[1]), stderr: `status ${argv[1]}\n` }))
    return Effect.gen(function*() {
      for (const status of [1, 127, 255]) {
        expect(yield* exec("x", String(status))).toEqual({ exitCode: status, stdout: "", stderr: `status ${status}\n` })
      }
      // the spawner's own helpers, built on spawn, see the same
      const spawner = yield* ChildProcessSpawner
      expect(yield* spawner.exitCode(ChildProcess.make("x", ["255"]))).toBe(255)
      expect(scripted.calls).toEqual([["x", "1"], ["x", "127"], ["x", "255"], ["x", "255"]])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("stdout may be bytes, passed as they are", () => {
    const payload = Uint8Array.from([0, 255, 0x80, 10])
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0, stdout: payload }))
    return Effect.gen(function*() {
      const child = yield* (yield* ChildProcessSpawner).spawn(ChildProcess.make("tar", ["c"]))
      const chunks = yield* Stream.runCollect(child.stdout)
      expect(chunks.flatMap((c) => Array.from(c))).toEqual(Array.from(payload))
    }).pipe(Effect.scoped, Effect.provide(scripted.layer))
  })

  it.effect("records argv as a child receives it: UTF-8, a lone surrogate becomes U+FFFD, a redacted word its value", () => {
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0 }))
    return Effect.gen(function*() {
      yield* exec("echo", "🚀", "\ud83d")
      yield* runToEnd(ChildProcess.make("sshpass", ["-p", Redacted.make("secret")]))
      expect(scripted.calls).toEqual([["echo", "🚀", "\ufffd"], ["sshpass", "-p", "secret"]])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("records a pipeline as one call, its commands joined by \"|\", answered once", () => {
    const scripted = ScriptedSpawner.make((argv) => ({ exitCode: 0, stdout: `${argv.length} words` }))
    return Effect.gen(function*() {
      const piped = ChildProcess.make("find", [".", "-print0"]).pipe(
        ChildProcess.pipeTo(ChildProcess.make("tar", ["-c", "-T", "-"])),
        ChildProcess.pipeTo(ChildProcess.make("gzip"))
      )
      expect(yield* runToEnd(piped)).toEqual({ exitCode: 0, stdout: "10 words", stderr: "" })
      expect(scripted.calls).toEqual([["find", ".", "-print0", "|", "tar", "-c", "-T", "-", "|", "gzip"]])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("a script may be an effect that needs services", () => {
    const scripted = ScriptedSpawner.make((argv) => Effect.map(Effect.service(FileSystem.FileSystem), () => ({ exitCode: argv.length })))
    return Effect.gen(function*() {
      expect((yield* exec("a", "b")).exitCode).toBe(2)
    }).pipe(Effect.provide(scripted.layer.pipe(Layer.provide(MemoryFileSystem.layer()))))
  })

  it.effect("its layer is fresh: each provide gives the script the services of that provide, calls accumulate", () => {
    const scripted = ScriptedSpawner.make(() =>
      Effect.flatMap(Effect.service(FileSystem.FileSystem), (fs) => Effect.map(fs.readFileString("/who").pipe(Effect.orDie), (who) => ({ exitCode: 0, stdout: who })))
    )
    const first = scripted.layer.pipe(Layer.provide(MemoryFileSystem.layer({ "/who": "first" })))
    const second = scripted.layer.pipe(Layer.provide(MemoryFileSystem.layer({ "/who": "second" })))
    return Effect.gen(function*() {
      const outer = yield* Effect.provide(exec("who"), first)
      // a nested provide, where Effect 4 would otherwise reuse the layer built above
      const nested = yield* Effect.provide(Effect.provide(exec("who"), second), first)
      expect([outer.stdout, nested.stdout]).toEqual(["first", "second"])
      expect(scripted.calls).toEqual([["who"], ["who"]])
    })
  })

  it.effect("a scripted spawn failure fails spawn with that PlatformError reason; the call is recorded", () => {
    const scripted = ScriptedSpawner.make((argv) => argv[0] === "scp" ? { exitCode: 0, spawnError: "NotFound" } : { exitCode: 0 })
    return Effect.gen(function*() {
      const error = yield* Effect.flip(runToEnd(ChildProcess.make("scp", ["a", "b:"])))
      expect([error._tag, error.reason._tag, error.reason.method]).toEqual(["PlatformError", "NotFound", "spawn"])
      expect(scripted.calls).toEqual([["scp", "a", "b:"]])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("a NUL byte in the argv is refused before the command starts, as the Node spawner does", () => {
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0 }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(runToEnd(ChildProcess.make("ssh", ["host", "a\0b"])))
      expect(error.reason._tag).toBe("BadArgument")
      expect(scripted.calls).toEqual([])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("reads a stdin stream given to the command to its end before it exits; its failure is the child's exitCode failure", () => {
    const fed: Array<string> = []
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0 }))
    return Effect.gen(function*() {
      const input = Stream.make(new TextEncoder().encode("data")).pipe(Stream.tap((chunk) => Effect.sync(() => fed.push(decoder.decode(chunk)))))
      expect((yield* runToEnd(ChildProcess.make("cat", { stdin: input }))).exitCode).toBe(0)
      expect(fed).toEqual(["data"])
      const broken = Stream.fail(PlatformError.systemError({ _tag: "Unknown", module: "Test", method: "stdin", description: "broken input" }))
      const error = yield* Effect.flip(runToEnd(ChildProcess.make("cat", { stdin: { stream: broken } })))
      expect(error.reason.description).toBe("broken input")
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("a hanging child runs until killed; then its output ends and exitCode fails as for a signal", () => {
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0, hang: true, stdout: "partial" }))
    return Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const child = yield* spawner.spawn(ChildProcess.make("sleep", ["1d"]))
        expect(yield* child.isRunning).toBe(true)
        const waiting = yield* Effect.forkChild(Effect.exit(child.exitCode))
        const reading = yield* Effect.forkChild(text(child.stdout))
        yield* Effect.yieldNow
        expect(waiting.pollUnsafe()).toBe(undefined)
        yield* child.kill({ killSignal: "SIGINT" })
        expect(yield* child.isRunning).toBe(false)
        expect(yield* Fiber.join(reading)).toBe("partial")
        return yield* Fiber.join(waiting)
      }))
      expect(Exit.isFailure(result)).toBe(true)
      const error = Exit.isFailure(result) ? Exit.findErrorOption(result) : undefined
      expect(error?._tag === "Some" && [error.value.reason._tag, error.value.reason.method, error.value.reason.description]).toEqual([
        "Unknown",
        "exitCode",
        "Process interrupted due to receipt of signal: 'SIGINT'"
      ])
    }).pipe(Effect.provide(scripted.layer))
  })

  it.effect("a hanging child is killed when its scope closes; a time limit ends the wait", () => {
    const scripted = ScriptedSpawner.make(() => ({ exitCode: 0, hang: true }))
    return Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner
      const scope = yield* Scope.make()
      const child = yield* Scope.provide(scope)(spawner.spawn(ChildProcess.make("ssh", ["silent"])))
      yield* Scope.close(scope, Exit.void)
      expect(yield* child.isRunning).toBe(false)
      expect((yield* Effect.exit(child.exitCode))._tag).toBe("Failure")
      const timedOut = yield* runToEnd(ChildProcess.make("ssh", ["silent"])).pipe(
        Effect.timeoutOption("1 second"),
        Effect.forkChild
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(timedOut))._tag).toBe("None")
    }).pipe(Effect.provide(scripted.layer))
  })

  it("is exported from cedar-peer/testing as ScriptedSpawner and, for 0.2 users, as ScriptedExecutor", () => {
    expect(Testing.ScriptedSpawner.make).toBe(ScriptedSpawner.make)
    expect(Testing.ScriptedExecutor.make).toBe(ScriptedSpawner.make)
  })
})

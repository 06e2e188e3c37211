import { FileSystem } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe("MemoryFileSystem", () => {
  it.effect("creates the initial tree: files, directories and symlinks", () => {
    const memory = MemoryFileSystem.make({
      files: { "/a/b/file.txt": "hello", "/a/bytes": new Uint8Array([1, 2, 3]) },
      directories: ["/empty/dir"],
      symlinks: { "/a/link": "/a/b" }
    })
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      expect(yield* fs.readFileString("/a/b/file.txt")).toBe("hello")
      expect(Array.from(yield* fs.readFile("/a/bytes"))).toEqual([1, 2, 3])
      expect((yield* fs.stat("/empty/dir")).type).toBe("Directory")
      expect((yield* fs.readDirectory("/a")).sort()).toEqual(["b", "bytes", "link"])
      // stat follows links; readLink tells a link apart
      expect((yield* fs.stat("/a/link")).type).toBe("Directory")
      expect(yield* fs.readLink("/a/link")).toBe("/a/b")
      const notALink = yield* Effect.flip(fs.readLink("/a/bytes"))
      expect(notALink._tag === "SystemError" && notALink.reason).toBe("Unknown")
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("maps errno codes to SystemError reasons like the Node layer", () => {
    const { fileSystem: fs } = MemoryFileSystem.make({ files: { "/d/f": "x" } })
    return Effect.gen(function*() {
      const reason = (e: Effect.Effect<unknown, unknown>) =>
        Effect.map(Effect.flip(e), (error) => (error as { reason?: string }).reason)
      expect(yield* reason(fs.stat("/missing"))).toBe("NotFound")
      expect(yield* reason(fs.makeDirectory("/d"))).toBe("AlreadyExists")
      expect(yield* reason(fs.readDirectory("/d/f"))).toBe("BadResource")
      expect(yield* reason(fs.rename("/d/f", "/d"))).toBe("BadResource")
      expect(yield* reason(fs.copyFile("/d", "/e"))).toBe("BadResource")
      expect(yield* reason(fs.remove("/d"))).toBe("Unknown")
      expect(yield* fs.exists("/d/f")).toBe(true)
      expect(yield* fs.exists("/d/g")).toBe(false)
    })
  })

  it.effect("copyFile overwrites and keeps the mode bits; chown and chmod show in stat", () => {
    const memory = MemoryFileSystem.make({ files: { "/s/a": "new", "/t/a": "old content" } })
    const fs = memory.fileSystem
    return Effect.gen(function*() {
      memory.volume.chmodSync("/s/a", 0o604)
      yield* fs.copyFile("/s/a", "/t/a")
      const info = yield* fs.stat("/t/a")
      expect(yield* fs.readFileString("/t/a")).toBe("new")
      expect(info.mode & 0o7777).toBe(0o604)
      expect(info.size).toBe(FileSystem.Size(3))
      yield* fs.chown("/t/a", 1234, 4321)
      yield* fs.chmod("/t/a", 0o640)
      const after = yield* fs.stat("/t/a")
      expect([Option.getOrNull(after.uid), Option.getOrNull(after.gid), after.mode & 0o7777]).toEqual([1234, 4321, 0o640])
    })
  })

  it.effect("removes recursively, makes temp dirs and files, opens files", () => {
    const { fileSystem: fs, volume } = MemoryFileSystem.make({ files: { "/r/x/y": "1" } })
    return Effect.gen(function*() {
      yield* fs.remove("/r", { recursive: true })
      expect(volume.existsSync("/r")).toBe(false)
      yield* fs.remove("/r", { force: true })
      const dir = yield* fs.makeTempDirectory({ prefix: "p-" })
      expect(dir).toMatch(/^\/tmp\/p-/)
      const file = yield* fs.makeTempFile({ directory: dir, suffix: ".txt" })
      expect(file.startsWith(dir + "/")).toBe(true)
      expect(file.endsWith(".txt")).toBe(true)
      yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* fs.open(file, { flag: "w+" })
        yield* handle.writeAll(new TextEncoder().encode("abcdef"))
        yield* handle.seek(2, "start")
        const chunk = yield* handle.readAlloc(3)
        expect(Option.map(chunk, text)).toEqual(Option.some("cde"))
      }))
      expect(yield* fs.stream(file, { chunkSize: 2 }).pipe(Stream.decodeText(), Stream.mkString)).toBe("abcdef")
      expect(yield* fs.readFileString(file)).toBe("abcdef")
      const scopedDir = yield* Effect.scoped(fs.makeTempDirectoryScoped())
      expect(volume.existsSync(scopedDir)).toBe(false)
      const watched = yield* Effect.flip(Stream.runDrain(fs.watch("/tmp")))
      expect(watched._tag).toBe("BadArgument")
    })
  })

  it.effect("injects a fault on the k-th call of an operation", () => {
    let copies = 0
    const memory = MemoryFileSystem.make({
      files: { "/s/a": "1", "/s/b": "2", "/s/c": "3" },
      directories: ["/t"],
      fail: (operation) => (operation === "copyFile" && ++copies === 2 ? "PermissionDenied" : undefined)
    })
    const fs = memory.fileSystem
    return Effect.gen(function*() {
      yield* fs.copyFile("/s/a", "/t/a")
      const error = yield* Effect.flip(fs.copyFile("/s/b", "/t/b"))
      expect(error._tag).toBe("SystemError")
      expect(error._tag === "SystemError" && [error.reason, error.method, error.pathOrDescriptor]).toEqual([
        "PermissionDenied",
        "copyFile",
        "/s/b"
      ])
      yield* fs.copyFile("/s/c", "/t/c")
      // the failed call did nothing
      expect(memory.volume.readdirSync("/t")).toEqual(["a", "c"])
    })
  })

  it.effect("holds an operation on the effect of the before hook", () =>
    Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      const memory = MemoryFileSystem.make({
        files: { "/s/a": "1" },
        directories: ["/t"],
        before: (operation) => (operation === "copyFile" ? Effect.zipRight(Deferred.succeed(reached, undefined), Effect.never) : undefined)
      })
      const fiber = yield* Effect.fork(memory.fileSystem.copyFile("/s/a", "/t/a"))
      yield* Deferred.await(reached)
      yield* Fiber.interrupt(fiber)
      expect(memory.volume.readdirSync("/t")).toEqual([])
    }))

  it.effect("layer(files) is a plain memory file system", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      expect(yield* fs.readFileString("/x")).toBe("y")
    }).pipe(Effect.provide(MemoryFileSystem.layer({ "/x": "y" }))))
})

describe("MemoryFileSystem temp directories", () => {
  it.effect("are private (0700) like mkdtemp on a real disk", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectory({ prefix: "x-" })
      expect((yield* fs.stat(dir)).mode & 0o777).toBe(0o700)
    }).pipe(Effect.provide(MemoryFileSystem.layer())))
})

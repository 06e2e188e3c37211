import { describe, expect, it } from "@effect/vitest"
import { ByteSize, Deferred, Effect, Fiber, FileSystem, Layer, Option, PlatformError, Stream } from "effect"
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
      expect(notALink.reason._tag).toBe("Unknown")
    }).pipe(Effect.provide(memory.layer))
  })

  it.effect("maps errno codes to SystemError reasons like the Node layer", () => {
    const { fileSystem: fs } = MemoryFileSystem.make({ files: { "/d/f": "x" } })
    return Effect.gen(function*() {
      const reason = (e: Effect.Effect<unknown, PlatformError.PlatformError>) =>
        Effect.map(Effect.flip(e), (error) => error.reason._tag)
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
      expect(info.size).toBe(ByteSize.bytes(3))
      expect(info.size).toBe(3n)
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
        expect(yield* handle.seek(2n, "start")).toBe(2n)
        const chunk = yield* handle.readAlloc(3)
        expect(Option.map(chunk, text)).toEqual(Option.some("cde"))
      }))
      expect(yield* fs.stream(file, { chunkSize: 2 }).pipe(Stream.decodeText(), Stream.mkString)).toBe("abcdef")
      expect(yield* fs.readFileString(file)).toBe("abcdef")
      const scopedDir = yield* Effect.scoped(fs.makeTempDirectoryScoped())
      expect(volume.existsSync(scopedDir)).toBe(false)
      const watched = yield* Effect.flip(Stream.runDrain(fs.watch("/tmp")))
      expect(watched.reason._tag).toBe("BadArgument")
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
      expect([error._tag, error.reason._tag]).toEqual(["PlatformError", "PermissionDenied"])
      expect(error.reason._tag !== "BadArgument" && [error.reason._tag, error.reason.method, error.reason.pathOrDescriptor]).toEqual([
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
        before: (operation) => (operation === "copyFile" ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never) : undefined)
      })
      const fiber = yield* Effect.forkChild(memory.fileSystem.copyFile("/s/a", "/t/a"))
      yield* Deferred.await(reached)
      yield* Fiber.interrupt(fiber)
      expect(memory.volume.readdirSync("/t")).toEqual([])
    }))

  it.effect("lstat and readDirectoryEntries do not follow links; open with noFollow refuses one", () => {
    const memory = MemoryFileSystem.make({ files: { "/d/f": "x" }, directories: ["/d/sub"], symlinks: { "/d/link": "/d/f" } })
    const fs = memory.fileSystem
    return Effect.gen(function*() {
      expect((yield* fs.lstat("/d/link")).type).toBe("SymbolicLink")
      expect((yield* fs.stat("/d/link")).type).toBe("File")
      const entries = [...(yield* fs.readDirectoryEntries("/d"))].sort((a, b) => a.name.localeCompare(b.name))
      expect(entries).toEqual([
        { name: "f", type: "File" },
        { name: "link", type: "SymbolicLink" },
        { name: "sub", type: "Directory" }
      ])
      const refused = yield* Effect.flip(Effect.scoped(fs.open("/d/link", { noFollow: true })))
      expect([refused.reason._tag, refused.reason.method]).toEqual(["BadResource", "open"])
      const content = yield* Effect.scoped(Effect.flatMap(fs.open("/d/f", { noFollow: true }), (file) => file.readAlloc(10)))
      expect(Option.map(content, text)).toEqual(Option.some("x"))
    })
  })

  it.effect("stat reports bigint sizes, inodes and link counts, as Effect 4's File.Info", () => {
    const memory = MemoryFileSystem.make({ files: { "/d/f": "hello" } })
    const fs = memory.fileSystem
    return Effect.gen(function*() {
      yield* fs.link("/d/f", "/d/g")
      const info = yield* fs.stat("/d/f")
      expect(typeof info.dev).toBe("bigint")
      expect(info.size).toBe(5n)
      expect(info.nlink).toEqual(Option.some(2n))
      expect(Option.map(info.ino, (ino) => typeof ino)).toEqual(Option.some("bigint"))
      expect(info.ino).toEqual((yield* fs.stat("/d/g")).ino)
      expect(Option.map(info.blocks, (blocks) => typeof blocks)).toEqual(Option.some("bigint"))
    })
  })

  it.effect("reads at an explicit position without moving the file's own, and refuses a negative seek", () => {
    const memory = MemoryFileSystem.make({ files: { "/f": "abcdef" } })
    return Effect.scoped(Effect.gen(function*() {
      const file = yield* memory.fileSystem.open("/f")
      expect(Option.map(yield* file.readAlloc(2, { position: 3n }), text)).toEqual(Option.some("de"))
      expect(Option.map(yield* file.readAlloc(2), text)).toEqual(Option.some("ab"))
      const buffer = new Uint8Array(3)
      expect(yield* file.read(buffer)).toBe(3)
      expect(text(buffer)).toBe("cde")
      expect(yield* file.readAlloc(3, { position: 6n })).toEqual(Option.none())
      const negative = yield* Effect.flip(file.seek(-10n, "current"))
      expect(negative.reason._tag).toBe("BadArgument")
      expect(Option.map(yield* file.readAlloc(10), text)).toEqual(Option.some("f"))
    }))
  })

  it.effect("glob and exists go through the hooks of the operations they use", () => {
    const seen: Array<string> = []
    const memory = MemoryFileSystem.make({
      files: { "/g/a.txt": "a", "/g/b.log": "b", "/g/c.txt": "c" },
      before: (operation, path) => {
        seen.push(`${operation} ${path}`)
        return undefined
      },
      fail: (operation, path) => (operation === "access" && path === "/locked" ? "PermissionDenied" : undefined)
    })
    const fs = memory.fileSystem
    return Effect.gen(function*() {
      expect([...(yield* fs.glob("*.txt", { root: "/g" }))].sort()).toEqual(["a.txt", "c.txt"])
      expect(seen.length).toBeGreaterThan(0)
      expect(yield* fs.exists("/g/a.txt")).toBe(true)
      expect(yield* fs.exists("/g/none")).toBe(false)
      const locked = yield* Effect.flip(fs.exists("/locked"))
      expect(locked.reason._tag).toBe("PermissionDenied")
      expect(seen).toContain("access /locked")
    })
  })

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

describe("MemoryFileSystem layers across tests", () => {
  // Effect 4 memoises a layer value across the Effect.provide calls of one memo map: layer(files)
  // must still hand each provide a volume of its own.
  const shared = MemoryFileSystem.layer({ "/x": "initial" })
  const writeThenRead = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const before = yield* fs.readFileString("/x")
    yield* fs.writeFileString("/x", "changed")
    return before
  })

  it.effect("a layer(files) kept in a constant starts from its files at every provide", () =>
    Effect.gen(function*() {
      expect(yield* Effect.provide(writeThenRead, shared)).toBe("initial")
      expect(yield* Effect.provide(writeThenRead, shared)).toBe("initial")
      // even where a memo map is in place (nested provides, a shared `layer(...)` block)
      const nested = Effect.provide(Effect.provide(writeThenRead, shared), Layer.empty)
      expect(yield* Effect.provide(Effect.zip(Effect.provide(writeThenRead, shared), nested), shared)).toEqual(["initial", "initial"])
    }))

  it.effect("make(...).layer is that one volume: what a test arranges through it stays", () => {
    const memory = MemoryFileSystem.make({ files: { "/x": "initial" } })
    return Effect.gen(function*() {
      expect(yield* Effect.provide(writeThenRead, memory.layer)).toBe("initial")
      expect(yield* Effect.provide(writeThenRead, memory.layer)).toBe("changed")
      expect(String(memory.volume.readFileSync("/x", "utf8"))).toBe("changed")
    })
  })
})

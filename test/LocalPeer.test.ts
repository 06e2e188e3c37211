import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Path } from "effect"
import { createHash } from "node:crypto"
import * as LocalPeer from "../src/peers/LocalPeer.js"
import type { FailureMode, IndicatorStatus, StageReport } from "../src/domain/Peer.js"
import { nameBytes, showName } from "../src/domain/Peer.js"
import type {
  CopyFailed,
  FileOperationFailed,
  InvalidPath,
  InvalidPeerConfig,
  LimitExceeded,
  NothingStaged,
  UnsupportedEntry,
  VerificationFailed
} from "../src/domain/PeerError.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"
import * as MemoryStagingDisk from "../src/testing/MemoryStagingDisk.js"

const COLLECT = "/srv/collect"
const TARGET = "/stage/alpha"
const peer = new LocalPeer.LocalPeer({ name: "alpha", collectDir: COLLECT })

// Hostile names: spaces, quotes, shell metacharacters, unicode and a newline.
const NAMES = ["a file.txt", "it's \"quoted\"", "ünïcødé-ファイル", "line\nbreak", "$(x);`y`*?[z]"]

const withMemory = <A, E>(
  options: MemoryFileSystem.Options,
  body: (local: LocalPeer.LocalPeersShape, memory: MemoryFileSystem.MemoryFileSystem) => Effect.Effect<A, E>
) => {
  const memory = MemoryFileSystem.make(options)
  // the staging disk works on the same volume, with the same hooks under its own operation names
  const asFileSystem = (op: MemoryStagingDisk.Operation): MemoryFileSystem.Operation | undefined =>
    op === "copyFile" || op === "chown" || op === "chmod" || op === "rename"
      ? op
      : op === "list"
      ? "readDirectory"
      : op === "writeEmptyFile"
      ? "writeFile"
      : undefined
  const disk = MemoryStagingDisk.make({
    volume: memory.volume,
    fail: (op, path, to) => {
      const same = asFileSystem(op)
      return same === undefined ? undefined : options.fail?.(same, path, to)
    },
    before: (op, path, to) => {
      const same = asFileSystem(op)
      return same === undefined ? undefined : options.before?.(same, path, to)
    }
  })
  // local: layers are memoised across provide calls in Effect 4, and each call here brings its own fakes
  return Effect.flatMap(LocalPeer.LocalPeers, (local) => body(local, memory)).pipe(
    Effect.provide(LocalPeer.LocalPeers.layer.pipe(Layer.provide(Layer.mergeAll(memory.layer, disk.layer, Path.layer))), { local: true })
  )
}

/** Runs `body` on a LocalPeers whose staging disk is `disk` (with its own hooks) over the memory volume. */
const withDisk = <A, E>(
  memory: MemoryFileSystem.MemoryFileSystem,
  disk: MemoryStagingDisk.MemoryStagingDisk,
  body: (local: LocalPeer.LocalPeersShape) => Effect.Effect<A, E>
) =>
  Effect.flatMap(LocalPeer.LocalPeers, body).pipe(
    Effect.provide(LocalPeer.LocalPeers.layer.pipe(Layer.provide(Layer.mergeAll(memory.layer, disk.layer, Path.layer))), { local: true })
  )

/** Every entry of a directory with its content (files) or kind, to compare a tree before and after. */
const snapshot = (memory: MemoryFileSystem.MemoryFileSystem, dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of (memory.volume.readdirSync(dir) as Array<string>).map(String)) {
    const full = `${dir}/${name}`
    const info = memory.volume.lstatSync(full)
    out[name] = info.isFile()
      ? `${(info.mode & 0o7777).toString(8)}:${String(memory.volume.readFileSync(full, "utf8"))}`
      : info.isSymbolicLink()
      ? "<link>"
      : "<dir>"
  }
  return out
}

const files = (entries: Record<string, string>) =>
  Object.fromEntries(Object.entries(entries).map(([name, content]) => [`${COLLECT}/${name}`, content]))

describe("LocalPeer.make", () => {
  it.effect("makes a peer with readable fields", () =>
    Effect.gen(function*() {
      const made = yield* LocalPeer.make({ name: "alpha", collectDir: "/srv/alpha", ignoreFailureMode: "weekly" })
      expect([made._tag, made.name, made.collectDir, made.ignoreFailureMode]).toEqual([
        "LocalPeer",
        "alpha",
        "/srv/alpha",
        "weekly"
      ])
      const plain = yield* LocalPeer.make({ name: "beta", collectDir: "/does/not/exist/yet" })
      expect(plain.ignoreFailureMode).toBeUndefined()
    }))

  it.effect("lists every problem as field: message", () =>
    Effect.gen(function*() {
      // the failure mode is typed as its values; a caller that is not type-checked is still refused
      const error = yield* Effect.flip(LocalPeer.make({ name: "  ", collectDir: "relative/dir", ignoreFailureMode: "monthly" as FailureMode }))
      expect(error._tag).toBe("InvalidPeerConfig")
      expect(error.peer).toBe("  ")
      expect(error.problems).toEqual([
        "name: must not be empty",
        "collectDir: must be an absolute path",
        "ignoreFailureMode: must be one of none, all, daily, weekly"
      ])
    }))

  it.effect("refuses an empty name and a NUL in the collect dir", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(LocalPeer.make({ name: "", collectDir: "/srv/a\0b" }))
      expect(error.problems).toEqual(["name: must not be empty", "collectDir: must not contain a NUL byte"])
      expect(error.message).toContain("invalid peer configuration")
    }))

  it("exposes exactly InvalidPeerConfig", () => {
    expectTypeOf(LocalPeer.make).returns.toEqualTypeOf<Effect.Effect<LocalPeer.LocalPeer, InvalidPeerConfig>>()
    expectTypeOf<LocalPeer.LocalPeerInput["ignoreFailureMode"]>().toEqualTypeOf<"none" | "all" | "daily" | "weekly" | undefined>()
  })
})

describe("LocalPeers signatures", () => {
  it("list exactly the error tags of the design contract", () => {
    type Service = LocalPeer.LocalPeersShape
    expectTypeOf<ReturnType<Service["stagePeer"]>>().toEqualTypeOf<
      Effect.Effect<
        StageReport,
        | InvalidPath
        | UnsupportedEntry
        | NothingStaged
        | CopyFailed
        | FileOperationFailed
        | LimitExceeded
        | VerificationFailed
      >
    >()
    expectTypeOf<ReturnType<Service["checkCollectIndicator"]>>().toEqualTypeOf<Effect.Effect<boolean, InvalidPath>>()
    expectTypeOf<ReturnType<Service["collectIndicatorStatus"]>>().toEqualTypeOf<
      Effect.Effect<IndicatorStatus, InvalidPath>
    >()
    expectTypeOf<ReturnType<Service["writeStageIndicator"]>>().toEqualTypeOf<
      Effect.Effect<void, InvalidPath | FileOperationFailed>
    >()
  })
})

describe("LocalPeers.stagePeer (memory file system)", () => {
  it.effect("stages every regular file with hostile names, replaces a same-name file, leaves no temp file", () =>
    withMemory(
      {
        files: {
          ...files(Object.fromEntries(NAMES.map((name, i) => [name, `content ${i}`]))),
          [`${TARGET}/a file.txt`]: "old and much longer content",
          [`${TARGET}/unrelated`]: "keep me"
        }
      },
      (local, memory) =>
        Effect.gen(function*() {
          memory.volume.chmodSync(`${COLLECT}/line\nbreak`, 0o600)
          const report = yield* local.stagePeer(peer, TARGET)
          // names are reported as showName shows them: a control character as \xHH
          const sorted = [...NAMES].sort().map((name) => showName(nameBytes(name)))
          expect(report).toEqual({
            count: 5,
            bytes: NAMES.reduce((sum, _, i) => sum + `content ${i}`.length, 0),
            files: sorted,
            skipped: []
          })
          const expected: Record<string, string> = { unrelated: "644:keep me" }
          NAMES.forEach((name, i) => {
            expected[name] = `${name === "line\nbreak" ? "600" : "644"}:content ${i}`
          })
          expect(snapshot(memory, TARGET)).toEqual(expected)
        })
    ))

  it.effect("applies ownership with chown and permissions with chmod", () =>
    withMemory({ files: files({ "a": "1", "b": "22" }), directories: [TARGET] }, (local, memory) =>
      Effect.gen(function*() {
        const report = yield* local.stagePeer(peer, TARGET, { ownership: { uid: 1234, gid: 4321 }, permissions: 0o444 })
        expect(report.count).toBe(2)
        expect(report.bytes).toBe(3)
        for (const name of ["a", "b"]) {
          const info = memory.volume.statSync(`${TARGET}/${name}`)
          expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([1234, 4321, 0o444])
        }
        // the collect files are untouched
        const source = memory.volume.statSync(`${COLLECT}/a`)
        expect([source.uid, source.mode & 0o7777]).toEqual([0, 0o644])
      })))

  it.effect("stages through a target that is a symlink to a directory", () =>
    withMemory({ files: files({ "a": "1" }), directories: ["/real"], symlinks: { "/linked": "/real" } }, (local, memory) =>
      Effect.gen(function*() {
        yield* local.stagePeer(peer, "/linked")
        expect(snapshot(memory, "/real")).toEqual({ a: "644:1" })
      })))

  it.effect("stages 2,000 files with the exact count and bytes", () => {
    const many: Record<string, string> = {}
    let bytes = 0
    for (let i = 0; i < 2000; i++) {
      const content = "x".repeat(i % 37)
      many[`file-${String(i).padStart(4, "0")}`] = content
      bytes += content.length
    }
    return withMemory({ files: files(many), directories: [TARGET] }, (local, memory) =>
      Effect.gen(function*() {
        const report = yield* local.stagePeer(peer, TARGET)
        expect(report.count).toBe(2000)
        expect(report.bytes).toBe(bytes)
        expect(report.files).toEqual(Object.keys(many).sort())
        expect((memory.volume.readdirSync(TARGET) as Array<string>).length).toBe(2000)
        expect(String(memory.volume.readFileSync(`${TARGET}/file-1999`, "utf8"))).toBe("x".repeat(1999 % 37))
      }))
  })

  describe("path checks", () => {
    const cases: Array<[string, MemoryFileSystem.Options, string, InvalidPath["problem"], string]> = [
      ["a relative target", { files: files({ a: "1" }) }, "stage/alpha", "NotAbsolute", "stage/alpha"],
      ["a target with a NUL", { files: files({ a: "1" }) }, "/stage/a\0b", "BadCharacter", "/stage/a\0b"],
      ["a missing target", { files: files({ a: "1" }) }, TARGET, "NotFound", TARGET],
      ["a target that is a file", { files: { ...files({ a: "1" }), [TARGET]: "" } }, TARGET, "NotADirectory", TARGET],
      ["a target under a file", { files: { ...files({ a: "1" }), "/stage": "" } }, TARGET, "NotFound", TARGET],
      ["a missing collect dir", { directories: [TARGET] }, TARGET, "NotFound", COLLECT],
      ["a collect dir that is a file", { files: { [COLLECT]: "x" }, directories: [TARGET] }, TARGET, "NotADirectory", COLLECT]
    ]
    for (const [title, options, target, problem, path] of cases) {
      it.effect(`refuses ${title} with InvalidPath ${problem}`, () =>
        withMemory(options, (local) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(local.stagePeer(peer, target))
            expect(error._tag).toBe("InvalidPath")
            expect(error._tag === "InvalidPath" && [error.peer, error.path, error.problem]).toEqual(["alpha", path, problem])
          })))
    }

    it.effect("maps a target that cannot be examined to FileOperationFailed stat", () =>
      withMemory({
        files: files({ a: "1" }),
        directories: [TARGET],
        fail: (op, p) => (op === "stat" && p === TARGET ? "PermissionDenied" : undefined)
      }, (local) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
          expect(error._tag === "FileOperationFailed" && [error.operation, error.path]).toEqual(["stat", TARGET])
        })))
  })

  it.effect("refuses a collect dir with a subdirectory and symlinks, listing every one, before copying anything", () => {
    let copies = 0
    return withMemory({
      files: { ...files({ "b-regular": "1", "z-regular": "2" }), [`${TARGET}/b-regular`]: "old" },
      directories: [`${COLLECT}/a sub dir`],
      symlinks: { [`${COLLECT}/c link`]: `${COLLECT}/b-regular`, [`${COLLECT}/d dangling`]: "/nowhere" },
      fail: (op) => {
        if (op === "copyFile") copies++
        return undefined
      }
    }, (local, memory) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
        expect(error._tag).toBe("UnsupportedEntry")
        expect(error._tag === "UnsupportedEntry" && error.entries).toEqual([
          { name: "a sub dir", kind: "Directory" },
          { name: "c link", kind: "SymbolicLink" },
          { name: "d dangling", kind: "SymbolicLink" }
        ])
        expect(copies).toBe(0)
        expect(snapshot(memory, TARGET)).toEqual({ "b-regular": "644:old" })
      }))
  })

  it.effect("with skipUnsupported stages the regular files and reports the others", () =>
    withMemory({
      files: files({ "b": "12", "a": "1" }),
      directories: [`${COLLECT}/sub`, TARGET],
      symlinks: { [`${COLLECT}/link`]: `${COLLECT}/a` }
    }, (local, memory) =>
      Effect.gen(function*() {
        const report = yield* local.stagePeer(peer, TARGET, { skipUnsupported: true })
        expect(report).toEqual({
          count: 2,
          bytes: 3,
          files: ["a", "b"],
          skipped: [{ name: "link", kind: "SymbolicLink" }, { name: "sub", kind: "Directory" }]
        })
        expect(snapshot(memory, TARGET)).toEqual({ a: "644:1", b: "644:12" })
      })))

  it.effect("fails with NothingStaged on an empty collect dir", () =>
    withMemory({ directories: [COLLECT, TARGET] }, (local) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
        expect(error._tag === "NothingStaged" && [error.peer, error.collectDir]).toEqual(["alpha", COLLECT])
      })))

  it.effect("fails with NothingStaged when skipUnsupported leaves nothing", () =>
    withMemory({ directories: [`${COLLECT}/sub`, TARGET] }, (local, memory) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(local.stagePeer(peer, TARGET, { skipUnsupported: true }))
        expect(error._tag).toBe("NothingStaged")
        expect(snapshot(memory, TARGET)).toEqual({})
      })))

  it.effect("maps an unreadable collect dir to CopyFailed", () =>
    withMemory({
      files: files({ a: "1" }),
      directories: [TARGET],
      fail: (op, p) => (op === "readDirectory" && p === COLLECT ? "PermissionDenied" : undefined)
    }, (local) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
        expect(error._tag === "CopyFailed" && error.path).toBe(COLLECT)
      })))

  describe("atomicity", () => {
    const many = (n: number) => {
      const out: Record<string, string> = {}
      for (let i = 1; i <= n; i++) out[`f${String(i).padStart(2, "0")}`] = `new ${i}`
      return out
    }
    const before = { f03: "old 3", unrelated: "keep" }
    const initial = (n: number): MemoryFileSystem.Options => ({
      files: { ...files(many(n)), [`${TARGET}/f03`]: "old 3", [`${TARGET}/unrelated`]: "keep" }
    })
    const unchanged = { f03: "644:old 3", unrelated: "644:keep" }

    it.effect("a failing copy of the k-th file leaves the target exactly as before", () => {
      const options = initial(12)
      return withMemory({
        ...options,
        fail: (op, p) => (op === "copyFile" && p === `${COLLECT}/f07` ? "PermissionDenied" : undefined)
      }, (local, memory) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
          expect(error._tag).toBe("CopyFailed")
          expect(error._tag === "CopyFailed" && error.path).toBe(`${COLLECT}/f07`)
          expect(error._tag === "CopyFailed" && (error.cause as { code: string }).code).toBe("EACCES")
          expect(snapshot(memory, TARGET)).toEqual(unchanged)
          expect(before.f03).toBe("old 3")
        }))
    })

    it.effect("a failing chown leaves the target exactly as before (FileOperationFailed chown)", () => {
      let chowns = 0
      return withMemory({ ...initial(10), fail: (op) => (op === "chown" && ++chowns === 4 ? "Unknown" : undefined) }, (
        local,
        memory
      ) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(local.stagePeer(peer, TARGET, { ownership: { uid: 7, gid: 7 } }))
          expect(error._tag === "FileOperationFailed" && error.operation).toBe("chown")
          expect(error._tag === "FileOperationFailed" && error.path.startsWith(`${TARGET}/f`)).toBe(true)
          expect(snapshot(memory, TARGET)).toEqual(unchanged)
        }))
    })

    it.effect("a failing chmod leaves the target exactly as before (FileOperationFailed chmod)", () =>
      withMemory({
        ...initial(10),
        fail: (op, p) => (op === "chmod" && p.includes("/.cedar-peer-") && p.endsWith("/f10") ? "PermissionDenied" : undefined)
      }, (local, memory) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(local.stagePeer(peer, TARGET, { permissions: 0o600 }))
          expect(error._tag === "FileOperationFailed" && [error.operation, error.path]).toEqual(["chmod", `${TARGET}/f10`])
          expect(snapshot(memory, TARGET)).toEqual(unchanged)
        })))

    it.effect("a failing rename removes the files this call created; a replaced file stays complete", () =>
      withMemory({
        ...initial(5),
        fail: (op, _p, to) => (op === "rename" && to === `${TARGET}/f04` ? "Busy" : undefined)
      }, (local, memory) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(local.stagePeer(peer, TARGET))
          expect(error._tag === "FileOperationFailed" && [error.operation, error.path]).toEqual(["rename", `${TARGET}/f04`])
          // f01, f02 were created then removed; f03 existed and was completely replaced
          expect(snapshot(memory, TARGET)).toEqual({ f03: "644:new 3", unrelated: "644:keep" })
        })))

    it.effect("interruption after some of the files leaves the target exactly as before", () =>
      Effect.gen(function*() {
        const reached = yield* Deferred.make<void>()
        const options = initial(12)
        return yield* withMemory({
          ...options,
          before: (op, p) =>
            op === "copyFile" && p === `${COLLECT}/f10`
              ? Effect.andThen(Deferred.succeed(reached, undefined), Effect.never)
              : undefined
        }, (local, memory) =>
          Effect.gen(function*() {
            const fiber = yield* Effect.forkChild(local.stagePeer(peer, TARGET))
            yield* Deferred.await(reached)
            // other files were copied already, into the run's private directory
            const during = Object.keys(snapshot(memory, TARGET)).filter((name) => name.startsWith(".cedar-peer-"))
            expect(during).toHaveLength(1)
            expect((memory.volume.readdirSync(`${TARGET}/${during[0]}`) as Array<unknown>).length).toBeGreaterThanOrEqual(8)
            yield* Fiber.interrupt(fiber)
            const exit = yield* Fiber.await(fiber)
            expect(Exit.hasInterrupts(exit)).toBe(true)
            expect(snapshot(memory, TARGET)).toEqual(unchanged)
          }))
      }))
  })
})

describe("LocalPeers.stagePeer safety, limits and verification (memory staging disk)", () => {
  const before = { [`${TARGET}/a`]: "old a", [`${TARGET}/keep`]: "keep" }
  const unchanged = { a: "644:old a", keep: "644:keep" }

  it.effect("a file swapped for a link after the listing fails the peer naming it; nothing staged, the link's target never read", () =>
    withMemory({ files: { ...files({ a: "new a", b: "b", zz_last: "original" }), "/etc/shadow": "SECRET", ...before } }, (
      _local,
      memory
    ) =>
      Effect.gen(function*() {
        // the listing saw a regular file; just before its copy it becomes a link to a secret
        const disk = MemoryStagingDisk.make({
          volume: memory.volume,
          before: (op, path) =>
            op === "copyFile" && path === `${COLLECT}/zz_last`
              ? Effect.sync(() => {
                memory.volume.unlinkSync(path)
                memory.volume.symlinkSync("/etc/shadow", path)
              })
              : undefined
        })
        const error = yield* Effect.flip(withDisk(memory, disk, (other) => other.stagePeer(peer, TARGET)))
        expect(error._tag).toBe("UnsupportedEntry")
        expect(error._tag === "UnsupportedEntry" && error.entries).toEqual([{ name: "zz_last", kind: "SymbolicLink" }])
        expect(snapshot(memory, TARGET)).toEqual(unchanged)
      })))

  it.effect("stages a name that is not UTF-8 byte for byte and reports it escaped", () =>
    withMemory({ files: files({ [MemoryStagingDisk.memoryName(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]))]: "latin", "b\\c": "x" }), directories: [TARGET] }, (
      local,
      memory
    ) =>
      Effect.gen(function*() {
        const report = yield* local.stagePeer(peer, TARGET)
        expect(report.files).toEqual(["b\\\\c", "caf\\xe9"])
        const staged = (memory.volume.readdirSync(TARGET) as Array<unknown>).map(String).map(MemoryStagingDisk.nameOf)
        expect(staged.map((n) => Buffer.from(n).toString("hex")).sort()).toEqual(["625c63", "636166e9"])
      })))

  it.effect("maxFiles and maxBytes are checked from the listing before anything is copied", () => {
    let copies = 0
    return withMemory({ files: files({ a: "12345", b: "678" }), directories: [TARGET], fail: (op) => {
      if (op === "copyFile") copies++
      return undefined
    } }, (local, memory) =>
      Effect.gen(function*() {
        const tooMany = yield* Effect.flip(local.stagePeer(peer, TARGET, { maxFiles: 1 }))
        expect(tooMany._tag === "LimitExceeded" && [tooMany.limit, tooMany.max, tooMany.value]).toEqual(["maxFiles", 1, 2])
        const tooBig = yield* Effect.flip(local.stagePeer(peer, TARGET, { maxBytes: 7 }))
        expect(tooBig._tag === "LimitExceeded" && [tooBig.limit, tooBig.max, tooBig.value]).toEqual(["maxBytes", 7, 8])
        expect(copies).toBe(0)
        expect(snapshot(memory, TARGET)).toEqual({})
        const fits = yield* local.stagePeer(peer, TARGET, { maxFiles: 2, maxBytes: 8 })
        expect([fits.count, fits.bytes]).toEqual([2, 8])
      }))
  })

  it.effect("maxBytes also holds against the bytes actually copied: a file that grew after the listing", () =>
    withMemory({
      files: { ...files({ a: "12345", b: "678" }), ...before }
    }, (_local, memory) =>
      Effect.gen(function*() {
        const disk = MemoryStagingDisk.make({
          volume: memory.volume,
          before: (op, p) =>
            op === "copyFile" && p === `${COLLECT}/b` ? Effect.sync(() => memory.volume.appendFileSync(p, "grown")) : undefined
        })
        const error = yield* Effect.flip(withDisk(memory, disk, (other) => other.stagePeer(peer, TARGET, { maxBytes: 10 })))
        expect(error._tag === "LimitExceeded" && [error.limit, error.max, error.value]).toEqual(["maxBytes", 10, 13])
        expect(snapshot(memory, TARGET)).toEqual(unchanged)
      })))

  it.effect("reports the bytes staged, not the listing's: a file that grew is staged as it was read", () =>
    withMemory({ files: { ...files({ a: "12345", b: "678" }) }, directories: [TARGET] }, (_local, memory) =>
      Effect.gen(function*() {
        const disk = MemoryStagingDisk.make({
          volume: memory.volume,
          before: (op, p) =>
            op === "copyFile" && p === `${COLLECT}/b` ? Effect.sync(() => memory.volume.appendFileSync(p, "grown")) : undefined
        })
        const report = yield* withDisk(memory, disk, (other) => other.stagePeer(peer, TARGET))
        expect(report.bytes).toBe(13)
        expect(snapshot(memory, TARGET)).toEqual({ a: "644:12345", b: "644:678grown" })
      })))

  it.effect("verify: each file's sha256 in the report; a staged copy that differs is VerificationFailed, nothing staged", () =>
    withMemory({ files: { ...files({ a: "new a", b: "b" }), ...before } }, (local, memory) =>
      Effect.gen(function*() {
        const sha = (text: string) => createHash("sha256").update(text).digest("hex")
        const good = yield* local.stagePeer(peer, TARGET, { verify: true })
        expect(good.hashes).toEqual([{ name: "a", sha256: sha("new a") }, { name: "b", sha256: sha("b") }])
        memory.volume.writeFileSync(`${TARGET}/a`, "old a")
        memory.volume.unlinkSync(`${TARGET}/b`)
        // a byte of the staged copy changes between the copy and its check
        const disk = MemoryStagingDisk.make({
          volume: memory.volume,
          before: (op, p) => (op === "hash" && p.endsWith("/b") ? Effect.sync(() => memory.volume.writeFileSync(p, "X")) : undefined)
        })
        const error = yield* Effect.flip(withDisk(memory, disk, (other) => other.stagePeer(peer, TARGET, { verify: true })))
        expect(error._tag === "VerificationFailed" && [error.file, error.expected, error.actual]).toEqual([`${COLLECT}/b`, sha("b"), sha("X")])
        expect(snapshot(memory, TARGET)).toEqual(unchanged)
      })))

  it.effect("an interruption arriving during the commit waits for it: the commit completes and stays complete", () =>
    Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      return yield* withMemory({
        files: { ...files({ a: "new a", b: "new b", c: "new c" }), ...before },
        before: (op, _p, to) =>
          op === "rename" && to === `${TARGET}/b` ? Effect.andThen(Deferred.succeed(reached, undefined), Deferred.await(gate)) : undefined
      }, (local, memory) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(local.stagePeer(peer, TARGET))
          yield* Deferred.await(reached)
          const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
          yield* Effect.yieldNow
          yield* Deferred.succeed(gate, undefined)
          yield* Fiber.join(interrupting)
          expect(snapshot(memory, TARGET)).toEqual({ a: "644:new a", b: "644:new b", c: "644:new c", keep: "644:keep" })
        }))
    }))

  it.effect("leftovers of a dead run in the target are removed first", () =>
    withMemory({
      files: { ...files({ a: "1" }), [`${TARGET}/.cedar-peer-999999999-1-0123456789ab/x`]: "old", [`${TARGET}/.cedar-peer-0123456789ab-3.tmp`]: "t" }
    }, (local, memory) =>
      Effect.gen(function*() {
        yield* local.stagePeer(peer, TARGET)
        expect(snapshot(memory, TARGET)).toEqual({ a: "644:1" })
      })))
})

describe("LocalPeers indicators (memory file system)", () => {
  it.effect("checkCollectIndicator: true when present, false when absent or the collect dir is missing", () =>
    withMemory({ files: files({ "cback.collect": "", "custom.flag": "" }) }, (local) =>
      Effect.gen(function*() {
        expect(yield* local.checkCollectIndicator(peer)).toBe(true)
        expect(yield* local.checkCollectIndicator(peer, "custom.flag")).toBe(true)
        expect(yield* local.checkCollectIndicator(peer, "other.flag")).toBe(false)
        const elsewhere = new LocalPeer.LocalPeer({ name: "beta", collectDir: "/nowhere" })
        expect(yield* local.checkCollectIndicator(elsewhere)).toBe(false)
      })))

  it.effect("checkCollectIndicator: an unreadable collect dir gives false", () =>
    withMemory({
      files: files({ "cback.collect": "" }),
      fail: (op, p) => (p.startsWith(COLLECT) && (op === "access" || op === "stat") ? "PermissionDenied" : undefined)
    }, (local) =>
      Effect.gen(function*() {
        expect(yield* local.checkCollectIndicator(peer)).toBe(false)
        const status = yield* local.collectIndicatorStatus(peer)
        expect(status.status).toBe("not-ready")
        expect(status.reason).toMatch(/^collect directory is not readable/)
      })))

  it.effect("collectIndicatorStatus gives the reason", () =>
    withMemory({ files: { ...files({ "cback.collect": "" }), "/file": "" }, directories: ["/empty"] }, (local) =>
      Effect.gen(function*() {
        expect(yield* local.collectIndicatorStatus(peer)).toEqual({ status: "ready" })
        const at = (collectDir: string) => new LocalPeer.LocalPeer({ name: "beta", collectDir })
        expect(yield* local.collectIndicatorStatus(at("/nowhere"))).toEqual({
          status: "not-ready",
          reason: "collect directory does not exist"
        })
        expect(yield* local.collectIndicatorStatus(at("/file"))).toEqual({
          status: "not-ready",
          reason: "collect directory is not a directory"
        })
        expect(yield* local.collectIndicatorStatus(at("/empty"), "x.flag")).toEqual({
          status: "not-ready",
          reason: "collect indicator x.flag not found"
        })
      })))

  for (const name of ["", ".", "..", "a/b", "/abs", "a\0b"]) {
    it.effect(`refuses the indicator name ${JSON.stringify(name)} with InvalidPath BadName`, () =>
      withMemory({ files: files({ "cback.collect": "" }) }, (local) =>
        Effect.gen(function*() {
          for (
            const attempt of [
              local.checkCollectIndicator(peer, name),
              local.collectIndicatorStatus(peer, name),
              local.writeStageIndicator(peer, name)
            ]
          ) {
            const error = yield* Effect.flip(attempt as Effect.Effect<unknown, InvalidPath | FileOperationFailed>)
            expect(error._tag === "InvalidPath" && [error.path, error.problem]).toEqual([name, "BadName"])
          }
        })))
  }

  it.effect("writeStageIndicator writes an empty cback.stage, truncating an old one", () =>
    withMemory({ files: files({ "cback.stage": "stale content", "other": "x" }) }, (local, memory) =>
      Effect.gen(function*() {
        yield* local.writeStageIndicator(peer)
        expect(snapshot(memory, COLLECT)).toEqual({ "cback.stage": "644:", other: "644:x" })
        yield* local.writeStageIndicator(peer, "custom.stage")
        expect(snapshot(memory, COLLECT)["custom.stage"]).toBe("644:")
      })))

  it.effect("writeStageIndicator applies ownership and permissions", () =>
    withMemory({ directories: [COLLECT] }, (local, memory) =>
      Effect.gen(function*() {
        yield* local.writeStageIndicator(peer, undefined, { ownership: { uid: 34, gid: 35 }, permissions: 0o640 })
        const info = memory.volume.statSync(`${COLLECT}/cback.stage`)
        expect([info.uid, info.gid, info.mode & 0o7777, info.size]).toEqual([34, 35, 0o640, 0])
      })))

  it.effect("writeStageIndicator refuses a missing or non-directory collect dir", () =>
    withMemory({ files: { "/file": "" } }, (local, memory) =>
      Effect.gen(function*() {
        const missing = yield* Effect.flip(local.writeStageIndicator(peer))
        expect(missing._tag === "InvalidPath" && [missing.path, missing.problem]).toEqual([COLLECT, "NotFound"])
        const file = yield* Effect.flip(local.writeStageIndicator(new LocalPeer.LocalPeer({ name: "b", collectDir: "/file" })))
        expect(file._tag === "InvalidPath" && [file.path, file.problem]).toEqual(["/file", "NotADirectory"])
        expect(memory.volume.existsSync(`${COLLECT}/cback.stage`)).toBe(false)
      })))

  it.effect("writeStageIndicator maps a failed write, chown or chmod to FileOperationFailed", () =>
    Effect.gen(function*() {
      for (const operation of ["writeFile", "chown", "chmod"] as const) {
        const error = yield* withMemory({
          directories: [COLLECT],
          fail: (op) => (op === operation ? "PermissionDenied" : undefined)
        }, (local) => Effect.flip(local.writeStageIndicator(peer, "cback.stage", { ownership: { uid: 1, gid: 1 }, permissions: 0o600 })))
        expect(error._tag === "FileOperationFailed" && [error.operation, error.path]).toEqual([
          operation === "writeFile" ? "create" : operation,
          `${COLLECT}/cback.stage`
        ])
      }
    }))
})

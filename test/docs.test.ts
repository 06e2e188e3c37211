// The documentation is executed here, so it cannot rot: the README's library snippet is the
// quickstart example word for word and runs on the test layer; the nightly example's own test runs;
// every example message in docs/errors.md is what the error really prints.
import { Path } from "@effect/platform"
import type { Layer as LayerType } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger } from "effect"
import { readFileSync } from "node:fs"
import { vi } from "vitest"
import { MemoryFileSystem, ScriptedExecutor } from "../src/testing/index.js"
// the nightly example's test registers its tests here
import "../docs/examples/nightly.test-example.js"

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8")

// The quickstart ends in `NodeRuntime.runMain(program.pipe(Effect.provide(MainLayer)))`. Here
// runMain only records the effect, and NodeContext.layer is whatever platform the test sets: the
// quickstart's own MainLayer is then built over the memory filesystem instead of the disk.
const node = vi.hoisted(() => ({
  platform: undefined as LayerType.Layer<never> | undefined,
  mains: [] as Array<unknown>
}))
vi.mock("@effect/platform-node", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node")>()
  const effect = await import("effect")
  return {
    ...original,
    NodeContext: {
      ...original.NodeContext,
      layer: effect.Layer.unwrapEffect(effect.Effect.sync(() => {
        if (node.platform === undefined) throw new Error("docs.test: no platform layer set")
        return node.platform
      }))
    },
    NodeRuntime: { ...original.NodeRuntime, runMain: (program: unknown) => void node.mains.push(program) }
  }
})

describe("README library snippet", () => {
  const fence = (markdown: string, heading: string): string => {
    const section = markdown.slice(markdown.indexOf(`\n${heading}\n`))
    const match = /\n```ts\n([\s\S]*?)\n```\n/.exec(section)
    if (match === null) throw new Error(`no ts block under ${heading}`)
    return match[1]!
  }

  it("is docs/examples/quickstart.ts with the package name as import path", () => {
    const readme = fence(read("README.md"), "## Library")
    const example = read("docs/examples/quickstart.ts")
    expect(example.split(`"../../src/index.js"`)).toHaveLength(2)
    expect(readme.split(`"cedar-peer"`)).toHaveLength(2)
    expect(readme).toBe(example.trimEnd().replace(`"../../src/index.js"`, `"cedar-peer"`))
  })
})

describe("quickstart (docs/examples/quickstart.ts) on the test layer", () => {
  // one memory disk per run; the quickstart must never start a process for a local peer
  const run = (files: Record<string, string>, directories: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const disk = MemoryFileSystem.make({ files, directories })
      const executor = ScriptedExecutor.make(() => ({ exitCode: 127, stderr: "no process in this test\n" }))
      node.platform = Layer.mergeAll(disk.layer, Path.layer, executor.layer) as LayerType.Layer<never>
      yield* Effect.promise(() => import("../docs/examples/quickstart.js"))
      expect(node.mains).toHaveLength(1)
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).join(" ")}`)
      })
      const exit = yield* (node.mains[0] as Effect.Effect<void, { readonly _tag: string; readonly message: string }>).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Effect.exit
      )
      expect(executor.calls).toEqual([])
      const ls = (dir: string) => disk.volume.readdirSync(dir).map(String).sort()
      const mode = (file: string) => Number(disk.volume.statSync(file).mode) & 0o777
      return { exit, logs, ls, mode, disk }
    })

  const READY = {
    "/srv/alpha/collect/cback.collect": "",
    "/srv/alpha/collect/etc.tar": "1234567",
    "/srv/alpha/collect/home.tar": "89"
  }

  it.effect("stages a ready peer with mode 0640 and writes its stage indicator", () =>
    Effect.gen(function*() {
      const r = yield* run(READY, ["/opt/backup/stage/alpha"])
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual(["INFO staged 3 files, 9 bytes"])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual(["cback.collect", "etc.tar", "home.tar"])
      expect(r.mode("/opt/backup/stage/alpha/etc.tar")).toBe(0o640)
      expect(String(r.disk.volume.readFileSync("/opt/backup/stage/alpha/home.tar", "utf8"))).toBe("89")
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "cback.stage", "etc.tar", "home.tar"])
    }))

  it.effect("leaves a peer without its collect indicator alone", () =>
    Effect.gen(function*() {
      const r = yield* run({ "/srv/alpha/collect/etc.tar": "1234567" }, ["/opt/backup/stage/alpha"])
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual([])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual([])
      expect(r.ls("/srv/alpha/collect")).toEqual(["etc.tar"])
    }))

  it.effect("handles UnsupportedEntry with a warning: nothing staged, no stage indicator", () =>
    Effect.gen(function*() {
      const r = yield* run(READY, ["/opt/backup/stage/alpha", "/srv/alpha/collect/subdir"])
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual([
        `WARN peer alpha: /srv/alpha/collect: not regular files, nothing staged: "subdir" (Directory)`
      ])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual([])
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "etc.tar", "home.tar", "subdir"])
    }))

  it.effect("fails with InvalidPath when the target directory is missing", () =>
    Effect.gen(function*() {
      const r = yield* run(READY, ["/opt/backup/stage"])
      expect(Exit.isFailure(r.exit)).toBe(true)
      const error = yield* Effect.flip(r.exit)
      expect(error._tag).toBe("InvalidPath")
      expect(error.message).toBe(`peer alpha: "/opt/backup/stage/alpha": does not exist`)
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "etc.tar", "home.tar"])
    }))
})

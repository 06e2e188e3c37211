// The documentation is executed here, so it cannot rot: the README's library snippet is the
// quickstart example word for word and runs on the test layer; the example tests run; every
// example message in docs/errors.md is what the error really prints; docs/library.md's operations
// table matches the signatures and its code blocks are excerpts of the example files.
import { Path } from "@effect/platform"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { Layer as LayerType } from "effect"
import { Cause, Effect, Exit, Layer, Logger } from "effect"
import { readFileSync } from "node:fs"
import { vi } from "vitest"
import { exitStatusOf } from "../src/cli/report.js"
import * as Config from "../src/Config.js"
import * as Index from "../src/index.js"
import * as LocalPeer from "../src/LocalPeer.js"
import * as PeerError from "../src/PeerError.js"
import * as Pool from "../src/Pool.js"
import * as RemotePeer from "../src/RemotePeer.js"
import * as SystemUsers from "../src/SystemUsers.js"
import * as Validate from "../src/Validate.js"
import { FakeRemoteHost, MemoryFileSystem, MemoryStagingDisk, ScriptedExecutor } from "../src/testing/index.js"
import * as Testing from "../src/testing/index.js"
import { ManifestFailed, nightly, nightlyExitCode } from "../docs/examples/nightly.js"
// the example tests register their tests here
import "../docs/examples/nightly.test-example.js"
import "../docs/examples/test-layer.test-example.js"

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8")

// The quickstart ends in `NodeRuntime.runMain(program.pipe(Effect.provide(MainLayer)))`. Here
// runMain only records the effect, and NodeContext.layer is whatever platform the test sets: the
// quickstart's own MainLayer is then built over the memory filesystem instead of the disk.
const node = vi.hoisted(() => ({
  platform: undefined as LayerType.Layer<never> | undefined,
  stagingDisk: undefined as LayerType.Layer<never> | undefined,
  mains: [] as Array<unknown>
}))
// and the staging disk is the memory one over the same volume
vi.mock("../src/NodeStagingDisk.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/NodeStagingDisk.js")>()
  const effect = await import("effect")
  return {
    ...original,
    layer: effect.Layer.unwrapEffect(effect.Effect.suspend(() =>
      node.stagingDisk === undefined ? effect.Effect.dieMessage("docs.test: no staging disk set") : effect.Effect.succeed(node.stagingDisk)
    ))
  }
})
vi.mock("@effect/platform-node", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node")>()
  const effect = await import("effect")
  return {
    ...original,
    NodeContext: {
      ...original.NodeContext,
      layer: effect.Layer.unwrapEffect(effect.Effect.suspend(() =>
        node.platform === undefined ? effect.Effect.dieMessage("docs.test: no platform layer set") : effect.Effect.succeed(node.platform)
      ))
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
      node.stagingDisk = MemoryStagingDisk.make({ volume: disk.volume }).layer as LayerType.Layer<never>
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

// ---------------------------------------------------------------------------------------------
// docs/errors.md: every example line is what the CLI prints for an error made by a real operation
// on the test layer (or, where the test layer cannot fail that way, constructed as the Node layer would).


type Tagged = { readonly _tag: string; readonly message: string }

const errorExamples = Effect.gen(function*() {
  const disk = MemoryFileSystem.make({
    files: {
      "/srv/alpha/collect/cback.collect": "",
      "/srv/alpha/collect/etc.tar": "x",
      "/srv/beta/collect/cback.collect": "",
      "/srv/beta/collect/etc.tar": "x",
      "/srv/beta/collect/logs/today.log": "x"
    },
    symlinks: { "/srv/beta/collect/latest.tar": "/srv/beta/collect/etc.tar" },
    directories: ["/srv/empty/collect", "/opt/backup/stage/alpha", "/var/tmp/cback"]
  })
  disk.volume.chmodSync("/srv/alpha/collect", 0o555)
  const hosts = FakeRemoteHost.make({
    hosts: { "db1.example.org": { users: ["backup"], files: { "/var/backup": null } } },
    onCommand: ({ command }) =>
      command.startsWith("/usr/bin/cback3")
        ? { exitCode: 1, stderr: "Error: Unable to acquire lock /var/run/cback3.lock\n" }
        : { exitCode: 2, stderr: "df: /var/backup/collect: No such file or directory\n" }
  })
  const services = (root: boolean) =>
    Layer.mergeAll(LocalPeer.LocalPeers.Default, RemotePeer.RemotePeers.Default).pipe(
      Layer.provideMerge(MemoryStagingDisk.make({ volume: disk.volume }).layer),
      Layer.provideMerge(SystemUsers.layerTest({ root })),
      Layer.provideMerge(Layer.mergeAll(disk.layer, MemoryStagingDisk.make({ volume: disk.volume }).layer, Path.layer, hosts.layer.pipe(Layer.provide(disk.layer))))
    )
  const fail = <A, E extends Tagged, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

  return yield* Effect.gen(function*() {
    const local = yield* LocalPeer.LocalPeers
    const remote = yield* RemotePeer.RemotePeers
    const alpha = new LocalPeer.LocalPeer({ name: "alpha", collectDir: "/srv/alpha/collect" })
    const beta = new LocalPeer.LocalPeer({ name: "beta", collectDir: "/srv/beta/collect" })
    const empty = new LocalPeer.LocalPeer({ name: "gamma", collectDir: "/srv/empty/collect" })
    const db1 = new RemotePeer.RemotePeer({
      name: "db1.example.org",
      collectDir: "/var/backup/collect",
      workingDir: "/var/tmp/cback",
      remoteUser: "backup"
    })
    const db1AsBackup = new RemotePeer.RemotePeer({ ...db1, localUser: "backup" })
    const examples: Record<string, ReadonlyArray<Tagged>> = {
      InvalidPeerConfig: [
        yield* fail(LocalPeer.make({ name: "alpha", collectDir: "srv/alpha", ignoreFailureMode: "sometimes" })),
        yield* fail(RemotePeer.make({
          name: "-oProxyCommand=sh",
          collectDir: "/var/backup/collect",
          workingDir: "/var/tmp/cback",
          remoteUser: "backup"
        })),
        yield* fail(remote.executeManagedAction(db1, "collect; rm -rf /", false))
      ],
      InvalidPath: [
        yield* fail(local.stagePeer(alpha, "opt/backup/stage/alpha")),
        yield* fail(local.stagePeer(alpha, "/opt/backup/stage/2026/11/26/alpha")),
        yield* fail(local.checkCollectIndicator(alpha, "../cback.collect"))
      ],
      UnsupportedEntry: [yield* fail(local.stagePeer(beta, "/opt/backup/stage/alpha"))],
      NothingStaged: [yield* fail(local.stagePeer(empty, "/opt/backup/stage/alpha"))],
      CopyFailed: [yield* fail(remote.stagePeer(db1, "/opt/backup/stage/alpha"))],
      FileOperationFailed: [yield* fail(local.writeStageIndicator(alpha))],
      LocalUserNotPermitted: [yield* fail(remote.stagePeer(db1AsBackup, "/opt/backup/stage/alpha"))],
      RemoteCommandFailed: [yield* fail(remote.executeRemoteCommand(db1, "df -h /var/backup/collect"))],
      ManagedActionFailed: [yield* fail(remote.executeManagedAction(db1, "collect", true))],
      ConfigError: [
        yield* fail(Config.decodeJson(
          JSON.stringify({
            options: { startingDay: "someday", workingDir: "/var/tmp/cback", backupUser: "backup", backupGroup: "backup" },
            peers: [
              { name: "alpha", type: "local", collectDir: "/srv/alpha/collect" },
              { name: "db1.example.org", type: "remote", collectDir: "var/backup", managed: "yes" }
            ],
            stage: { stagingDir: "/opt/backup/stage" }
          }),
          "/etc/cback3.json"
        ))
      ],
      LimitExceeded: [yield* fail(local.stagePeer(alpha, "/opt/backup/stage/alpha", { maxFiles: 1 }))],
      // constructed as the Node layers make them: the test layer has no clock-driven child or live lock holder
      TimedOut: [new PeerError.TimedOut({ peer: "db1.example.org", operation: "stage", after: "12h" })],
      AlreadyRunning: [
        new PeerError.AlreadyRunning({ lockFile: "/opt/backup/stage/.cedar-peer.lock", pid: 4242, startedAt: "2026-11-26T02:30:00.000Z" })
      ],
      VerificationFailed: [
        new PeerError.VerificationFailed({
          peer: "db1.example.org",
          file: "etc.tar",
          expected: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
          actual: "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
        })
      ]
    }
    return examples
  }).pipe(Effect.provide(services(false)))
})

const CLASSES = Object.entries(PeerError as Record<string, unknown>).filter(
  (entry): entry is [string, { readonly fields: Record<string, unknown> }] =>
    typeof entry[1] === "function" && entry[1].prototype instanceof Error
)

// The Cedar equivalent each error's JSDoc in src/PeerError.ts gives ("(Cedar: IOError)"), or "—".
const cedarOf = (tag: string): string => {
  const source = read("src/PeerError.ts")
  const at = source.indexOf(`export class ${tag} `)
  const doc = source.slice(source.lastIndexOf("/**", at), at)
  return /\(Cedar: (\w+)/.exec(doc)?.[1] ?? "—"
}

interface Section {
  readonly tag: string
  readonly fields: ReadonlyArray<string>
  readonly cedar: string | undefined
  readonly exit: number | undefined
  readonly printed: string | undefined
}

const sections = (markdown: string): ReadonlyArray<Section> =>
  markdown.split(/^## /m).slice(1).map((section) => {
    const tag = /^`(\w+)`\n/.exec(section)?.[1] ?? section.slice(0, section.indexOf("\n"))
    return {
      tag,
      fields: [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!),
      cedar: /\*\*Cedar:\*\* (\S+)/.exec(section)?.[1],
      exit: Number(/\*\*CLI exit status:\*\* (\d+)/.exec(section)?.[1]),
      printed: /```text\n([\s\S]*?)\n```/.exec(section)?.[1]
    }
  })

describe("docs/errors.md", () => {
  const markdown = read("docs/errors.md")
  const documented = sections(markdown)

  it("has one section per error class of src/PeerError.ts, in source order", () => {
    expect(CLASSES.map(([name]) => name)).toHaveLength(14)
    expect(documented.map((s) => s.tag)).toEqual(CLASSES.map(([name]) => name))
  })

  it("lists exactly each error's fields, in schema order", () => {
    for (const [name, schema] of CLASSES) {
      const section = documented.find((s) => s.tag === name)!
      expect({ name, fields: section.fields }).toEqual({
        name,
        fields: Object.keys(schema.fields).filter((field) => field !== "_tag")
      })
    }
  })

  it("gives the Cedar equivalent of the source's JSDoc, in the sections and the summary table", () => {
    const table = new Map(
      [...markdown.matchAll(/^\| \[`(\w+)`\]\(#(\w+)\) \| (\S+) \| (\d) \|$/gm)].map((m) => [m[1]!, m])
    )
    expect([...table.keys()]).toEqual(CLASSES.map(([name]) => name))
    for (const { tag, cedar, exit } of documented) {
      const row = table.get(tag)!
      expect({ tag, cedar, anchor: row[2], tableCedar: row[3], tableExit: Number(row[4]) }).toEqual({
        tag,
        cedar: cedarOf(tag),
        anchor: tag.toLowerCase(),
        tableCedar: cedarOf(tag),
        tableExit: exit
      })
    }
  })

  it.effect("every example line is what the CLI prints for a real error, with the exit status the CLI uses", () =>
    Effect.gen(function*() {
      const examples = yield* errorExamples
      expect(Object.keys(examples)).toEqual(documented.map((s) => s.tag))
      for (const section of documented) {
        const errors = examples[section.tag]!
        expect(errors.map((e) => e._tag)).toEqual(errors.map(() => section.tag))
        // the CLI prints `error[Tag] message` (src/cli/report.ts printFailure) and exits with exitStatusOf
        expect({ tag: section.tag, printed: section.printed }).toEqual({
          tag: section.tag,
          printed: errors.map((e) => `error[${e._tag}] ${e.message}`).join("\n")
        })
        expect({ tag: section.tag, exit: errors.map((e) => exitStatusOf(Cause.fail(e))) }).toEqual({
          tag: section.tag,
          exit: errors.map(() => section.exit)
        })
      }
    }))

  it("exit status 2 is exactly ConfigError and InvalidPeerConfig", () => {
    expect(documented.filter((s) => s.exit === 2).map((s) => s.tag).sort()).toEqual(["ConfigError", "InvalidPeerConfig"])
    expect(documented.filter((s) => s.exit !== 2).every((s) => s.exit === 1)).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// docs/library.md: the operations table lists exactly the error tags of each signature (checked
// here at the type level: a missing or extra tag does not compile), and every code block quoted
// from an example file is a verbatim excerpt of it.

type TagOf<E> = E extends { readonly _tag: infer T extends string } ? T : never
// `any` parameters: every function type is assignable to this one, whatever its arguments
type ErrorTags<F> = F extends (...args: ReadonlyArray<any>) => Effect.Effect<unknown, infer E, unknown> ? TagOf<E> : never
type Exactly<F> = Record<ErrorTags<F>, true>

const OPERATION_ERRORS: Record<string, Record<string, true>> = {
  "LocalPeer.make": { InvalidPeerConfig: true } satisfies Exactly<typeof LocalPeer.make>,
  "RemotePeer.make": { InvalidPeerConfig: true } satisfies Exactly<typeof RemotePeer.make>,
  "LocalPeers.stagePeer": {
    InvalidPath: true,
    UnsupportedEntry: true,
    NothingStaged: true,
    CopyFailed: true,
    FileOperationFailed: true,
    LimitExceeded: true,
    VerificationFailed: true
  } satisfies Exactly<LocalPeer.LocalPeers["stagePeer"]>,
  "LocalPeers.checkCollectIndicator": { InvalidPath: true } satisfies Exactly<LocalPeer.LocalPeers["checkCollectIndicator"]>,
  "LocalPeers.collectIndicatorStatus": { InvalidPath: true } satisfies Exactly<LocalPeer.LocalPeers["collectIndicatorStatus"]>,
  "LocalPeers.writeStageIndicator": { InvalidPath: true, FileOperationFailed: true } satisfies Exactly<
    LocalPeer.LocalPeers["writeStageIndicator"]
  >,
  "RemotePeers.stagePeer": {
    InvalidPath: true,
    LocalUserNotPermitted: true,
    UnsupportedEntry: true,
    NothingStaged: true,
    CopyFailed: true,
    FileOperationFailed: true,
    LimitExceeded: true,
    VerificationFailed: true,
    RemoteCommandFailed: true,
    TimedOut: true
  } satisfies Exactly<RemotePeer.RemotePeers["stagePeer"]>,
  "RemotePeers.checkCollectIndicator": { InvalidPath: true } satisfies Exactly<RemotePeer.RemotePeers["checkCollectIndicator"]>,
  "RemotePeers.collectIndicatorStatus": { InvalidPath: true } satisfies Exactly<RemotePeer.RemotePeers["collectIndicatorStatus"]>,
  "RemotePeers.writeStageIndicator": {
    InvalidPath: true,
    LocalUserNotPermitted: true,
    CopyFailed: true,
    FileOperationFailed: true,
    TimedOut: true
  } satisfies Exactly<RemotePeer.RemotePeers["writeStageIndicator"]>,
  "RemotePeers.executeRemoteCommand": { LocalUserNotPermitted: true, RemoteCommandFailed: true, TimedOut: true } satisfies Exactly<
    RemotePeer.RemotePeers["executeRemoteCommand"]
  >,
  "RemotePeers.executeManagedAction": {
    InvalidPeerConfig: true,
    LocalUserNotPermitted: true,
    ManagedActionFailed: true,
    TimedOut: true
  } satisfies Exactly<RemotePeer.RemotePeers["executeManagedAction"]>,
  "Pool.stage": { InvalidPeerConfig: true, FileOperationFailed: true, ConfigError: true } satisfies Exactly<typeof Pool.stage>,
  "Pool.check": { InvalidPeerConfig: true, InvalidPath: true } satisfies Exactly<typeof Pool.check>,
  "Pool.runManagedAction": { InvalidPeerConfig: true } satisfies Exactly<typeof Pool.runManagedAction>,
  "Pool.stagePeer": {
    InvalidPath: true,
    UnsupportedEntry: true,
    NothingStaged: true,
    CopyFailed: true,
    FileOperationFailed: true,
    LocalUserNotPermitted: true,
    LimitExceeded: true,
    VerificationFailed: true,
    RemoteCommandFailed: true,
    TimedOut: true
  } satisfies Exactly<typeof Pool.stagePeer>,
  "Pool.writeStageIndicator": {
    InvalidPath: true,
    FileOperationFailed: true,
    CopyFailed: true,
    LocalUserNotPermitted: true,
    TimedOut: true
  } satisfies Exactly<typeof Pool.writeStageIndicator>,
  "Config.load": { ConfigError: true } satisfies Exactly<typeof Config.load>,
  "Config.decodeJson": { ConfigError: true } satisfies Exactly<typeof Config.decodeJson>,
  "Config.decodeXml": { ConfigError: true } satisfies Exactly<typeof Config.decodeXml>,
  "Validate.validate": { ConfigError: true } satisfies Exactly<typeof Validate.validate>,
  "Validate.requireStagingDir": { ConfigError: true } satisfies Exactly<typeof Validate.requireStagingDir>
}

// nightly's inferred type, as docs/library.md prints it
expectTypeOf<Effect.Effect.Error<ReturnType<typeof nightly>>>().toEqualTypeOf<
  PeerError.ConfigError | PeerError.InvalidPeerConfig | PeerError.FileOperationFailed | ManifestFailed
>()
expectTypeOf<Effect.Effect.Context<ReturnType<typeof nightly>>>().toEqualTypeOf<Pool.PoolServices>()
expectTypeOf<Effect.Effect.Error<ReturnType<typeof nightlyExitCode>>>().toEqualTypeOf<never>()

// A block quoted from a file: its lines appear there contiguously, at one common extra indentation.
const isExcerpt = (block: string, file: string): boolean => {
  const lines = block.split("\n")
  const source = file.split("\n")
  const lead = (line: string) => line.length - line.trimStart().length
  return source.some((_, start) => {
    const first = source[start]!
    if (first.trim() !== lines[0]!.trim() || first.trim() === "") return false
    const indent = lead(first) - lead(lines[0]!)
    if (indent < 0) return false
    return lines.every((line, k) => {
      const actual = source[start + k]
      return actual !== undefined && (line === "" ? actual.trim() === "" : actual === " ".repeat(indent) + line)
    })
  })
}

describe("docs/library.md", () => {
  const markdown = read("docs/library.md")

  it("lists exactly the error tags of each operation's signature", () => {
    const rows = [...markdown.matchAll(/^\| `(\w+\.\w+)\([^)]*\)` \| .+ \| ((?:`\w+`(?:, )?)+) \|$/gm)]
    const documented = Object.fromEntries(rows.map((m) => [m[1]!, [...m[2]!.matchAll(/`(\w+)`/g)].map((t) => t[1]!).sort()]))
    const actual = Object.fromEntries(Object.entries(OPERATION_ERRORS).map(([name, tags]) => [name, Object.keys(tags).sort()]))
    expect(documented).toEqual(actual)
  })

  it("quotes only real excerpts of the example files, each block captioned with its file", () => {
    const blocks = [...markdown.matchAll(/(?:^|\n)([^\n]*)\n\n```ts\n([\s\S]*?)\n```/g)]
    expect(blocks.length).toBeGreaterThanOrEqual(10)
    for (const [, caption, block] of blocks) {
      const file = /^From \[(docs\/examples\/[\w.-]+\.ts)\]\(examples\/[\w.-]+\.ts\):$/.exec(caption!)?.[1]
      expect({ caption, file: file === undefined ? "no file" : "a file" }).toEqual({ caption, file: "a file" })
      expect({ file, block, excerpt: isExcerpt(block!, read(file!)) }).toEqual({ file, block, excerpt: true })
    }
  })

  it("links only example files that exist", () => {
    const linked = [...markdown.matchAll(/\]\(examples\/([\w.-]+\.ts)\)/g)].map((m) => m[1]!)
    expect(new Set(linked)).toEqual(new Set(["quickstart.ts", "nightly.ts", "nightly.test-example.ts", "test-layer.test-example.ts", "connection.ts"]))
    for (const name of linked) expect(read(`docs/examples/${name}`).length).toBeGreaterThan(0)
  })

  it("names only exports that exist in its import lines", () => {
    const imports = /```text\n(import[\s\S]*?)\n```/.exec(markdown)![1]!
    const names = (from: string) =>
      /import \{ ([^}]+) \} from "([^"]+)"/g.exec(imports.split("\n").find((l) => l.endsWith(`"${from}"`))!)![1]!.split(", ")
    expect(names("cedar-peer").filter((n) => !(n in Index))).toEqual([])
    expect(names("cedar-peer/testing").filter((n) => !(n in Testing))).toEqual([])
  })
})

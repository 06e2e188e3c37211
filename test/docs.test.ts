// The documentation is executed here, so it cannot rot: the README's library snippet is the
// quickstart example word for word and runs on the test layer; the example tests run; every
// example message in docs/errors.md is what the error really prints; docs/library.md's operations
// table matches the signatures and its code blocks are excerpts of the example files; the error
// unions named in the README, docs/errors.md, docs/library.md and docs/design.md are the unions
// src/domain/PeerError.ts exports and the service shapes use.
//
// The examples import "cedar-peer" and "cedar-peer/testing", as a user's program does; tsconfig's
// `paths` and vitest's aliases resolve them to the sources, so that the examples run on the code
// under test, in one copy with what this file imports.
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Logger, Path } from "effect"
import { readFileSync } from "node:fs"
import { vi } from "vitest"
import { exitStatusOf } from "../src/cli/report.js"
import * as Config from "../src/config/Config.js"
import * as Index from "../src/index.js"
import * as LocalPeer from "../src/peers/LocalPeer.js"
import * as PeerError from "../src/domain/PeerError.js"
import * as Pool from "../src/pool/Pool.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import * as Validate from "../src/pool/Validate.js"
import { FakeRemoteHost, MemoryFileSystem, MemoryStagingDisk, ScriptedSpawner } from "../src/testing/index.js"
import * as Testing from "../src/testing/index.js"
import { ManifestFailed, nightly, nightlyExitCode } from "../docs/examples/nightly.js"
// the example tests register their tests here
import "../docs/examples/nightly.test-example.js"
import "../docs/examples/test-layer.test-example.js"

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), "utf8")

// The quickstart ends in `NodeRuntime.runMain(program.pipe(Effect.provide(MainLayer)))`. Here
// runMain only records the effect, and NodeServices.layer is whatever platform the test sets: the
// quickstart's own MainLayer is then built over the memory filesystem instead of the disk.
const node = vi.hoisted(() => ({
  platform: undefined as unknown,
  stagingDisk: undefined as unknown,
  mains: [] as Array<unknown>
}))
// and the staging disk is the memory one over the same volume
vi.mock("../src/disk/NodeStagingDisk.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/disk/NodeStagingDisk.js")>()
  const { Effect, Layer } = await import("effect")
  return {
    ...original,
    layer: Layer.unwrap(Effect.suspend(() =>
      node.stagingDisk === undefined
        ? Effect.die(new Error("docs.test: no staging disk set"))
        : Effect.succeed(node.stagingDisk as typeof original.layer)
    ))
  }
})
vi.mock("@effect/platform-node/NodeServices", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node/NodeServices")>()
  const { Effect, Layer } = await import("effect")
  return {
    ...original,
    layer: Layer.unwrap(Effect.suspend(() =>
      node.platform === undefined
        ? Effect.die(new Error("docs.test: no platform layer set"))
        : Effect.succeed(node.platform as typeof original.layer)
    ))
  }
})
vi.mock("@effect/platform-node/NodeRuntime", async (importOriginal) => {
  const original = await importOriginal<typeof import("@effect/platform-node/NodeRuntime")>()
  return { ...original, runMain: (program: unknown) => void node.mains.push(program) }
})

/** The text of a `## heading` section of a Markdown file, up to the next `## ` heading. */
const section = (markdown: string, heading: string): string => {
  const start = markdown.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`no section ${heading}`)
  const rest = markdown.slice(start + heading.length + 2)
  const end = rest.search(/^## /m)
  return end < 0 ? rest : rest.slice(0, end)
}

describe("README library snippet", () => {
  const fence = (markdown: string, heading: string): string => {
    const match = /\n```ts\n([\s\S]*?)\n```\n/.exec(markdown.slice(markdown.indexOf(`\n${heading}\n`)))
    if (match === null) throw new Error(`no ts block under ${heading}`)
    return match[1]!
  }

  it("is docs/examples/quickstart.ts word for word, importing the package by its name", () => {
    const readme = fence(read("README.md"), "## Library")
    const example = read("docs/examples/quickstart.ts")
    expect(readme).toBe(example.trimEnd())
    expect(readme.split(`from "cedar-peer"`)).toHaveLength(2)
    expect(readme).not.toContain("../")
    // what CI installs next to the tarball, with no version named: nothing else may be imported
    const imported = [...readme.matchAll(/^import .* from "([^"]+)"$/gm)].map((m) => m[1]!)
    expect(imported.map((spec) => spec.split("/")[0] === "@effect" ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]))
      .toEqual(["@effect/platform-node", "@effect/platform-node", "effect", "cedar-peer"])
  })
})

describe("quickstart (docs/examples/quickstart.ts) on the test layer", () => {
  // one memory disk per run; the quickstart must never start a process for a local peer
  const run = (options: MemoryFileSystem.Options) =>
    Effect.gen(function*() {
      const disk = MemoryFileSystem.make(options)
      const spawner = ScriptedSpawner.make(() => ({ exitCode: 127, stderr: "no process in this test\n" }))
      node.platform = Layer.mergeAll(disk.layer, Path.layer, spawner.layer)
      node.stagingDisk = MemoryStagingDisk.make({ volume: disk.volume }).layer
      yield* Effect.promise(() => import("../docs/examples/quickstart.js"))
      expect(node.mains).toHaveLength(1)
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        logs.push(`${logLevel.toUpperCase()} ${(Array.isArray(message) ? message : [message]).join(" ")}`)
      })
      const exit = yield* (node.mains[0] as Effect.Effect<void, PeerError.PeerError>).pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.exit
      )
      expect(spawner.calls).toEqual([])
      const ls = (dir: string) => disk.volume.readdirSync(dir).map(String).sort()
      const mode = (file: string) => Number(disk.volume.statSync(file).mode) & 0o777
      const exists = (path: string) => disk.volume.existsSync(path)
      return { exit, logs, ls, mode, exists, disk }
    })

  const READY = {
    "/srv/alpha/collect/cback.collect": "",
    "/srv/alpha/collect/etc.tar": "1234567",
    "/srv/alpha/collect/home.tar": "89"
  }

  it.effect("stages a ready peer with mode 0640 and writes its stage indicator", () =>
    Effect.gen(function*() {
      const r = yield* run({ files: READY, directories: ["/opt/backup/stage/alpha"] })
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual(["INFO staged 3 files, 9 bytes"])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual(["cback.collect", "etc.tar", "home.tar"])
      expect(r.mode("/opt/backup/stage/alpha/etc.tar")).toBe(0o640)
      expect(String(r.disk.volume.readFileSync("/opt/backup/stage/alpha/home.tar", "utf8"))).toBe("89")
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "cback.stage", "etc.tar", "home.tar"])
    }))

  it.effect("makes the target directory when it is missing (the first run)", () =>
    Effect.gen(function*() {
      const r = yield* run({ files: READY })
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual(["INFO staged 3 files, 9 bytes"])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual(["cback.collect", "etc.tar", "home.tar"])
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "cback.stage", "etc.tar", "home.tar"])
    }))

  it.effect("leaves a peer without its collect indicator alone, and says why", () =>
    Effect.gen(function*() {
      const r = yield* run({ files: { "/srv/alpha/collect/etc.tar": "1234567" }, directories: ["/opt/backup/stage/alpha"] })
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual(["INFO peer alpha not staged: collect indicator cback.collect not found (/srv/alpha/collect)"])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual([])
      expect(r.ls("/srv/alpha/collect")).toEqual(["etc.tar"])
    }))

  it.effect("a collect directory that does not exist: says so, makes and stages nothing, succeeds", () =>
    Effect.gen(function*() {
      const r = yield* run({})
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual(["INFO peer alpha not staged: collect directory does not exist (/srv/alpha/collect)"])
      expect(r.exists("/opt/backup")).toBe(false)
      expect(r.exists("/srv")).toBe(false)
    }))

  it.effect("handles UnsupportedEntry with a warning: nothing staged, no stage indicator", () =>
    Effect.gen(function*() {
      const r = yield* run({ files: READY, directories: ["/opt/backup/stage/alpha", "/srv/alpha/collect/subdir"] })
      expect(r.exit).toEqual(Exit.void)
      expect(r.logs).toEqual([
        `WARN peer alpha: /srv/alpha/collect: not regular files, nothing staged: "subdir" (Directory)`
      ])
      expect(r.ls("/opt/backup/stage/alpha")).toEqual([])
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "etc.tar", "home.tar", "subdir"])
    }))

  it.effect("fails with FileOperationFailed when the target directory cannot be made", () =>
    Effect.gen(function*() {
      const r = yield* run({
        files: READY,
        directories: ["/opt/backup"],
        fail: (operation, path) => (operation === "makeDirectory" && path === "/opt/backup/stage/alpha" ? "PermissionDenied" : undefined)
      })
      expect(Exit.isFailure(r.exit)).toBe(true)
      const error = yield* Effect.flip(r.exit)
      expect(error._tag).toBe("FileOperationFailed")
      expect(error.message).toMatch(/^peer alpha: \/opt\/backup\/stage\/alpha: makeDirectory failed: ./)
      expect(r.ls("/opt/backup")).toEqual([])
      expect(r.ls("/srv/alpha/collect")).toEqual(["cback.collect", "etc.tar", "home.tar"])
    }))

  it.effect("fails with FileOperationFailed when a file stands where the target directory goes", () =>
    Effect.gen(function*() {
      const r = yield* run({ files: { ...READY, "/opt/backup/stage": "a file" } })
      expect(Exit.isFailure(r.exit)).toBe(true)
      const error = yield* Effect.flip(r.exit)
      expect(error._tag).toBe("FileOperationFailed")
      expect(error.message).toMatch(/^peer alpha: \/opt\/backup\/stage\/alpha: makeDirectory failed: ./)
      expect(String(r.disk.volume.readFileSync("/opt/backup/stage", "utf8"))).toBe("a file")
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
    Layer.mergeAll(LocalPeer.LocalPeers.layer, RemotePeer.RemotePeers.layer).pipe(
      Layer.provideMerge(MemoryStagingDisk.make({ volume: disk.volume }).layer),
      Layer.provideMerge(SystemUsers.layerTest({ root })),
      Layer.provideMerge(Layer.mergeAll(disk.layer, Path.layer, hosts.layer.pipe(Layer.provide(disk.layer))))
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
    // input as an untyped caller (JSON, a form) gives it: make checks the failure mode at run time
    const untyped: LocalPeer.LocalPeerInput = JSON.parse(
      `{ "name": "alpha", "collectDir": "srv/alpha", "ignoreFailureMode": "sometimes" }`
    )
    const examples: Record<string, ReadonlyArray<Tagged>> = {
      InvalidPeerConfig: [
        yield* fail(LocalPeer.make(untyped)),
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

// The Cedar equivalent each error's JSDoc in src/domain/PeerError.ts gives ("(Cedar: IOError)"), or "—".
const cedarOf = (tag: string): string => {
  const source = read("src/domain/PeerError.ts")
  const at = source.indexOf(`export class ${tag} `)
  const doc = source.slice(source.lastIndexOf("/**", at), at)
  return /\(Cedar: (\w+)/.exec(doc)?.[1] ?? "—"
}

// The literals of a field that is a `Schema.Literals` (possibly optional), else undefined.
const literalsOf = (field: unknown): ReadonlyArray<unknown> | undefined => {
  const literals = (field as { readonly literals?: ReadonlyArray<unknown> }).literals
  if (Array.isArray(literals)) return literals
  const inner = (field as { readonly schema?: unknown }).schema
  return inner === undefined ? undefined : literalsOf(inner)
}

interface Section {
  readonly tag: string
  readonly fields: ReadonlyArray<string>
  readonly types: Readonly<Record<string, string>>
  readonly cedar: string | undefined
  readonly exit: number | undefined
  readonly printed: string | undefined
}

const sections = (markdown: string): ReadonlyArray<Section> =>
  markdown.split(/^## /m).slice(1).map((section) => {
    const tag = /^`(\w+)`\n/.exec(section)?.[1] ?? section.slice(0, section.indexOf("\n"))
    const rows = [...section.matchAll(/^\| `(\w+)` \| (.*?) \|/gm)]
    return {
      tag,
      fields: rows.map((m) => m[1]!),
      types: Object.fromEntries(rows.map((m) => [m[1]!, m[2]!])),
      cedar: /\*\*Cedar:\*\* (\S+)/.exec(section)?.[1],
      exit: Number(/\*\*CLI exit status:\*\* (\d+)/.exec(section)?.[1]),
      printed: /```text\n([\s\S]*?)\n```/.exec(section)?.[1]
    }
  })

describe("docs/errors.md", () => {
  const markdown = read("docs/errors.md")
  const documented = sections(markdown)

  it("has one section per error class of src/domain/PeerError.ts, in source order", () => {
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

  it("gives a literal field's type as exactly its literals, in schema order", () => {
    let checked = 0
    for (const [name, schema] of CLASSES) {
      const section = documented.find((s) => s.tag === name)!
      for (const [field, fieldSchema] of Object.entries(schema.fields)) {
        const literals = literalsOf(fieldSchema)
        if (literals === undefined) continue
        checked++
        expect({ name, field, type: section.types[field] }).toEqual({
          name,
          field,
          type: `\`${literals.map((l) => JSON.stringify(l)).join(" \\| ")}\``
        })
      }
    }
    // InvalidPath.problem, FileOperationFailed.operation, LimitExceeded.limit
    expect(checked).toBe(3)
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
// The signatures, at the type level: a missing or extra tag, or an operation that stops using its
// named union, does not compile.

type TagOf<E> = E extends { readonly _tag: infer T extends string } ? T : never
// `any` parameters: every function type is assignable to this one, whatever its arguments
type ErrorOf<F> = F extends (...args: ReadonlyArray<any>) => Effect.Effect<unknown, infer E, unknown> ? E : never
type Exactly<F> = Record<TagOf<ErrorOf<F>>, true>
type ExactlyTags<E> = Record<TagOf<E>, true>

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
  } satisfies Exactly<LocalPeer.LocalPeersShape["stagePeer"]>,
  "LocalPeers.checkCollectIndicator": { InvalidPath: true } satisfies Exactly<LocalPeer.LocalPeersShape["checkCollectIndicator"]>,
  "LocalPeers.collectIndicatorStatus": { InvalidPath: true } satisfies Exactly<LocalPeer.LocalPeersShape["collectIndicatorStatus"]>,
  "LocalPeers.writeStageIndicator": { InvalidPath: true, FileOperationFailed: true } satisfies Exactly<
    LocalPeer.LocalPeersShape["writeStageIndicator"]
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
  } satisfies Exactly<RemotePeer.RemotePeersShape["stagePeer"]>,
  "RemotePeers.checkCollectIndicator": { InvalidPath: true } satisfies Exactly<RemotePeer.RemotePeersShape["checkCollectIndicator"]>,
  "RemotePeers.collectIndicatorStatus": { InvalidPath: true } satisfies Exactly<
    RemotePeer.RemotePeersShape["collectIndicatorStatus"]
  >,
  "RemotePeers.writeStageIndicator": {
    InvalidPath: true,
    LocalUserNotPermitted: true,
    CopyFailed: true,
    FileOperationFailed: true,
    TimedOut: true
  } satisfies Exactly<RemotePeer.RemotePeersShape["writeStageIndicator"]>,
  "RemotePeers.executeRemoteCommand": { LocalUserNotPermitted: true, RemoteCommandFailed: true, TimedOut: true } satisfies Exactly<
    RemotePeer.RemotePeersShape["executeRemoteCommand"]
  >,
  "RemotePeers.executeManagedAction": {
    InvalidPeerConfig: true,
    LocalUserNotPermitted: true,
    ManagedActionFailed: true,
    TimedOut: true
  } satisfies Exactly<RemotePeer.RemotePeersShape["executeManagedAction"]>,
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
  "Pool.stageConfiguredPeer": {
    InvalidPeerConfig: true,
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
  } satisfies Exactly<typeof Pool.stageConfiguredPeer>,
  "Config.load": { ConfigError: true } satisfies Exactly<typeof Config.load>,
  "Config.decodeJson": { ConfigError: true } satisfies Exactly<typeof Config.decodeJson>,
  "Config.decodeXml": { ConfigError: true } satisfies Exactly<typeof Config.decodeXml>,
  "Validate.validate": { ConfigError: true } satisfies Exactly<typeof Validate.validate>,
  "Validate.requireStagingDir": { ConfigError: true } satisfies Exactly<typeof Validate.requireStagingDir>
}

/** Every error union of src/domain/PeerError.ts, by name, with exactly its tags. */
interface Unions {
  readonly PeerError: PeerError.PeerError
  readonly LocalStagePeerError: PeerError.LocalStagePeerError
  readonly StagePeerError: PeerError.StagePeerError
  readonly CheckError: PeerError.CheckError
  readonly LocalWriteIndicatorError: PeerError.LocalWriteIndicatorError
  readonly WriteIndicatorError: PeerError.WriteIndicatorError
  readonly ExecuteError: PeerError.ExecuteError
  readonly ManagedActionError: PeerError.ManagedActionError
  readonly PeerFailure: PeerError.PeerFailure
}

const ALL_PEER_TAGS = {
  InvalidPeerConfig: true,
  InvalidPath: true,
  UnsupportedEntry: true,
  NothingStaged: true,
  CopyFailed: true,
  FileOperationFailed: true,
  LocalUserNotPermitted: true,
  RemoteCommandFailed: true,
  ManagedActionFailed: true,
  LimitExceeded: true,
  TimedOut: true,
  VerificationFailed: true
} as const

const UNION_TAGS: { readonly [U in keyof Unions]: Record<string, true> } = {
  PeerError: ALL_PEER_TAGS satisfies ExactlyTags<PeerError.PeerError>,
  LocalStagePeerError: {
    InvalidPath: true,
    UnsupportedEntry: true,
    NothingStaged: true,
    CopyFailed: true,
    FileOperationFailed: true,
    LimitExceeded: true,
    VerificationFailed: true
  } satisfies ExactlyTags<PeerError.LocalStagePeerError>,
  StagePeerError: {
    InvalidPath: true,
    UnsupportedEntry: true,
    NothingStaged: true,
    CopyFailed: true,
    FileOperationFailed: true,
    LimitExceeded: true,
    VerificationFailed: true,
    TimedOut: true,
    RemoteCommandFailed: true,
    LocalUserNotPermitted: true
  } satisfies ExactlyTags<PeerError.StagePeerError>,
  CheckError: { InvalidPath: true } satisfies ExactlyTags<PeerError.CheckError>,
  LocalWriteIndicatorError: { InvalidPath: true, FileOperationFailed: true } satisfies ExactlyTags<PeerError.LocalWriteIndicatorError>,
  WriteIndicatorError: {
    InvalidPath: true,
    FileOperationFailed: true,
    CopyFailed: true,
    TimedOut: true,
    LocalUserNotPermitted: true
  } satisfies ExactlyTags<PeerError.WriteIndicatorError>,
  ExecuteError: { RemoteCommandFailed: true, TimedOut: true, LocalUserNotPermitted: true } satisfies ExactlyTags<PeerError.ExecuteError>,
  ManagedActionError: {
    InvalidPeerConfig: true,
    ManagedActionFailed: true,
    TimedOut: true,
    LocalUserNotPermitted: true
  } satisfies ExactlyTags<PeerError.ManagedActionError>,
  PeerFailure: ALL_PEER_TAGS satisfies ExactlyTags<PeerError.PeerFailure>
}

// `name` compiles only when F's error type is exactly the union of that name
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const union = <F>() => <const U extends keyof Unions>(name: Same<ErrorOf<F>, Unions[U]> extends true ? U : never): U => name

/** The operations whose error type is one named union, and that union. */
const OPERATION_UNIONS: Record<string, keyof Unions> = {
  "LocalPeers.stagePeer": union<LocalPeer.LocalPeersShape["stagePeer"]>()("LocalStagePeerError"),
  "LocalPeers.stagePeerInto": union<LocalPeer.LocalPeersShape["stagePeerInto"]>()("LocalStagePeerError"),
  "LocalPeers.checkCollectIndicator": union<LocalPeer.LocalPeersShape["checkCollectIndicator"]>()("CheckError"),
  "LocalPeers.collectIndicatorStatus": union<LocalPeer.LocalPeersShape["collectIndicatorStatus"]>()("CheckError"),
  "LocalPeers.writeStageIndicator": union<LocalPeer.LocalPeersShape["writeStageIndicator"]>()("LocalWriteIndicatorError"),
  "RemotePeers.stagePeer": union<RemotePeer.RemotePeersShape["stagePeer"]>()("StagePeerError"),
  "RemotePeers.stagePeerInto": union<RemotePeer.RemotePeersShape["stagePeerInto"]>()("StagePeerError"),
  "RemotePeers.checkCollectIndicator": union<RemotePeer.RemotePeersShape["checkCollectIndicator"]>()("CheckError"),
  "RemotePeers.collectIndicatorStatus": union<RemotePeer.RemotePeersShape["collectIndicatorStatus"]>()("CheckError"),
  "RemotePeers.writeStageIndicator": union<RemotePeer.RemotePeersShape["writeStageIndicator"]>()("WriteIndicatorError"),
  "RemotePeers.executeRemoteCommand": union<RemotePeer.RemotePeersShape["executeRemoteCommand"]>()("ExecuteError"),
  "RemotePeers.executeManagedAction": union<RemotePeer.RemotePeersShape["executeManagedAction"]>()("ManagedActionError"),
  "Pool.stagePeer": union<typeof Pool.stagePeer>()("StagePeerError"),
  "Pool.writeStageIndicator": union<typeof Pool.writeStageIndicator>()("WriteIndicatorError")
}

/** The pool operations whose per-peer results carry a named union as their `error`, and that union. */
const RESULT_UNIONS: Record<string, keyof Unions> = {
  "Pool.stage": "PeerFailure",
  "Pool.runManagedAction": "ManagedActionError"
}

// the services are their shapes; a pool's per-peer results carry the error union itself
expectTypeOf<LocalPeer.LocalPeers["Service"]>().toEqualTypeOf<LocalPeer.LocalPeersShape>()
expectTypeOf<RemotePeer.RemotePeers["Service"]>().toEqualTypeOf<RemotePeer.RemotePeersShape>()
expectTypeOf<Pool.PeerStageResult["error"]>().toEqualTypeOf<PeerError.PeerFailure | undefined>()
expectTypeOf<Pool.PeerActionResult["error"]>().toEqualTypeOf<PeerError.ManagedActionError | undefined>()

// nightly's inferred type, as docs/library.md prints it
expectTypeOf<Effect.Error<ReturnType<typeof nightly>>>().toEqualTypeOf<
  PeerError.ConfigError | PeerError.InvalidPeerConfig | PeerError.FileOperationFailed | ManifestFailed
>()
expectTypeOf<Effect.Services<ReturnType<typeof nightly>>>().toEqualTypeOf<Pool.PoolServices>()
expectTypeOf<Effect.Error<ReturnType<typeof nightlyExitCode>>>().toEqualTypeOf<never>()

/** The error unions src/domain/PeerError.ts exports (`export type X =` with `@category errors`), in source order. */
const sourceUnions = (): ReadonlyArray<string> => {
  const source = read("src/domain/PeerError.ts")
  return [...source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\nexport type (\w+) =/g)]
    .filter((m) => m[1]!.includes("@category errors"))
    .map((m) => m[2]!)
}

const tagList = (cell: string): Array<string> => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1]!).sort()

describe("the error unions in the docs", () => {
  it("are the unions src/domain/PeerError.ts exports, each checked here at the type level", () => {
    expect(Object.keys(UNION_TAGS)).toEqual(sourceUnions())
  })

  it("docs/errors.md: one row per union, with exactly its tags and the operations that fail with it", () => {
    const intro = read("docs/errors.md").split(/^## /m)[0]!
    const rows = [...intro.matchAll(/^\| `(\w+)` \| ((?:`\w+`(?:, )?)+) \| (.+) \|$/gm)]
    expect(rows.map((m) => m[1]!)).toEqual(sourceUnions())
    for (const [, name, tags, operations] of rows) {
      expect({ name, tags: tagList(tags!) }).toEqual({ name, tags: Object.keys(UNION_TAGS[name as keyof Unions]).sort() })
      const named = [...operations!.matchAll(/`((?:LocalPeers|RemotePeers|Pool)\.\w+)`/g)].map((m) => m[1]!).sort()
      const actual = [...Object.entries(OPERATION_UNIONS), ...Object.entries(RESULT_UNIONS)]
        .filter(([, u]) => u === name)
        .map(([op]) => op)
        .sort()
      expect({ name, operations: named }).toEqual({ name, operations: actual })
    }
  })

  it("README: the Errors table lists every error class with its Cedar equivalent, and names every union", () => {
    const errors = section(read("README.md"), "## Errors")
    const rows = [...errors.matchAll(/^\| `(\w+)` \| .+ \| (\S+) \|$/gm)]
    expect(rows.map((m) => m[1]!)).toEqual(CLASSES.map(([name]) => name))
    for (const [, tag, cedar] of rows) expect({ tag, cedar }).toEqual({ tag, cedar: cedarOf(tag!) })
    const paragraph = /^Each operation fails with one named union(?:.+\n)+/m.exec(errors)
    expect(paragraph).not.toBeNull()
    const named = [...paragraph![0].matchAll(/`(\w+)`/g)].map((m) => m[1]!).filter((n) => n in UNION_TAGS)
    expect([...new Set(named)]).toEqual(sourceUnions())
  })

  it("docs/design.md: the operation contracts name each service method's union", () => {
    const contracts = section(read("docs/design.md"), "### Operation contracts")
    const rows = [...contracts.matchAll(/^\| `(\w+)\([^)]*\)` \| (.+) \| (.+) \|$/gm)]
    expect(rows.length).toBeGreaterThanOrEqual(7)
    const documented: Record<string, string> = {}
    for (const [, method, local, remote] of rows) {
      for (const [service, cell] of [["LocalPeers", local!], ["RemotePeers", remote!]] as const) {
        const named = /; `(\w+)`$/.exec(cell)?.[1]
        // a cell without a union is a method the service lacks (`—`) or one that fails with no union of its own
        if (named !== undefined) documented[`${service}.${method}`] = named
        else expect({ operation: `${service}.${method}`, union: OPERATION_UNIONS[`${service}.${method}`] }).toEqual({
          operation: `${service}.${method}`,
          union: undefined
        })
      }
    }
    expect(documented).toEqual(
      Object.fromEntries(Object.entries(OPERATION_UNIONS).filter(([op]) => !op.startsWith("Pool.")))
    )
  })
})

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

  it("lists exactly the error tags of each operation's signature, and the union it fails with", () => {
    const rows = [...markdown.matchAll(/^\| `(\w+\.\w+)\([^)]*\)` \| .+ \| (?:`(\w+)`: )?((?:`\w+`(?:, )?)+) \|$/gm)]
    const documented = Object.fromEntries(rows.map((m) => [m[1]!, tagList(m[3]!)]))
    const actual = Object.fromEntries(Object.entries(OPERATION_ERRORS).map(([name, tags]) => [name, Object.keys(tags).sort()]))
    expect(documented).toEqual(actual)
    const unions = Object.fromEntries(rows.filter((m) => m[2] !== undefined).map((m) => [m[1]!, m[2]!]))
    expect(unions).toEqual(
      Object.fromEntries(Object.entries(OPERATION_UNIONS).filter(([op]) => op in OPERATION_ERRORS))
    )
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

describe("the examples import the package as a user's program does", () => {
  it("every import of cedar-peer is by its package name, never a path into src/", () => {
    for (const file of ["quickstart.ts", "nightly.ts", "connection.ts", "nightly.test-example.ts", "test-layer.test-example.ts"]) {
      const source = read(`docs/examples/${file}`)
      const specifiers = [...source.matchAll(/^import .* from "([^"]+)"$/gm)].map((m) => m[1]!)
      expect({ file, local: specifiers.filter((s) => s.includes("src/")) }).toEqual({ file, local: [] })
      expect({ file, named: specifiers.some((s) => s === "cedar-peer") }).toEqual({ file, named: true })
    }
  })
})

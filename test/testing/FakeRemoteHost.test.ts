import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { runToEnd } from "../../src/peers/process.js"
import * as FakeRemoteHost from "../../src/testing/FakeRemoteHost.js"
import * as MemoryFileSystem from "../../src/testing/MemoryFileSystem.js"

const exec = (...argv: Array<string>) =>
  Effect.gen(function*() {
    const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
    const done = yield* runToEnd(spawner, ChildProcess.make(argv[0]!, argv.slice(1)))
    return { ...done, exitCode: Number(done.exitCode) }
  }).pipe(Effect.orDie)

// The scripted spawner under the fake has its own tests: test/testing/ScriptedSpawner.test.ts.

const fake = (options?: Partial<FakeRemoteHost.Options>) =>
  FakeRemoteHost.make({
    hosts: {
      peer1: {
        users: ["backup"],
        files: {
          "/collect/a.tar": "AAA",
          "/collect/b c.tar": "BB",
          "/collect/.hidden": "h",
          "/collect/sub/inner": "i",
          "/odd/$(touch x)/f": "dollar",
          "/odd/star*/f": "star",
          "/odd/starry/f": "no"
        }
      },
      "::1": { users: ["backup"], files: { "/c/f": "v6" } }
    },
    ...options
  })

const withLocal = (host: FakeRemoteHost.FakeRemoteHost, files: Record<string, string> = { "/local/keep": "" }) => {
  const local = MemoryFileSystem.make({ files, directories: ["/in"] })
  return { local, layer: Layer.merge(host.layer.pipe(Layer.provide(local.layer)), local.layer) }
}

const text = (bytes: Uint8Array | string | null | undefined) =>
  typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes ?? new Uint8Array())

describe("FakeRemoteHost scp (SFTP mode)", () => {
  it.effect("globs a download source, skips dotfiles, refuses directories", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      const done = yield* exec("/usr/bin/scp", "-B", "-q", "--", "backup@peer1:/collect/*", "/in")
      expect(done.exitCode).toBe(1)
      expect(done.stderr).toBe("scp: /collect/sub: not a regular file\n")
      expect(local.volume.readdirSync("/in").map(String).sort()).toEqual(["a.tar", "b c.tar"])
      expect(text(local.volume.readFileSync("/in/b c.tar"))).toBe("BB")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("unescapes backslashes and matches metacharacters literally when escaped", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      expect((yield* exec("scp", "--", "backup@peer1:/odd/star\\*/f", "/in/f")).exitCode).toBe(0)
      expect(text(local.volume.readFileSync("/in/f"))).toBe("star")
      expect((yield* exec("scp", "--", "backup@peer1:/odd/\\$\\(touch\\ x\\)/f", "/in/g")).exitCode).toBe(0)
      expect(text(local.volume.readFileSync("/in/g"))).toBe("dollar")
      // unescaped, `*` globs: two matches into one file is an error
      expect((yield* exec("scp", "--", "backup@peer1:/odd/star*/f", "/in/h")).stderr).toBe("scp: /in/h: Not a directory\n")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a missing file or empty glob is status 1", () => {
    const host = fake()
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect(yield* exec("scp", "-q", "--", "backup@peer1:/nope/*", "/in")).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: "scp: /nope/*: No such file or directory\n"
      })
      expect((yield* exec("scp", "--", "backup@peer1:/collect/cback.collect", "/in/x")).exitCode).toBe(1)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("unknown host and refused login are status 255", () => {
    const host = fake()
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect(yield* exec("scp", "-q", "--", "backup@nowhere:/c/*", "/in")).toEqual({
        exitCode: 255,
        stdout: "",
        stderr: "scp: Connection closed\r\n"
      })
      const refused = yield* exec("scp", "--", "intruder@peer1:/c/*", "/in")
      expect(refused.exitCode).toBe(255)
      expect(refused.stderr).toBe("intruder@peer1: Permission denied (publickey).\r\nscp: Connection closed\r\n")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("IPv6 hosts in brackets", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      expect((yield* exec("scp", "--", "backup@[::1]:/c/f", "/in/v6")).exitCode).toBe(0)
      expect(text(local.volume.readFileSync("/in/v6"))).toBe("v6")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("uploads take the target literally, with the source's mode", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      local.volume.writeFileSync("/in/up", "U", { mode: 0o640 })
      expect((yield* exec("scp", "--", "/in/up", "backup@peer1:/collect/we\\ird $x")).exitCode).toBe(0)
      expect(text(host.volume("peer1").readFileSync("/collect/we\\ird $x"))).toBe("U")
      expect(host.volume("peer1").statSync("/collect/we\\ird $x").mode & 0o777).toBe(0o640)
      expect((yield* exec("scp", "--", "/in/up", "backup@peer1:/collect")).exitCode).toBe(0)
      expect(host.tree("peer1")["/collect/up"]).toBe("U")
      expect(yield* exec("scp", "--", "/in/up", "backup@peer1:/missing/dir/x")).toEqual({
        exitCode: 1,
        stdout: "",
        stderr: "scp: /missing/dir/x: No such file or directory\n"
      })
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("FakeRemoteHost scp (legacy mode)", () => {
  it.effect("runs download sources through a remote shell and refuses what it would interpret", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      const injected = yield* exec("scp", "-O", "--", "backup@peer1:/odd/$(touch x)/f", "/in/f")
      expect(injected.exitCode).toBe(1)
      expect(host.shellInjections).toEqual([{ host: "peer1", word: "/odd/$(touch x)/f" }])
      expect((yield* exec("scp", "-O", "--", "backup@peer1:'/odd/$(touch x)/f'", "/in/f")).exitCode).toBe(0)
      expect(text(local.volume.readFileSync("/in/f"))).toBe("dollar")
      expect((yield* exec("scp", "-O", "--", "backup@peer1:/collect/*", "/in")).exitCode).toBe(1) // sub/
      expect(local.volume.readdirSync("/in").map(String).sort()).toEqual(["a.tar", "b c.tar", "f"])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("a word with a space is two words to the remote shell", () => {
    const host = fake()
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      const done = yield* exec("scp", "-O", "--", "backup@peer1:/collect/b c.tar", "/in")
      expect(done.stderr).toBe("scp: /collect/b: No such file or directory\nscp: c.tar: No such file or directory\n")
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("could not connect: status 1 and, with -q, nothing on stderr", () => {
    const host = fake({ defaultProtocol: "legacy" })
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect(yield* exec("scp", "-q", "--", "backup@nowhere:/c/f", "/in")).toEqual({ exitCode: 1, stdout: "", stderr: "" })
      expect((yield* exec("scp", "--", "backup@nowhere:/c/f", "/in")).stderr).toBe(
        "ssh: Could not resolve hostname nowhere: Name or service not known\r\n"
      )
      // -s wins over the legacy default
      expect((yield* exec("scp", "-s", "--", "backup@nowhere:/c/f", "/in")).exitCode).toBe(255)
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("upload targets go through the remote shell: quoted they arrive literally", () => {
    const host = fake()
    const { local, layer } = withLocal(host)
    return Effect.gen(function*() {
      local.volume.writeFileSync("/in/up", "U")
      expect((yield* exec("scp", "-O", "--", "/in/up", "backup@peer1:'/collect/a;b'")).exitCode).toBe(0)
      expect(host.tree("peer1")["/collect/a;b"]).toBe("U")
      expect((yield* exec("scp", "-O", "--", "/in/up", "backup@peer1:/collect/a;b")).exitCode).toBe(1)
      expect(host.shellInjections).toEqual([{ host: "peer1", word: "/collect/a;b" }])
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

describe("FakeRemoteHost ssh and runuser", () => {
  it.effect("ssh -V prints a banner matching the default protocol", () => {
    const sftp = fake()
    const legacy = fake({ defaultProtocol: "legacy" })
    return Effect.gen(function*() {
      const a = yield* exec("/usr/bin/ssh", "-V").pipe(Effect.provide(withLocal(sftp).layer))
      const b = yield* exec("ssh", "-V").pipe(Effect.provide(withLocal(legacy).layer))
      expect(a.stderr).toMatch(/^OpenSSH_9\.2p1/)
      expect(b.stderr).toMatch(/^OpenSSH_8\.4p1/)
    })
  })

  it.effect("runs remote commands through the handler and records them", () => {
    const host = fake({
      onCommand: ({ command }) => command === "fail" ? { exitCode: 7, stderr: "boom" } : { exitCode: 0, stdout: "ok" }
    })
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect(yield* exec("ssh", "-o", "BatchMode=yes", "--", "backup@peer1", "cback3", "collect")).toEqual({
        exitCode: 0,
        stdout: "ok",
        stderr: ""
      })
      expect((yield* exec("ssh", "--", "backup@peer1", "fail")).exitCode).toBe(7)
      expect((yield* exec("ssh", "--", "backup@::1", "true")).exitCode).toBe(0)
      expect(host.commands).toEqual([
        { host: "peer1", user: "backup", command: "cback3 collect" },
        { host: "peer1", user: "backup", command: "fail" },
        { host: "::1", user: "backup", command: "true" }
      ])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("unknown host and refused login are status 255 and run nothing", () => {
    const host = fake()
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect(yield* exec("ssh", "--", "backup@nowhere", "true")).toEqual({
        exitCode: 255,
        stdout: "",
        stderr: "ssh: Could not resolve hostname nowhere: Name or service not known\r\n"
      })
      expect((yield* exec("ssh", "--", "root@peer1", "true")).stderr).toBe("root@peer1: Permission denied (publickey).\r\n")
      expect(host.commands).toEqual([])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("strips and records runuser -u USER --; unknown programs are 127", () => {
    const host = fake()
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect((yield* exec("runuser", "-u", "backup", "--", "ssh", "peer1", "id")).exitCode).toBe(0)
      expect(host.commands).toEqual([{ host: "peer1", user: "backup", command: "id" }])
      expect((yield* exec("rsync", "-a")).exitCode).toBe(127)
      expect(host.invocations).toEqual([
        { argv: ["ssh", "peer1", "id"], runAs: "backup" },
        { argv: ["rsync", "-a"], runAs: undefined }
      ])
      expect(host.calls[0]).toEqual(["runuser", "-u", "backup", "--", "ssh", "peer1", "id"])
    }).pipe(Effect.provide(layer, { local: true }))
  })

  it.effect("around can change a reply after the command ran", () => {
    const host = fake({ around: (_argv, run) => Effect.map(run, (reply) => ({ ...reply, exitCode: 42 })) })
    const { layer } = withLocal(host)
    return Effect.gen(function*() {
      expect((yield* exec("ssh", "--", "backup@peer1", "true")).exitCode).toBe(42)
      expect(host.commands).toHaveLength(1)
    }).pipe(Effect.provide(layer, { local: true }))
  })
})

// Peer names: what a name may not be, refused at load (located), by validate and before a stage
// makes any directory; a config file's size bounded; the XML pre-check's problems capped.
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as Config from "../src/config/Config.js"
import { forbiddenReferences } from "../src/config/internal/cedarXml.js"
import * as Validate from "../src/pool/Validate.js"

const xml = (peers: string) =>
  `<?xml version="1.0"?>
<cb_config>
  <options><starting_day>monday</starting_day><working_dir>/w</working_dir><backup_user>backup</backup_user><backup_group>backup</backup_group></options>
  <stage><staging_dir>/s</staging_dir>
${peers}
  </stage>
</cb_config>`
const local = (name: string) => `<peer><name>${name}</name><type>local</type><collect_dir>/c</collect_dir></peer>`
const remote = (name: string) => `<peer><name>${name}</name><type>remote</type><collect_dir>/c</collect_dir></peer>`

const leftover = "must not start with '.cedar-peer': cedar-peer names its private directories and its lock file so, and removes such directories as leftovers of killed runs"
const control = "must not contain control characters (newline, tab, NUL, …): it names a directory and is written into logs and reports"

describe("peer names that collide with cedar-peer's own files", () => {
  it.effect("are refused at load, local or remote, each at its element", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.decodeXml(
        xml([
          local(".cedar-peer-1-1-aaaaaaaaaaaa"),
          local("cedar-peer.sha256"),
          local(".cedar-peer.lock"),
          local("cback.stage"),
          local("new&#10;line"),
          local("tab&#9;bed"),
          remote(".cedar-peer-XXXXXX"),
          remote("db&#127;"),
          local("fine name"),
          remote("db_1")
        ].join("\n")),
        "cback3.conf"
      ))
      expect(error.problems).toEqual([
        `peer .cedar-peer-1-1-aaaaaaaaaaaa (line 5) name: ${leftover}`,
        "peer cedar-peer.sha256 (line 6) name: must not be 'cedar-peer.sha256': that is the daily directory's manifest",
        `peer .cedar-peer.lock (line 7) name: ${leftover}`,
        "peer cback.stage (line 8) name: must not be 'cback.stage': that is the master's stage indicator in the daily directory",
        `peer "new\\nline" (line 9) name: ${control}`,
        `peer "tab\\tbed" (line 10) name: ${control}`,
        `peer .cedar-peer-XXXXXX (line 11) name: ${leftover}`,
        `peer "db\\u007f" (line 12) name: ${control}`
      ])
    }))

  it.effect("are refused by validate and by a stage of a pool built by hand", () =>
    Effect.gen(function*() {
      const pool: Config.PoolConfig = {
        source: "by-hand.json",
        options: { startingDay: "monday", workingDir: "/w", backupUser: "backup", backupGroup: "backup", managedActions: [] },
        stagingDir: "/s",
        peers: [
          { type: "local", name: ".cedar-peer-1-1-aaaaaaaaaaaa", collectDir: "/c" },
          { type: "local", name: "ok", collectDir: "/c" },
          { type: "remote", name: "db\n1", collectDir: "/c", managed: false }
        ]
      }
      expect(Validate.peerNames(pool)).toEqual([`peers[0].name: ${leftover}`, `peers[2].name: ${control}`])
      const error = yield* Effect.flip(Validate.requirePeerNames(pool))
      expect(error.problems).toEqual(Validate.peerNames(pool))
    }))
})

describe("Config.load bounds what it reads", () => {
  const dir = NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-config-size-"))
  // removed by the last test below
  it.effect("refuses a file over MAX_CONFIG_BYTES without reading it", () =>
    Effect.gen(function*() {
      const big = NPath.join(dir, "big.conf")
      NFS.writeFileSync(big, xml(local("a")))
      NFS.truncateSync(big, Config.MAX_CONFIG_BYTES + 1)
      const error = yield* Effect.flip(Config.load(big))
      expect(error.problems).toEqual(["is 8.0 MiB: a configuration may be at most 8.0 MiB (is this the configuration file?)"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("refuses a fifo or a device instead of reading it without end", () =>
    Effect.gen(function*() {
      const fifo = NPath.join(dir, "fifo.conf")
      execFileSync("mkfifo", [fifo])
      expect((yield* Effect.flip(Config.load(fifo))).problems).toEqual([
        "is not a regular file (a FIFO): a configuration is read from a regular file only"
      ])
      expect((yield* Effect.flip(Config.load("/dev/zero"))).problems).toEqual([
        "is not a regular file (a CharacterDevice): a configuration is read from a regular file only"
      ])
      NFS.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("the XML pre-check", () => {
  it("lists the first 20 forbidden references, each at its line, and counts the rest", () => {
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 100 === 7 ? `<x>&bad${i};</x>` : `<x>ok ${i} &amp; &#65;</x>`))
    const problems = forbiddenReferences(lines.join("\n"))
    expect(problems).toHaveLength(21)
    expect(problems[0]).toBe(
      "line 8, column 4: entity reference &bad7; is not allowed: only &amp; &lt; &gt; &quot; &apos; and character references like &#10; are"
    )
    expect(problems[19]).toMatch(/^line 1908, column 4: entity reference &bad1907; /)
    expect(problems[20]).toBe("and 10 more forbidden reference(s) or DOCTYPE(s) like those above")
  })
})

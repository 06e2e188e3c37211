import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as Config from "../src/config/Config.js"
import type { ConfigError } from "../src/domain/PeerError.js"
import * as MemoryFileSystem from "../src/testing/MemoryFileSystem.js"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const fixtureText = (name: string) => readFileSync(fixture(name), "utf8")
// The model alone, without the record of which file it was read from (asserted apart).
const modelOf = ({ origin: _origin, ...model }: Config.PoolConfig) => model

/** The pool of fixtures/cback3.conf and fixtures/cback3.json, without its source. */
const examplePool = {
  options: {
    startingDay: "sunday",
    workingDir: "/var/tmp/cback",
    backupUser: "backup",
    backupGroup: "backup",
    rcpCommand: "/usr/bin/scp -B -q -C",
    rshCommand: "/usr/bin/ssh -o BatchMode=yes",
    cbackCommand: "/usr/bin/cback3",
    managedActions: ["collect", "purge"]
  },
  stagingDir: "/opt/backup/stage",
  peers: [
    { type: "local", name: "master", collectDir: "/opt/backup/collect", ignoreFailures: "none" },
    {
      type: "remote",
      name: "db1.example.org",
      collectDir: "/opt/backup/collect",
      backupUser: "cback",
      rcpCommand: "/usr/bin/scp -B -P 2222",
      rshCommand: "/usr/bin/ssh -p 2222",
      cbackCommand: "/usr/local/bin/cback3",
      ignoreFailures: "weekly",
      managed: true,
      managedActions: ["collect"]
    },
    { type: "remote", name: "laptop.example.org", collectDir: "/home/backup/collect", ignoreFailures: "all", managed: false },
    { type: "remote", name: "192.168.1.20", collectDir: "/var/backup/Shared Files", ignoreFailures: "daily", managed: true }
  ]
}

// Minimal valid documents, to which each validation test adds one mistake.
const xmlOptions = `<options><starting_day>monday</starting_day><working_dir>/var/tmp/cback</working_dir>
  <backup_user>backup</backup_user><backup_group>backup</backup_group></options>`
const xmlDoc = (body: { options?: string; peers?: string; stage?: string }) =>
  `<?xml version="1.0"?>\n<cb_config>${body.options ?? xmlOptions}${body.peers ?? ""}${
    body.stage ?? "<stage><staging_dir>/opt/backup/stage</staging_dir></stage>"
  }</cb_config>`
const xmlPeers = (...peers: ReadonlyArray<string>) => `<peers>${peers.map((p) => `<peer>${p}</peer>`).join("")}</peers>`
const xmlLocal = `<name>alpha</name><type>local</type><collect_dir>/srv/alpha</collect_dir>`

const jsonOptions = { startingDay: "monday", workingDir: "/var/tmp/cback", backupUser: "backup", backupGroup: "backup" }
const jsonDoc = (patch: Record<string, unknown>) =>
  JSON.stringify({ options: jsonOptions, stage: { stagingDir: "/opt/backup/stage" }, ...patch })
const jsonLocal = { name: "alpha", type: "local", collectDir: "/srv/alpha" }

const xmlProblems = (text: string) => Effect.map(Effect.flip(Config.decodeXml(text, "test.conf")), (e) => e.problems)
const jsonProblems = (text: string) => Effect.map(Effect.flip(Config.decodeJson(text, "test.json")), (e) => e.problems)

describe("Config on the real file system", () => {
  it.effect("loads a full cback3.conf (with collect, store, purge, extensions…) into the exact model", () =>
    Effect.gen(function*() {
      const config = yield* Config.load(fixture("cback3.conf"))
      expect(modelOf(config)).toStrictEqual({ source: fixture("cback3.conf"), ...examplePool })
      expect(config.origin?.format).toBe("xml")
      expect(config.origin?.peerList).toBe("peers")
      expect(config.origin?.lines?.peers).toStrictEqual([43, 49, 62, 74])
      expect(config.origin?.lines?.fields["options.backup_user"]).toBe(27)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("loads the same pool written as JSON into the same model", () =>
    Effect.gen(function*() {
      const xml = yield* Config.load(fixture("cback3.conf"))
      const json = yield* Config.load(fixture("cback3.json"))
      expect(modelOf(json)).toStrictEqual({ ...modelOf(xml), source: fixture("cback3.json") })
      expect(json.origin).toStrictEqual({ format: "json", peerList: "peers" })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("loads the JSON example of docs/configuration.md", () =>
    Effect.gen(function*() {
      const config = yield* Config.load(fixture("example.json"))
      expect(modelOf(config)).toStrictEqual({
        source: fixture("example.json"),
        options: {
          startingDay: "monday",
          workingDir: "/var/tmp/cback",
          backupUser: "backup",
          backupGroup: "backup",
          rcpCommand: "/usr/bin/scp -B",
          rshCommand: "/usr/bin/ssh",
          cbackCommand: "/usr/bin/cback3",
          managedActions: ["collect"]
        },
        stagingDir: "/opt/backup/stage",
        peers: [
          { type: "local", name: "alpha", collectDir: "/srv/alpha", ignoreFailures: "none" },
          {
            type: "remote",
            name: "db1.example.org",
            collectDir: "/opt/backup/collect",
            backupUser: "backup",
            managed: true,
            managedActions: ["collect", "purge"]
          }
        ]
      })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("takes <stage>'s own peers over the <peers> section, in document order", () =>
    Effect.gen(function*() {
      const config = yield* Config.load(fixture("stage-peers.conf"))
      expect(config.peers).toStrictEqual([
        { type: "remote", name: "web1.example.org", collectDir: "/opt/backup/collect", managed: false },
        { type: "local", name: "alpha", collectDir: "/srv/alpha" }
      ])
      expect(config.options).toStrictEqual({
        startingDay: "monday",
        workingDir: "/var/tmp/cback",
        backupUser: "backup",
        backupGroup: "backup",
        rcpCommand: "/usr/bin/scp -B",
        managedActions: []
      })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect.skipIf(!existsSync("/usr/share/doc/cedar-backup3/examples/cback3.conf.sample"))(
    "loads Cedar Backup's own sample config unchanged",
    () =>
      Effect.gen(function*() {
        const config = yield* Config.load("/usr/share/doc/cedar-backup3/examples/cback3.conf.sample")
        expect(modelOf(config)).toStrictEqual({
          source: "/usr/share/doc/cedar-backup3/examples/cback3.conf.sample",
          options: {
            startingDay: "tuesday",
            workingDir: "/opt/backup/tmp",
            backupUser: "backup",
            backupGroup: "group",
            rcpCommand: "/usr/bin/scp -B",
            managedActions: []
          },
          stagingDir: "/opt/backup/stage",
          peers: [{ type: "local", name: "debian", collectDir: "/opt/backup/collect" }]
        })
      }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("reports every problem of an invalid cback3.conf at once, each at its element path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.load(fixture("invalid.conf")))
      expect(error._tag).toBe("ConfigError")
      expect(error.path).toBe(fixture("invalid.conf"))
      expect(error.problems).toStrictEqual([
        "options.starting_day: must be one of monday, tuesday, wednesday, thursday, friday, saturday, sunday",
        "options.working_dir: must be an absolute path",
        "options.backup_group: is required",
        "options.rcp_command: has unbalanced quotes",
        "options.managed_actions[1]: must be letters, digits, '_' or '-', starting with a letter or digit",
        "peer alpha (line 11) collect_dir: must be an absolute path",
        "peer alpha (line 11) ignore_failures: must be one of none, all, daily, weekly",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (line 17) name: must not start with '-': ssh and scp would read it as an option",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (line 17) backup_user: must not contain white space, '@', ':', '/' or NUL",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (line 17) managed: must be Y or N",
        "peer alpha (line 24) type: must be one of local, remote",
        "peer alpha (line 24) name: duplicate peer name \"alpha\" (also peer #1, line 11)",
        "stage.staging_dir: must be an absolute path"
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("reports the same problems of the same pool in JSON at its JSON paths", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.load(fixture("invalid.json")))
      expect(error.problems).toStrictEqual([
        "options.startingDay: must be one of monday, tuesday, wednesday, thursday, friday, saturday, sunday",
        "options.workingDir: must be an absolute path",
        "options.backupGroup: is required",
        "options.rcpCommand: has unbalanced quotes",
        "options.managedActions[1]: must be letters, digits, '_' or '-', starting with a letter or digit",
        "peer alpha (peers #1) collectDir: must be an absolute path",
        "peer alpha (peers #1) ignoreFailures: must be one of none, all, daily, weekly",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (peers #2) name: must not start with '-': ssh and scp would read it as an option",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (peers #2) backupUser: must not contain white space, '@', ':', '/' or NUL",
        "peer \"-oProxyCommand=touch /tmp/pwned\" (peers #2) managed: must be true or false",
        "peer alpha (peers #3) type: must be one of local, remote",
        "peer alpha (peers #3) name: duplicate peer name \"alpha\" (also peers #1)",
        "stage.stagingDir: must be an absolute path"
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("reports a missing file", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.load(fixture("no-such-file.conf")))
      expect(error).toMatchObject({ _tag: "ConfigError", path: fixture("no-such-file.conf"), problems: ["file not found"] })
      // a file that is not there is "not found", not an invalid configuration
      expect(error.message).toBe(`${fixture("no-such-file.conf")}: not found`)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("reports a directory given as the config file", () =>
    Effect.gen(function*() {
      const dir = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
      const error = yield* Effect.flip(Config.load(dir))
      expect(error.problems).toStrictEqual(["is a directory, not a file"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("reports malformed XML with the parser's line and column", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.load(fixture("malformed.conf")))
      expect(error.problems).toStrictEqual([
        "line 5, column 4: XML is not well-formed: Expected closing tag 'options' (opened in line 3, col 4) instead of closing tag 'option'."
      ])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("reports a JSON syntax error with its line and column", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Config.load(fixture("malformed.json")))
      expect(error.problems).toStrictEqual([
        "line 6, column 35: JSON syntax error: unexpected \"]\""
      ])
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("Config on the in-memory file system", () => {
  const files = { "/etc/cback3.conf": fixtureText("cback3.conf"), "/etc/cedar/pool.JSON": fixtureText("cback3.json") }

  describe("a load error names the peer: by its name, by its line in a cback3.conf", () => {
    const xmlText = [
      "<?xml version=\"1.0\"?>",
      "<cb_config>",
      "  <options><starting_day>monday</starting_day><working_dir>/w</working_dir>",
      "    <backup_user>backup</backup_user><backup_group>backup</backup_group></options>",
      "  <peers>",
      "    <peer>",
      "      <name>alpha</name><type>local</type><collect_dir>/srv/alpha</collect_dir>",
      "    </peer>",
      "    <peer>",
      "      <name>-db2</name>",
      "      <type>remote</type>",
      "      <collect_dir>/c</collect_dir>",
      "    </peer>",
      "    <peer>",
      "      <type>local</type><collect_dir>/srv/gamma</collect_dir>",
      "    </peer>",
      "  </peers>",
      "  <stage><staging_dir>/s</staging_dir></stage>",
      "</cb_config>",
      ""
    ].join("\n")
    const jsonText = JSON.stringify({
      options: { startingDay: "monday", workingDir: "/w", backupUser: "backup", backupGroup: "backup" },
      peers: [
        { name: "alpha", type: "local", collectDir: "/srv/alpha" },
        { name: "-db2", type: "remote", collectDir: "/c" },
        { type: "local", collectDir: "/srv/gamma" }
      ],
      stage: { stagingDir: "/s" }
    }, null, 2)
    const misnamed = "must not start with '-': ssh and scp would read it as an option"

    it.effect("in a cback3.conf: the misnamed 2nd peer by its name and the line of its <peer>, a nameless one by position", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Config.load("/etc/cback3.conf"))
        expect(error.problems).toStrictEqual([`peer -db2 (line 9) name: ${misnamed}`, "peer #3 (line 14) name: is required"])
      }).pipe(Effect.provide(MemoryFileSystem.layer({ "/etc/cback3.conf": xmlText }))))

    it.effect("in JSON: the misnamed 2nd peer by its name and its 1-based place in the list", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Config.load("/etc/pool.json"))
        expect(error.problems).toStrictEqual([`peer -db2 (peers #2) name: ${misnamed}`, "peer #3 (peers) name: is required"])
      }).pipe(Effect.provide(MemoryFileSystem.layer({ "/etc/pool.json": jsonText }))))

    it.effect("a duplicate names the peer it repeats, by position and line", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Config.load("/etc/cback3.conf"))
        expect(error.problems).toContain(`peer alpha (line 14) name: duplicate peer name "alpha" (also peer #1, line 6)`)
      }).pipe(Effect.provide(MemoryFileSystem.layer({
        "/etc/cback3.conf": xmlText.replace("<type>local</type><collect_dir>/srv/gamma", "<name>alpha</name><type>local</type><collect_dir>/srv/gamma")
      }))))

    it.effect("a pool that loads keeps where its peers and fields are, and so does a copy", () =>
      Effect.gen(function*() {
        const fixed = xmlText.replace("<name>-db2</name>", "<name>db2</name>").replace(
          "<type>local</type><collect_dir>/srv/gamma",
          "<name>gamma</name><type>local</type><collect_dir>/srv/gamma"
        )
        const pool = yield* Config.decodeXml(fixed, "/etc/cback3.conf")
        expect(pool.origin).toStrictEqual({
          format: "xml",
          peerList: "peers",
          lines: {
            peers: [6, 9, 14],
            fields: {
              "options.starting_day": 3,
              "options.working_dir": 3,
              "options.backup_user": 4,
              "options.backup_group": 4,
              "stage.staging_dir": 18
            }
          }
        })
        expect({ ...pool }.origin).toStrictEqual(pool.origin)
      }))
  })

  it.effect("loads XML for any other extension and JSON for .json (any case)", () =>
    Effect.gen(function*() {
      expect(modelOf(yield* Config.load("/etc/cback3.conf"))).toStrictEqual({ source: "/etc/cback3.conf", ...examplePool })
      expect(modelOf(yield* Config.load("/etc/cedar/pool.JSON"))).toStrictEqual({ source: "/etc/cedar/pool.JSON", ...examplePool })
    }).pipe(Effect.provide(MemoryFileSystem.layer(files))))

  it.effect("reports a missing file and an unreadable one", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Config.load("/etc/missing.conf"))
      expect(missing.problems).toStrictEqual(["file not found"])
      const denied = yield* Effect.flip(Config.load("/etc/cback3.conf"))
      expect(denied.problems).toStrictEqual(["permission denied"])
      const broken = yield* Effect.flip(Config.load("/etc/cedar/pool.JSON"))
      expect(broken.problems).toHaveLength(1)
      expect(broken.problems[0]).toMatch(/^cannot read the file: /)
    }).pipe(Effect.provide(
      MemoryFileSystem.make({
        files,
        fail: (operation, path) =>
          operation === "readFile" && path === "/etc/cback3.conf"
            ? "PermissionDenied"
            : operation === "readFile" && path === "/etc/cedar/pool.JSON"
            ? "Busy"
            : undefined
      }).layer
    )))
})

describe("decodeXml", () => {
  it.effect("treats empty elements as unset and trims element text, as Cedar's writer and reader agree", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeXml(
        xmlDoc({
          options: `<options><starting_day> monday </starting_day><working_dir>
            /var/tmp/cback
          </working_dir><backup_user>backup</backup_user><backup_group>backup</backup_group>
          <rcp_command/><rsh_command></rsh_command><managed_actions> collect ,, purge , </managed_actions></options>`,
          peers: xmlPeers(`${xmlLocal}<ignore_failures/>`)
        }),
        "test.conf"
      )
      expect(config.options).toStrictEqual({
        startingDay: "monday",
        workingDir: "/var/tmp/cback",
        backupUser: "backup",
        backupGroup: "backup",
        managedActions: ["collect", "purge"]
      })
      expect(config.peers).toStrictEqual([{ type: "local", name: "alpha", collectDir: "/srv/alpha" }])
    }))

  it.effect("ignores remote-only fields on a local peer, as Cedar does", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeXml(
        xmlDoc({
          peers: xmlPeers(`${xmlLocal}<backup_user>not a user</backup_user><rcp_command>"</rcp_command><managed>maybe</managed>
            <managed_actions>bad action</managed_actions>`)
        }),
        "test.conf"
      )
      expect(config.peers).toStrictEqual([{ type: "local", name: "alpha", collectDir: "/srv/alpha" }])
    }))

  it.effect("reads managed as Y/y/N/n, absent as N", () =>
    Effect.gen(function*() {
      const remote = (name: string, managed: string) =>
        `<name>${name}</name><type>remote</type><collect_dir>/c</collect_dir>${managed}`
      const config = yield* Config.decodeXml(
        xmlDoc({
          options: xmlOptions.replace("</options>", "<managed_actions>collect</managed_actions></options>"),
          peers: xmlPeers(
            remote("a", "<managed>Y</managed>"),
            remote("b", "<managed>y</managed>"),
            remote("c", "<managed>N</managed>"),
            remote("d", "<managed>n</managed>"),
            remote("e", "")
          )
        }),
        "test.conf"
      )
      expect(config.peers.map((p) => p.type === "remote" && p.managed)).toStrictEqual([true, true, false, false, false])
    }))

  it.effect("uses the first of repeated single elements and ignores unknown elements and sections", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeXml(
        xmlDoc({
          peers: `<peers><peer>${xmlLocal}<name>second</name><comment>x</comment></peer><unknown/></peers>`,
          stage: "<stage><staging_dir>/first</staging_dir><staging_dir>/second</staging_dir></stage><stage/><mystery/>"
        }),
        "test.conf"
      )
      expect(config.stagingDir).toBe("/first")
      expect(config.peers).toStrictEqual([{ type: "local", name: "alpha", collectDir: "/srv/alpha" }])
    }))

  it.effect("falls back to <peers> when <stage> lists none, and validates both lists", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeXml(xmlDoc({ peers: xmlPeers(xmlLocal) }), "test.conf")
      expect(config.peers.map((p) => p.name)).toStrictEqual(["alpha"])
      expect(
        yield* xmlProblems(xmlDoc({
          peers: xmlPeers(`<name>old</name><type>local</type><collect_dir>relative</collect_dir>`),
          stage: `<stage><staging_dir>/s</staging_dir><peer>${xmlLocal}</peer><peer>${xmlLocal}</peer></stage>`
        }))
      ).toStrictEqual([
        "peer old (line 3) collect_dir: must be an absolute path",
        "peer alpha (line 3) name: duplicate peer name \"alpha\" (also peer #1, line 3)"
      ])
    }))

  it.effect("locates each peer field's problem", () =>
    Effect.gen(function*() {
      const remote = (fields: string) => `<name>db1</name><type>remote</type><collect_dir>/c</collect_dir>${fields}`
      expect(
        yield* xmlProblems(xmlDoc({
          peers: xmlPeers(
            `<type>local</type><name>a/b</name><collect_dir>/a</collect_dir>`,
            `<type>local</type><name>..</name><collect_dir>/a&#x2F;b</collect_dir>`,
            `<name>db1.example.org</name><type>remote</type><collect_dir>/a&#10;b</collect_dir>`,
            remote("<rcp_command>-oProxyCommand=x</rcp_command><rsh_command>'ssh</rsh_command>"),
            `<name>host2</name><type>remote</type><collect_dir>/c</collect_dir><backup_user>-root</backup_user>
             <ignore_failures>never</ignore_failures><managed_actions>collect,-purge</managed_actions>`,
            `<type>remote</type><collect_dir>/c</collect_dir>`,
            `<name>x</name>`
          )
        }))
      ).toStrictEqual([
        "peer a/b (line 3) name: must not contain '/': it names the peer's directory in the daily staging directory",
        "peer .. (line 3) name: must not be '.' or '..': it names the peer's directory in the daily staging directory",
        "peer db1.example.org (line 3) collect_dir: must not contain a newline",
        "peer db1 (line 3) rcp_command: must start with a program, not an option",
        "peer db1 (line 3) rsh_command: has unbalanced quotes",
        "peer host2 (line 3) ignore_failures: must be one of none, all, daily, weekly",
        "peer host2 (line 3) backup_user: must not start with '-'",
        "peer host2 (line 3) managed_actions[1]: must be letters, digits, '_' or '-', starting with a letter or digit",
        "peer #6 (line 4) name: is required",
        "peer x (line 4) type: is required",
        "peer x (line 4) collect_dir: is required"
      ])
    }))

  it.effect("requires <options> with its four fields, <stage> with staging_dir, and a peer", () =>
    Effect.gen(function*() {
      expect(yield* xmlProblems(`<cb_config><collect/></cb_config>`)).toStrictEqual([
        "options: is required",
        "stage: is required",
        "peers: at least one peer is required, in <peers> or in <stage>"
      ])
      expect(yield* xmlProblems(xmlDoc({ options: "<options/>", peers: "<peers/>", stage: "<stage></stage>" }))).toStrictEqual([
        "options.starting_day: is required",
        "options.working_dir: is required",
        "options.backup_user: is required",
        "options.backup_group: is required",
        "stage.staging_dir: is required",
        "peers: at least one peer is required, in <peers> or in <stage>"
      ])
    }))

  it.effect("requires managed actions for a managed peer, its own or the options'", () =>
    Effect.gen(function*() {
      const managed = (name: string, extra = "") =>
        `<name>${name}</name><type>remote</type><collect_dir>/c</collect_dir><managed>Y</managed>${extra}`
      expect(
        yield* xmlProblems(xmlDoc({
          peers: xmlPeers(managed("a"), managed("b", "<managed_actions>collect</managed_actions>")),
          stage: `<stage><staging_dir>/s</staging_dir><peer>${managed("c", "<managed_actions>,</managed_actions>")}</peer></stage>`
        }))
      ).toStrictEqual([
        "peer a (line 3) managed_actions: a managed peer needs at least one managed action, here or in options.managed_actions",
        "peer c (line 3) managed_actions: a managed peer needs at least one managed action, here or in options.managed_actions"
      ])
      const withOptions = yield* Config.decodeXml(
        xmlDoc({
          options: xmlOptions.replace("</options>", "<managed_actions>collect</managed_actions></options>"),
          peers: xmlPeers(managed("a"))
        }),
        "test.conf"
      )
      expect(withOptions.peers).toStrictEqual([{ type: "remote", name: "a", collectDir: "/c", managed: true }])
    }))

  it.effect("reports an XML document that is not well-formed or not a Cedar config", () =>
    Effect.gen(function*() {
      expect(yield* xmlProblems("")).toStrictEqual(["line 1: XML is not well-formed: Start tag expected."])
      expect(yield* xmlProblems("<cb_config>\n  <options>\n</cb_config>")).toStrictEqual([
        "line 3, column 1: XML is not well-formed: Expected closing tag 'options' (opened in line 2, col 3) instead of closing tag 'cb_config'."
      ])
      expect(yield* xmlProblems(`{ "options": {} }`)).toStrictEqual([
        "line 1, column 1: XML is not well-formed: char '{' is not expected."
      ])
      expect(yield* xmlProblems(`<?xml version="1.0"?><config><options/></config>`)).toStrictEqual([
        "document: the root element must be a single <cb_config>, found <config>"
      ])
      expect(yield* xmlProblems(`<cb_config/><cb_config/>`)).toStrictEqual([
        "document: the root element must be a single <cb_config>, found <cb_config>, <cb_config>"
      ])
    }))

  // "line L, column C" of the first `needle` in `doc` (1-based), counted independently of the parser.
  const at = (doc: string, needle: string): string => {
    const lines = doc.slice(0, doc.indexOf(needle)).split("\n")
    return `line ${lines.length}, column ${lines[lines.length - 1]!.length + 1}`
  }
  const notAllowed = (doc: string, reference: string) =>
    `${at(doc, reference)}: entity reference ${reference} is not allowed: only &amp; &lt; &gt; &quot; &apos; and character references like &#10; are`
  const noDoctype = "a DOCTYPE is not allowed in a configuration (its entities could read files or expand without bound)"

  it.effect("refuses an undeclared entity, never taking it literally, with its line and column", () =>
    Effect.gen(function*() {
      const doc = xmlDoc({
        options: xmlOptions.replace("<backup_user>backup</backup_user>", "<backup_user>&foo;</backup_user>"),
        peers: xmlPeers(`${xmlLocal}<backup_user>&copy;&nbsp;</backup_user>`)
      })
      expect(at(doc, "&foo;")).toBe("line 3, column 16")
      expect(yield* xmlProblems(doc)).toStrictEqual([notAllowed(doc, "&foo;"), notAllowed(doc, "&copy;"), notAllowed(doc, "&nbsp;")])
    }))

  it.effect("refuses a DOCTYPE with internal entities (billion laughs), without expanding them", () =>
    Effect.gen(function*() {
      const laughs = Array.from({ length: 9 }, (_, n) =>
        `  <!ENTITY lol${n + 1} "${`&lol${n === 0 ? "" : n};`.repeat(10)}">`).join("\n")
      const doc = `<?xml version="1.0"?>\n<!DOCTYPE cb_config [\n  <!ENTITY lol "lol">\n${laughs}\n]>\n` +
        xmlDoc({ options: xmlOptions.replace("<backup_user>backup</backup_user>", "<backup_user>&lol9;</backup_user>") })
          .replace('<?xml version="1.0"?>\n', "")
      // Only the DOCTYPE and the one reference outside it are reported, not the references inside it.
      expect(yield* xmlProblems(doc)).toStrictEqual([
        `line 2, column 1: ${noDoctype}`,
        notAllowed(doc, "&lol9;").replace(at(doc, "&lol9;"), at(doc, "&lol9;</"))
      ])
    }))

  it.effect("refuses a DOCTYPE declaring an external entity, without reading it", () =>
    Effect.gen(function*() {
      const doc = `<?xml version="1.0"?>\n<!DOCTYPE cb_config [ <!ENTITY xxe SYSTEM "file:///etc/shadow"> ]>\n` +
        xmlDoc({ peers: xmlPeers(`${xmlLocal}`), stage: "<stage><staging_dir>/s&xxe;</staging_dir></stage>" })
          .replace('<?xml version="1.0"?>\n', "")
      expect(yield* xmlProblems(doc)).toStrictEqual([`line 2, column 1: ${noDoctype}`, notAllowed(doc, "&xxe;")])
      // Also with only an external DTD, a public id, or in lower case; a '>' inside quotes does not end it.
      for (const doctype of [
        `<!DOCTYPE cb_config SYSTEM "file:///etc/shadow">`,
        `<!DOCTYPE cb_config PUBLIC "-//x//y>" "http://127.0.0.1/x.dtd">`,
        `<!doctype cb_config>`
      ]) {
        const problems = yield* xmlProblems(`${doctype}${xmlDoc({ peers: xmlPeers(xmlLocal) }).replace('<?xml version="1.0"?>\n', "")}`)
        expect(problems[0]).toBe(`line 1, column 1: ${noDoctype}`)
      }
    }))

  it.effect("refuses character references to characters XML does not allow", () =>
    Effect.gen(function*() {
      const doc = xmlDoc({ peers: xmlPeers(`${xmlLocal}<comment>&#0;&#x1F;&#xD800;&#1114112;</comment>`) })
      expect(yield* xmlProblems(doc)).toStrictEqual(
        ["&#0;", "&#x1F;", "&#xD800;", "&#1114112;"].map((ref) => `${at(doc, ref)}: character reference ${ref} is not a character XML allows`)
      )
    }))

  it.effect("decodes the five predefined entities and character references once; comments and CDATA hold no references", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeXml(
        xmlDoc({
          options: xmlOptions.replace("</options>", "<rcp_command>/usr/bin/scp -o &quot;User=a&amp;b&quot; &apos;&lt;&gt;&apos;</rcp_command></options>"),
          peers: xmlPeers(
            `<!-- &foo; <!DOCTYPE x> --><name>alpha</name><type>local</type><collect_dir>/srv/a&amp;lt;b&#x20;&#65;<![CDATA[&bar;]]></collect_dir>`
          )
        }),
        "test.conf"
      )
      expect(config.options.rcpCommand).toBe(`/usr/bin/scp -o "User=a&b" '<>'`)
      expect(config.peers[0]!.collectDir).toBe("/srv/a&lt;b A&bar;")
    }))

  it.effect("fails with a ConfigError naming the source", () =>
    Effect.gen(function*() {
      const error: ConfigError = yield* Effect.flip(Config.decodeXml(xmlDoc({}), "/etc/cback3.conf"))
      expect(error.path).toBe("/etc/cback3.conf")
      expect(error.message).toBe(
        "/etc/cback3.conf: invalid configuration:\n  peers: at least one peer is required, in <peers> or in <stage>"
      )
    }))
})

describe("decodeJson", () => {
  it.effect("decodes defaults: no managed actions, unmanaged remote peers, optional commands", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeJson(
        jsonDoc({ peers: [jsonLocal, { name: "::1", type: "remote", collectDir: "/c" }] }),
        "test.json"
      )
      expect(modelOf(config)).toStrictEqual({
        source: "test.json",
        options: { ...jsonOptions, managedActions: [] },
        stagingDir: "/opt/backup/stage",
        peers: [
          { type: "local", name: "alpha", collectDir: "/srv/alpha" },
          { type: "remote", name: "::1", collectDir: "/c", managed: false }
        ]
      })
    }))

  it.effect("takes stage.peers over peers when it lists any", () =>
    Effect.gen(function*() {
      const beta = { name: "beta", type: "local", collectDir: "/srv/beta" }
      const staged = yield* Config.decodeJson(
        jsonDoc({ peers: [jsonLocal], stage: { stagingDir: "/s", peers: [beta] } }),
        "test.json"
      )
      expect(staged.peers.map((p) => p.name)).toStrictEqual(["beta"])
      const fallback = yield* Config.decodeJson(
        jsonDoc({ peers: [jsonLocal], stage: { stagingDir: "/s", peers: [] } }),
        "test.json"
      )
      expect(fallback.peers.map((p) => p.name)).toStrictEqual(["alpha"])
    }))

  it.effect("rejects remote-only and unknown fields inside its sections, ignores unknown sections", () =>
    Effect.gen(function*() {
      expect(
        yield* jsonProblems(jsonDoc({
          options: { ...jsonOptions, colour: "blue" },
          peers: [{ ...jsonLocal, managed: true, backupUser: "backup", collectdir: "/x" }],
          stage: { stagingDir: "/s", purge: true },
          collect: { anything: 1 }
        }))
      ).toStrictEqual([
        "options.colour: is not a known field",
        "peer alpha (peers #1) managed: is only allowed on a remote peer",
        "peer alpha (peers #1) backupUser: is only allowed on a remote peer",
        "peer alpha (peers #1) collectdir: is not a known field",
        "stage.purge: is not a known field"
      ])
    }))

  it.effect("locates each field's problem by its JSON path", () =>
    Effect.gen(function*() {
      const remote = { name: "db1.example.org", type: "remote", collectDir: "/c" }
      expect(
        yield* jsonProblems(jsonDoc({
          options: {
            ...jsonOptions,
            backupUser: "",
            rshCommand: "",
            cbackCommand: "   ",
            managedActions: "collect"
          },
          peers: [
            { ...jsonLocal, name: "" },
            { ...jsonLocal, name: "beta", collectDir: "/a\u0000b" },
            { ...remote, collectDir: "/a\nb", managed: "Y", managedActions: ["ok", 7] },
            { ...remote, name: "db2", rcpCommand: "", rshCommand: "ssh 'x", cbackCommand: "" },
            { ...remote, name: "bad;host" },
            "gamma",
            { name: 5, type: "local", collectDir: true }
          ]
        }))
      ).toStrictEqual([
        "options.backupUser: must not be empty",
        "options.rshCommand: must not be empty",
        "options.cbackCommand: must not be empty",
        "options.managedActions: must be a list",
        "peer #1 (peers) name: must not be empty",
        "peer beta (peers #2) collectDir: must not contain a NUL byte",
        "peer db1.example.org (peers #3) collectDir: must not contain a newline",
        "peer db1.example.org (peers #3) managed: must be true or false",
        "peer db1.example.org (peers #3) managedActions[1]: must be a string, not 7",
        "peer db2 (peers #4) rcpCommand: must not be empty",
        "peer db2 (peers #4) rshCommand: has unbalanced quotes",
        "peer db2 (peers #4) cbackCommand: must not be empty",
        "peer bad;host (peers #5) name: must not contain a shell metacharacter (' \" ` $ \\ ; & < > | ( ) { } or ,): OpenSSH refuses them in a host name, as a shell would read them in a ProxyCommand",
        "peer #6 (peers): must be an object",
        "peer #7 (peers) name: must be a string, not 5",
        "peer #7 (peers) collectDir: must be a string, not true"
      ])
    }))

  it.effect("requires options, stage and at least one peer; the root must be an object", () =>
    Effect.gen(function*() {
      expect(yield* jsonProblems("{}")).toStrictEqual([
        "options: is required",
        "stage: is required",
        "peers: at least one peer is required, in peers or in stage.peers"
      ])
      expect(yield* jsonProblems(jsonDoc({ peers: "alpha" }))).toStrictEqual(["peers: must be a list"])
      expect(yield* jsonProblems(jsonDoc({ peers: [], stage: {} }))).toStrictEqual([
        "stage.stagingDir: is required",
        "peers: at least one peer is required, in peers or in stage.peers"
      ])
      expect(yield* jsonProblems("[1, 2]")).toStrictEqual(["document: must be an object"])
      expect(yield* jsonProblems("null")).toStrictEqual(["document: must be an object"])
    }))

  it.effect("requires managed actions for a managed peer, its own or the options'", () =>
    Effect.gen(function*() {
      const managed = { name: "db1", type: "remote", collectDir: "/c", managed: true }
      expect(yield* jsonProblems(jsonDoc({ peers: [managed, { ...managed, name: "db2", managedActions: [] }] })))
        .toStrictEqual([
          "peer db1 (peers #1) managedActions: a managed peer needs at least one managed action, here or in options.managedActions",
          "peer db2 (peers #2) managedActions: a managed peer needs at least one managed action, here or in options.managedActions"
        ])
      const ok = yield* Config.decodeJson(
        jsonDoc({ options: { ...jsonOptions, managedActions: ["collect"] }, peers: [managed] }),
        "test.json"
      )
      expect(ok.peers).toStrictEqual([managed])
    }))

  it.effect("reports JSON syntax errors with line and column", () =>
    Effect.gen(function*() {
      expect(yield* jsonProblems("")).toStrictEqual(["line 1, column 1: JSON syntax error: unexpected end of input"])
      expect(yield* jsonProblems(`{"options": {},}`)).toStrictEqual([
        `line 1, column 16: JSON syntax error: unexpected "}"`
      ])
      expect(yield* jsonProblems(`{\n  "a": tru\n}`)).toStrictEqual([`line 2, column 8: JSON syntax error: unexpected "t"`])
      expect(yield* jsonProblems(`{"a": "x\ny"}`)).toStrictEqual([`line 1, column 9: JSON syntax error: unexpected "\\n"`])
      expect(yield* jsonProblems(`{"a": "\\q"}`)).toStrictEqual([`line 1, column 8: JSON syntax error: unexpected "\\\\"`])
      expect(yield* jsonProblems(`{"a": 1} trailing`)).toStrictEqual([`line 1, column 10: JSON syntax error: unexpected "t"`])
      expect(yield* jsonProblems(`{"a": [1, 2`)).toStrictEqual(["line 1, column 12: JSON syntax error: unexpected end of input"])
      expect(yield* jsonProblems(`<cb_config/>`)).toStrictEqual([`line 1, column 1: JSON syntax error: unexpected "<"`])
    }))

  it.effect("decodeUnknown takes an already parsed value", () =>
    Effect.gen(function*() {
      const config = yield* Config.decodeUnknown(JSON.parse(jsonDoc({ peers: [jsonLocal] })), "memory")
      expect(config.source).toBe("memory")
      expect(config.peers).toStrictEqual([{ type: "local", name: "alpha", collectDir: "/srv/alpha" }])
    }))
})

describe("settings (limits, timeouts, retries, transport, connection sharing, verify, concurrency)", () => {
  const xmlSettings = `<max_files>10</max_files><max_bytes>10G</max_bytes>
    <timeouts><connect>45</connect><stall>90s</stall><managed_action>2h</managed_action></timeouts>
    <retries><count>3</count><base_delay>1m</base_delay></retries>
    <transport>tar</transport><connection_sharing>N</connection_sharing><verify>Y</verify>`
  const xmlRemote = (name: string, extra: string) => `<name>${name}</name><type>remote</type><collect_dir>/c</collect_dir>${extra}`

  it.effect("rejects each bad value in XML, at its element path", () =>
    Effect.gen(function*() {
      expect(
        yield* xmlProblems(xmlDoc({
          options: xmlOptions.replace(
            "</options>",
            `<max_files>0</max_files><max_bytes>10X</max_bytes><timeouts><connect>5 min</connect><stall>0</stall>
             <conect>5</conect></timeouts><retries><count>-1</count><base_delay>soon</base_delay></retries>
             <transport>rsync</transport><connection_sharing>yes</connection_sharing><verify>true</verify>
             <concurrency>0</concurrency></options>`
          ),
          peers: xmlPeers(
            `${xmlLocal}<max_files>1.5</max_files><max_bytes>1.5</max_bytes><timeouts>30</timeouts><retries><count>2.5</count></retries>`,
            xmlRemote("db1", "<transport>TAR</transport><max_bytes>0K</max_bytes><timeouts><managed_action>-1h</managed_action></timeouts>")
          )
        }))
      ).toStrictEqual([
        "options.max_files: must be a whole number of at least 1",
        "options.max_bytes: must be a number of bytes of at least 1, optionally with K, M, G or T (powers of 1024): 500M, 10G",
        "options.timeouts.conect: is not a known field",
        "options.timeouts.connect: must be a duration above 0: seconds, or a number with s, m, h or d (90s, 5m, 2h)",
        "options.timeouts.stall: must be a duration above 0: seconds, or a number with s, m, h or d (90s, 5m, 2h)",
        "options.retries.count: must be a whole number of at least 0",
        "options.retries.base_delay: must be a duration: seconds, or a number with s, m, h or d (90s, 5m, 2h)",
        "options.verify: must be Y or N",
        "options.transport: must be one of scp, tar",
        "options.connection_sharing: must be Y or N",
        "options.concurrency: must be a whole number of at least 1",
        "peer alpha (line 6) max_files: must be a whole number of at least 1",
        "peer alpha (line 6) max_bytes: must be a number of bytes of at least 1, optionally with K, M, G or T (powers of 1024): 500M, 10G",
        "peer alpha (line 6) timeouts: must hold elements, not text",
        "peer alpha (line 6) retries.count: must be a whole number of at least 0",
        "peer db1 (line 6) max_bytes: must be a number of bytes of at least 1, optionally with K, M, G or T (powers of 1024): 500M, 10G",
        "peer db1 (line 6) timeouts.managed_action: must be a duration above 0: seconds, or a number with s, m, h or d (90s, 5m, 2h)",
        "peer db1 (line 6) transport: must be one of scp, tar"
      ])
    }))

  it.effect("rejects each bad value in JSON, at its JSON path; transport and connection sharing only on remote peers", () =>
    Effect.gen(function*() {
      expect(
        yield* jsonProblems(jsonDoc({
          options: {
            ...jsonOptions,
            maxFiles: 0,
            maxBytes: "10G",
            timeouts: { connect: 0, stall: -1, command: "5m", conect: 5 },
            retries: { count: 1.5, baseDelay: -1 },
            transport: "rsync",
            connectionSharing: "Y",
            verify: 1,
            concurrency: 2.5
          },
          peers: [
            { ...jsonLocal, transport: "tar", connectionSharing: false, timeouts: 30, retries: [] },
            { name: "db1", type: "remote", collectDir: "/c", maxFiles: 1e20, maxBytes: 0.5 }
          ]
        }))
      ).toStrictEqual([
        "options.maxFiles: must be a whole number of at least 1",
        "options.maxBytes: must be a number, not \"10G\"",
        "options.timeouts.conect: is not a known field",
        "options.timeouts.connect: must be a number of seconds above 0",
        "options.timeouts.stall: must be a number of seconds above 0",
        "options.timeouts.command: must be a number, not \"5m\"",
        "options.retries.count: must be a whole number of at least 0",
        "options.retries.baseDelay: must be a number of seconds, 0 or more",
        "options.verify: must be true or false",
        "options.transport: must be one of scp, tar",
        "options.connectionSharing: must be true or false",
        "options.concurrency: must be a whole number of at least 1",
        "peer alpha (peers #1) transport: is only allowed on a remote peer",
        "peer alpha (peers #1) connectionSharing: is only allowed on a remote peer",
        "peer alpha (peers #1) timeouts: must be an object",
        "peer alpha (peers #1) retries: must be an object",
        "peer db1 (peers #2) maxFiles: must be a whole number of at least 1",
        "peer db1 (peers #2) maxBytes: must be a whole number of at least 1"
      ])
    }))

  it.effect("reads every setting from XML (suffixes, durations, Y/N) into the same model as JSON", () =>
    Effect.gen(function*() {
      const xml = yield* Config.decodeXml(
        xmlDoc({
          options: xmlOptions.replace("</options>", `${xmlSettings}<concurrency>8</concurrency></options>`),
          peers: xmlPeers(
            `${xmlLocal}<max_files>5</max_files><max_bytes>1.5k</max_bytes><timeouts><connect/><stall>5m</stall></timeouts>
             <transport>scp</transport><connection_sharing>maybe</connection_sharing>`,
            xmlRemote("db1", "<transport>scp</transport><retries><count>0</count></retries><verify>n</verify><timeouts/>")
          )
        }),
        "test.conf"
      )
      const settings = {
        maxFiles: 10,
        maxBytes: 10 * 1024 ** 3,
        timeouts: { connect: 45, stall: 90, managedAction: 7200 },
        retries: { count: 3, baseDelay: 60 },
        transport: "tar",
        connectionSharing: false,
        verify: true
      } as const
      expect(xml.options).toStrictEqual({ ...jsonOptions, managedActions: [], ...settings, concurrency: 8 })
      expect(xml.peers).toStrictEqual([
        // Like Cedar's remote-only fields, transport and connection sharing are ignored on a local peer in XML.
        { type: "local", name: "alpha", collectDir: "/srv/alpha", maxFiles: 5, maxBytes: 1536, timeouts: { stall: 300 } },
        { type: "remote", name: "db1", collectDir: "/c", managed: false, transport: "scp", retries: { count: 0 }, verify: false }
      ])
      const json = yield* Config.decodeJson(
        jsonDoc({ options: { ...jsonOptions, ...settings, concurrency: 8 }, peers: xml.peers }),
        "test.json"
      )
      expect(modelOf(json)).toStrictEqual({ ...modelOf(xml), source: "test.json" })
    }))

  it("peerSettings: defaults when nothing is set", () => {
    const config = { options: { ...jsonOptions, startingDay: "monday", managedActions: [] } } as const
    const expected = {
      timeouts: { connect: 30, stall: 60, indicator: 300, stage: 43200, command: 3600, managedAction: 43200 },
      retries: { count: 2, baseDelay: 5 },
      transport: "scp",
      connectionSharing: true,
      verify: false
    }
    expect(Config.peerSettings(config, { type: "local", name: "a", collectDir: "/a" })).toStrictEqual(expected)
    expect(Config.peerSettings(config, { type: "remote", name: "b", collectDir: "/b", managed: false })).toStrictEqual(expected)
    expect(Config.poolConcurrency(config)).toBe(4)
    expect(Config.poolConcurrency({ options: { ...config.options, concurrency: 1 } })).toBe(1)
  })

  it("peerSettings: the peer wins over the options, field by field, and overrides win over both", () => {
    const config = {
      options: {
        ...jsonOptions,
        startingDay: "monday",
        managedActions: [],
        maxFiles: 100,
        maxBytes: 1000,
        timeouts: { connect: 10, stall: 20 },
        retries: { count: 5 },
        transport: "tar",
        connectionSharing: false,
        verify: true
      }
    } as const
    const peer = {
      type: "remote",
      name: "db1",
      collectDir: "/c",
      managed: false,
      maxFiles: 7,
      timeouts: { stall: 2, command: 3 },
      retries: { baseDelay: 0 },
      transport: "scp",
      verify: false
    } as const
    expect(Config.peerSettings(config, peer)).toStrictEqual({
      maxFiles: 7,
      maxBytes: 1000,
      timeouts: { connect: 10, stall: 2, indicator: 300, stage: 43200, command: 3, managedAction: 43200 },
      retries: { count: 5, baseDelay: 0 },
      transport: "scp",
      connectionSharing: false,
      verify: false
    })
    expect(Config.peerSettings(config, peer, { maxBytes: 1, timeouts: { connect: 1 }, retries: { count: 0 }, verify: true })).toStrictEqual({
      maxFiles: 7,
      maxBytes: 1,
      timeouts: { connect: 1, stall: 2, indicator: 300, stage: 43200, command: 3, managedAction: 43200 },
      retries: { count: 0, baseDelay: 0 },
      transport: "scp",
      connectionSharing: false,
      verify: true
    })
  })

  it("parseBytes and parseDuration read what the XML config and the CLI accept", () => {
    expect(["1", "500M", "10G", "1.5k", "2T", " 3 K "].map(Config.parseBytes)).toStrictEqual([
      1, 500 * 1024 ** 2, 10 * 1024 ** 3, 1536, 2 * 1024 ** 4, 3072
    ])
    expect(["0", "1.5", "10X", "-1", "", "G", "10GB", "1e3", "0.0001K"].map(Config.parseBytes)).toStrictEqual(
      Array(9).fill(undefined)
    )
    expect(["30", "0.5", "90s", "5m", "2h", "1d", "0"].map(Config.parseDuration)).toStrictEqual([30, 0.5, 90, 300, 7200, 86400, 0])
    expect(["", "-1", "5 min", "1h30m", "m", "1e3"].map(Config.parseDuration)).toStrictEqual(Array(6).fill(undefined))
  })
})

describe.skipIf(!existsSync("/usr/bin/cback3"))("settings next to Cedar Backup", () => {
  it.effect("cback3 validate accepts a config that sets every cedar-peer setting, which cedar-peer reads", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* fs.makeTempDirectoryScoped()
      for (const dir of ["work", "stage", "collect"]) yield* fs.makeDirectory(`${root}/${dir}`)
      const user = execFileSync("id", ["-un"], { encoding: "utf8" }).trim()
      const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim()
      const settings = `<max_files>10</max_files><max_bytes>10G</max_bytes>
        <timeouts><connect>30</connect><stall>90s</stall><indicator>5m</indicator><stage>12h</stage>
          <command>1h</command><managed_action>12h</managed_action></timeouts>
        <retries><count>3</count><base_delay>1m</base_delay></retries><verify>Y</verify>`
      const remote = `<transport>tar</transport><connection_sharing>N</connection_sharing>`
      const path = `${root}/cback3.conf`
      yield* fs.writeFileString(
        path,
        `<?xml version="1.0"?>
<cb_config>
  <reference><author>test</author></reference>
  <options>
    <starting_day>monday</starting_day><working_dir>${root}/work</working_dir>
    <backup_user>${user}</backup_user><backup_group>${group}</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>
    ${settings}${remote}<concurrency>8</concurrency>
  </options>
  <peers>
    <peer><name>alpha</name><type>local</type><collect_dir>${root}/collect</collect_dir>${settings}</peer>
    <peer><name>db1</name><type>remote</type><collect_dir>/c</collect_dir>${settings}${remote}</peer>
  </peers>
  <stage><staging_dir>${root}/stage</staging_dir></stage>
</cb_config>
`
      )
      const cedar = spawnSync("/usr/bin/cback3", ["--config", path, "validate"], { encoding: "utf8" })
      expect(`${cedar.stdout}${cedar.stderr}`.trim()).toBe("Configuration is valid.")
      const config = yield* Config.load(path)
      expect(Config.peerSettings(config, config.peers[1]!)).toStrictEqual({
        maxFiles: 10,
        maxBytes: 10 * 1024 ** 3,
        timeouts: { connect: 30, stall: 90, indicator: 300, stage: 43200, command: 3600, managedAction: 43200 },
        retries: { count: 3, baseDelay: 60 },
        transport: "tar",
        connectionSharing: false,
        verify: true
      })
      expect(Config.poolConcurrency(config)).toBe(8)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("locate", () => {
  it.effect("names a place in the decoded file's own vocabulary, following the peer list it came from", () =>
    Effect.gen(function*() {
      const xml = yield* Config.decodeXml(xmlDoc({ peers: xmlPeers(xmlLocal) }), "pool.conf")
      expect(Config.locate(xml, ["options", "backupUser"])).toBe("options.backup_user")
      expect(Config.locate(xml, ["peers", 0, "collectDir"])).toBe("peers.peer[0].collect_dir")
      expect(Config.locate(xml, ["options", "timeouts", "managedAction"])).toBe("options.timeouts.managed_action")
      const staged = yield* Config.decodeXml(
        xmlDoc({ peers: xmlPeers(xmlLocal), stage: `<stage><staging_dir>/s</staging_dir><peer>${xmlLocal}</peer></stage>` }),
        "pool.conf"
      )
      expect(Config.locate(staged, ["peers", 0, "collectDir"])).toBe("stage.peer[0].collect_dir")
      expect(Config.locate(staged, ["stage", "stagingDir"])).toBe("stage.staging_dir")
      // JSON decoded under any name keeps JSON names; stage.peers in JSON too.
      const json = yield* Config.decodeJson(jsonDoc({ stage: { stagingDir: "/s", peers: [jsonLocal] } }), "memory")
      expect(Config.locate(json, ["peers", 0, "collectDir"])).toBe("stage.peers[0].collectDir")
      // A copy keeps its origin, whatever its source is called.
      expect(Config.locate({ ...xml }, ["options", "backupUser"])).toBe("options.backup_user")
      expect(Config.locate({ ...xml, source: "pool.JSON" }, ["options", "backupUser"])).toBe("options.backup_user")
      expect(Config.locate({ ...staged }, ["peers", 0, "collectDir"])).toBe("stage.peer[0].collect_dir")
      // A pool built by hand (no origin): the format follows the source's name, as load reads it.
      expect(Config.locate({ ...modelOf(xml), source: "pool.JSON" }, ["options", "backupUser"])).toBe("options.backupUser")
      expect(Config.locate(modelOf(xml), ["options", "backupUser"])).toBe("options.backup_user")
    }))
})

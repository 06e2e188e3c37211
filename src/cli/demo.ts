// `cedar-peer demo`: a small pool of local peers (one not ready) and its cback3.conf, so a
// newcomer can watch a stage run within seconds of installing.
import { Effect, FileSystem, Path } from "effect"
import { userInfo } from "node:os"
import { DEF_COLLECT_INDICATOR } from "../domain/Peer.js"
import { FileOperationFailed } from "../domain/PeerError.js"

interface DemoPeer {
  readonly name: string
  readonly ready: boolean
  readonly ignoreFailures?: string
  readonly files: Readonly<Record<string, string>>
}

const PEERS: ReadonlyArray<DemoPeer> = [
  {
    name: "alpha",
    ready: true,
    files: {
      "etc.tar.gz": "pretend this is a compressed archive of /etc\n".repeat(200),
      "home-ann.tar": "ann's home directory\n".repeat(500),
      "mysql dump 2026.sql": "CREATE TABLE backups (id INTEGER);\n".repeat(100)
    }
  },
  {
    name: "beta",
    ready: true,
    files: { "var-www.tar": "<html>site</html>\n".repeat(800), "crontab.txt": "0 2 * * * cback3 collect\n" }
  },
  // Not ready: its own backup has not finished (no collect indicator); failures ignored, so the run still succeeds.
  { name: "gamma", ready: false, ignoreFailures: "all", files: { "partial.tar": "still being written\n" } }
]

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const configText = (root: string, path: Path.Path, user: string, group: string) => `<?xml version="1.0"?>
<!-- cedar-peer demo pool: a Cedar Backup 3 configuration (only the sections the stage action reads) -->
<cb_config>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>${xml(path.join(root, "work"))}</working_dir>
    <backup_user>${xml(user)}</backup_user>
    <backup_group>${xml(group)}</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
  </options>
  <peers>
${PEERS.map((p) => `    <peer>
      <name>${p.name}</name>
      <type>local</type>
      <collect_dir>${xml(path.join(root, "peers", p.name))}</collect_dir>${p.ignoreFailures ? `\n      <ignore_failures>${p.ignoreFailures}</ignore_failures>` : ""}
    </peer>`).join("\n")}
  </peers>
  <stage>
    <staging_dir>${xml(path.join(root, "staging"))}</staging_dir>
  </stage>
</cb_config>
`

/** Builds the demo pool under `dir` (a new temp dir when absent); returns where its config is. */
export const makeDemoPool = (dir: string | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const failed = (target: string) => (cause: unknown) =>
      new FileOperationFailed({ peer: "demo", operation: "create", path: target, cause })
    const root = dir === undefined
      ? yield* fs.makeTempDirectory({ prefix: "cedar-peer-demo-" }).pipe(Effect.mapError(failed("temporary directory")))
      : path.resolve(dir)
    for (const sub of ["work", "staging"]) {
      yield* fs.makeDirectory(path.join(root, sub), { recursive: true }).pipe(Effect.mapError(failed(path.join(root, sub))))
    }
    for (const peer of PEERS) {
      const collectDir = path.join(root, "peers", peer.name)
      yield* fs.makeDirectory(collectDir, { recursive: true }).pipe(Effect.mapError(failed(collectDir)))
      const files = { ...peer.files, ...(peer.ready ? { [DEF_COLLECT_INDICATOR]: "" } : {}) }
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(collectDir, name)
        yield* fs.writeFileString(file, content).pipe(Effect.mapError(failed(file)))
      }
    }
    // As root the stage action chowns to the backup user and group: use root's own, which exist everywhere.
    const me = userInfo().username
    const [user, group] = process.getuid?.() === 0 ? ["root", "root"] : [me, me]
    const configPath = path.join(root, "cback3.conf")
    yield* fs.writeFileString(configPath, configText(root, path, user, group)).pipe(Effect.mapError(failed(configPath)))
    return { root, configPath }
  })

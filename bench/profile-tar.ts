// Where a remote stage-peer's time goes: stages one peer over the loopback sshd of the tests
// (root only) under `node --cpu-prof`, and prints the functions with the most self time, grouped
// by where they come from. By default one big file with `transport: tar`; `--files N --kib K`
// stages N small files instead, `--transport scp` (with `--legacy` for `scp -O`) the other
// transport, `--bin DIR` another build (a checkout holding dist/cli/main.js). `--peers N` runs a
// pool's `stage` over N peers of `--files` files each instead (every peer holding a collect
// indicator), and prints the whole run's CPU beside the main process's profile.
//
//   npm run build && node scripts/run-ts.mjs bench/profile-tar.ts [--mib 512] [--keep]
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { chownTree, startSshd } from "../test/support/sshd.js"
import { binCommand } from "./measure.js"

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "512" },
    files: { type: "string" },
    kib: { type: "string", default: "4" },
    transport: { type: "string", default: "tar" },
    legacy: { type: "boolean", default: false },
    bin: { type: "string" },
    keep: { type: "boolean", default: false },
    /** put a collect indicator (cback.collect) into the collect dir */
    indicator: { type: "boolean", default: false },
    /** words added to the command line, e.g. --verbose */
    extra: { type: "string", multiple: true, default: [] },
    /** a pool of this many peers, staged with `stage` */
    peers: { type: "string" },
    /** also trace the processes' execve and exit into this file (strace -f) */
    strace: { type: "string" }
  }
})
const MIB = Number(values.mib)
const repo = path.resolve(values.bin ?? path.join(import.meta.dirname, ".."))
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-profile-tar-"))
fs.chmodSync(root, 0o755)
const server = await startSshd()
try {
  const info = server.info
  const keyDir = path.join(info.dir, "keys", info.remoteUser)
  fs.mkdirSync(keyDir, { recursive: true, mode: 0o700 })
  fs.copyFileSync(path.join(info.dir, "keys", "root", "id_ed25519"), path.join(keyDir, "id_ed25519"))
  chownTree(keyDir, info.remoteUid, info.remoteGid)
  fs.chmodSync(path.join(keyDir, "id_ed25519"), 0o600)
  const block = randomBytes(1024 * 1024)
  const peers = values.peers === undefined ? undefined : Number(values.peers)
  const peerNames = peers === undefined ? ["127.0.0.1"] : Array.from({ length: peers }, (_, i) => `peer${String(i + 1).padStart(2, "0")}`)
  const collectDirs = peerNames.map((name) => {
    const collect = path.join(root, peers === undefined ? "collect" : `collect-${name}`)
    fs.mkdirSync(collect, { mode: 0o755 })
    if (values.files === undefined) {
      const fd = fs.openSync(path.join(collect, "backup.tar"), "w", 0o644)
      for (let i = 0; i < MIB; i++) fs.writeSync(fd, block)
      fs.closeSync(fd)
    } else {
      for (let i = 0; i < Number(values.files); i++) fs.writeFileSync(path.join(collect, `file-${i}.dat`), block.subarray(i % 1000, i % 1000 + Number(values.kib) * 1024))
    }
    if (values.indicator || peers !== undefined) fs.writeFileSync(path.join(collect, "cback.collect"), "")
    chownTree(collect, info.remoteUid, info.remoteGid)
    return collect
  })
  // the pool's peers are named peerNN, all of them the loopback sshd
  const sshConfig = path.join(root, "ssh_config")
  fs.writeFileSync(sshConfig, `Host peer*\n  HostName 127.0.0.1\n\n${fs.readFileSync(info.configFile, "utf8")}`, { mode: 0o644 })
  const config = path.join(root, "cback3.conf")
  const peerElements = peerNames.map((name, i) => `<peer><name>${name}</name><type>remote</type><collect_dir>${collectDirs[i]}</collect_dir></peer>`)
  fs.writeFileSync(config, `<?xml version="1.0"?>
<cb_config>
  <options><starting_day>monday</starting_day><working_dir>${root}</working_dir>
    <backup_user>${info.remoteUser}</backup_user><backup_group>${info.remoteUser}</backup_group>
    <rcp_command>/usr/bin/scp -B -q${values.legacy ? " -O" : ""} -F ${sshConfig}</rcp_command><rsh_command>/usr/bin/ssh -F ${sshConfig}</rsh_command>
    <transport>${values.transport}</transport></options>
  <peers>${peerElements.join("")}</peers>
  <stage><staging_dir>${path.join(root, "target")}</staging_dir></stage>
</cb_config>
`)
  const profiles = path.join(root, "profiles")
  const bin = binCommand(process.execPath, path.join(repo, "dist", "cli", "main.js"))
  const target = path.join(root, "target")
  fs.mkdirSync(target)
  const started = performance.now()
  const traced = values.strace === undefined
    ? ["/usr/bin/time", "-f", "whole run: %e s, %U s user + %S s system (peak RSS %M KiB)"]
    : ["strace", "-f", "-tt", "-e", "trace=execve,exit_group,kill,wait4,setsid,setpgid,clone,clone3,fork,vfork", "-o", values.strace]
  const command = peers === undefined ? ["stage-peer", "--config", config, "--peer", "127.0.0.1", "--target", target] : ["stage", "--config", config]
  const done = spawnSync(traced[0]!, [...traced.slice(1), bin[0]!, "--cpu-prof", `--cpu-prof-dir=${profiles}`, ...bin.slice(1), ...command, ...values.extra], {
    encoding: "utf8"
  })
  if (values.extra.length > 0) console.log(done.stderr)
  else if (values.strace === undefined) console.log(done.stderr.trim().split("\n").at(-1))
  const wall = (performance.now() - started) / 1000
  if (done.status !== 0) throw new Error(`stage-peer failed: ${done.stderr}`)
  console.log(`staged in ${wall.toFixed(2)} s (load ${os.loadavg()[0]!.toFixed(1)})`)
  for (const file of fs.readdirSync(profiles)) {
    const profile = JSON.parse(fs.readFileSync(path.join(profiles, file), "utf8")) as {
      nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }>
      startTime: number
      endTime: number
      timeDeltas: Array<number>
    }
    const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0)
    const seconds = (profile.endTime - profile.startTime) / 1e6
    const byFunction = new Map<string, number>()
    const byOrigin = new Map<string, number>()
    for (const node of profile.nodes) {
      const { functionName, url, lineNumber } = node.callFrame
      const key = `${functionName || "(anonymous)"} ${path.basename(url)}:${lineNumber + 1}`
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.hitCount)
      const origin = functionName === "(garbage collector)" ? "gc" : functionName === "(idle)" ? "idle" : functionName === "(program)" ? "program" : url === "" ? "native" : url.startsWith("node:") ? "node" : "bundle"
      byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + node.hitCount)
    }
    console.log(`\n${file}: ${seconds.toFixed(2)} s profiled`)
    for (const [origin, hits] of [...byOrigin].sort((a, b) => b[1] - a[1])) console.log(`  ${origin.padEnd(10)} ${((hits / total) * seconds).toFixed(2)} s`)
    for (const [key, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${((hits / total) * seconds).toFixed(3)} s  ${key}`)
  }
} finally {
  await server.stop()
  if (values.keep) console.log(`kept ${root}`)
  else fs.rmSync(root, { recursive: true, force: true })
}

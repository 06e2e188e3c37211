// Run: npx vite-node bench/remote-stage.ts   (as root: it starts the loopback sshd of the tests)
// Options (env): BENCH_FILES (default 2000), BENCH_BIG_MIB (default 200).
//
// Stages many small files and one big file from a loopback OpenSSH server with RemotePeers, once
// per scp protocol, and prints seconds, files/s and MiB/s. Figures, not assertions: the unit and
// ssh tests never time anything. Every run stages into a fresh, never-used target directory
// (see NOTES-ssh.md: recreating many files right after deleting many is slow on /tmp here).
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as RemotePeer from "../src/RemotePeer.js"
import * as NodeStagingDisk from "../src/NodeStagingDisk.js"
import * as SystemUsers from "../src/SystemUsers.js"
import { makeScratch, startSshd } from "../test/support/sshd.js"

const FILES = Number(process.env["BENCH_FILES"] ?? 2000)
const BIG_MIB = Number(process.env["BENCH_BIG_MIB"] ?? 200)

const Live = RemotePeer.RemotePeers.Default.pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeContext.layer),
  Layer.provideMerge(Logger.minimumLogLevel(LogLevel.Error))
)

const writeBigFile = (file: string, mib: number) => {
  const fd = fs.openSync(file, "w", 0o644)
  const chunk = randomBytes(1024 * 1024) // incompressible enough: one random MiB, repeated
  for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk)
  fs.closeSync(fd)
}

const main = async () => {
  const server = await startSshd()
  const scratch = makeScratch(server.info, "bench")
  try {
    const small: Record<string, string> = {}
    for (let i = 0; i < FILES; i++) small[`file-${String(i).padStart(5, "0")}.dat`] = `${"x".repeat(1000)}${i}\n`
    const smallDir = scratch.collectDir("small", small)
    const bigDir = scratch.collectDir("big", {})
    writeBigFile(path.join(bigDir, "big.bin"), BIG_MIB)
    scratch.chownTree(bigDir, server.info.remoteUid, server.info.remoteGid)

    console.log(`OpenSSH: ${server.info.sshVersion}`)
    console.log("protocol  case                    files       MiB   seconds    files/s     MiB/s")
    for (const protocol of ["sftp", "legacy"] as const) {
      const rcpCommand = protocol === "sftp" ? server.info.rcpSftp : server.info.rcpLegacy
      for (const [label, collectDir] of [[`${FILES} small files`, smallDir], [`1 file of ${BIG_MIB} MiB`, bigDir]] as const) {
        const target = scratch.dir("target")
        const report = await Effect.runPromise(Effect.gen(function*() {
          const peer = yield* RemotePeer.make({
            name: server.info.host,
            collectDir,
            workingDir: scratch.dir("work"),
            remoteUser: server.info.remoteUser,
            rcpCommand,
            rshCommand: server.info.rsh
          })
          const remote = yield* RemotePeer.RemotePeers
          const started = performance.now()
          const report = yield* remote.stagePeer(peer, target)
          return { ...report, seconds: (performance.now() - started) / 1000 }
        }).pipe(Effect.provide(Live)))
        const mib = report.bytes / (1024 * 1024)
        console.log(
          `${protocol.padEnd(8)}  ${label.padEnd(22)} ${String(report.count).padStart(6)} ${mib.toFixed(1).padStart(9)} ${
            report.seconds.toFixed(2).padStart(9)
          } ${(report.count / report.seconds).toFixed(0).padStart(10)} ${(mib / report.seconds).toFixed(1).padStart(9)}`
        )
      }
    }
  } finally {
    scratch.remove()
    await server.stop()
  }
}

await main()

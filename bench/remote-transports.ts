// Run: node scripts/run-ts.mjs bench/remote-transports.ts   (as root: it starts the loopback sshd of the tests)
// Options (env): BENCH_FILES (default 5000), BENCH_FILE_KIB (default 4), BENCH_ROUNDS (default 3).
//
// The two remote transports of RemotePeers against the plain tools they wrap, on one workload
// (BENCH_FILES files of BENCH_FILE_KIB KiB from the loopback OpenSSH server), interleaved round by
// round, medians printed with the ratios the transports aim at: the scp transport within 1.05× of
// plain scp, the tar transport within 0.5× of it. Figures, not assertions: no test times anything.
// Every run lands in a fresh, never-used directory (file creation right after mass deletion is
// slow on this machine's /tmp).
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer, References } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"
import * as SystemUsers from "../src/peers/SystemUsers.js"
import { makeScratch, startSshd } from "../test/support/sshd.js"

const FILES = Number(process.env["BENCH_FILES"] ?? 5000)
const FILE_KIB = Number(process.env["BENCH_FILE_KIB"] ?? 4)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)

const Live = RemotePeer.RemotePeers.layer.pipe(
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeServices.layer),
  Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, "Error"))
)

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const seconds = (run: () => void) => {
  const started = performance.now()
  run()
  return (performance.now() - started) / 1000
}

const shell = (argv: ReadonlyArray<string>) => {
  const done = spawnSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" })
  if (done.status !== 0) throw new Error(`${argv.join(" ")} exited ${done.status}: ${done.stderr}`)
}

const main = async () => {
  const server = await startSshd()
  const info = server.info
  const scratch = makeScratch(info, "bench-transports")
  try {
    const files: Record<string, string> = {}
    const content = "x".repeat(FILE_KIB * 1024 - 1)
    for (let i = 0; i < FILES; i++) files[`file-${String(i).padStart(5, "0")}.dat`] = `${content}\n`
    const collectDir = scratch.collectDir("collect", files)
    const destination = `${info.remoteUser}@${info.host}`

    const stage = (transport: "scp" | "tar") => (target: string) =>
      Effect.runPromise(Effect.gen(function*() {
        const peer = yield* RemotePeer.make({
          name: info.host,
          collectDir,
          workingDir: scratch.dir("work"),
          remoteUser: info.remoteUser,
          rcpCommand: info.rcpSftp,
          rshCommand: info.rsh,
          transport
        })
        const started = performance.now()
        const report = yield* (yield* RemotePeer.RemotePeers).stagePeer(peer, target)
        if (report.count !== FILES) throw new Error(`staged ${report.count} files, expected ${FILES}`)
        return (performance.now() - started) / 1000
      }).pipe(Effect.provide(Live)))

    const cases: ReadonlyArray<readonly [string, (target: string) => Promise<number>]> = [
      ["plain scp", async (target) => seconds(() => shell([...info.rcpSftp.split(" "), "--", `${destination}:${collectDir}/*`, target]))],
      ["ssh tar | tar", async (target) =>
        seconds(() =>
          shell(["sh", "-c", `${info.rsh} -- ${destination} 'cd ${collectDir} && tar cf - .' | tar xf - -C '${target}'`])
        )],
      ["cedar-peer scp transport", stage("scp")],
      ["cedar-peer tar transport", stage("tar")]
    ]
    const times = new Map<string, Array<number>>(cases.map(([label]) => [label, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, run] of cases) {
        const target = scratch.dir("target")
        times.get(label)!.push(await run(target))
        fs.rmSync(target, { recursive: true, force: true })
      }
    }

    const mib = (FILES * FILE_KIB) / 1024
    console.log(`OpenSSH: ${info.sshVersion}`)
    console.log(`workload: ${FILES} files of ${FILE_KIB} KiB (${mib.toFixed(1)} MiB), ${ROUNDS} interleaved rounds, medians`)
    console.log("case                        seconds    files/s     MiB/s")
    const medians = new Map<string, number>()
    for (const [label] of cases) {
      const m = median(times.get(label)!)
      medians.set(label, m)
      console.log(
        `${label.padEnd(26)} ${m.toFixed(2).padStart(8)} ${(FILES / m).toFixed(0).padStart(10)} ${(mib / m).toFixed(1).padStart(9)}`
      )
    }
    const scp = medians.get("plain scp")!
    const ratio = (label: string, target: number) => {
      const value = medians.get(label)! / scp
      console.log(`${label} / plain scp: ${value.toFixed(2)}× (target ≤ ${target}×: ${value <= target ? "met" : "NOT met"})`)
    }
    ratio("cedar-peer scp transport", 1.05)
    ratio("cedar-peer tar transport", 0.5)
    console.log(`ssh tar | tar / plain scp: ${(medians.get("ssh tar | tar")! / scp).toFixed(2)}× (the floor for one tar stream)`)
  } finally {
    scratch.remove()
    await server.stop()
  }
}

await main()

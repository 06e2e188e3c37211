// Run: npx vite-node bench/stage-local.ts [smallFiles=10000] [bigFiles=3] [bigMiB=50]
//
// Stages many small files, then a few big ones, from a collect dir on the real disk into fresh
// target dirs with LocalPeers.stagePeer, and prints files/s, MiB/s and the peak RSS. Not a test:
// the figures depend on the machine.
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as NFS from "node:fs"
import * as OS from "node:os"
import * as NPath from "node:path"
import * as LocalPeer from "../src/LocalPeer.js"
import type { StageOptions } from "../src/Peer.js"

const [smallFiles = 10_000, bigFiles = 3, bigMiB = 50] = process.argv.slice(2).map(Number)

let peakRss = process.memoryUsage().rss
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 20)

const MiB = 1024 * 1024

const prepare = (root: string, name: string, count: number, size: number): string => {
  const dir = NPath.join(root, name)
  NFS.mkdirSync(dir)
  const chunk = Buffer.alloc(size, 0x61)
  for (let i = 0; i < count; i++) NFS.writeFileSync(NPath.join(dir, `file-${String(i).padStart(6, "0")}.dat`), chunk)
  return dir
}

const round = (
  local: LocalPeer.LocalPeers,
  root: string,
  label: string,
  collectDir: string,
  options: StageOptions
) =>
  Effect.gen(function*() {
    const peer = yield* LocalPeer.make({ name: label, collectDir })
    const target = NFS.mkdtempSync(NPath.join(root, `target-${label}-`))
    const started = performance.now()
    const report = yield* local.stagePeer(peer, target, options)
    const seconds = (performance.now() - started) / 1000
    console.log(
      `${label.padEnd(22)} ${String(report.count).padStart(6)} files ${(report.bytes / MiB).toFixed(1).padStart(8)} MiB` +
        ` in ${seconds.toFixed(2).padStart(6)} s: ${(report.count / seconds).toFixed(0).padStart(7)} files/s,` +
        ` ${(report.bytes / MiB / seconds).toFixed(1).padStart(7)} MiB/s`
    )
    NFS.rmSync(target, { recursive: true, force: true })
  })

const program = Effect.gen(function*() {
  const root = NFS.mkdtempSync(NPath.join(OS.tmpdir(), "cedar-peer-bench-"))
  try {
    const small = prepare(root, "small", smallFiles, 1024)
    const big = prepare(root, "big", bigFiles, bigMiB * MiB)
    const local = yield* LocalPeer.LocalPeers
    console.log(`node ${process.version}, ${OS.cpus().length} cpus, ${OS.tmpdir()}`)
    yield* round(local, root, "small 1 KiB", small, {})
    yield* round(local, root, "small 1 KiB chown+chmod", small, { ownership: { uid: 1234, gid: 1234 }, permissions: 0o640 })
    yield* round(local, root, `big ${bigMiB} MiB`, big, {})
  } finally {
    NFS.rmSync(root, { recursive: true, force: true })
  }
})

Effect.runPromise(program.pipe(Effect.provide(LocalPeer.LocalPeers.Default.pipe(Layer.provideMerge(NodeContext.layer)))))
  .then(() => {
    clearInterval(sampler)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    console.log(`peak RSS ${(peakRss / MiB).toFixed(0)} MiB`)
  }, (error) => {
    clearInterval(sampler)
    console.error(error)
    process.exitCode = 1
  })

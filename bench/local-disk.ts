// Micro-benchmark of the local staging hot path: `LocalPeers.stagePeer` on NodeStagingDisk, in
// this process, against `cp -p` of the same files, for 5,000 × 4 KiB, 2 × 256 MiB and
// 100,000 × 1 B. Interleaved rounds (default 3), each run into a fresh, never-used target dir
// (ext4 without a journal slows file creation for minutes after mass deletes); medians printed
// with files/s, MiB/s and the ratio to cp. Run: `node scripts/run-ts.mjs bench/local-disk.ts [ROUNDS]`.
// (`npm run bench` measures the CLI as users run it; this one isolates the copy loop.)
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalPeer from "../src/peers/LocalPeer.js"
import * as NodeStagingDisk from "../src/disk/NodeStagingDisk.js"

const rounds = Number(process.argv.filter((a) => /^\d+$/.test(a))[0] ?? 3)
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-bench-local-"))

const workloads = [
  { name: "5,000 × 4 KiB", count: 5000, size: 4096 },
  { name: "2 × 256 MiB", count: 2, size: 256 * 1024 * 1024 },
  { name: "100,000 × 1 B", count: 100_000, size: 1 }
] as const

const generate = (dir: string, count: number, size: number) => {
  fs.mkdirSync(dir)
  const chunk = Buffer.alloc(Math.min(size, 1024 * 1024), 0x61)
  for (let i = 0; i < count; i++) {
    const fd = fs.openSync(path.join(dir, `f${String(i).padStart(6, "0")}`), "w")
    for (let left = size; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length))
    fs.closeSync(fd)
  }
}

let fresh = 0
const target = () => {
  const dir = path.join(root, `t${fresh++}`)
  fs.mkdirSync(dir)
  return dir
}

const layer = LocalPeer.LocalPeers.layer.pipe(Layer.provideMerge(NodeStagingDisk.layer), Layer.provideMerge(NodeServices.layer))

const timeCedar = async (collect: string) => {
  const dir = target()
  const peer = new LocalPeer.LocalPeer({ name: "bench", collectDir: collect })
  const started = performance.now()
  await Effect.runPromise(
    Effect.flatMap(LocalPeer.LocalPeers, (local) => local.stagePeer(peer, dir)).pipe(Effect.provide(layer))
  )
  return (performance.now() - started) / 1000
}

const timeCp = (collect: string) => {
  const dir = target()
  const started = performance.now()
  // the files, not the directory: what staging does too
  const done = spawnSync("cp", ["-pR", "--", `${collect}/.`, `${dir}/`], { stdio: "inherit" })
  if (done.status !== 0) throw new Error("cp -p failed")
  return (performance.now() - started) / 1000
}

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async () => {
  console.log(`local staging vs cp -p, ${rounds} interleaved rounds, medians (${os.cpus().length} CPUs, ${root})`)
  for (const w of workloads) {
    const collect = path.join(root, `src-${w.count}`)
    generate(collect, w.count, w.size)
    const cedar: Array<number> = []
    const cp: Array<number> = []
    for (let r = 0; r < rounds; r++) {
      cedar.push(await timeCedar(collect))
      cp.push(timeCp(collect))
    }
    const mib = (w.count * w.size) / (1024 * 1024)
    const line = (label: string, s: number) =>
      `  ${label.padEnd(10)} ${s.toFixed(3).padStart(8)} s  ${(w.count / s).toFixed(0).padStart(8)} files/s  ${(mib / s).toFixed(1).padStart(8)} MiB/s`
    console.log(w.name)
    console.log(line("cedar-peer", median(cedar)))
    console.log(line("cp -p", median(cp)))
    console.log(`  ratio      ${(median(cedar) / median(cp)).toFixed(2)}× cp -p`)
  }
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`)
}

main().finally(() => fs.rmSync(root, { recursive: true, force: true }))

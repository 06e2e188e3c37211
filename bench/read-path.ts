// What reading a child's stdout costs the master, per GiB, by the way it is read: Node's own
// child_process against Effect 4's ChildProcessSpawner streams, alone and feeding a tar
// parser: tar-stream, as the tar transport did, and the transport's own reader (TarReader). The child is `tar c` of one big file (from the
// page cache), so the bytes are those a tar transport receives; only this process's CPU is
// counted (process.cpuUsage: the child's own is not in it). Then what one short child (`true`)
// costs this process, run to its end both ways.
//
//   node scripts/run-ts.mjs bench/read-path.ts [--mib 512] [--runs 3]
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Stream } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { extract as makeExtract } from "tar-stream"
import { TarReader } from "../src/peers/internal/remote/tarReader.js"
import { command, runToEnd, start } from "../src/peers/process.js"

const { values } = parseArgs({ options: { mib: { type: "string", default: "512" }, runs: { type: "string", default: "3" } } })
const MIB = Number(values.mib)
const RUNS = Number(values.runs)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-read-path-"))
const file = path.join(dir, "big.dat")
const block = randomBytes(1024 * 1024)
const fd = fs.openSync(file, "w")
for (let i = 0; i < MIB; i++) fs.writeSync(fd, block)
fs.closeSync(fd)
const argv = ["tar", "cf", "-", "-C", dir, "big.dat"]

/** Drains a tar stream fed chunk by chunk from `source`, as the transport's unpack does (no disk writes). */
const untar = async (source: AsyncIterable<Uint8Array>): Promise<number> => {
  const extract = makeExtract()
  const feeding = (async () => {
    for await (const chunk of source) {
      if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once("drain", resolve))
    }
    extract.end(undefined)
  })()
  let bytes = 0
  for await (const entry of extract) for await (const chunk of entry as AsyncIterable<Uint8Array>) bytes += chunk.length
  await feeding
  return bytes
}

/** Reads the stream with the transport's own reader, fed chunk by chunk (no disk writes). */
const readTar = async (source: AsyncIterable<Uint8Array>): Promise<number> => {
  let bytes = 0
  const reader = new TarReader<never>({ header: () => undefined, data: (chunk) => void (bytes += chunk.length), end: () => undefined })
  for await (const chunk of source) if (reader.push(chunk) !== undefined) throw new Error("unreadable tar stream")
  if (reader.end() !== undefined) throw new Error("unreadable tar stream")
  return bytes
}

/** The transport's reader fed by whole batches of the Effect stream: no promise per chunk. */
const readTarBatches = (stdout: Stream.Stream<Uint8Array, unknown>) =>
  Effect.gen(function*() {
    let bytes = 0
    const reader = new TarReader<never>({ header: () => undefined, data: (chunk) => void (bytes += chunk.length), end: () => undefined })
    yield* Stream.runForEachArray(stdout, (chunks) => {
      for (const chunk of chunks) if (reader.push(chunk) !== undefined) return Effect.die("unreadable tar stream")
      return Effect.void
    })
    if (reader.end() !== undefined) return yield* Effect.die("unreadable tar stream")
    return bytes
  })

/** The same, fed by whole batches of the Effect stream (one fiber run per batch, not per chunk). */
const untarBatches = (stdout: Stream.Stream<Uint8Array, unknown>) =>
  Effect.gen(function*() {
    const extract = makeExtract()
    let bytes = 0
    const reading = (async () => {
      for await (const entry of extract) for await (const chunk of entry as AsyncIterable<Uint8Array>) bytes += chunk.length
    })()
    yield* Stream.runForEachArray(stdout, (chunks) => {
      let full = false
      for (const chunk of chunks) full = !extract.write(chunk)
      return full ? Effect.callback<void>((resume) => void extract.once("drain", () => resume(Effect.void))) : Effect.void
    })
    extract.end(undefined)
    yield* Effect.promise(() => reading)
    return bytes
  })

const raw = (consume: (stdout: AsyncIterable<Uint8Array>) => Promise<number>) => async (): Promise<number> => {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] })
  const bytes = await consume(child.stdout)
  await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)))
  return bytes
}

const viaEffect = (consume: (stdout: Stream.Stream<Uint8Array, unknown>) => Effect.Effect<number, unknown>) => (): Promise<number> =>
  Effect.runPromise(
    Effect.scoped(Effect.gen(function*() {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const { child } = yield* start(spawner, command(argv))
      const bytes = yield* consume(child.stdout)
      yield* child.exitCode
      return bytes
    })).pipe(Effect.provide(NodeServices.layer))
  )

const drain = async (source: AsyncIterable<Uint8Array>) => {
  let bytes = 0
  for await (const chunk of source) bytes += chunk.length
  return bytes
}

const ways: Array<[string, () => Promise<number>]> = [
  ["child_process, drained", raw(drain)],
  ["ChildProcessSpawner, runForEachArray", viaEffect((stdout) => {
    let bytes = 0
    return Stream.runForEachArray(stdout, (chunks) => Effect.sync(() => chunks.forEach((c) => (bytes += c.length)))).pipe(Effect.map(() => bytes))
  })],
  ["ChildProcessSpawner, toAsyncIterable", viaEffect((stdout) => Effect.promise(() => drain(Stream.toAsyncIterable(stdout))))],
  ["child_process → tar-stream", raw(untar)],
  ["ChildProcessSpawner toAsyncIterable → tar-stream (before)", viaEffect((stdout) => Effect.promise(() => untar(Stream.toAsyncIterable(stdout))))],
  ["ChildProcessSpawner runForEachArray → tar-stream", viaEffect(untarBatches)],
  ["child_process → TarReader", raw(readTar)],
  ["ChildProcessSpawner toAsyncIterable → TarReader (1.0)", viaEffect((stdout) => Effect.promise(() => readTar(Stream.toAsyncIterable(stdout))))],
  ["ChildProcessSpawner runForEachArray → TarReader", viaEffect(readTarBatches)]
]

const samples = new Map<string, Array<{ cpu: number; wall: number }>>(ways.map(([name]) => [name, []]))
for (let run = 0; run < RUNS; run++) {
  for (const [name, way] of ways) {
    const cpu = process.cpuUsage()
    const started = performance.now()
    const bytes = await way()
    const used = process.cpuUsage(cpu)
    if (bytes < MIB * 1024 * 1024) throw new Error(`${name}: read ${bytes} bytes`)
    samples.get(name)!.push({ cpu: (used.user + used.system) / 1e6, wall: (performance.now() - started) / 1000 })
  }
}
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const gib = MIB / 1024
console.log(`reading ${MIB} MiB of tar c's stdout, medians of ${RUNS}, this process's CPU only; load ${os.loadavg()[0]!.toFixed(1)}`)
console.log(`${"way".padEnd(56)} ${"CPU s/GiB".padStart(10)} ${"wall s/GiB".padStart(11)}`)
for (const [name, list] of samples) {
  console.log(`${name.padEnd(56)} ${(median(list.map((s) => s.cpu)) / gib).toFixed(2).padStart(10)} ${(median(list.map((s) => s.wall)) / gib).toFixed(2).padStart(11)}`)
}
fs.rmSync(dir, { recursive: true, force: true })

// What one short child costs this process: `true`, run to its end 200 times each way.
const CHILDREN = 200
const perChild = async (label: string, many: () => Promise<void>) => {
  const cpu = process.cpuUsage()
  await many()
  const used = process.cpuUsage(cpu)
  console.log(`${label.padEnd(56)} ${(((used.user + used.system) / 1000) / CHILDREN).toFixed(2).padStart(10)} ms CPU a child`)
}
for (let run = 0; run < 2; run++) {
  await perChild("child_process.spawn, stdout and stderr read", async () => {
    for (let i = 0; i < CHILDREN; i++) {
      await new Promise<void>((resolve) => {
        const child = spawn("true", [], { stdio: ["ignore", "pipe", "pipe"] })
        child.stdout.resume()
        child.stderr.resume()
        child.on("close", () => resolve())
      })
    }
  })
  await perChild("ChildProcessSpawner (runToEnd, as cedar-peer runs a child)", () =>
    Effect.runPromise(
      Effect.gen(function*() {
        const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
        for (let i = 0; i < CHILDREN; i++) yield* runToEnd(spawner, command(["true"]))
      }).pipe(Effect.provide(NodeServices.layer))
    ))
}

// --metrics-file's text: the Prometheus exposition format, label escaping, last success carried over.
import { NodeServices } from "@effect/platform-node"
import { Effect, type FileSystem, type Path } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  escapeLabel,
  MAX_PREVIOUS_BYTES,
  parseLastSuccess,
  readPreviousLastSuccess,
  renderMetrics,
  type RunMetrics,
  writeMetricsFile
} from "../../src/cli/metrics.js"
import type { PeerStageResult } from "../../src/pool/Pool.js"

const result = (name: string, status: PeerStageResult["status"], files = 0, bytes = 0): PeerStageResult => ({
  name,
  type: "local",
  status,
  files,
  bytes,
  ignored: false
})

const run = (over: Partial<RunMetrics> = {}): RunMetrics => ({
  config: "/etc/cback3.conf",
  startedAt: 1_796_000_000_000,
  endedAt: 1_796_000_090_500,
  outcome: "failed",
  peers: [
    { result: result("alpha", "staged", 3, 1024), seconds: 12.5 },
    { result: result("beta", "unreachable"), seconds: 30 }
  ],
  previousLastSuccess: new Map([["beta", 1_795_900_000]]),
  ...over
})

const LAST = "cedar_peer_stage_peer_last_success_timestamp_seconds"

const sample = (text: string, name: string, labels: string) =>
  text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`))?.split(" ").at(-1)

const promtool = spawnSync("promtool", ["--version"]).status === 0

describe("renderMetrics", () => {
  it("per peer status, files, bytes, duration and last success; the run's start, end and outcome", () => {
    const text = renderMetrics(run())
    const pool = `config="/etc/cback3.conf"`
    expect(sample(text, "cedar_peer_stage_start_timestamp_seconds", pool)).toBe("1796000000")
    expect(sample(text, "cedar_peer_stage_end_timestamp_seconds", pool)).toBe("1796000090.5")
    expect(sample(text, "cedar_peer_stage_success", pool)).toBe("0")
    expect(sample(text, "cedar_peer_stage_outcome", `${pool},outcome="failed"`)).toBe("1")
    expect(sample(text, "cedar_peer_stage_outcome", `${pool},outcome="ok"`)).toBe("0")
    expect(sample(text, "cedar_peer_stage_peer_status", `${pool},peer="alpha",status="staged"`)).toBe("1")
    expect(sample(text, "cedar_peer_stage_peer_status", `${pool},peer="beta",status="unreachable"`)).toBe("1")
    expect(sample(text, "cedar_peer_stage_peer_status", `${pool},peer="beta",status="staged"`)).toBe("0")
    expect(sample(text, "cedar_peer_stage_peer_files", `${pool},peer="alpha"`)).toBe("3")
    expect(sample(text, "cedar_peer_stage_peer_bytes", `${pool},peer="alpha"`)).toBe("1024")
    expect(sample(text, "cedar_peer_stage_peer_duration_seconds", `${pool},peer="alpha"`)).toBe("12.5")
    // staged now: the run's end; not staged: the earlier run's value carried over
    expect(sample(text, "cedar_peer_stage_peer_last_success_timestamp_seconds", `${pool},peer="alpha"`)).toBe("1796000090.5")
    expect(sample(text, "cedar_peer_stage_peer_last_success_timestamp_seconds", `${pool},peer="beta"`)).toBe("1795900000")
    expect(text.endsWith("\n")).toBe(true)
  })

  it("escapes label values and reads them back", () => {
    expect(escapeLabel(`a\\b"c\nd`)).toBe(`a\\\\b\\"c\\nd`)
    const odd = `we"ird\\peer\nname`
    const text = renderMetrics(run({ config: `/etc/"x".conf`, peers: [{ result: result(odd, "staged"), seconds: 1 }], previousLastSuccess: new Map() }))
    expect(parseLastSuccess(text, `/etc/"x".conf`)).toEqual(new Map([[odd, 1_796_000_090.5]]))
    // another pool's file is not this pool's history
    expect(parseLastSuccess(text, "/etc/other.conf")).toEqual(new Map())
  })

  it("carries over what it can read from a damaged file", () => {
    const text = [
      "garbage",
      `cedar_peer_stage_peer_last_success_timestamp_seconds{config="/etc/cback3.conf",peer="alpha"} 17`,
      `cedar_peer_stage_peer_last_success_timestamp_seconds{config="/etc/cback3.conf",peer="beta"} not-a-number`,
      `cedar_peer_stage_peer_last_success_timestamp_seconds{config="/etc/cback3.conf"`
    ].join("\n")
    expect(parseLastSuccess(text, "/etc/cback3.conf")).toEqual(new Map([["alpha", 17]]))
  })

  it.skipIf(!promtool)("passes promtool check metrics", () => {
    const checked = spawnSync("promtool", ["check", "metrics"], {
      input: renderMetrics(run({ peers: [{ result: result(`x"y\\z`, "failed"), seconds: undefined }] })),
      encoding: "utf8"
    })
    expect(checked.stderr + checked.stdout).toBe("")
    expect(checked.status).toBe(0)
  })
})

describe("the metrics file in a directory another user writes", () => {
  const inTemp = <A>(body: (dir: string) => Promise<A>) => {
    const dir = mkdtempSync(join(tmpdir(), "cedar-metrics-"))
    return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }))
  }
  const runNode = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
    Effect.runPromise(effect.pipe(Effect.provide(NodeServices.layer)))

  it("links planted for this process's temporary name receive nothing: the temporary file has a name nobody can guess", () =>
    inTemp(async (dir) => {
      const secret = join(dir, "secret")
      writeFileSync(secret, "root's own\n", { mode: 0o600 })
      // what 1.0.0 wrote to: `.NAME.<pid>.tmp`, predictable from the pids to come
      symlinkSync(secret, join(dir, `.cedar_peer.prom.${process.pid}.tmp`))
      await runNode(writeMetricsFile(join(dir, "cedar_peer.prom"), "cedar_peer_stage_success 1\n"))
      expect(readFileSync(secret, "utf8")).toBe("root's own\n")
      expect(readFileSync(join(dir, "cedar_peer.prom"), "utf8")).toBe("cedar_peer_stage_success 1\n")
      expect(statSync(join(dir, "cedar_peer.prom")).mode & 0o777).toBe(0o644)
      expect(readdirSync(dir).sort()).toEqual([`.cedar_peer.prom.${process.pid}.tmp`, "cedar_peer.prom", "secret"])
    }))

  it("a previous file larger than the bound is not read", () =>
    inTemp(async (dir) => {
      const file = join(dir, "cedar_peer.prom")
      writeFileSync(file, `${LAST}{config="/c",peer="alpha"} 17\n`)
      truncateSync(file, MAX_PREVIOUS_BYTES + 1) // sparse: no disk spent
      expect(await runNode(readPreviousLastSuccess(file, "/c"))).toEqual(new Map())
      truncateSync(file, 100)
      expect(await runNode(readPreviousLastSuccess(file, "/c"))).toEqual(new Map([["alpha", 17]]))
    }))
})

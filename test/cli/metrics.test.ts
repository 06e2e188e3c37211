// --metrics-file's text: the Prometheus exposition format, label escaping, last success carried over.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { escapeLabel, parseLastSuccess, renderMetrics, type RunMetrics } from "../../src/cli/metrics.js"
import type { PeerStageResult } from "../../src/Pool.js"

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

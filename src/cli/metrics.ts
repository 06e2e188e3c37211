// `--metrics-file`: the outcome of a stage run in the Prometheus text format, for node_exporter's
// textfile collector. Hand-written: a dozen gauges need a formatter and label escaping, not a
// metrics client with a global registry (prom-client) loaded on every start of a nightly CLI.
import { Effect, FileSystem, Path } from "effect"
import { FileOperationFailed } from "../PeerError.js"
import type { PeerStageResult } from "../Pool.js"

/** The statuses a peer's status gauge lists (one series each, 1 for the peer's status). */
export const PEER_STATUSES = ["staged", "not-ready", "unreachable", "failed", "interrupted"] as const
/** The outcomes of a run. */
export const RUN_OUTCOMES = ["ok", "failed", "interrupted"] as const

/** What one run contributes to the metrics file. */
export interface RunMetrics {
  readonly config: string
  readonly startedAt: number
  readonly endedAt: number
  readonly outcome: typeof RUN_OUTCOMES[number]
  readonly peers: ReadonlyArray<{ readonly result: PeerStageResult; readonly seconds: number | undefined }>
  /** the previous run's last-success times, by peer (read from the file being replaced) */
  readonly previousLastSuccess: ReadonlyMap<string, number>
}

const LAST_SUCCESS = "cedar_peer_stage_peer_last_success_timestamp_seconds"

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const unescapeLabel = (value: string): string => value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c))

const labels = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`

const number = (value: number): string => (Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN")

interface Family {
  readonly name: string
  readonly help: string
  readonly samples: ReadonlyArray<readonly [ReadonlyArray<readonly [string, string]>, number]>
}

const family = (f: Family): string =>
  [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`, ...f.samples.map(([l, v]) => `${f.name}${labels(l)} ${number(v)}`)].join("\n")

/** The metrics file's text. */
export const renderMetrics = (run: RunMetrics): string => {
  const pool = [["config", run.config]] as const
  const peer = (name: string) => [...pool, ["peer", name] as const]
  const seconds = (millis: number) => millis / 1000
  const lastSuccess = new Map(run.previousLastSuccess)
  for (const { result } of run.peers) if (result.status === "staged") lastSuccess.set(result.name, seconds(run.endedAt))
  const families: Array<Family> = [
    { name: "cedar_peer_stage_start_timestamp_seconds", help: "When the last stage run started (Unix time).", samples: [[pool, seconds(run.startedAt)]] },
    { name: "cedar_peer_stage_end_timestamp_seconds", help: "When the last stage run ended (Unix time).", samples: [[pool, seconds(run.endedAt)]] },
    { name: "cedar_peer_stage_success", help: "1 when the last stage run succeeded (exit status 0), else 0.", samples: [[pool, run.outcome === "ok" ? 1 : 0]] },
    {
      name: "cedar_peer_stage_outcome",
      help: "The outcome of the last stage run: 1 for the outcome it had.",
      samples: RUN_OUTCOMES.map((o) => [[...pool, ["outcome", o]], o === run.outcome ? 1 : 0] as const)
    },
    {
      name: "cedar_peer_stage_peer_status",
      help: "The status of each peer in the last stage run: 1 for the status it had.",
      samples: run.peers.flatMap(({ result }) =>
        PEER_STATUSES.map((s) => [[...peer(result.name), ["status", s]], s === result.status ? 1 : 0] as const)
      )
    },
    {
      name: "cedar_peer_stage_peer_ignored",
      help: "1 when the peer's failure was ignored by its failure mode.",
      samples: run.peers.map(({ result }) => [peer(result.name), result.ignored ? 1 : 0] as const)
    },
    { name: "cedar_peer_stage_peer_files", help: "Files staged from the peer in the last stage run.", samples: run.peers.map(({ result }) => [peer(result.name), result.files] as const) },
    { name: "cedar_peer_stage_peer_bytes", help: "Bytes staged from the peer in the last stage run.", samples: run.peers.map(({ result }) => [peer(result.name), result.bytes] as const) },
    {
      name: "cedar_peer_stage_peer_duration_seconds",
      help: "How long the peer took in the last stage run.",
      samples: run.peers.flatMap(({ result, seconds: s }) => (s === undefined ? [] : [[peer(result.name), s] as const]))
    },
    {
      name: LAST_SUCCESS,
      help: "When the peer was last staged successfully (Unix time), carried over from earlier runs.",
      samples: [...lastSuccess].sort(([a], [b]) => a.localeCompare(b)).map(([name, at]) => [peer(name), at] as const)
    }
  ]
  return families.filter((f) => f.samples.length > 0).map(family).join("\n") + "\n"
}

/** The last-success times of an earlier metrics file, by peer (for this config only); unreadable lines are skipped. */
export const parseLastSuccess = (text: string, config: string): Map<string, number> => {
  const found = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${LAST_SUCCESS}{`)) continue
    const close = line.lastIndexOf("}")
    if (close < 0) continue
    const pairs = new Map<string, string>()
    for (const m of line.slice(LAST_SUCCESS.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) pairs.set(m[1]!, unescapeLabel(m[2]!))
    const value = Number(line.slice(close + 1).trim().split(/\s+/)[0])
    const name = pairs.get("peer")
    if (name !== undefined && (pairs.get("config") ?? config) === config && Number.isFinite(value)) found.set(name, value)
  }
  return found
}

/** Reads the last-success times from the file about to be replaced (none when it does not exist). */
export const readPreviousLastSuccess = (file: string, config: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    return parseLastSuccess(text, config)
  })

/** Writes the metrics file atomically: a temporary file in the same directory (not ending in .prom, so the collector skips it), then a rename. */
export const writeMetricsFile = (file: string, text: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
    const failed = (operation: "create" | "rename", target: string) => (cause: unknown) =>
      new FileOperationFailed({ peer: "master", operation, path: target, cause })
    yield* fs.writeFileString(temp, text, { mode: 0o644 }).pipe(Effect.mapError(failed("create", temp)))
    yield* fs.rename(temp, file).pipe(
      Effect.mapError(failed("rename", file)),
      Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore))
    )
  })

// `--metrics-file`: the outcome of a stage run in the Prometheus text format, for node_exporter's
// textfile collector. Hand-written: a dozen gauges need a formatter and label escaping, not a
// metrics client with a global registry (prom-client) loaded on every start of a nightly CLI.
import { Effect, FileSystem, Path } from "effect"
import { readRegularFile, replaceFile } from "../disk/configuredFile.js"
import { FileOperationFailed } from "../domain/PeerError.js"
import type { PeerStageResult } from "../pool/Pool.js"

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

/** The largest metrics file read back (a few hundred bytes a peer are written). */
export const MAX_PREVIOUS_BYTES = 16 * 1024 * 1024

/**
 * Reads the last-success times from the file about to be replaced (none when it does not
 * exist). The file is in a directory another user may write: a link, a fifo or a file over
 * `MAX_PREVIOUS_BYTES` there is not read, only warned about (the run goes on; the file is
 * replaced at the end, the link itself and not its target).
 */
export const readPreviousLastSuccess = (file: string, config: string) =>
  Effect.try({ try: () => readRegularFile(file, MAX_PREVIOUS_BYTES), catch: (error) => error as { readonly message: string } }).pipe(
    Effect.map((bytes) => parseLastSuccess(bytes === undefined ? "" : bytes.toString("utf8"), config)),
    Effect.catch((error) =>
      Effect.as(
        Effect.logWarning(`--metrics-file: not read, last-success times start afresh: ${error.message}`),
        new Map<string, number>()
      )
    )
  )

/** The config file's canonical path, for the `config` label: one series per pool however the file was named. */
export const canonicalConfig = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    return yield* fs.realPath(file).pipe(Effect.orElseSucceed(() => path.resolve(file)))
  })

const OPERATIONS = ["open", "create", "rename"] as const

/**
 * Writes the metrics file atomically: a new file created exclusively under a random name (not
 * ending in .prom, so the collector skips it) in the file's directory held open, then renamed
 * over the file there.
 */
export const writeMetricsFile = (file: string, text: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const name = path.basename(file)
    yield* Effect.try({
      try: () => replaceFile(path.dirname(file), name, text, 0o644, (random) => `.${name}.${process.pid}.${random}.tmp`),
      catch: (cause) => {
        const operation = (cause as { operation?: string }).operation
        return new FileOperationFailed({
          peer: "master",
          operation: OPERATIONS.find((o) => o === operation) ?? "create",
          path: (cause as { path?: string }).path ?? file,
          cause
        })
      }
    })
  })

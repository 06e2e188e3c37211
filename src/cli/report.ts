// Rendering of results for people and for --json, the exit status of a run, and where logs go.
import { ValidationError } from "@effect/cli"
import { Cause, Console, Data, Effect, HashMap, Logger, LogLevel, Option } from "effect"
import type { ActionSummary, CheckSummary, StageSummary } from "../Pool.js"

/** The command printed its result, which is a failure: exit 1 without printing anything more. */
export class Unsuccessful extends Data.TaggedError("Unsuccessful")<{}> {}

/** Exit statuses: 0 all well (or every failure ignored), 1 an operation failed, 2 usage or configuration. */
export const ExitStatus = { ok: 0, failed: 1, usage: 2 } as const

const USAGE_TAGS = new Set(["ConfigError", "InvalidPeerConfig"])

const isTagged = (u: unknown): u is { readonly _tag: string; readonly message: string } =>
  typeof u === "object" && u !== null && "_tag" in u && typeof (u as { _tag: unknown })._tag === "string"

/** The exit status a failed run ends with: 2 for usage and configuration errors, else 1. */
export const exitStatusOf = (cause: Cause.Cause<unknown>): number => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return Cause.isInterruptedOnly(cause) ? 130 : ExitStatus.failed
  const error = failure.value
  if (isValidationError(error)) return error._tag === "HelpRequested" ? ExitStatus.ok : ExitStatus.usage
  if (isTagged(error) && USAGE_TAGS.has(error._tag)) return ExitStatus.usage
  return ExitStatus.failed
}

const isValidationError = ValidationError.isValidationError

/** `error[Tag] peer NAME: message` on stderr (and a JSON document on stdout with --json). */
export const printFailure = (cause: Cause.Cause<unknown>, json: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (error instanceof Unsuccessful) return
      if (isValidationError(error)) {
        if (json && error._tag !== "HelpRequested") {
          yield* Console.log(JSON.stringify({ ok: false, error: { _tag: "UsageError", message: "invalid command line" } }))
        }
        return // @effect/cli has already printed what was wrong
      }
      if (isTagged(error)) {
        yield* Console.error(`error[${error._tag}] ${error.message}`)
        if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: error._tag, message: error.message } }))
        return
      }
    }
    if (Cause.isInterruptedOnly(cause)) {
      yield* Console.error("error[Interrupted] interrupted: nothing half-staged was left behind")
      return
    }
    yield* Console.error(`error[Defect] unexpected failure, please report it:\n${Cause.pretty(cause)}`)
    if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: "Defect", message: Cause.pretty(cause) } }))
  })

/** Human-readable sizes: 1536 → "1.5 KiB". */
export const formatBytes = (bytes: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** The stage summary as `stage --json`'s document. */
export const stageJson = (summary: StageSummary) => ({
  dailyDir: summary.dailyDir,
  full: summary.full,
  ok: summary.ok,
  peers: summary.peers.map((p) => ({
    name: p.name,
    type: p.type,
    status: p.status,
    files: p.files,
    bytes: p.bytes,
    ignored: p.ignored,
    ...(p.error === undefined ? {} : { error: { _tag: p.error._tag, message: p.error.message } })
  }))
})

// One line per peer. A failed peer's message (which may carry every line a copy printed) was
// logged on stderr when the peer ended: the table names the error instead of printing it again.
const firstLine = (text: string): string => {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "")
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? "")
}

/** The stage summary for people. */
export const stageText = (summary: StageSummary): string => {
  const rows = summary.peers.map((p) => [
    p.name,
    p.type,
    p.status,
    String(p.files),
    formatBytes(p.bytes),
    [p.ignored ? "(ignored)" : "", p.error ? `${p.error._tag} (message on stderr)` : firstLine(p.reason ?? "")]
      .filter(Boolean)
      .join(" ")
  ])
  const staged = summary.peers.filter((p) => p.status === "staged").length
  const files = summary.peers.reduce((n, p) => n + p.files, 0)
  const bytes = summary.peers.reduce((n, p) => n + p.bytes, 0)
  return [
    `daily directory: ${summary.dailyDir}${summary.full ? " (full run)" : ""}`,
    table(["PEER", "TYPE", "STATUS", "FILES", "BYTES", "NOTE"], rows),
    `${staged} of ${summary.peers.length} peer(s) staged, ${files} file(s), ${formatBytes(bytes)}: ${summary.ok ? "ok" : "FAILED"}`
  ].join("\n")
}

/** The check summary as `check --json`'s document. */
export const checkJson = (summary: CheckSummary) => ({
  ok: summary.ok,
  peers: summary.peers.map((p) => ({
    name: p.name,
    type: p.type,
    ready: p.ready,
    status: p.status,
    ...(p.reason === undefined ? {} : { reason: p.reason })
  }))
})

/** The check summary for people. */
export const checkText = (summary: CheckSummary): string =>
  table(["PEER", "TYPE", "STATUS", "REASON"], summary.peers.map((p) => [p.name, p.type, p.status, p.reason ?? ""]))

/** The managed-action summary for people. */
export const actionText = (summary: ActionSummary): string =>
  summary.peers.length === 0
    ? `no managed peer runs the action ${summary.action}`
    : table(
      ["PEER", "ACTION", "STATUS", "ERROR"],
      summary.peers.map((p) => [p.name, summary.action, p.status, p.error ? `${p.error._tag}: ${p.error.message}` : ""])
    )

/** One line per log event on stderr, with its annotations (e.g. `peer=alpha`): stdout stays for results. */
export const stderrLogger = Logger.make(({ annotations, date, logLevel, message }) => {
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  const tags = HashMap.reduce(annotations, "", (acc, value, key) => `${acc} ${key}=${String(value)}`)
  globalThis.console.error(`${date.toISOString()} ${logLevel.label}${tags} ${text}`)
})

/** The log level from `CEDAR_PEER_LOG` (debug, info, warning, error), info by default. */
export const logLevelFrom = (value: string | undefined): LogLevel.LogLevel =>
  ({ debug: LogLevel.Debug, info: LogLevel.Info, warning: LogLevel.Warning, error: LogLevel.Error } as const)[
    (value ?? "info").toLowerCase() as "info"
  ] ?? LogLevel.Info

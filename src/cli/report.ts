// Rendering of results for people and for --json, the exit status of a run, and where logs go.
import { Cause, Console, Data, Effect, Logger, type LogLevel, Option, References, Schema } from "effect"
import { CliError } from "effect/cli"
import type { ActionSummary, CheckSummary, PeerStageResult, StageSummary } from "../pool/Pool.js"
import { quoteLine } from "../domain/shellWords.js"
import { escapeControl, escapeMessage } from "./output.js"
import { columnsFor, finalRow, formatBytes, headerRow, noteOf } from "./progress.js"

/** The command printed its result, which is a failure: exit 1 without printing anything more. */
export class Unsuccessful extends Data.TaggedError("Unsuccessful")<{}> {}

/** A mistake on the command line (exit 2); `command` points the user to that command's help. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String,
  command: Schema.optional(Schema.String)
}) {}

/** Exit statuses: 0 ok, 1 an operation failed, 2 usage or configuration error. */
export const ExitStatus = { ok: 0, failed: 1, usage: 2 } as const

const USAGE_TAGS = new Set(["ConfigError", "InvalidPeerConfig", "UsageError"])

const isTagged = (u: unknown): u is { readonly _tag: string; readonly message: string } =>
  typeof u === "object" && u !== null && "_tag" in u && typeof (u as { _tag: unknown })._tag === "string"

/** effect/cli asked for help without an error: not a failure of the user's. */
const isHelpOnly = (error: CliError.CliError) => error._tag === "ShowHelp" && error.errors.length === 0

/** The exit status a failed run ends with: 2 for usage and configuration errors, else 1. */
export const exitStatusOf = (cause: Cause.Cause<unknown>): number => {
  const failure = Cause.findErrorOption(cause)
  if (Option.isNone(failure)) return Cause.hasInterruptsOnly(cause) ? 130 : ExitStatus.failed
  const error = failure.value
  if (CliError.isCliError(error)) return isHelpOnly(error) ? ExitStatus.ok : ExitStatus.usage
  if (isTagged(error) && USAGE_TAGS.has(error._tag)) return ExitStatus.usage
  return ExitStatus.failed
}

/** `error[Tag] peer NAME: message` on stderr (and a JSON document on stdout with --json). */
export const printFailure = (cause: Cause.Cause<unknown>, json: boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    const failure = Cause.findErrorOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (error instanceof Unsuccessful) return
      // effect/cli's errors become UsageError (commands.ts); a bare request for help says nothing more
      if (CliError.isCliError(error) && isHelpOnly(error)) return
      if (error instanceof UsageError) {
        yield* Console.error(`error[UsageError] ${escapeControl(error.message)}`)
        yield* Console.error(`(see cedar-peer ${error.command === undefined ? "" : `${error.command} `}--help)`)
        if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: error._tag, message: error.message } }))
        return
      }
      if (isTagged(error)) {
        // a message may carry what a peer sent (a remote command's stderr): one line per line it means
        yield* Console.error(`error[${error._tag}] ${escapeMessage(error.message)}`)
        if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: error._tag, message: error.message } }))
        return
      }
    }
    if (Cause.hasInterruptsOnly(cause)) {
      yield* Console.error("error[Interrupted] interrupted: nothing half-staged was left behind")
      if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: "Interrupted", message: "interrupted: nothing half-staged was left behind" } }))
      return
    }
    yield* Console.error(`error[Defect] unexpected failure, please report it:\n${Cause.pretty(cause)}`)
    if (json) yield* Console.log(JSON.stringify({ ok: false, error: { _tag: "Defect", message: Cause.pretty(cause) } }))
  })

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** Why a peer was not staged, in words: its reason, else its error's message. */
export const reasonOf = (p: PeerStageResult): string | undefined =>
  p.status === "staged" ? p.reason : p.reason ?? p.error?.message ?? p.status

/** The stage summary as the JSON document of `stage --json`: every peer not staged has a `reason`. */
export const stageJson = (summary: StageSummary) => ({
  dailyDir: summary.dailyDir,
  full: summary.full,
  ok: summary.ok,
  ...(summary.interrupted === true ? { interrupted: true } : {}),
  peers: summary.peers.map((p) => {
    const reason = reasonOf(p)
    return {
      name: p.name,
      type: p.type,
      status: p.status,
      files: p.files,
      bytes: p.bytes,
      ignored: p.ignored,
      ...(reason === undefined ? {} : { reason }),
      ...(p.error === undefined ? {} : { error: { _tag: p.error._tag, message: p.error.message } })
    }
  })
})

/** The last line of a stage run: how many peers, files and bytes, and whether it was ok. */
export const stageTotals = (summary: StageSummary): string => {
  const staged = summary.peers.filter((p) => p.status === "staged").length
  const files = summary.peers.reduce((n, p) => n + p.files, 0)
  const bytes = summary.peers.reduce((n, p) => n + p.bytes, 0)
  return `${staged} of ${summary.peers.length} peer(s) staged, ${files} file(s), ${formatBytes(bytes)}: ${summary.ok ? "ok" : "FAILED"}`
}

/** The stage summary for people; `millis` gives each peer's time when known, `cause` why it failed in words. */
export const stageText = (
  summary: StageSummary,
  millis: (name: string) => number | undefined = () => undefined,
  cause: (name: string) => string | undefined = () => undefined
): string => {
  const columns = columnsFor(summary.peers.map((p) => p.name))
  return [
    `daily directory: ${summary.dailyDir}${summary.full ? " (full run)" : ""}`,
    headerRow(columns),
    ...summary.peers.map((p) => finalRow(columns, p, millis(p.name), cause(p.name))),
    stageTotals(summary),
    ...(summary.interrupted === true ? ["stopped before the end: the master's stage indicator was not written"] : [])
  ].join("\n")
}

/** The peers a failed night must stage again: not staged, and their failures not ignored. */
export const failedPeers = (summary: StageSummary): ReadonlyArray<string> =>
  summary.peers.filter((p) => p.status !== "staged" && !p.ignored).map((p) => p.name)

/** The command line that stages just the failed peers again, with the same config (quoted for a shell). */
export const rerunLine = (summary: StageSummary, config: string): string =>
  quoteLine(["cedar-peer", "stage", "--config", config, ...(summary.full ? ["--full"] : []), ...failedPeers(summary).flatMap((name) => ["--peer", name])])

/** The check summary as `check --json`'s document. */
export const checkJson = (summary: ExplainedCheck) => ({
  ok: summary.ok,
  peers: summary.peers.map((p) => ({
    name: p.name,
    type: p.type,
    ready: p.ready,
    status: p.status,
    ...(p.reason === undefined ? {} : { reason: p.reason }),
    ...(p.cause === undefined ? {} : { cause: p.cause })
  }))
})

/** A check summary with each peer's cause in words, where one is known. */
type ExplainedCheck = { readonly ok: boolean; readonly peers: ReadonlyArray<CheckSummary["peers"][number] & { readonly cause?: string | undefined }> }

/** The check summary for people: the cause in words where known, else the reason as it came. */
export const checkText = (summary: ExplainedCheck): string =>
  table(["PEER", "TYPE", "STATUS", "REASON"], summary.peers.map((p) => [p.name, p.type, p.status, escapeControl(p.cause ?? p.reason ?? "")]))

/** The managed-action summary as `action --json`'s document: each failure as its tag and message. */
export const actionJson = (summary: ActionSummary) => ({
  action: summary.action,
  full: summary.full,
  ok: summary.ok,
  peers: summary.peers.map((p) => ({
    name: p.name,
    status: p.status,
    ...(p.error === undefined ? {} : { error: { _tag: p.error._tag, message: p.error.message } }),
    ...(p.reason === undefined ? {} : { reason: p.reason })
  }))
})

/** The managed-action summary for people. */
export const actionText = (summary: ActionSummary): string =>
  summary.peers.length === 0
    ? `no managed peer runs the action ${summary.action}`
    : table(
      ["PEER", "ACTION", "STATUS", "ERROR"],
      summary.peers.map((p) => [p.name, summary.action, p.status, p.error ? noteOf({ ...p, ignored: false, status: "failed" }) : ""])
    )

/** One line per log event on stderr, with its annotations (e.g. `peer=alpha`): stdout stays for results. */
export const stderrLogger = Logger.make(({ date, fiber, logLevel, message }) => {
  const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
  const annotations = Object.entries(fiber.getRef(References.CurrentLogAnnotations))
  const tags = annotations.map(([key, value]) => ` ${key}=${String(value)}`).join("")
  globalThis.console.error(`${date.toISOString()} ${logLevel.toUpperCase()}${tags} ${text}`)
})

/** The log level from `CEDAR_PEER_LOG` (debug, info, warning, error), info by default. */
export const logLevelFrom = (value: string | undefined): LogLevel.LogLevel =>
  ({ debug: "Debug", info: "Info", warning: "Warn", error: "Error" } as const)[(value ?? "info").toLowerCase() as "info"] ?? "Info"

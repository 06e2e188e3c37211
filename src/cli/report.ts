// Rendering of results for people and for --json, the exit status of a run, and where logs go.
import { Cause, Console, Data, Effect, Exit, Logger, type LogLevel, Option, References, Schema } from "effect"
import { CliError } from "effect/cli"
import type { ActionSummary, CheckSummary, PeerStageResult, StageSummary } from "../pool/Pool.js"
import { quoteLine } from "../domain/shellWords.js"
import type { PeerReach } from "../pool/Validate.js"
import { escapeControl, escapeMessage } from "./output.js"
import { columnsFor, finalRow, formatBytes, formatDuration, headerRow, noteOf } from "./progress.js"

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

/** The last log line of a stage run: its outcome, daily directory, counts and duration. */
export const endLine = (exit: Exit.Exit<unknown, unknown>, summary: StageSummary | undefined, millis: number): string => {
  const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
  const error = Option.isSome(failure) && !(failure.value instanceof Unsuccessful)
    ? failure.value as { readonly _tag?: string; readonly message?: string }
    : undefined
  const outcome = summary?.peers.some((p) => p.status === "interrupted") || (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
    ? "interrupted"
    : error !== undefined
    ? `failed: error[${error._tag ?? "Error"}] ${escapeControl(String(error.message ?? ""))}`
    : Exit.isSuccess(exit)
    ? "ok"
    : "FAILED"
  const counts = summary === undefined ? [] : [`daily directory ${summary.dailyDir}`, stageTotals(summary).replace(/: (ok|FAILED)$/, "")]
  return ["stage ends: " + outcome, ...counts, `after ${formatDuration(millis)}`].join("; ")
}

/**
 * A peer as `stage --dry-run` reports it: ready or not, whether its failure would be ignored, and
 * for a ready local peer what a stage would copy, or the error it would fail with.
 *
 * @since 1.0.0
 * @category models
 */
export interface DryRunPeer {
  readonly name: string
  readonly type: string
  readonly ready: boolean
  readonly status: string
  readonly ignored: boolean
  readonly reason?: string
  readonly files?: number
  readonly bytes?: number
  readonly error?: { readonly _tag: string; readonly message: string }
}

/**
 * The text of `stage --dry-run`: where a run would stage, one row per peer, and the outcome.
 *
 * @since 1.0.0
 * @category rendering
 */
export const dryRunText = (daily: string, full: boolean, ok: boolean, peers: ReadonlyArray<DryRunPeer>): string => {
  const columns = columnsFor(peers.map((p) => p.name))
  const rows = peers.map((p) =>
    [
      p.name.padEnd(columns.peer),
      p.type.padEnd(6),
      p.status.padEnd(11),
      (p.files === undefined ? "" : String(p.files)).padStart(6),
      (p.bytes === undefined ? "" : formatBytes(p.bytes)).padStart(10),
      "      ",
      noteOf(
        { name: p.name, ignored: p.ignored, status: p.ready && p.error === undefined ? "staged" : "not-ready", ...(p.reason === undefined ? {} : { reason: p.reason }) },
        // the error the stage would fail the peer with, as its row would give it
        p.error === undefined ? undefined : `${p.error._tag}: ${p.error.message.replace(`peer ${p.name}: `, "")}`
      )
    ].join("  ").trimEnd()
  )
  return [
    `dry run: nothing is written; a stage run now would stage into ${daily}${full ? " (full run)" : ""}`,
    headerRow(columns),
    ...rows,
    `${peers.filter((p) => p.ready).length} of ${peers.length} peer(s) ready: ${ok ? "ok" : "a stage run would FAIL"}`
  ].join("\n")
}

/**
 * `validate --reach`: one line per remote peer, then what was reached.
 *
 * @since 1.0.0
 * @category rendering
 */
export const reachLines = (reached: ReadonlyArray<PeerReach>): ReadonlyArray<string> => {
  const missed = reached.filter((r) => !r.reached || r.cause !== undefined)
  return [
    ...missed.map((r) =>
      `peer ${r.name}: ${r.reached ? "reached, but" : "NOT reached:"} ${r.cause ?? "could not connect"}${r.detail ? ` (${escapeControl(r.detail)})` : ""}`
    ),
    reached.length === 0
      ? "no remote peer to reach"
      : missed.length === 0
      ? `reached every remote peer (${reached.length}): ${reached.map((r) => r.name).join(", ")}`
      : `reached ${reached.length - missed.length} of ${reached.length} remote peer(s): FAILED`
  ]
}

// Where the CLI's words go: the log (stderr and --log-file), per-peer failure lines, and the live
// display of a stage run. Decided once per run from the global options and what stderr is.
import { appendFileSync, closeSync } from "node:fs"
import { openForAppend } from "../disk/configuredFile.js"
import { Context, Effect, Logger, type LogLevel, References } from "effect"
import type { PeerStageResult, PoolEvent } from "../pool/Pool.js"
import type { GlobalOptions, LogLevelName } from "./argv.js"
import { LOG_LEVELS } from "./argv.js"
import { columnsFor, type Columns, finalRow, formatBytes, formatDuration, headerRow, LiveDisplay, liveRow, type PeerProgress } from "./progress.js"

/** What the environment says about the output. */
export interface OutputSettings {
  readonly globals: GlobalOptions
  readonly stderrIsTerminal: boolean
  readonly stdoutIsTerminal: boolean
  /** false when NO_COLOR is set to anything but the empty string (no-color.org) */
  readonly colorAllowed: boolean
  /** stderr goes to the journal (systemd sets JOURNAL_STREAM): it adds its own timestamps */
  readonly journald: boolean
  /** CEDAR_PEER_LOG, the level asked for by the environment */
  readonly envLevel: string | undefined
}

/** The settings of this process. */
export const settingsFromProcess = (globals: GlobalOptions): OutputSettings => ({
  globals,
  stderrIsTerminal: process.stderr.isTTY === true,
  stdoutIsTerminal: process.stdout.isTTY === true,
  colorAllowed: (process.env.NO_COLOR ?? "") === "",
  journald: (process.env.JOURNAL_STREAM ?? "") !== "",
  envLevel: process.env.CEDAR_PEER_LOG
})

const levelName = (value: string | undefined): LogLevelName | undefined => {
  const lower = value?.toLowerCase()
  const normal = lower === "warn" ? "warning" : lower
  return (LOG_LEVELS as ReadonlyArray<string>).includes(normal ?? "") ? normal as LogLevelName : undefined
}

/** The lowest level shown on stderr: quiet → error, verbose → debug, else asked for, else warning on a terminal and info elsewhere. */
export const stderrLevel = (s: OutputSettings): LogLevelName =>
  s.globals.quiet
    ? "error"
    : s.globals.verbose
    ? "debug"
    : s.globals.logLevel ?? levelName(s.envLevel) ?? (s.stderrIsTerminal ? "warning" : "info")

/** The lowest level written to --log-file: info, like cback3's log, or debug when asked for. */
export const fileLevel = (s: OutputSettings): LogLevelName =>
  s.globals.verbose || s.globals.logLevel === "debug" || levelName(s.envLevel) === "debug" ? "debug" : "info"

const EFFECT_LEVEL: Record<LogLevelName, LogLevel.LogLevel> = { debug: "Debug", info: "Info", warning: "Warn", error: "Error" }
const rank = (level: LogLevelName) => LOG_LEVELS.indexOf(level)

/** One log event, independent of Effect's logger. */
export interface LogEvent {
  readonly date: Date
  readonly level: LogLevelName
  readonly annotations: ReadonlyArray<readonly [string, string]>
  readonly text: string
}

// syslog priorities, which journald reads from a `<N>` prefix
const PRIORITY: Record<LogLevelName, number> = { debug: 7, info: 6, warning: 4, error: 3 }
const LABEL: Record<LogLevelName, string> = { debug: "DEBUG", info: "INFO", warning: "WARN", error: "ERROR" }

/**
 * Text from outside (a peer's stderr, a remote file name) made safe for one line of a log or a
 * terminal: newlines, escape sequences and every other control character are written as `\n`,
 * `\r`, `\t` or `\xHH`, so nothing a peer sends can end a line and forge the next one, or drive
 * the terminal.
 */
export const escapeControl = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) =>
    c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

/**
 * A multi-line message for stderr (a configuration error lists its problems one per indented
 * line): each line escaped, and a line break kept only before an indented line, which no log line
 * looks like.
 */
export const escapeMessage = (text: string): string =>
  text.split(/\n(?=  )/).map(escapeControl).join("\n")

/** The text without a leading `peer NAME: ` when the line is tagged `peer=NAME` already. */
const withoutRepeatedPeer = (text: string, annotations: ReadonlyArray<readonly [string, string]>): string => {
  const peer = annotations.find(([key]) => key === "peer")?.[1]
  return peer !== undefined && text.startsWith(`peer ${peer}: `) ? text.slice(`peer ${peer}: `.length) : text
}

/** A log line: with a timestamp in files and pipes, without on a terminal and in the journal (which has its own). */
export const formatLogLine = (event: LogEvent, target: "terminal" | "plain" | "journald" | "file"): string => {
  const tags = event.annotations.map(([k, v]) => ` ${k}=${escapeControl(v)}`).join("")
  const body = `${LABEL[event.level]}${tags} ${escapeControl(withoutRepeatedPeer(event.text, event.annotations))}`
  switch (target) {
    case "terminal":
      return body
    case "journald":
      return `<${PRIORITY[event.level]}>${body}`
    default:
      return `${event.date.toISOString()} ${body}`
  }
}

const fromEffectLevel = (level: LogLevel.LogLevel): LogLevelName => {
  switch (level) {
    case "Fatal":
    case "Error":
      return "error"
    case "Warn":
      return "warning"
    case "Info":
      return "info"
    default:
      return "debug"
  }
}

/** The CLI's output channels for one run. */
export class Output {
  /** the live display, on a terminal unless --quiet */
  readonly display: LiveDisplay | undefined
  private readonly logFd: number | undefined

  constructor(
    readonly settings: OutputSettings,
    private readonly writeStderr: (text: string) => void = (text) => process.stderr.write(text),
    logFile?: { readonly fd: number }
  ) {
    this.display = settings.stderrIsTerminal && !settings.globals.quiet
      // a pseudo-terminal without a size (script(1), some CI runners) says 0 columns
      ? new LiveDisplay(writeStderr, () => process.stderr.columns || 100)
      : undefined
    this.logFd = logFile?.fd
  }

  /**
   * Opens --log-file for appending (created 0640 when missing), or says why it cannot. A link
   * or anything but a regular file at the path is refused, not followed or waited on: the
   * directory may be another user's, and root appending through a planted link writes anywhere.
   */
  static open(settings: OutputSettings): Output | string {
    const path = settings.globals.logFile
    if (path === undefined) return new Output(settings)
    try {
      return new Output(settings, undefined, { fd: openForAppend(path, 0o640) })
    } catch (error) {
      const found = error as { readonly _tag?: string; readonly type?: string; readonly code?: string; readonly detail?: string }
      return found._tag === "NotRegularFile"
        ? `--log-file ${path}: is a ${found.type}, not a regular file (not followed)`
        : `--log-file ${path}: ${found.code ?? found.detail ?? String(error)}`
    }
  }

  private get stderrTarget(): "terminal" | "plain" | "journald" {
    return this.settings.journald ? "journald" : this.settings.stderrIsTerminal ? "terminal" : "plain"
  }

  /** A line on stderr, above the live display when there is one. */
  stderr(line: string): void {
    if (this.display) this.display.print(line)
    else this.writeStderr(`${line}\n`)
  }

  /** A line in the log file only. */
  file(line: string): void {
    if (this.logFd !== undefined) appendFileSync(this.logFd, `${line}\n`)
  }

  /** A log event, to each channel that wants its level. */
  log(event: LogEvent): void {
    if (rank(event.level) >= rank(stderrLevel(this.settings))) this.stderr(formatLogLine(event, this.stderrTarget))
    if (rank(event.level) >= rank(fileLevel(this.settings))) this.file(formatLogLine(event, "file"))
  }

  /** A failure line `error[Tag] message` on stderr (even with --quiet) and in the log file, on one line each. */
  failure(line: string): void {
    this.stderr(escapeControl(line))
    this.file(`${new Date().toISOString()} ${escapeControl(line)}`)
  }

  /** The lowest level any channel shows: Effect drops the rest before formatting them. */
  get minimumLevel(): LogLevel.LogLevel {
    const lowest = rank(stderrLevel(this.settings)) <= rank(fileLevel(this.settings)) || this.logFd === undefined
      ? stderrLevel(this.settings)
      : fileLevel(this.settings)
    return EFFECT_LEVEL[lowest]
  }

  /** Effect's logger, writing through this output. */
  get logger(): Logger.Logger<unknown, void> {
    return Logger.make(({ date, fiber, logLevel, message }) => {
      const text = (Array.isArray(message) ? message : [message]).map(String).join(" ")
      const tags = Object.entries(fiber.getRef(References.CurrentLogAnnotations)).map(([key, value]) => [key, String(value)] as const)
      this.log({ date, level: fromEffectLevel(logLevel), annotations: tags, text })
    })
  }

  close(): void {
    this.display?.close()
    if (this.logFd !== undefined) closeSync(this.logFd)
  }
}

/** The run's Output, for the commands. */
export class OutputService extends Context.Service<OutputService, Output>()("cedar-peer/cli/Output") {}

/** Runs an effect with this output as its logger. */
export const withOutput = (output: Output) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.provideService(OutputService, output),
    Effect.provideService(References.MinimumLogLevel, output.minimumLevel),
    // this run's logger only, whichever the bin installed before the options were known
    Effect.provideService(Logger.CurrentLoggers, new Set([output.logger]))
  )

/** How long each peer took, as seen from the events. */
export interface PeerTiming {
  readonly startedAt: number
  readonly endedAt: number
}

/**
 * Follows a stage run: the live rows on a terminal, a log line when a peer starts and ends
 * elsewhere, a `error[Tag]` line for every failed peer; keeps each peer's timing for --metrics-file.
 */
export class StageReporter {
  private readonly running = new Map<string, PeerProgress>()
  private readonly done = new Map<string, PeerTiming>()
  private readonly finished = new Set<string>()
  private readonly columns: Columns
  /** with stdout and stderr on one terminal, the rows shown live are the table: stdout then gets only the totals */
  readonly rowsShown: boolean
  /** each failed peer's cause in words, as `explain` found it */
  readonly causes = new Map<string, string>()

  constructor(
    private readonly output: Output,
    names: ReadonlyArray<string>,
    private readonly now: () => number,
    asJson: boolean,
    private readonly explain: (result: PeerStageResult) => Effect.Effect<string | undefined> = () => Effect.succeed(undefined)
  ) {
    this.columns = columnsFor(names)
    this.rowsShown = output.display !== undefined && output.settings.stdoutIsTerminal && !asJson
  }

  /** The first lines of the live table (before any peer starts). */
  begin(dailyDir: string, full: boolean): void {
    if (!this.rowsShown) return
    this.output.stderr(`daily directory: ${dailyDir}${full ? " (full run)" : ""}`)
    this.output.stderr(headerRow(this.columns))
  }

  private lastDrawn = Number.NEGATIVE_INFINITY

  private redraw(): void {
    const now = this.now()
    this.lastDrawn = now
    this.output.display?.update([...this.running.values()].map((p) => liveRow(this.columns, p, now)))
  }

  /** Redraws the elapsed times (called every second on a terminal). */
  tick(): void {
    if (this.running.size > 0) this.redraw()
  }

  timing(name: string): PeerTiming | undefined {
    return this.done.get(name)
  }

  handle(event: PoolEvent): Effect.Effect<void> {
    return Effect.suspend(() => {
      switch (event._tag) {
        case "PeerStarted": {
          this.running.set(event.name, { name: event.name, type: event.type, phase: "starting", startedAt: this.now() })
          this.redraw()
          // the pool logs the start
          return Effect.void
        }
        case "PeerProgress": {
          const peer = this.running.get(event.name)
          if (peer !== undefined) {
            this.running.set(event.name, {
              ...peer,
              phase: event.phase,
              files: event.files ?? peer.files,
              bytes: event.bytes ?? peer.bytes
            })
            // a peer may report every file: at most ten redraws a second (starts and ends always redraw)
            if (this.now() - this.lastDrawn >= 100) this.redraw()
          }
          return Effect.logDebug(`${event.phase}` + (event.files === undefined ? "" : `, ${event.files} file(s)`) +
            (event.bytes === undefined ? "" : `, ${formatBytes(event.bytes)}`)).pipe(Effect.annotateLogs("peer", event.name))
        }
        case "PeerRetrying": {
          const peer = this.running.get(event.name)
          if (peer !== undefined) this.running.set(event.name, { ...peer, phase: "retrying", attempt: event.attempt })
          this.redraw()
          // the pool logs the retry (a warning, with its reason)
          return Effect.void
        }
        case "PeerDone": {
          const result = event.result
          if (this.finished.has(result.name)) return Effect.void
          return Effect.flatMap(this.explain(result), (cause) => {
            if (cause !== undefined) this.causes.set(result.name, cause)
            return this.finish(result)
          })
        }
      }
    })
  }

  private finish(result: PeerStageResult): Effect.Effect<void> {
    // onPeerDone and a PeerDone event may both report one peer: the first one counts
    if (this.finished.has(result.name)) return Effect.void
    const endedAt = this.now()
    // without a PeerStarted event the peer's own time is unknown
    const startedAt = this.running.get(result.name)?.startedAt
    if (startedAt !== undefined) this.done.set(result.name, { startedAt, endedAt })
    this.finished.add(result.name)
    this.running.delete(result.name)
    const millis = startedAt === undefined ? undefined : endedAt - startedAt
    const row = finalRow(this.columns, result, millis, this.causes.get(result.name))
    // the live lines first lose this peer, then its final row goes above them
    this.redraw()
    if (this.rowsShown) this.output.display?.print(row)
    const counts = `${result.files} file(s), ${formatBytes(result.bytes)}${millis === undefined ? "" : ` in ${formatDuration(millis)}`}`
    const detail = result.error ? `${result.error._tag}: ${result.error.message}` : result.reason ?? ""
    const text = `${result.status}${result.ignored && result.status !== "staged" ? " (ignored)" : ""}: ${counts}${detail ? `; ${detail}` : ""}`
    // the pool logs the peer's end (info, or error when not ignored): this line adds the time, at debug
    const log = Effect.logDebug(text).pipe(Effect.annotateLogs("peer", result.name))
    const error = result.error
    if (error === undefined || result.ignored) return log
    // the form of every other failure; the log line carries the counts
    return Effect.andThen(Effect.sync(() => this.output.failure(`error[${error._tag}] ${withPeer(error.message, result.name)}`)), log)
  }

  /** Ends the live display. */
  end(): void {
    this.running.clear()
    this.output.display?.update([])
  }
}

const withPeer = (message: string, name: string) => (message.startsWith(`peer ${name}`) ? message : `peer ${name}: ${message}`)

// What a person sees while a pool is staged: one row per peer that is updated in place while the
// peer runs and becomes its final row; rendering is pure (a state in, lines out) so it is tested
// without a terminal, and LiveDisplay only moves the cursor.
import type { PeerStageResult } from "../pool/Pool.js"

/** Where a peer is, as far as the display knows. */
export interface PeerProgress {
  readonly name: string
  readonly type: "local" | "remote"
  readonly phase: string
  readonly files?: number | undefined
  readonly bytes?: number | undefined
  readonly startedAt: number
  readonly attempt?: number | undefined
}

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

/** Elapsed time: "0.4s", "12s", "3m05s", "1h02m". */
export const formatDuration = (millis: number): string => {
  const seconds = Math.max(0, millis) / 1000
  if (seconds < 10) return `${seconds.toFixed(1)}s`
  if (seconds < 60) return `${Math.floor(seconds)}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`
}

/** The NOTE column is at most this long: the full text is in --json and in the log. */
export const NOTE_WIDTH = 60

const shorten = (text: string, width: number): string => {
  // eslint-disable-next-line no-control-regex
  const oneLine = text.replace(/\s+/g, " ").trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`
}

/** The short note of a peer's row: never its name again, never a whole stderr; its cause in words when one is known. */
export const noteOf = (result: Pick<PeerStageResult, "name" | "ignored" | "error" | "reason" | "status">, cause?: string): string => {
  const detail = cause !== undefined
    ? cause
    : result.error
    ? `${result.error._tag}: ${stripPeer(result.error.message, result.name)}`
    : result.reason === undefined
    ? ""
    : stripPeer(result.reason, result.name)
  const prefix = result.ignored && result.status !== "staged" ? "(ignored) " : ""
  return shorten(prefix + detail, NOTE_WIDTH)
}

const stripPeer = (text: string, name: string): string =>
  text.startsWith(`peer ${name}: `) ? text.slice(`peer ${name}: `.length) : text

/** Column widths of the stage table, fixed before the first row so rows can appear one by one. */
export interface Columns {
  readonly peer: number
}

export const columnsFor = (names: ReadonlyArray<string>): Columns => ({
  peer: Math.max(4, ...names.map((n) => n.length))
})

const STATUS_WIDTH = "interrupted".length
const row = (columns: Columns, cells: readonly [string, string, string, string, string, string, string]): string => {
  const [peer, type, status, files, bytes, time, note] = cells
  return [
    peer.padEnd(columns.peer),
    type.padEnd(6),
    status.padEnd(STATUS_WIDTH),
    files.padStart(6),
    bytes.padStart(10),
    time.padStart(6),
    note
  ].join("  ").trimEnd()
}

/** The table's header line. */
export const headerRow = (columns: Columns): string => row(columns, ["PEER", "TYPE", "STATUS", "FILES", "BYTES", "TIME", "NOTE"])

/** A finished peer's row; `millis` is how long it took, when known; `cause` why it failed, in words. */
export const finalRow = (columns: Columns, result: PeerStageResult, millis: number | undefined, cause?: string): string =>
  row(columns, [
    result.name,
    result.type,
    result.status,
    String(result.files),
    formatBytes(result.bytes),
    millis === undefined ? "" : formatDuration(millis),
    noteOf(result, cause)
  ])

/** A running peer's row: its phase where the status goes, counts so far where known. */
export const liveRow = (columns: Columns, peer: PeerProgress, now: number): string =>
  row(columns, [
    peer.name,
    peer.type,
    peer.phase,
    peer.files === undefined ? "" : String(peer.files),
    peer.bytes === undefined ? "" : formatBytes(peer.bytes),
    formatDuration(now - peer.startedAt),
    peer.attempt === undefined ? "" : `retry ${peer.attempt}`
  ])

/** Cuts a line to the terminal's width, so that one row is one screen line (the cursor arithmetic needs it). */
export const fit = (line: string, width: number): string => (line.length <= width ? line : line.slice(0, Math.max(1, width - 1)))

/**
 * Lines that stay at the bottom of a terminal and are redrawn in place; anything printed goes
 * above them. Writes only through `write`, so a test can give it a fake terminal.
 */
export class LiveDisplay {
  private drawn = 0
  private live: ReadonlyArray<string> = []
  constructor(
    private readonly write: (text: string) => void,
    private readonly width: () => number
  ) {}

  private clear(): string {
    // up to the first live line, then erase to the end of the screen
    return this.drawn === 0 ? "" : `\x1b[${this.drawn}A\r\x1b[J`
  }

  private draw(): string {
    this.drawn = this.live.length
    return this.live.map((l) => `${fit(l, this.width())}\n`).join("")
  }

  /** Prints lines above the live ones. */
  print(text: string): void {
    const lines = text.endsWith("\n") ? text : `${text}\n`
    this.write(this.clear() + lines + this.draw())
  }

  /** Replaces the live lines. */
  update(lines: ReadonlyArray<string>): void {
    this.live = lines
    this.write(this.clear() + this.draw())
  }

  /** Removes the live lines (the screen keeps what was printed). */
  close(): void {
    this.live = []
    this.write(this.clear())
    this.drawn = 0
  }
}

// The live display through a fake terminal: rows updated in place, one final row per peer, log lines above.
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { GlobalOptions } from "../../src/cli/argv.js"
import { formatLogLine, Output, type OutputSettings, StageReporter, stderrLevel } from "../../src/cli/output.js"
import { columnsFor, finalRow, formatDuration, LiveDisplay, liveRow, NOTE_WIDTH, noteOf } from "../../src/cli/progress.js"
import { CopyFailed, TimedOut } from "../../src/domain/PeerError.js"
import type { PeerStageResult } from "../../src/pool/Pool.js"

/** Enough of a VT100 for the display: text, newline, carriage return, cursor up (ESC[nA), erase below (ESC[J). */
class FakeTerminal {
  lines: Array<string> = [""]
  row = 0
  col = 0
  write = (text: string) => {
    for (let i = 0; i < text.length; i++) {
      const rest = text.slice(i)
      const up = rest.match(/^\x1b\[(\d+)A/)
      if (up) {
        this.row = Math.max(0, this.row - Number(up[1]))
        i += up[0].length - 1
      } else if (rest.startsWith("\x1b[J")) {
        this.lines[this.row] = this.lines[this.row]!.slice(0, this.col)
        this.lines.length = this.row + 1
        i += 2
      } else if (text[i] === "\r") {
        this.col = 0
      } else if (text[i] === "\n") {
        this.row++
        this.col = 0
        if (this.lines.length <= this.row) this.lines.push("")
      } else {
        const line = this.lines[this.row]!.padEnd(this.col)
        this.lines[this.row] = line.slice(0, this.col) + text[i] + line.slice(this.col + 1)
        this.col++
      }
    }
  }
  get screen() {
    return this.lines.join("\n").replace(/\n$/, "")
  }
}

const globals: GlobalOptions = { verbose: false, quiet: false, logLevel: undefined, logFile: undefined, json: false }
const settings = (over: Partial<OutputSettings> = {}): OutputSettings => ({
  globals,
  stderrIsTerminal: true,
  stdoutIsTerminal: true,
  colorAllowed: true,
  journald: false,
  envLevel: undefined,
  ...over
})

const staged = (name: string, files: number, bytes: number): PeerStageResult => ({ name, type: "local", status: "staged", files, bytes, ignored: false })

describe("LiveDisplay", () => {
  it("redraws its lines in place and prints above them", () => {
    const term = new FakeTerminal()
    const display = new LiveDisplay(term.write, () => 80)
    display.update(["alpha copying 1", "beta checking"])
    display.update(["alpha copying 2", "beta checking"])
    display.print("WARN something")
    display.update(["beta copying 9"])
    expect(term.screen).toBe("WARN something\nbeta copying 9")
    display.close()
    expect(term.screen).toBe("WARN something")
  })

  it("cuts lines to the terminal's width, so one row is one screen line", () => {
    const term = new FakeTerminal()
    const display = new LiveDisplay(term.write, () => 10)
    display.update(["x".repeat(30)])
    display.update(["short"])
    expect(term.screen).toBe("short")
  })
})

describe("rows", () => {
  const columns = columnsFor(["alpha", "a-much-longer-name"])

  it("a live row becomes the final row in the same columns", () => {
    const live = liveRow(columns, { name: "alpha", type: "local", phase: "copying", files: 12, bytes: 2048, startedAt: 0 }, 3_500)
    const done = finalRow(columns, staged("alpha", 12, 4096), 4_000)
    expect(live).toMatch(/^alpha\s+local\s+copying\s+12\s+2\.0 KiB\s+3\.5s$/)
    expect(done).toMatch(/^alpha\s+local\s+staged\s+12\s+4\.0 KiB\s+4\.0s$/)
    expect(live.indexOf("12")).toBe(done.indexOf("12"))
  })

  it("the note is short, without the peer's name, and says (ignored)", () => {
    const long: PeerStageResult = {
      name: "alpha",
      type: "remote",
      status: "failed",
      files: 0,
      bytes: 0,
      ignored: true,
      error: new CopyFailed({ peer: "alpha", path: "/srv/x", stderr: "scp: connection reset ".repeat(20) })
    }
    const note = noteOf(long)
    expect(note.length).toBeLessThanOrEqual(NOTE_WIDTH)
    expect(note).toMatch(/^\(ignored\) CopyFailed: \/srv\/x: copy failed: scp/)
    expect(note).not.toContain("peer alpha")
    expect(note.endsWith("…")).toBe(true)
  })

  it("formats durations", () => {
    expect(formatDuration(400)).toBe("0.4s")
    expect(formatDuration(42_000)).toBe("42s")
    expect(formatDuration(185_000)).toBe("3m05s")
    expect(formatDuration(3_720_000)).toBe("1h02m")
  })
})

describe("StageReporter on a terminal", () => {
  it("shows one row per peer: live while it runs, then its final row; the failure line below it", async () => {
    const term = new FakeTerminal()
    const output = new Output(settings(), term.write)
    let now = 0
    const reporter = new StageReporter(output, ["alpha", "beta"], () => now, false)
    reporter.begin("/stage/2026/12/01", false)
    await Effect.runPromise(Effect.gen(function*() {
      yield* reporter.handle({ _tag: "PeerStarted", name: "alpha", type: "local" })
      yield* reporter.handle({ _tag: "PeerStarted", name: "beta", type: "remote" })
      now = 2_000
      yield* reporter.handle({ _tag: "PeerProgress", name: "alpha", phase: "copying", files: 3, bytes: 3072 })
    }))
    expect(term.screen.split("\n")).toEqual([
      "daily directory: /stage/2026/12/01",
      expect.stringMatching(/^PEER\s+TYPE\s+STATUS\s+FILES\s+BYTES\s+TIME\s+NOTE$/),
      expect.stringMatching(/^alpha\s+local\s+copying\s+3\s+3\.0 KiB\s+2\.0s$/),
      expect.stringMatching(/^beta\s+remote\s+starting\s+2\.0s$/)
    ])
    now = 3_000
    await Effect.runPromise(Effect.gen(function*() {
      yield* reporter.handle({ _tag: "PeerDone", result: staged("alpha", 4, 4096) })
      yield* reporter.handle({
        _tag: "PeerDone",
        result: { name: "beta", type: "remote", status: "unreachable", files: 0, bytes: 0, ignored: false, reason: "ssh: connect timed out", error: new TimedOut({ peer: "beta", operation: "connect", after: "30s" }) }
      })
      // the same peer reported twice (onPeerDone and the PeerDone event): shown once
      yield* reporter.handle({ _tag: "PeerDone", result: staged("alpha", 4, 4096) })
    }))
    reporter.end()
    const lines = term.screen.split("\n")
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^alpha\s+local\s+staged\s+4\s+4\.0 KiB\s+3\.0s$/),
      expect.stringMatching(/^beta\s+remote\s+unreachable\s+0\s+0 B\s+3\.0s\s+TimedOut: connect timed out after 30s$/),
      "error[TimedOut] peer beta: connect timed out after 30s"
    ])
    expect(reporter.timing("alpha")).toEqual({ startedAt: 0, endedAt: 3_000 })
  })

  it("with stdout elsewhere (a file) the live rows vanish when done: the table goes to stdout", async () => {
    const term = new FakeTerminal()
    const output = new Output(settings({ stdoutIsTerminal: false }), term.write)
    const reporter = new StageReporter(output, ["alpha"], () => 0, false)
    expect(reporter.rowsShown).toBe(false)
    reporter.begin("/d", false)
    await Effect.runPromise(reporter.handle({ _tag: "PeerStarted", name: "alpha", type: "local" }))
    expect(term.screen).toMatch(/^alpha\s+local\s+starting/)
    await Effect.runPromise(reporter.handle({ _tag: "PeerDone", result: staged("alpha", 1, 1) }))
    reporter.end()
    expect(term.screen).toBe("")
  })
})

describe("log lines", () => {
  const event = { date: new Date("2026-12-01T03:00:00Z"), level: "warning" as const, annotations: [["peer", "alpha"] as const], text: "retry 1" }

  it("timestamps in files and pipes, none on a terminal or in the journal (which adds its own)", () => {
    expect(formatLogLine(event, "plain")).toBe("2026-12-01T03:00:00.000Z WARN peer=alpha retry 1")
    expect(formatLogLine(event, "file")).toBe("2026-12-01T03:00:00.000Z WARN peer=alpha retry 1")
    expect(formatLogLine(event, "terminal")).toBe("WARN peer=alpha retry 1")
    expect(formatLogLine(event, "journald")).toBe("<4>WARN peer=alpha retry 1")
  })

  it("levels: warning on a terminal, info elsewhere; --quiet errors only; --verbose debug; --log-level wins over the environment", () => {
    expect(stderrLevel(settings())).toBe("warning")
    expect(stderrLevel(settings({ stderrIsTerminal: false }))).toBe("info")
    expect(stderrLevel(settings({ globals: { ...globals, quiet: true } }))).toBe("error")
    expect(stderrLevel(settings({ globals: { ...globals, verbose: true } }))).toBe("debug")
    expect(stderrLevel(settings({ envLevel: "debug" }))).toBe("debug")
    expect(stderrLevel(settings({ envLevel: "debug", globals: { ...globals, logLevel: "error" } }))).toBe("error")
  })
})

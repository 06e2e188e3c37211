// The command line before effect/cli: the command found among options before it, global options taken out.
import { describe, expect, it } from "vitest"
import { type CommandOptions, preparse } from "../../src/cli/argv.js"

const options = (values: ReadonlyArray<string>, flags: ReadonlyArray<string>, rest = false): CommandOptions => ({
  values: new Set(values),
  all: new Set([...values, ...flags]),
  rest
})
const spec = new Map<string, CommandOptions>([
  ["stage", options(["--config", "-c", "--peer", "--concurrency"], ["--full", "-f", "--json"])],
  ["exec", options(["--config", "-c", "--peer"], ["--json"], true)],
  ["validate", options(["--config", "-c"], ["--json"])]
])

describe("preparse", () => {
  it("moves options given before the command after it (cback3's order)", () => {
    expect(preparse(["--config", "X", "stage"], spec)).toMatchObject({ _tag: "Run", command: "stage", args: ["stage", "--config", "X"] })
    expect(preparse(["-c", "X", "stage", "--full"], spec)).toMatchObject({ args: ["stage", "-c", "X", "--full"] })
    expect(preparse(["--config=X", "stage"], spec)).toMatchObject({ args: ["stage", "--config=X"] })
  })

  it("does not take an option's value for the command", () => {
    // a config file named like a command
    expect(preparse(["--config", "stage", "validate"], spec)).toMatchObject({ command: "validate", args: ["validate", "--config", "stage"] })
  })

  it("takes out the global options wherever they are", () => {
    const run = preparse(["-q", "stage", "--log-file", "/var/log/x.log", "--json", "--log-level=debug"], spec)
    expect(run).toMatchObject({
      _tag: "Run",
      args: ["stage", "--json"],
      globals: { quiet: true, verbose: false, logFile: "/var/log/x.log", logLevel: "debug", json: true }
    })
    expect(preparse(["--verbose", "validate"], spec)).toMatchObject({ globals: { verbose: true } })
  })

  it("help and version anywhere, for the command when there is one", () => {
    expect(preparse(["--help"], spec)).toMatchObject({ _tag: "Help", command: undefined })
    expect(preparse(["stage", "-h"], spec)).toMatchObject({ _tag: "Help", command: "stage" })
    expect(preparse(["--help", "stage"], spec)).toMatchObject({ _tag: "Help", command: "stage" })
    expect(preparse(["-V"], spec)).toMatchObject({ _tag: "Version" })
    expect(preparse(["stage", "--version"], spec)).toMatchObject({ _tag: "Version" })
  })

  it("puts a command's arguments last, after --, so that none is taken for an option", () => {
    expect(preparse(["stage", "extra", "--full"], spec)).toMatchObject({ args: ["stage", "--full", "--", "extra"] })
    expect(preparse(["-c", "X", "exec", "ls", "--peer", "p"], spec)).toMatchObject({ args: ["exec", "-c", "X", "--peer", "p", "--", "ls"] })
  })

  it("takes options exec does not know, once its remote command has begun, for part of it; its own options stay options", () => {
    expect(preparse(["exec", "--peer", "p", "ls", "-l", "--json", "/srv"], spec)).toMatchObject({
      _tag: "Run",
      args: ["exec", "--peer", "p", "--json", "--", "ls", "-l", "/srv"],
      globals: { json: true }
    })
    // before the remote command, and for other commands, an unknown option stays an option (and a usage error)
    expect(preparse(["exec", "-l", "ls"], spec)).toMatchObject({ args: ["exec", "-l", "--", "ls"] })
    expect(preparse(["stage", "--nope", "x"], spec)).toMatchObject({ args: ["stage", "--nope", "--", "x"] })
  })

  it("leaves everything after -- alone (exec's remote command)", () => {
    expect(preparse(["exec", "--peer", "p", "--", "ls", "-h", "--quiet"], spec)).toMatchObject({
      _tag: "Run",
      args: ["exec", "--peer", "p", "--", "ls", "-h", "--quiet"],
      globals: { quiet: false }
    })
  })

  it("usage mistakes: no command, unknown command, --wizard, bad --log-level, --quiet with --verbose", () => {
    expect(preparse([], spec)).toMatchObject({ _tag: "Usage", message: expect.stringMatching(/a command is needed/) })
    expect(preparse(["stag"], spec)).toMatchObject({ _tag: "Usage", message: expect.stringMatching(/unknown command "stag"/) })
    expect(preparse(["stage", "--wizard"], spec)).toMatchObject({ _tag: "Usage", message: expect.stringMatching(/--wizard is not supported/) })
    expect(preparse(["stage", "--log-level", "loud"], spec)).toMatchObject({ _tag: "Usage", message: expect.stringMatching(/--log-level must be one of/) })
    expect(preparse(["stage", "--log-file"], spec)).toMatchObject({ _tag: "Usage", message: "--log-file needs a value" })
    expect(preparse(["-q", "-v", "stage"], spec)).toMatchObject({ _tag: "Usage", message: expect.stringMatching(/exclude each other/) })
  })

  it("completions", () => {
    expect(preparse(["--completions", "bash"], spec)).toMatchObject({ _tag: "Completions", shell: "bash" })
    expect(preparse(["--completions", "tcsh"], spec)).toMatchObject({ _tag: "Usage" })
  })
})

// The command line before @effect/cli: the command found among options before it, global options taken out.
import { describe, expect, it } from "vitest"
import { preparse } from "../../src/cli/argv.js"

const spec = new Map<string, ReadonlySet<string>>([
  ["stage", new Set(["--config", "-c", "--peer", "--concurrency"])],
  ["exec", new Set(["--config", "-c", "--peer"])],
  ["validate", new Set(["--config", "-c"])]
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

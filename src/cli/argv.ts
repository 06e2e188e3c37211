// The command line before effect/cli sees it: options may come before or after the command
// (cback3's order is `cback3 --config X stage`), and the output options that shape logging are
// taken out here, because the logger must exist before any command runs.

/** The log levels a user may ask for, lowest first. */
export const LOG_LEVELS = ["debug", "info", "warning", "error"] as const
export type LogLevelName = typeof LOG_LEVELS[number]

/** Options that any command takes, anywhere on the line. */
export interface GlobalOptions {
  readonly verbose: boolean
  readonly quiet: boolean
  readonly logLevel: LogLevelName | undefined
  readonly logFile: string | undefined
  readonly json: boolean
}

/** What a command line asks for. */
export type Invocation =
  | { readonly _tag: "Help"; readonly command: string | undefined; readonly globals: GlobalOptions }
  | { readonly _tag: "Version"; readonly globals: GlobalOptions }
  | { readonly _tag: "Completions"; readonly shell: "bash" | "fish" | "zsh"; readonly globals: GlobalOptions }
  | { readonly _tag: "Usage"; readonly message: string; readonly command: string | undefined; readonly globals: GlobalOptions }
  | { readonly _tag: "Run"; readonly command: string; readonly args: ReadonlyArray<string>; readonly globals: GlobalOptions }

/** What the command line needs to know of one command's options, as typed (`--config`, `-c`). */
export interface CommandOptions {
  /** the options that take a value (e.g. `--config FILE`) */
  readonly values: ReadonlySet<string>
  /** every option, flags included */
  readonly all: ReadonlySet<string>
  /** its last argument takes the rest of the line (exec's remote command): unknown options after it are part of it */
  readonly rest: boolean
}

/** Each command's options, by command. */
export type OptionTable = ReadonlyMap<string, CommandOptions>

const GLOBAL_FLAGS: Readonly<Record<string, "verbose" | "quiet">> = {
  "--verbose": "verbose",
  "-v": "verbose",
  "--quiet": "quiet",
  "-q": "quiet"
}
const GLOBAL_VALUES: Readonly<Record<string, "logFile" | "logLevel">> = {
  "--log-file": "logFile",
  "--log-level": "logLevel"
}
const HELP = new Set(["--help", "-h"])
const VERSION = new Set(["--version", "-V"])

/**
 * Reads a command line (without `node` and the script): finds the command wherever its options
 * are, moves the options given before it after it, takes out the global options, and puts the
 * command's arguments last, after `--`, so that none is taken for an option.
 */
export const preparse = (args: ReadonlyArray<string>, table: OptionTable): Invocation => {
  const allValueOptions = new Set<string>()
  for (const options of table.values()) for (const name of options.values) allValueOptions.add(name)
  const globals: { -readonly [K in keyof GlobalOptions]: GlobalOptions[K] } = {
    verbose: false,
    quiet: false,
    logLevel: undefined,
    logFile: undefined,
    json: false
  }
  let command: string | undefined
  let help = false
  let version = false
  let completions: "bash" | "fish" | "zsh" | undefined
  let problem: string | undefined
  const before: Array<string> = []
  const options: Array<string> = []
  const operands: Array<string> = []
  const fail = (message: string) => {
    problem ??= message
  }

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      // everything after `--` is an argument (e.g. exec's remote command line), never an option
      if (command === undefined) before.push(...args.slice(i))
      else operands.push(...args.slice(i + 1))
      break
    }
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined]
    if (HELP.has(arg)) {
      help = true
      continue
    }
    if (VERSION.has(arg)) {
      version = true
      continue
    }
    if (name === "--completions") {
      const shell = inline ?? args[++i]
      if (shell === "bash" || shell === "fish" || shell === "zsh") completions = shell
      else fail(`--completions must be one of bash, fish, zsh, got ${JSON.stringify(shell ?? "")}`)
      continue
    }
    if (arg === "--wizard") {
      fail("--wizard is not supported: there is no interactive mode")
      continue
    }
    if (name === "--json") globals.json = true
    const flag = GLOBAL_FLAGS[arg]
    if (flag !== undefined) {
      globals[flag] = true
      continue
    }
    const valued = GLOBAL_VALUES[name]
    if (valued !== undefined) {
      const value = inline ?? args[++i]
      if (value === undefined || (inline === undefined && value.startsWith("-") && value !== "-")) {
        fail(`${name} needs a value`)
        if (inline === undefined && value !== undefined) i--
        continue
      }
      if (valued === "logLevel") {
        const level = value.toLowerCase() === "warn" ? "warning" : value.toLowerCase()
        if ((LOG_LEVELS as ReadonlyArray<string>).includes(level)) globals.logLevel = level as LogLevelName
        else fail(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(value)}`)
      } else if (value === "") {
        fail(`--log-file needs a file name`)
      } else {
        globals.logFile = value
      }
      continue
    }
    const isOption = arg.startsWith("-") && arg !== "-"
    if (command === undefined) {
      if (!isOption) {
        if (!table.has(arg)) {
          fail(`unknown command ${JSON.stringify(arg)} (commands: ${[...table.keys()].join(", ")})`)
          // keep reading: `cedar-peer nope --help` still shows the help
          before.push(arg)
          continue
        }
        command = arg
        continue
      }
      before.push(arg)
      // the value of an option before the command must not be taken for the command
      if (inline === undefined && allValueOptions.has(arg) && i + 1 < args.length) before.push(args[++i]!)
      continue
    }
    const own = table.get(command)!
    // once the remote command line has begun, an option exec does not know is part of it (`ls -l`)
    if (!isOption || (own.rest && operands.length > 0 && !own.all.has(name))) {
      operands.push(arg)
      continue
    }
    options.push(arg)
    if (inline === undefined && own.values.has(arg) && i + 1 < args.length) options.push(args[++i]!)
  }
  if (globals.quiet && globals.verbose) fail("--quiet and --verbose exclude each other")

  if (help) return { _tag: "Help", command, globals }
  if (version) return { _tag: "Version", globals }
  if (problem !== undefined) return { _tag: "Usage", message: problem, command, globals }
  if (completions !== undefined) return { _tag: "Completions", shell: completions, globals }
  if (command === undefined) {
    return { _tag: "Usage", message: `a command is needed (one of ${[...table.keys()].join(", ")})`, command, globals }
  }
  return { _tag: "Run", command, args: [command, ...before, ...options, ...(operands.length > 0 ? ["--", ...operands] : [])], globals }
}

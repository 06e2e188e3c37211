// The cedar-peer command line: the root command assembled from the commands (one file each under
// commands/, their handlers under handlers/), help, version and completions read before parsing,
// and a bad command line turned into a usage error.
import { Cause, Console, Effect, type Layer, Option } from "effect"
import { CliConfig, CliError, Command, CliOutput, Completions } from "effect/cli"
import { type OptionTable, preparse } from "./argv.js"
import { action } from "./commands/action.js"
import { check } from "./commands/check.js"
import { demo } from "./commands/demo.js"
import { exec } from "./commands/exec.js"
import { stage } from "./commands/stage.js"
import { stagePeer } from "./commands/stagePeer.js"
import { validate } from "./commands/validate.js"
import { verify } from "./commands/verify.js"
import { writeIndicator } from "./commands/writeIndicator.js"
import { completionDescriptor } from "./completions.js"
import { bold, commandDoc, commandHelp, plain, renderCommandHelp, renderRootHelp, subcommandsOf } from "./help.js"
import { escapeControl, Output, settingsFromProcess, withOutput } from "./output.js"
import { Unsuccessful, UsageError } from "./report.js"
import { VERSION } from "./version.js"

export { VERSION } from "./version.js"

const DESCRIPTION = "stage backup files from the peers of a Cedar Backup pool"

/**
 * The commands, in the order help lists them: the one list of them (help, the man page, the
 * completions and the parser all read it through `cedarPeer`).
 */
const COMMANDS = [stage, check, stagePeer, writeIndicator, exec, action, validate, demo, verify] as const

/**
 * The whole command line.
 *
 * @since 0.1.0
 * @category commands
 */
export const cedarPeer = Command.make("cedar-peer").pipe(
  Command.withDescription(DESCRIPTION),
  Command.withSubcommands(COMMANDS)
)

/**
 * The names of the commands, in the order help lists them.
 *
 * @since 0.1.0
 * @category commands
 */
export const commandNames: ReadonlyArray<string> = subcommandsOf(cedarPeer).map((c) => c.name)

/** Each command's options as typed: how the command is found among options before it, and its arguments put last. */
const optionTable = (): OptionTable =>
  new Map(commandNames.map((name) => {
    const doc = commandDoc(cedarPeer, name)
    const typed = (takingValue: boolean) =>
      new Set(doc.options.filter((o) => !takingValue || o.metavar !== undefined).flatMap((o) => [`--${o.name}`, ...o.aliases.map((a) => `-${a}`)]))
    return [name, { values: typed(true), all: typed(false), rest: doc.args.some((a) => a.repeated !== undefined) }]
  }))

/**
 * The help text for a command, or for the program.
 *
 * @since 0.1.0
 * @category rendering
 */
export const helpText = (command: string | undefined, styled: boolean): string => {
  const style = styled ? bold : plain
  return command === undefined || !commandNames.includes(command)
    ? renderRootHelp(DESCRIPTION, commandNames.map((name) => commandHelp(commandDoc(cedarPeer, name))), style)
    : renderCommandHelp(commandHelp(commandDoc(cedarPeer, command)), style)
}

/** One of effect/cli's complaints about a command line, in the words cedar-peer has always used. */
const complaint = (error: CliError.CliError): string => {
  switch (error._tag) {
    case "UnrecognizedOption":
      return `unexpected argument ${JSON.stringify(error.option)}`
    case "UnexpectedArgument":
      return `unexpected argument ${JSON.stringify(error.arguments[0] ?? "")}`
    case "MissingOption":
      return `Expected to find option: '--${error.option}'`
    case "MissingArgument":
      return `Missing argument <${error.argument}>`
    case "InvalidValue": {
      if (error.kind !== "flag") return error.message
      const repeated = error.value.match(/^(\d+) occurrences$/)
      return error.value === ""
        ? `--${error.option} needs a value`
        : repeated
        ? `--${error.option} may be given once only (given ${repeated[1]} times)`
        : error.message
    }
    case "ShowHelp":
      return error.errors.map(complaint).join("; ") || "invalid command line"
    default:
      return error.message
  }
}

// The help and errors effect/cli would print: cedar-peer prints its own (help.ts, report.ts).
const silent: CliOutput.Presenter = { present: () => Effect.void }
// Help, version and completions are read before effect/cli sees the line (argv.ts): it has no built-in flags here.
const noBuiltIns = CliConfig.make({ builtIns: [] })

/** Parses the arguments (the command first) with effect/cli and runs the command; a bad command line is a UsageError. */
const runCommand = (args: ReadonlyArray<string>, command: string) =>
  Command.runWith(cedarPeer, { version: VERSION, renderErrors: false })(args).pipe(
    Effect.mapError((error) => CliError.isCliError(error) ? new UsageError({ message: complaint(error), command }) : error),
    Effect.provideService(CliOutput.Presenter, silent),
    Effect.provideService(CliConfig.CliConfig, noBuiltIns)
  )

/**
 * Runs the CLI on argv (`["node", "cedar-peer", ...]`): help, version and completions without
 * parsing further, else the command with the run's output (logger, live display, log file) and
 * `services`, the library's layer, which only a command that runs builds.
 */
export const run = <ROut, E, RIn>(argv: ReadonlyArray<string>, services: Layer.Layer<ROut, E, RIn>) =>
  Effect.gen(function*() {
    const invocation = preparse(argv.slice(2), optionTable())
    const settings = settingsFromProcess(invocation.globals)
    switch (invocation._tag) {
      case "Help":
        return yield* Console.log(helpText(invocation.command, settings.stdoutIsTerminal && settings.colorAllowed))
      case "Version":
        return yield* Console.log(VERSION)
      case "Completions":
        return yield* Console.log(Completions.generate("cedar-peer", invocation.shell, completionDescriptor(cedarPeer)))
      case "Usage":
        return yield* new UsageError({ message: invocation.message, ...(invocation.command === undefined ? {} : { command: invocation.command }) })
    }
    const output = Output.open(settings)
    if (typeof output === "string") return yield* new UsageError({ message: output })
    yield* runCommand(invocation.args, invocation.command).pipe(
      Effect.provide(services),
      // the log file tells the whole story of a night, its final failure included (stderr gets it from the bin)
      Effect.tapCause((cause) =>
        Effect.sync(() => {
          const failure = Cause.findErrorOption(cause)
          if (Option.isSome(failure) && !(failure.value instanceof Unsuccessful)) {
            const error = failure.value as { readonly _tag: string; readonly message: string }
            output.file(`${new Date().toISOString()} error[${error._tag}] ${escapeControl(error.message)}`)
          } else if (Cause.hasInterruptsOnly(cause)) {
            output.file(`${new Date().toISOString()} error[Interrupted] the run was interrupted`)
          }
        })
      ),
      withOutput(output),
      Effect.ensuring(Effect.sync(() => output.close()))
    )
  })

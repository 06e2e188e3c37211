// `--help`: rendered from the commands' own definitions (so a new flag shows up by itself), in the
// shape of a Unix man-page synopsis: no ANSI unless on a terminal, defaults and exit statuses shown.
// The definitions are read through effect/cli's CommandSpec, the same facts its parser works from.
import { Context, Option } from "effect"
import { type Command, CommandSpec } from "effect/cli"

/** One option or argument of a command, as its definition gives it. */
export interface ParamDoc {
  /** the name without dashes (`config`), or the argument's name (`COMMAND`) */
  readonly name: string
  /** the one-letter aliases, without the dash (`c`) */
  readonly aliases: ReadonlyArray<string>
  /** what its value is called (`FILE`); none for a flag that takes no value */
  readonly metavar: string | undefined
  readonly description: string
  /** the value it has when not given, as text */
  readonly defaultValue: string | undefined
  /** it may be left out (it has a default, is optional, or is a flag without value) */
  readonly optional: boolean
  /** it may be given more than once; `min` is how often it must be */
  readonly repeated: { readonly min: number } | undefined
}

/** A command as its definition describes it. */
export interface CommandDoc {
  readonly name: string
  readonly description: string
  readonly options: ReadonlyArray<ParamDoc>
  readonly args: ReadonlyArray<ParamDoc>
  /** its own exit statuses (ExitStatuses), signals apart */
  readonly exitStatuses: ReadonlyArray<readonly [string, string]> | undefined
}

const paramDoc = (param: CommandSpec.Flag | CommandSpec.Argument, aliases: ReadonlyArray<string>): ParamDoc => {
  const fallback = param.fallbacks.find((f) => f._tag === "Default")
  const takesValue = param.type._tag !== "Boolean"
  return {
    name: param.name,
    aliases,
    metavar: takesValue ? param.metavar ?? param.typeName.toUpperCase() : undefined,
    description: param.description ?? "",
    defaultValue: fallback === undefined || !takesValue ? undefined : String(fallback.value),
    optional: !param.required || param.fallbacks.length > 0 || !takesValue,
    repeated: param.variadic === undefined ? undefined : { min: param.variadic.min ?? 0 }
  }
}

/** What a subcommand of `root` defines, read off its definition. */
export const commandDoc = (root: Command.Command.Any, name: string): CommandDoc => {
  const spec = Option.getOrThrow(CommandSpec.resolve(root, [root.name, name], { builtIns: [] }))
  return {
    name: spec.name,
    description: spec.description ?? "",
    options: spec.flags.filter((f) => !f.hidden && f.scope._tag === "Local").map((f) => paramDoc(f, f.aliases)),
    args: spec.arguments.map((a) => paramDoc(a, [])),
    exitStatuses: Context.getOrUndefined(spec.annotations, ExitStatuses)
  }
}

/** The subcommands of `root`, in the order they were given. */
export const subcommandsOf = (root: Command.Command.Any): ReadonlyArray<Command.Command.Any> =>
  root.subcommands.flatMap((group) => group.commands)

/** An option as typed: `-c, --config FILE`, `--json`. */
export const optionNames = (option: ParamDoc): string =>
  [...option.aliases.map((a) => `-${a}`), `--${option.name}${option.metavar === undefined ? "" : ` ${option.metavar}`}`].join(", ")

/** An option or argument as help shows it: its names as typed (`-c, --config FILE`) and what it does. */
export interface Entry {
  readonly names: string
  readonly description: string
  readonly required: boolean
  readonly repeated: boolean
}

/** A command as help shows it. */
export interface CommandHelp {
  readonly name: string
  readonly description: string
  readonly options: ReadonlyArray<Entry>
  readonly args: ReadonlyArray<Entry>
  readonly exitStatuses: ReadonlyArray<readonly [string, string]>
}

const withDefault = (param: ParamDoc) =>
  [param.description, ...(param.defaultValue === undefined ? [] : [`(default: ${param.defaultValue})`])].filter(Boolean).join(" ")

/** The help model of one command. */
export const commandHelp = (doc: CommandDoc): CommandHelp => ({
  name: doc.name,
  description: doc.description,
  options: doc.options.map((o) => {
    const names = optionNames(o)
    return {
      names: o.aliases.length === 0 ? `    ${names}` : names,
      description: withDefault(o),
      required: !o.optional && o.repeated === undefined,
      repeated: o.repeated !== undefined
    }
  }),
  args: doc.args.map((a) => ({ names: a.name, description: withDefault(a), required: !a.optional, repeated: a.repeated !== undefined })),
  exitStatuses: exitStatusesOf(doc.exitStatuses)
})

/** Options every command takes (handled before the command's own options are parsed). */
export const GLOBAL_OPTIONS: ReadonlyArray<Entry> = [
  { names: "-q, --quiet", description: "print nothing when all goes well (for cron); failures still print", required: false, repeated: false },
  {
    names: "-v, --verbose",
    description: "every log line down to debug on stderr (on a terminal only warnings and errors are shown)",
    required: false,
    repeated: false
  },
  {
    names: "    --log-level LEVEL",
    description: "the lowest log level shown: debug, info, warning or error (default: warning on a terminal, info otherwise)",
    required: false,
    repeated: false
  },
  {
    names: "    --log-file PATH",
    description: "also append the log (info and up, debug with --verbose) to PATH, with timestamps",
    required: false,
    repeated: false
  },
  { names: "-h, --help", description: "show this help", required: false, repeated: false },
  { names: "-V, --version", description: "print the version", required: false, repeated: false }
]

/** The option that prints a completion script; only before or without a command. */
export const COMPLETIONS_OPTION: Entry = {
  names: "    --completions SHELL",
  description: "print a completion script for bash, fish or zsh",
  required: false,
  repeated: false
}

/**
 * A command's own exit statuses, which its definition carries (what 0 and 1 mean differs from
 * command to command); the signals' statuses are added to every command's.
 *
 * @since 1.0.0
 * @category annotations
 */
export class ExitStatuses extends Context.Service<ExitStatuses, ReadonlyArray<readonly [string, string]>>()("cedar-peer/cli/ExitStatuses") {}

/**
 * Status 2 as most commands give it.
 *
 * @since 1.0.0
 * @category constants
 */
export const USAGE_STATUS = ["2", "usage or configuration error (bad option, invalid config, unknown peer)"] as const
const SIGNAL_STATUSES = [["130", "interrupted (SIGINT, Ctrl-C)"], ["143", "terminated (SIGTERM)"]] as const

/** The exit statuses of one command (the program's when the command has none of its own). */
export const exitStatusesOf = (own: ReadonlyArray<readonly [string, string]> | undefined): ReadonlyArray<readonly [string, string]> =>
  own === undefined ? EXIT_STATUSES : [...own, ...SIGNAL_STATUSES]

/** Exit statuses of the program as a whole. */
export const EXIT_STATUSES: ReadonlyArray<readonly [string, string]> = [
  ["0", "success: every peer staged or its failure ignored"],
  ["1", "an operation failed (a peer failed or was not ready without being ignored, a remote command failed)"],
  ["2", "usage or configuration error (bad option, invalid config, unknown peer)"],
  ["130", "interrupted (SIGINT, Ctrl-C)"],
  ["143", "terminated (SIGTERM)"]
]

const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === "" ? word : `${line} ${word}`
    }
  }
  if (line !== "") lines.push(line)
  return lines.length === 0 ? [""] : lines
}

const list = (items: ReadonlyArray<readonly [string, string]>, width: number): Array<string> => {
  const left = Math.min(28, Math.max(...items.map(([term]) => term.length)) + 2)
  return items.flatMap(([term, text]) => {
    const body = wrap(text, Math.max(30, width - left - 2))
    if (term.length + 2 > left) return [`  ${term}`, ...body.map((l) => `  ${" ".repeat(left)}${l}`)]
    return body.map((l, i) => `  ${(i === 0 ? term : "").padEnd(left)}${l}`)
  })
}

const synopsis = (help: CommandHelp): string => {
  const required = help.options.filter((o) => o.required).map((o) => o.names.replace(/^-\w, /, "").trim())
  const args = help.args.map((a) => {
    const name = a.names.trim() + (a.repeated ? "..." : "")
    return a.required ? name : `[${name}]`
  })
  return ["cedar-peer", help.name, ...required, "[OPTIONS]", ...args].join(" ")
}

/** Text styling: bold headings on a terminal that allows colour, plain text otherwise. */
export interface Style {
  readonly heading: (text: string) => string
}
export const plain: Style = { heading: (text) => text }
export const bold: Style = { heading: (text) => `\x1b[1m${text}\x1b[0m` }

/** The help of one command. */
export const renderCommandHelp = (help: CommandHelp, style: Style = plain, width = 80): string =>
  [
    `${style.heading("Usage:")} ${synopsis(help)}`,
    "",
    ...wrap(help.description, width),
    ...(help.args.length > 0 ? ["", style.heading("Arguments:"), ...list(help.args.map((a) => [a.names.trim(), a.description]), width)] : []),
    ...(help.options.length > 0
      ? ["", style.heading("Options:"), ...list(help.options.map((o) => [o.names, o.description + (o.repeated ? " (repeatable)" : "")]), width)]
      : []),
    "",
    style.heading("Global options (before or after the command):"),
    ...list(GLOBAL_OPTIONS.map((o) => [o.names, o.description]), width),
    "",
    style.heading("Exit status:"),
    ...list(help.exitStatuses, width)
  ].join("\n")

/** The help of the program: its commands and the global options. */
export const renderRootHelp = (
  description: string,
  commands: ReadonlyArray<CommandHelp>,
  style: Style = plain,
  width = 80
): string =>
  [
    `${style.heading("Usage:")} cedar-peer COMMAND [OPTIONS]`,
    "",
    ...wrap(description, width),
    "",
    style.heading("Commands:"),
    ...list(commands.map((c) => [c.name, c.description]), width),
    "",
    `Options may come before or after the command: cedar-peer --config /etc/cback3.conf stage`,
    `works like cedar-peer stage --config /etc/cback3.conf. See cedar-peer COMMAND --help.`,
    "",
    style.heading("Global options:"),
    ...list([...GLOBAL_OPTIONS, COMPLETIONS_OPTION].map((o) => [o.names, o.description] as const), width),
    "",
    style.heading("Exit status:"),
    ...list(EXIT_STATUSES, width)
  ].join("\n")

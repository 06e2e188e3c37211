// `--help`: rendered from the commands' own definitions (so a new flag shows up by itself), in the
// shape of a Unix man-page synopsis: no ANSI unless on a terminal, none of @effect/cli's generic
// sentences, defaults and exit statuses shown.
import { CliConfig, Command, HelpDoc } from "@effect/cli"
import type { Span } from "@effect/cli/HelpDoc/Span"

/** A command as help shows it. */
export interface CommandHelp {
  readonly name: string
  readonly description: string
  readonly options: ReadonlyArray<Entry>
  readonly args: ReadonlyArray<Entry>
}

/** One option or argument: its names as typed (`-c, --config FILE`) and what it does. */
export interface Entry {
  readonly names: string
  readonly description: string
  readonly required: boolean
  readonly repeated: boolean
}

// @effect/cli's generic sentences: they say nothing the synopsis does not already say (help and man page)
export const BOILERPLATE: ReadonlyArray<RegExp> = [
  /^A user-defined piece of text\.$/,
  /^A true or false value\.$/,
  /^An integer\.$/,
  /^A floating point number\.$/,
  /^A date without a time-zone .*$/,
  /^This setting is optional\.$/,
  /^This option may be repeated zero or more times\.$/,
  /^This argument may be repeated zero or more times\.$/,
  /^This argument must be repeated at least once\.$/,
  /^This (argument|option) must be repeated at least \d+ times?\.$/,
  /^This option must be repeated at least once\.$/,
  /^A path to a (file|directory|file or directory).*$/,
  /^One of the following: .*$/
]

/** The plain text of a help span. */
export const spanText = (span: Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    default:
      return spanText(span.value)
  }
}

const blocks = (doc: HelpDoc.HelpDoc): Array<HelpDoc.HelpDoc> =>
  doc._tag === "Sequence" ? [...blocks(doc.left), ...blocks(doc.right)] : doc._tag === "Empty" ? [] : [doc]

const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> =>
  blocks(doc).flatMap((block) => block._tag === "Paragraph" ? [spanText(block.value).trim()] : [])

const entries = (section: ReadonlyArray<HelpDoc.HelpDoc> | undefined): Array<Entry> =>
  (section ?? []).flatMap((list) => list._tag !== "DescriptionList" ? [] : list.definitions).map(([term, doc]) => {
    const all = paragraphs(doc)
    const repeated = /(\.\.\.|\d\+)$/.test(spanText(term).trim()) || all.some((p) => /may be repeated|must be repeated/.test(p))
    const required = !all.some((p) => /This setting is optional|zero or more times/.test(p))
    const oneOf = all.map((p) => p.match(/^One of the following: (.*)$/)).find((m) => m !== null)
    const text = all.filter((p) => !BOILERPLATE.some((re) => re.test(p)))
    const defaults = text.filter((p) => p.startsWith("default: "))
    const rest = text.filter((p) => !p.startsWith("default: "))
    const description = [
      rest.join(" "),
      ...(oneOf ? [`(one of: ${oneOf[1]})`] : []),
      ...defaults.map((d) => `(${d})`)
    ].filter(Boolean).join(" ")
    const names = spanText(term).trim().replace(/^\((.*)\)$/, "$1").replace(/\.\.\.$/, "").replace(/\s+\d+\+$/, "").replace(/[<>]/g, "").trim()
    return { names: names.startsWith("--") ? `    ${names}` : names, description, required, repeated }
  })

/** The help model of one command, read off its @effect/cli definition. */
export const commandHelp = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): CommandHelp => {
  const doc = Command.getHelp(command, CliConfig.make({ showBuiltIns: false }))
  const sections = new Map<string, Array<HelpDoc.HelpDoc>>()
  let current = ""
  for (const block of blocks(doc)) {
    if (block._tag === "Header") current = spanText(block.value).trim()
    else sections.set(current, [...(sections.get(current) ?? []), block])
  }
  const description = (sections.get("DESCRIPTION") ?? []).flatMap(paragraphs).join(" ")
  const [name] = Command.getNames(command)
  return {
    name: name ?? "",
    description,
    options: entries(sections.get("OPTIONS")),
    args: entries(sections.get("ARGUMENTS"))
  }
}

/** Options every command takes (handled before the command's own options are parsed). */
export const GLOBAL_OPTIONS: ReadonlyArray<Entry> = [
  { names: "-q, --quiet", description: "only errors on stderr, no progress display", required: false, repeated: false },
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

/** Exit statuses, shown in every help text. */
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
    ...list(EXIT_STATUSES, width)
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
    ...list([...GLOBAL_OPTIONS.map((o) => [o.names, o.description] as const), ["    --completions SHELL", "print a completion script for bash, fish or zsh"]], width),
    "",
    style.heading("Exit status:"),
    ...list(EXIT_STATUSES, width)
  ].join("\n")

/** Any HelpDoc as plain text (e.g. @effect/cli's message for a bad command line). */
export const helpDocText = (doc: HelpDoc.HelpDoc): string =>
  blocks(doc).map((block) => {
    switch (block._tag) {
      case "Header":
      case "Paragraph":
        return spanText(block.value).trim()
      case "DescriptionList":
        return block.definitions.map(([term, d]) => `${spanText(term)}: ${helpDocText(d)}`).join("\n")
      case "Enumeration":
        return block.elements.map((e) => `- ${helpDocText(e)}`).join("\n")
      default:
        return ""
    }
  }).filter(Boolean).join("\n")

// cedar-peer(1), rendered from the same command definitions the bin parses with, so the man page
// cannot drift from the CLI: every command, option, alias and description below comes from
// @effect/cli's own help documents. Only the sections no definition holds (exit statuses, files,
// environment) are written here. The build writes the result to dist/man/cedar-peer.1.
import { CliConfig, Command, HelpDoc, Usage } from "@effect/cli"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import { HashMap } from "effect"
import { BOILERPLATE, GLOBAL_OPTIONS, spanText } from "./help.js"
import { ExitStatus } from "./report.js"

/** Escapes text for roff: backslashes, hyphens of options, and lines that would start a request. */
const roff = (text: string): string =>
  text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1")

const flatten = (doc: HelpDoc.HelpDoc): Array<HelpDoc.HelpDoc> =>
  doc._tag === "Sequence" ? [...flatten(doc.left), ...flatten(doc.right)] : doc._tag === "Empty" ? [] : [doc]

const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> =>
  flatten(doc).flatMap((part) => {
    switch (part._tag) {
      case "Paragraph":
        return [spanText(part.value)]
      case "Enumeration":
        return part.elements.flatMap(paragraphs)
      case "DescriptionList":
        return part.definitions.flatMap(([term, body]) => [spanText(term), ...paragraphs(body)])
      default:
        return []
    }
  }).map((text) => text.trim()).filter((text) => text !== "")

/** The sections of a command's help, by header: DESCRIPTION, ARGUMENTS, OPTIONS, COMMANDS. */
const sections = (doc: HelpDoc.HelpDoc): Map<string, Array<HelpDoc.HelpDoc>> => {
  const found = new Map<string, Array<HelpDoc.HelpDoc>>()
  let current: Array<HelpDoc.HelpDoc> | undefined
  for (const part of flatten(doc)) {
    if (part._tag === "Header") found.set(spanText(part.value).trim().toUpperCase(), current = [])
    else current?.push(part)
  }
  return found
}

/** One `.TP` entry per option or argument: the term in bold, then its useful sentences. */
const definitions = (parts: ReadonlyArray<HelpDoc.HelpDoc>, skip: ReadonlySet<string>): Array<string> =>
  parts.flatMap((part) =>
    part._tag === "DescriptionList"
      ? part.definitions.flatMap(([term, body]) => {
        const name = spanText(term).trim().replace(/^\((.*)\)$/, "$1")
        if (skip.has(name)) return []
        const text = paragraphs(body).filter((line) => !BOILERPLATE.some((pattern) => pattern.test(line)))
        return [".TP", `.B ${roff(name)}`, ...(text.length === 0 ? [""] : text.map(roff).flatMap((t, i) => i === 0 ? [t] : [".br", t]))]
      })
      : []
  )

const usageText = (usage: Usage.Usage): string => paragraphs(Usage.getHelp(usage)).join(" ")

/** Options every command has (help, version, completions…): listed once, not under each command. */
const builtInNames = (root: Map<string, Array<HelpDoc.HelpDoc>>): Set<string> =>
  new Set((root.get("OPTIONS") ?? []).flatMap((part) =>
    part._tag === "DescriptionList" ? part.definitions.map(([term]) => spanText(term).trim()) : []
  ))

/**
 * The roff source of cedar-peer(1) for a command line with subcommands.
 *
 * @since 0.2.0
 * @category constructors
 */
export const manPage = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  options: { readonly version: string }
): string => {
  const config = CliConfig.defaultConfig
  const root = sections(Command.getHelp(command, config))
  const builtIns = builtInNames(root)
  const subcommands = HashMap.toEntries(Command.getSubcommands(command))
  // the order the root's own help lists them in
  const order = paragraphs(HelpDoc.blocks(root.get("COMMANDS") ?? [])).join("\n")
  subcommands.sort(([a], [b]) => order.indexOf(`${a} `) - order.indexOf(`${b} `) || a.localeCompare(b))
  const summary = paragraphs(HelpDoc.blocks(root.get("DESCRIPTION") ?? []))[0] ?? ""

  const lines = [
    `.TH CEDAR\\-PEER 1 "" "cedar-peer ${roff(options.version)}" "User Commands"`,
    ".SH NAME",
    `cedar\\-peer \\- ${roff(summary)}`,
    ".SH SYNOPSIS",
    ...subcommands.flatMap(([, sub]) => [".nf", `.B cedar\\-peer ${roff(usageText(Descriptor.getUsage(sub)))}`, ".fi"]),
    ".SH DESCRIPTION",
    "cedar\\-peer stages backup files from the peers of a Cedar Backup pool into the master's staging",
    "directory, as the stage action of",
    ".BR cback3 (1)",
    "does: it reads the same configuration file, uses the same indicator files and builds the same",
    "directory layout. Results go to standard output (one JSON document with",
    ".BR \\-\\-json );",
    "logs and progress go to standard error.",
    ".SH COMMANDS",
    ...subcommands.flatMap(([name, sub]) => {
      const help = sections(Descriptor.getHelp(sub, config))
      const description = paragraphs(HelpDoc.blocks(help.get("DESCRIPTION") ?? []))
      const args = definitions(help.get("ARGUMENTS") ?? [], builtIns)
      const opts = definitions(help.get("OPTIONS") ?? [], builtIns)
      return [
        `.SS ${roff(name)}`,
        ".nf",
        `.B cedar\\-peer ${roff(usageText(Descriptor.getUsage(sub)))}`,
        ".fi",
        ...description.map(roff).flatMap((text) => [".PP", text]),
        ...(args.length > 0 ? [".PP", "Arguments:", ".RS", ...args, ".RE"] : []),
        ...(opts.length > 0 ? [".PP", "Options:", ".RS", ...opts, ".RE"] : [])
      ]
    }),
    ".SH OPTIONS",
    "Every command also takes these, before or after the command:",
    // the CLI reads these itself before @effect/cli parses the command (see argv.ts): the same list as --help
    ...GLOBAL_OPTIONS.flatMap((o) => [".TP", `.B ${roff(o.names.trim())}`, roff(o.description)]),
    ".TP",
    `.B ${roff("--completions SHELL")}`,
    "print a completion script for bash, fish or zsh",
    ".SH EXIT STATUS",
    ".TP",
    `.B ${ExitStatus.ok}`,
    "everything succeeded, or every failure was one the configuration says to ignore",
    ".TP",
    `.B ${ExitStatus.failed}`,
    "an operation failed: a peer failed or was not ready and its failures are not ignored, a remote",
    "command failed, or check found a peer not ready",
    ".TP",
    `.B ${ExitStatus.usage}`,
    "a usage or configuration error: a bad option, an invalid configuration file, an unknown peer",
    ".TP",
    ".B 130",
    "interrupted (SIGINT, Ctrl\\-C): what the interrupted operation had half done is removed again",
    ".TP",
    ".B 143",
    "terminated (SIGTERM, e.g. systemctl stop): cleaned up the same way",
    ".PP",
    "Cedar Backup's cback3 exits 0 for a night on which some peers were not ready; cedar\\-peer exits 1,",
    "so that cron and systemd notice.",
    ".SH FILES",
    ".TP",
    ".I /etc/cback3.conf",
    "the default configuration: a Cedar Backup 3 configuration file (its options, peers and stage",
    "sections), or JSON when the name ends in .json",
    ".SH ENVIRONMENT",
    ".TP",
    ".B CEDAR_PEER_LOG",
    "the lowest level of log line written to standard error: debug, info, warning or error",
    ".TP",
    ".B NO_COLOR",
    "when set to a non\\-empty value, no colour or other terminal styling",
    ".TP",
    ".B JOURNAL_STREAM",
    "set by systemd when standard error goes to the journal: log lines then carry no timestamp of",
    "their own",
    ".SH SEE ALSO",
    ".BR cback3 (1),",
    ".BR ssh (1),",
    ".BR scp (1).",
    "The package's docs/operations.md describes installing cedar\\-peer on a master, running it nightly",
    "and what to do after a failed night; docs/behaviour.md what each command promises."
  ]
  return lines.join("\n") + "\n"
}

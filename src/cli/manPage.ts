// cedar-peer(1), rendered from the same command definitions the bin parses with, so the man page
// cannot drift from the CLI: every command, option, alias, default and description below comes
// from the definitions (read through effect/cli's CommandSpec, see help.ts). Only the sections no
// definition holds (exit statuses, files, environment) are written here. The build writes the
// result to dist/man/cedar-peer.1.
import type { Command } from "effect/cli"
import { type CommandDoc, commandDoc, COMPLETIONS_OPTION, exitStatusesOf, GLOBAL_OPTIONS, optionNames, type ParamDoc, subcommandsOf } from "./help.js"
import { ExitStatus } from "./report.js"

/** Escapes text for roff: backslashes, hyphens of options, and lines that would start a request. */
const roff = (text: string): string =>
  text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1")

/** An option in the synopsis: `[-c FILE]` when it may be left out, `[--peer NAME]...` when it may also be repeated. */
const optionUsage = (option: ParamDoc): string => {
  // the short name in the synopsis, as man pages write it; both names are under COMMANDS
  const names = option.aliases.length === 0
    ? optionNames(option)
    : `-${option.aliases[0]}${option.metavar === undefined ? "" : ` ${option.metavar}`}`
  if (option.repeated !== undefined) return option.repeated.min === 0 ? `[${names}]...` : `${names}...`
  return option.optional ? `[${names}]` : names
}

/** An argument in the synopsis: `<ACTION>`, `[<DIR>]`, `<COMMAND>...`. */
const argumentUsage = (arg: ParamDoc): string => {
  const name = `<${arg.name}>${arg.repeated === undefined ? "" : "..."}`
  return arg.optional && arg.repeated === undefined ? `[${name}]` : name
}

const usageText = (doc: CommandDoc): string => [doc.name, ...doc.options.map(optionUsage), ...doc.args.map(argumentUsage)].join(" ")

/** One `.TP` entry: the term in bold, then what it does, then its default. */
const definition = (term: string, param: ParamDoc): Array<string> => [
  ".TP",
  `.B ${roff(term)}`,
  ...[param.description, ...(param.defaultValue === undefined ? [] : [`default: ${param.defaultValue}`])]
    .filter((text) => text !== "")
    .map(roff)
    .flatMap((text, i) => (i === 0 ? [text] : [".br", text]))
]

const optionTerm = (option: ParamDoc) => `${optionNames(option)}${option.repeated === undefined ? "" : "..."}`
const argumentTerm = (arg: ParamDoc) =>
  `<${arg.name}>${arg.repeated === undefined ? "" : arg.repeated.min > 0 ? ` ${arg.repeated.min}+` : "..."}`

// every command takes -h/--help (argv.ts reads it before the command is parsed)
const HELP_DEFINITION = [".TP", `.B ${roff("-h, --help")}`, "Show the help documentation for a command."]

/**
 * The roff source of cedar-peer(1) for a command line with subcommands.
 *
 * @since 0.2.0
 * @category constructors
 */
export const manPage = (
  command: Command.Command.Any,
  options: { readonly version: string }
): string => {
  const subcommands = subcommandsOf(command).map((sub) => commandDoc(command, sub.name))
  const summary = command.description ?? ""

  const lines = [
    `.TH CEDAR\\-PEER 1 "" "cedar-peer ${roff(options.version)}" "User Commands"`,
    ".SH NAME",
    `cedar\\-peer \\- ${roff(summary)}`,
    ".SH SYNOPSIS",
    ...subcommands.flatMap((sub) => [".nf", `.B cedar\\-peer ${roff(usageText(sub))}`, ".fi"]),
    ".SH DESCRIPTION",
    "cedar\\-peer stages backup files from the peers of a Cedar Backup pool into the master's staging",
    "directory, as the stage action of",
    ".BR cback3 (1)",
    "does: it reads the same configuration file, uses the same indicator files and builds the same",
    "directory layout. Results go to standard output (one JSON document with",
    ".BR \\-\\-json );",
    "logs and progress go to standard error.",
    ".SH COMMANDS",
    ...subcommands.flatMap((sub) => {
      const args = sub.args.flatMap((arg) => definition(argumentTerm(arg), arg))
      const opts = [...sub.options.flatMap((option) => definition(optionTerm(option), option)), ...HELP_DEFINITION]
      return [
        `.SS ${roff(sub.name)}`,
        ".nf",
        `.B cedar\\-peer ${roff(usageText(sub))}`,
        ".fi",
        ...(sub.description === "" ? [] : [".PP", roff(sub.description)]),
        ...(args.length > 0 ? [".PP", "Arguments:", ".RS", ...args, ".RE"] : []),
        ".PP",
        "Options:",
        ".RS",
        ...opts,
        ".RE",
        ".PP",
        "Exit status:",
        ".RS",
        ...exitStatusesOf(sub.exitStatuses).filter(([code]) => code !== "130" && code !== "143")
          .flatMap(([code, text]) => [".TP", `.B ${code}`, roff(text)]),
        ".RE"
      ]
    }),
    ".SH OPTIONS",
    "Every command also takes these, before or after the command:",
    // the CLI reads these itself before effect/cli parses the command (see argv.ts): the same list as --help
    ...[...GLOBAL_OPTIONS, COMPLETIONS_OPTION].flatMap((o) => [".TP", `.B ${roff(o.names.trim())}`, roff(o.description)]),
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
    ".TP",
    ".I STAGING_DIR/.cedar\\-peer.lock",
    "the pool's lock: one stage or action run at a time; it names the process that holds it, and a",
    "lock whose process is gone is taken over with a warning",
    ".TP",
    ".I STAGING_DIR/YYYY/MM/DD/cedar\\-peer.sha256",
    "the daily directory's manifest, written by",
    ".BR \\-\\-verify :",
    "the SHA\\-256 of every staged file, which",
    ".B cedar\\-peer verify",
    "checks again",
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
    ".SH EXAMPLES",
    "Check the configuration on this machine, and that every remote peer answers within 5 seconds:",
    ".PP",
    ".nf",
    ".RS",
    "cedar\\-peer validate \\-\\-reach \\-\\-timeout connect=5",
    ".RE",
    ".fi",
    ".PP",
    "The nightly stage from cron: nothing is printed when every peer is staged, so cron mails only",
    "failures; the log file gets one start and one end line per run:",
    ".PP",
    ".nf",
    ".RS",
    "cedar\\-peer stage \\-\\-quiet \\-\\-log\\-file /var/log/cedar\\-peer.log",
    ".RE",
    ".fi",
    ".PP",
    "After a failed night, stage again only the peers that failed (a failed run prints this line):",
    ".PP",
    ".nf",
    ".RS",
    "cedar\\-peer stage \\-\\-config /etc/cback3.conf \\-\\-peer db1 \\-\\-peer db2",
    ".RE",
    ".fi",
    ".PP",
    "Which peers are ready, without staging anything; then verify a staged day against its manifest:",
    ".PP",
    ".nf",
    ".RS",
    "cedar\\-peer check \\-\\-timeout connect=2",
    "cedar\\-peer stage \\-\\-verify",
    "cedar\\-peer verify /opt/backup/stage/2026/01/31",
    ".RE",
    ".fi",
    ".SH SEE ALSO",
    ".BR cback3 (1),",
    ".BR ssh (1),",
    ".BR scp (1).",
    "The package's docs/operations.md describes installing cedar\\-peer on a master, running it nightly",
    "and what to do after a failed night; docs/behaviour.md what each command promises."
  ]
  return lines.join("\n") + "\n"
}

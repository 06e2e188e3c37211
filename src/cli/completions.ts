// `--completions SHELL`: effect/cli's completion scripts for the commands as defined, with the
// options argv.ts reads itself (quiet, verbose, log level and file, help, version) added to every
// command, since they may come before or after it.
import { type Command, Completions } from "effect/cli"
import { LOG_LEVELS } from "./argv.js"
import { COMPLETIONS_OPTION, type Entry, GLOBAL_OPTIONS } from "./help.js"

/** What the value of a global option is, by its name in help (`LEVEL`, `PATH`, `SHELL`). */
const VALUE_TYPES: Readonly<Record<string, Completions.FlagType>> = {
  LEVEL: { _tag: "Choice", values: LOG_LEVELS },
  PATH: { _tag: "Path", pathType: "file" },
  SHELL: { _tag: "Choice", values: ["bash", "fish", "zsh"] }
}

/** A global option of help (`-c, --long VALUE`) as a completion flag. */
const flagOf = (entry: Entry): Completions.FlagDescriptor => {
  const [, alias, name, value] = entry.names.trim().match(/^(?:-(\w), )?--([\w-]+)(?: (\S+))?$/) ?? []
  return {
    name: name ?? entry.names.trim(),
    aliases: alias === undefined ? [] : [alias],
    description: entry.description,
    type: value === undefined ? { _tag: "Boolean" } : VALUE_TYPES[value] ?? { _tag: "String" },
    negation: false
  }
}

const GLOBAL_FLAGS = GLOBAL_OPTIONS.map(flagOf)

const withGlobals = (descriptor: Completions.CommandDescriptor, root: boolean): Completions.CommandDescriptor => ({
  ...descriptor,
  flags: [...descriptor.flags, ...GLOBAL_FLAGS, ...(root ? [flagOf(COMPLETIONS_OPTION)] : [])],
  subcommands: descriptor.subcommands.map((sub) => withGlobals(sub, false))
})

/** The completion descriptor of a command line whose global options argv.ts reads. */
export const completionDescriptor = (command: Command.Command.Any): Completions.CommandDescriptor =>
  withGlobals(Completions.fromCommand(command), true)

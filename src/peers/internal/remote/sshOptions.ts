// The `-o` options cedar-peer adds to an OpenSSH command: a connect timeout, keep-alives, batch
// mode and connection sharing. ssh takes the FIRST value it is given for an option (command line
// before config files), so an option the peer's own command line already sets is never added:
// the operator's choice wins. Only `ssh` and `scp` are touched; any other program (rsync, a
// wrapper script, rsh) is left exactly as configured, since its options mean something else.

/** An ssh option to add: `-o Key=Value`. */
export interface SshOption {
  readonly key: string
  readonly value: string
}

const basename = (program: string): string => program.slice(program.lastIndexOf("/") + 1)

/** Whether `program` is OpenSSH's ssh or scp (by its name, as configured): the one rule for it. */
export const openSshKind = (program: string | undefined): "ssh" | "scp" | undefined => {
  const name = program === undefined ? "" : basename(program)
  return name === "ssh" || name === "scp" ? name : undefined
}

// Flags that take an argument (OpenSSH 9.x getopt strings).
const SSH_WITH_ARGUMENT = new Set("bceilmopBDEFIJLOPQRSwW".split(""))
const SCP_WITH_ARGUMENT = new Set("cDFiJlMoPSX".split(""))

/** The option name of an `-o` argument (`Key=Value`, `Key Value`), lower-cased as ssh compares it. */
const optionKey = (argument: string): string => argument.trim().split(/[\s=]/)[0]!.toLowerCase()

/** One flag of a command line, with its argument when it takes one. */
export interface Flag {
  readonly flag: string
  readonly argument?: string
}

/**
 * The flags of an ssh or scp command line as its getopt reads them: up to the first `--` or
 * operand, bundles split (`-qoK=V`), an argument in the same word or the next one.
 */
export const flagsOf = (argv: ReadonlyArray<string>, kind: "ssh" | "scp"): ReadonlyArray<Flag> => {
  const withArgument = kind === "ssh" ? SSH_WITH_ARGUMENT : SCP_WITH_ARGUMENT
  const flags: Array<Flag> = []
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!
    if (word === "--" || !word.startsWith("-") || word === "-") break
    for (let j = 1; j < word.length; j++) {
      const flag = word[j]!
      if (withArgument.has(flag)) {
        flags.push({ flag, argument: j < word.length - 1 ? word.slice(j + 1) : argv[++i] ?? "" })
        break
      }
      flags.push({ flag })
    }
  }
  return flags
}

/**
 * The ssh options (lower-case names) a command line sets itself, from its words up to the first
 * `--` or operand: every `-o` in all its spellings (`-o K=V`, `-oK=V`, `-o "K V"`, bundled as in
 * `-qoK=V`), and the short flags with the same effect (`-S path`/`-M` of ssh, `-B` of scp).
 */
export const optionsSetBy = (argv: ReadonlyArray<string>): ReadonlySet<string> => {
  const kind = openSshKind(argv[0])
  const set = new Set<string>()
  if (kind === undefined) return set
  for (const { argument, flag } of flagsOf(argv, kind)) {
    if (flag === "o") set.add(optionKey(argument ?? ""))
    if (flag === "S" && kind === "ssh") set.add("controlpath")
    if (flag === "M" && kind === "ssh") set.add("controlmaster")
    if (flag === "B" && kind === "scp") set.add("batchmode")
  }
  return set
}

/**
 * `argv` with `options` inserted as `-o Key=Value` words before its first `--` (after its own
 * options; or at the end when there is none), leaving out every option the command sets itself.
 * Unchanged when the program is not ssh or scp.
 */
export const withSshOptions = (argv: ReadonlyArray<string>, options: ReadonlyArray<SshOption>): ReadonlyArray<string> => {
  if (openSshKind(argv[0]) === undefined || options.length === 0) return argv
  const taken = optionsSetBy(argv)
  const words = options
    .filter((option) => !taken.has(option.key.toLowerCase()))
    .flatMap((option) => ["-o", `${option.key}=${option.value}`])
  if (words.length === 0) return argv
  const at = argv.indexOf("--")
  return at < 0 ? [...argv, ...words] : [...argv.slice(0, at), ...words, ...argv.slice(at)]
}

/** What a connection needs: limits in whole seconds, and the control socket when shared. */
export interface ConnectionOptions {
  /** seconds to wait for the TCP connection and the server's banner */
  readonly connect: number
  /** seconds a silent session may last before ssh gives up on it */
  readonly stall: number
  /** connection sharing: the control socket's path and how long an idle master stays */
  readonly control?: { readonly path: string; readonly persist: number } | undefined
}

/**
 * The options for `connection`. Keep-alives: ssh sends a probe after `interval` seconds of
 * silence and gives up after `count` unanswered ones, so a stalled session ends after about
 * `interval * count` = `stall` seconds.
 */
export const connectionOptions = (connection: ConnectionOptions): ReadonlyArray<SshOption> => {
  const count = 3
  const interval = Math.max(1, Math.ceil(connection.stall / count))
  return [
    { key: "ConnectTimeout", value: String(Math.max(1, Math.ceil(connection.connect))) },
    { key: "ServerAliveInterval", value: String(interval) },
    { key: "ServerAliveCountMax", value: String(count) },
    { key: "BatchMode", value: "yes" },
    ...(connection.control === undefined ? [] : [
      { key: "ControlMaster", value: "auto" },
      { key: "ControlPath", value: connection.control.path },
      { key: "ControlPersist", value: String(Math.max(1, Math.ceil(connection.control.persist))) }
    ])
  ]
}

/** Whether the command line chose its own connection sharing (then none is added). */
export const setsOwnSharing = (argv: ReadonlyArray<string>): boolean => {
  const taken = optionsSetBy(argv)
  return taken.has("controlmaster") || taken.has("controlpath") || taken.has("controlpersist")
}

/**
 * A peer's configured ssh/scp command with the options of `connection` added. Sharing is added
 * only when the command line does not set any of ControlMaster, ControlPath or ControlPersist
 * itself: half of an operator's sharing setup mixed with half of ours would be neither.
 */
export const withConnection = (argv: ReadonlyArray<string>, connection: ConnectionOptions): ReadonlyArray<string> =>
  withSshOptions(argv, connectionOptions(setsOwnSharing(argv) ? { ...connection, control: undefined } : connection))

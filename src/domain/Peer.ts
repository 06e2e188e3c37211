/**
 * What local and remote peers share: Cedar Backup's constants, the schemas their fields are made of,
 * the options of a stage operation and its report.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { isIP } from "node:net"
import { splitWords } from "./shellWords.js"
import type { Directory } from "./Directory.js"

/**
 * The rcp-compatible copy command used when a remote peer names none.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEF_RCP_COMMAND: ReadonlyArray<string> = ["/usr/bin/scp", "-B", "-q", "-C"]

/**
 * The rsh-compatible shell command used when a remote peer names none.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEF_RSH_COMMAND: ReadonlyArray<string> = ["/usr/bin/ssh"]

/**
 * The Cedar Backup command run on managed peers when none is configured.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEF_CBACK_COMMAND = "/usr/bin/cback3"

/**
 * The file a peer writes into its collect directory when its files are ready.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEF_COLLECT_INDICATOR = "cback.collect"

/**
 * The file the master writes into a peer's collect directory once it has staged the peer.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEF_STAGE_INDICATOR = "cback.stage"

/**
 * Cedar Backup's command for running as another user (`su USER -c LINE`).
 *
 * @since 0.1.0
 * @category constants
 */
export const SU_COMMAND: ReadonlyArray<string> = ["su"]

/**
 * The accepted values of a peer's ignore-failure mode.
 *
 * @since 0.1.0
 * @category constants
 */
export const VALID_FAILURE_MODES = ["none", "all", "daily", "weekly"] as const

/**
 * When a peer's failures are ignored by the pool stage action.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FailureMode = Schema.Literals(VALID_FAILURE_MODES).annotate({
  message: `must be one of ${VALID_FAILURE_MODES.join(", ")}`
})

/**
 * @since 0.1.0
 * @category models
 */
export type FailureMode = typeof FailureMode.Type

/**
 * A check whose failure reads `message`; the first failing check of a field is its only problem
 * (as with the filters of Effect 3), so a field never lists a follow-on of its first problem.
 */
const rule = (predicate: (s: string) => boolean, message: string) =>
  Schema.makeFilter((s: string) => predicate(s), { message }, true)

/**
 * A non-empty string that is not only white space.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NonBlankString = Schema.String.check(rule((s) => s.trim().length > 0, "must not be empty"))

/**
 * An absolute POSIX path without NUL bytes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AbsolutePath = Schema.String.check(
  rule((s) => s.startsWith("/"), "must be an absolute path"),
  rule((s) => !s.includes("\0"), "must not contain a NUL byte")
)

/**
 * Whether `name` is a single plain file name: not empty, not `.` or `..`, no `/` and no NUL.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPlainFileName = (name: string): boolean =>
  name.length > 0 && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0")

/**
 * `isPlainFileName` for a name as bytes (as the kernel stores it): not empty, not `.` or `..`, no
 * `/` and no NUL byte.
 *
 * @since 1.0.0
 * @category predicates
 */
export const isPlainFileNameBytes = (name: Uint8Array): boolean => {
  if (name.length === 0) return false
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) return false
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f || name[i] === 0) return false
  }
  return true
}

/**
 * Numeric owner and group applied to staged files with chown.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ownership {
  readonly uid: number
  readonly gid: number
}

/**
 * What a stage operation applies to the files it stages.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageOptions {
  /** chown every staged file to this uid/gid */
  readonly ownership?: Ownership | undefined
  /** chmod every staged file to these permission bits, e.g. `0o640` */
  readonly permissions?: number | undefined
  /** local peers only: stage the regular files and report other entries instead of failing */
  readonly skipUnsupported?: boolean | undefined
  /** at most this many files; more fails the peer with `LimitExceeded`, nothing staged */
  readonly maxFiles?: number | undefined
  /** at most this many bytes in all; more fails the peer with `LimitExceeded`, nothing staged */
  readonly maxBytes?: number | undefined
  /** compare the SHA-256 of every staged file with its source's; a mismatch is `VerificationFailed` */
  readonly verify?: boolean | undefined
  /** called as the operation goes: what it is doing, files and bytes so far where known */
  readonly onProgress?: ((progress: StageProgress) => void) | undefined
  /**
   * `stagePeerInto` only: the target is the empty directory `name` of `parent`, made for this
   * run (as the pool makes one per peer). The files are then gathered in a private directory of
   * `parent`, which takes the target's place in one rename with `mode` and `ownership`: the
   * directory holds nothing, then everything. Should the target no longer be empty by then, the
   * files are renamed into it one by one as usual.
   */
  readonly replaceEmpty?: ReplaceEmpty | undefined
}

/**
 * An empty directory that a stage may replace whole (`StageOptions.replaceEmpty`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ReplaceEmpty {
  readonly parent: Directory
  readonly name: string
  readonly mode: number
  readonly ownership?: Ownership | undefined
}

/**
 * Where a stage operation is, for progress displays.
 *
 * @since 0.2.0
 * @category models
 */
export interface StageProgress {
  readonly phase: "checking" | "connecting" | "copying" | "verifying" | "committing" | "indicator"
  readonly files?: number | undefined
  readonly bytes?: number | undefined
}

/**
 * What a stage operation applies to an indicator file it writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndicatorOptions {
  readonly ownership?: Ownership | undefined
  readonly permissions?: number | undefined
}

/**
 * The kind of a directory entry that cannot be staged.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EntryKind = Schema.Literals([
  "Directory",
  "SymbolicLink",
  "FIFO",
  "Socket",
  "BlockDevice",
  "CharacterDevice",
  "Unknown",
  /** a regular file with more than one link where only fresh copies may be (a remote landing) */
  "HardLink",
  /** a name the copy command could not have produced (e.g. a dotfile after `dir/*`) */
  "UnexpectedName"
])

/**
 * @since 1.0.0
 * @category models
 */
export type EntryKind = typeof EntryKind.Type

/**
 * A collect-directory entry that is not a regular file.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SkippedEntry = Schema.Struct({ name: Schema.String, kind: EntryKind })

/**
 * @since 0.1.0
 * @category models
 */
export type SkippedEntry = typeof SkippedEntry.Type

/**
 * The outcome of staging one peer. `count` is Cedar's return value: the number of files copied.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageReport = Schema.Struct({
  count: Schema.Number,
  bytes: Schema.Number,
  /** the staged file names, sorted by their bytes, shown as `showName` shows them */
  files: Schema.Array(Schema.String),
  /** entries left out with `skipUnsupported` (empty otherwise) */
  skipped: Schema.Array(SkippedEntry),
  /** with `verify`: the SHA-256 (hex) of each staged file, in the order of `files` (for a manifest) */
  hashes: Schema.optionalKey(Schema.Array(Schema.Struct({ name: Schema.String, sha256: Schema.String })))
})

/**
 * @since 0.1.0
 * @category models
 */
export type StageReport = typeof StageReport.Type

/**
 * The collect-indicator status of a peer: `unreachable` when it could not be looked for at all
 * (unknown host, refused login, timeout), `not-ready` when the peer answered without it.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndicatorStatus {
  readonly status: "ready" | "not-ready" | "unreachable"
  /** why the indicator was not found, when known */
  readonly reason?: string | undefined
}

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/**
 * Whether `name` is a DNS host name (RFC 1123), an IPv4 or an IPv6 address. Never true for a
 * name starting with `-`, which ssh and scp would read as an option.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isHostName = (name: string): boolean => {
  if (isIP(name) !== 0) return true
  const host = name.endsWith(".") ? name.slice(0, -1) : name
  return host.length > 0 && host.length <= 253 && host.split(".").every((label) => HOST_LABEL.test(label))
}

/**
 * A remote peer's host: DNS name (RFC 1123), IPv4 or IPv6 address.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HostName = Schema.String.check(rule(isHostName, "must be a host name (RFC 1123), an IPv4 or an IPv6 address"))

/** The most bytes a directory entry's name may have (Linux's NAME_MAX). */
const NAME_MAX = 255

/**
 * Why `name` cannot name a peer's directory in the daily staging directory, or `undefined` when
 * it can: it must be one plain file name without control characters, and none of the names
 * cedar-peer gives its own files there (its private directories and lock, `.cedar-peer…`; the
 * manifest, `cedar-peer.sha256`; the master's stage indicator, `cback.stage`), which a run would
 * otherwise remove as a killed run's leftover or write over.
 *
 * @since 1.0.0
 * @category predicates
 */
export const peerDirectoryNameProblem = (name: string): string | undefined => {
  if (name.trim() === "") return "must not be empty"
  if (name === "." || name === "..") return "must not be '.' or '..': it names the peer's directory in the daily staging directory"
  if (name.includes("/")) return "must not contain '/': it names the peer's directory in the daily staging directory"
  if (/\p{Cc}/u.test(name)) {
    return "must not contain control characters (newline, tab, NUL, …): it names a directory and is written into logs and reports"
  }
  if (Buffer.byteLength(name, "utf8") > NAME_MAX) return `must be at most ${NAME_MAX} bytes long: it names a directory`
  if (name.startsWith(".cedar-peer")) {
    return "must not start with '.cedar-peer': cedar-peer names its private directories and its lock file so, and removes such directories as leftovers of killed runs"
  }
  if (name === "cedar-peer.sha256") return "must not be 'cedar-peer.sha256': that is the daily directory's manifest"
  if (name === "cback.stage") return "must not be 'cback.stage': that is the master's stage indicator in the daily directory"
  return undefined
}

// What OpenSSH (9.6 and later) refuses in a host name given on the command line: a shell would
// read these where ssh puts the name into a command (`%h` in a ProxyCommand).
const SSH_HOST_METACHARACTERS = /['"`$\\;&<>|(){},]/

/**
 * Why `name` cannot be a remote peer's name, or `undefined` when it can. The name is the
 * destination given to ssh and scp, which resolve it through the ssh client configuration
 * (`Host` aliases): any name ssh takes is accepted, but for what is unsafe as an argument or
 * as a directory name: what `peerDirectoryNameProblem` refuses, a leading `-` (an option), white
 * space and the shell metacharacters ssh itself refuses, `@` (it would change the user), and
 * `:`, `[`, `]` outside an IPv6 address (scp would read `host:path` or `[address]`).
 *
 * @since 1.0.0
 * @category predicates
 */
export const remotePeerNameProblem = (name: string): string | undefined => {
  if (name.startsWith("-")) return "must not start with '-': ssh and scp would read it as an option"
  const asDirectory = peerDirectoryNameProblem(name)
  if (asDirectory !== undefined) return asDirectory
  if (/\s/u.test(name)) return "must not contain white space: OpenSSH refuses it in a host name"
  if (SSH_HOST_METACHARACTERS.test(name)) {
    return "must not contain a shell metacharacter (' \" ` $ \\ ; & < > | ( ) { } or ,): OpenSSH refuses them in a host name, as a shell would read them in a ProxyCommand"
  }
  if (name.includes("@")) return "must not contain '@': ssh would take what comes before it as the user"
  if (/[:[\]]/.test(name) && isIP(name) !== 6) {
    return "must not contain ':', '[' or ']' unless it is an IPv6 address: scp would read them as host:path or [address]"
  }
  return undefined
}

/**
 * A local peer's name: it names the peer's directory in the daily staging directory
 * (`peerDirectoryNameProblem` says what is refused, and why).
 *
 * @since 1.0.0
 * @category schemas
 */
export const LocalPeerName = Schema.String.check(Schema.makeFilter((s: string) => peerDirectoryNameProblem(s) ?? true, undefined, true))

/**
 * A remote peer's name: an ssh destination (a host name, an address or a `Host` alias of the ssh
 * client configuration) that also names the peer's directory (`remotePeerNameProblem` says what is
 * refused, and why).
 *
 * @since 1.0.0
 * @category schemas
 */
export const RemotePeerName = Schema.String.check(Schema.makeFilter((s: string) => remotePeerNameProblem(s) ?? true, undefined, true))

/**
 * A user name safe on an ssh or runuser command line: no white space, `@`, `:`, `/`, NUL, and
 * no leading `-`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UserName = Schema.String.check(
  rule((s) => s.length > 0, "must not be empty"),
  rule((s) => !/[\s@:/\0]/.test(s), "must not contain white space, '@', ':', '/' or NUL"),
  rule((s) => !s.startsWith("-"), "must not start with '-'")
)

/**
 * An absolute path on a remote peer: no NUL and no newline, which no copy protocol carries safely.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RemotePath = AbsolutePath.check(rule((s) => !/[\n\r]/.test(s), "must not contain a newline"))

/**
 * A command line split into argv like a POSIX shell splits words (quotes honoured, never run
 * through a shell). Must not be empty and must not start with `-`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CommandLine = Schema.String.check(
  Schema.makeFilter((s: string) => {
    const argv = splitWords(s)
    if (argv === undefined) return "has unbalanced quotes"
    if (argv.length === 0 || argv[0] === "") return "must not be empty"
    if (argv[0]!.startsWith("-")) return "must start with a program, not an option"
    return true
  }, undefined, true)
)

/**
 * The argv of a validated command line.
 *
 * @since 0.1.0
 * @category constructors
 */
export const commandArgv = (line: string): ReadonlyArray<string> => splitWords(line) ?? []

/**
 * A managed action name, e.g. `collect`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ActionName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
    message: "must be letters, digits, '_' or '-', starting with a letter or digit"
  })
)

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * How a file name (bytes) is shown in text and JSON output: as UTF-8, except that a backslash is
 * written `\\`, and each byte of an invalid UTF-8 sequence and each control character `\xHH`.
 * The form is unambiguous (`unescapeName` gives the bytes back); names without a backslash,
 * control character or invalid byte show as they are.
 *
 * @since 0.2.0
 * @category constructors
 */
export const showName = (name: Uint8Array): string => {
  // the common case, printable ASCII without a backslash: the bytes as they are, as one flat
  // string (built character by character, a long name would be a chain of joined pieces)
  if (isPlainAscii(name)) return Buffer.from(name.buffer, name.byteOffset, name.length).toString("latin1")
  let out = ""
  let i = 0
  while (i < name.length) {
    const b = name[i]!
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (width > 1 && i + width <= name.length) {
      try {
        out += utf8.decode(name.subarray(i, i + width))
        i += width
        continue
      } catch {
        // an invalid sequence: its first byte is escaped below, the rest looked at again
      }
    }
    if (b === 0x5c) out += "\\\\"
    else if (b < 0x20 || b === 0x7f || b >= 0x80) out += `\\x${b.toString(16).padStart(2, "0")}`
    else out += String.fromCharCode(b)
    i += 1
  }
  return out
}

const isPlainAscii = (name: Uint8Array): boolean => {
  for (let i = 0; i < name.length; i++) {
    const b = name[i]!
    if (b < 0x20 || b > 0x7e || b === 0x5c) return false
  }
  return true
}

/**
 * The bytes of a name shown by `showName`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const unescapeName = (shown: string): Uint8Array => {
  const bytes: Array<number> = []
  const encoder = new TextEncoder()
  for (let i = 0; i < shown.length; i++) {
    const c = shown[i]!
    if (c === "\\" && shown[i + 1] === "\\") {
      bytes.push(0x5c)
      i += 1
    } else if (c === "\\" && shown[i + 1] === "x") {
      bytes.push(parseInt(shown.slice(i + 2, i + 4), 16))
      i += 3
    } else {
      const cp = shown.codePointAt(i)!
      const char = String.fromCodePoint(cp)
      bytes.push(...encoder.encode(char))
      i += char.length - 1
    }
  }
  return Uint8Array.from(bytes)
}

/**
 * The bytes of a name given as text (UTF-8).
 *
 * @since 0.2.0
 * @category constructors
 */
export const nameBytes = (name: string): Uint8Array => new TextEncoder().encode(name)

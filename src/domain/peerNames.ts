/**
 * What a peer's name may be: it names the peer's directory in the daily staging directory and, for
 * a remote peer, is the destination given to ssh and scp.
 *
 * @since 1.0.0
 */
import { Schema } from "effect"
import { isIP } from "node:net"

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

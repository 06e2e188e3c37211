/**
 * The schemas a peer's fields are made of: paths, users, host names, command lines, action names
 * and failure modes, each with its own located wording.
 *
 * @since 1.0.0
 */
import { Schema } from "effect"
import { isIP } from "node:net"
import { splitWords } from "./shellWords.js"

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

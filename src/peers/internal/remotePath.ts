// How a remote path reaches the peer literally: which scp protocol the rcp command speaks, and
// how each protocol wants a download source and an upload target written (docs/argument-hygiene.md shows each case).
import { isIP } from "node:net"
import { quoteWord } from "../../domain/shellWords.js"
import { flagsOf, openSshKind } from "./remote/sshOptions.js"

/** `sftp`: OpenSSH >= 9.0 default, globs downloads itself, uploads literal. `legacy`: rcp/`scp -O`, remote shell. */
export type ScpProtocol = "sftp" | "legacy"

/**
 * The protocol the rcp argv selects by itself: the last of `-O` / `-s` wins (as in scp's getopt
 * loop), a program that is not scp speaks rcp (legacy), otherwise `undefined` (ask the version).
 */
export const protocolFromArgv = (argv: ReadonlyArray<string>): ScpProtocol | undefined => {
  const program = argv[0]
  if (openSshKind(program) !== "scp") return "legacy"
  let chosen: ScpProtocol | undefined
  for (const { flag } of flagsOf(argv, "scp")) {
    if (flag === "O") chosen = "legacy"
    if (flag === "s") chosen = "sftp"
  }
  return chosen
}

/** The `major.minor` of an `ssh -V` banner such as `OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL …`. */
export const parseOpenSshVersion = (banner: string): { readonly major: number; readonly minor: number } | undefined => {
  const match = banner.match(/OpenSSH_(\d+)\.(\d+)/)
  return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]) }
}

/**
 * The default protocol of the local OpenSSH scp. An unknown version counts as legacy: quoting an
 * upload target for a shell that is not there only misnames the file, while sending it unquoted
 * to a shell that is there would let the path run commands.
 */
export const protocolForBanner = (banner: string | undefined): ScpProtocol => {
  const version = banner === undefined ? undefined : parseOpenSshVersion(banner)
  return version !== undefined && version.major >= 9 ? "sftp" : "legacy"
}

/** The ssh whose `-V` tells the scp version: the sibling of an absolute scp, else `ssh` on PATH. */
export const sshProgramFor = (rcpArgv: ReadonlyArray<string>): string => {
  const program = rcpArgv[0] ?? ""
  const slash = program.lastIndexOf("/")
  return slash >= 0 ? `${program.slice(0, slash)}/ssh` : "ssh"
}

/** Whether a remote path can be carried at all: no copy protocol carries NUL or a line break safely. */
export const hasBadCharacter = (path: string): boolean => /[\0\n\r]/.test(path)

/**
 * A download source: every character outside `[A-Za-z0-9._/-]` backslash-escaped. SFTP-mode scp
 * unescapes it in its own glob, legacy scp's remote shell unescapes it, so it reaches the peer
 * literally either way (per code point: `u`, so an emoji is not split into lone surrogates).
 * Callers append an unescaped `/*` to glob a directory. Escapes whole code
 * points (`u` flag): a backslash between the two halves of a surrogate pair would break an emoji.
 */
export const encodeDownloadSource = (path: string): string => path.replace(/[^A-Za-z0-9._/-]/gu, "\\$&")

/** An upload target: literal for SFTP mode, one single-quoted word for legacy scp's remote shell. */
export const encodeUploadTarget = (path: string, protocol: ScpProtocol): string =>
  protocol === "sftp" ? path : quoteWord(path)

/** `dir` without trailing slashes, so that `dir + "/x"` never doubles one (the root becomes ""). */
export const trimTrailingSlashes = (dir: string): string => dir.replace(/\/+$/, "")

/** The `user@host:` prefix of an scp operand: an IPv6 address needs brackets there. */
export const scpRemotePrefix = (user: string, host: string): string =>
  `${user}@${isIP(host) === 6 ? `[${host}]` : host}:`

/** The destination of an ssh command: ssh splits at the last `@`, so IPv6 needs no brackets. */
export const sshDestination = (user: string, host: string): string => `${user}@${host}`

// Running the rcp/rsh commands as the peer's local user. runuser needs no shell at all, so it
// also works for a system user whose login shell is /usr/sbin/nologin (where `su -c` cannot).
import { SU_COMMAND } from "../../domain/Peer.js"
import { quoteLine } from "../../domain/shellWords.js"

/** `argv` as `user` (`runuser -u USER -- argv…`), or unchanged when there is no local user. */
export const runAs = (user: string | undefined, argv: ReadonlyArray<string>): ReadonlyArray<string> =>
  user === undefined ? argv : ["runuser", "-u", user, "--", ...argv]

/**
 * Cedar's form, `su USER -c LINE`, with every word of `argv` quoted so that no path, host or
 * command can break out of its argument. `user` must be a validated UserName (no leading `-`).
 */
export const suLine = (user: string, argv: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...SU_COMMAND,
  user,
  "-c",
  quoteLine(argv)
]

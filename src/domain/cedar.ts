/**
 * Cedar Backup's own constants: the default rcp, rsh and cback commands, the indicator file names,
 * the `su` command.
 *
 * @since 1.0.0
 */

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

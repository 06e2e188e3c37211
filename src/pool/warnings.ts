/**
 * Settings cedar-peer works with but under which going back to `cback3` would fail silently.
 *
 * @since 1.0.0
 */
import { Effect, FileSystem, Option } from "effect"
import * as Config from "../config/Config.js"
import type { PoolConfig } from "../config/Config.js"
import { SystemUsers } from "../peers/SystemUsers.js"

const NO_LOGIN = /(^|\/)(nologin|false)$/

// Whether uid (with its primary gid, or the backup group) may write a directory of this mode and
// owner; supplementary groups are not looked at.
const writableBy = (info: FileSystem.File.Info, uid: number, gids: ReadonlyArray<number>): boolean => {
  if (uid === 0) return true
  const owner = Option.getOrUndefined(info.uid)
  const group = Option.getOrUndefined(info.gid)
  if (owner === uid) return (info.mode & 0o200) !== 0
  if (group !== undefined && gids.includes(group)) return (info.mode & 0o020) !== 0
  return (info.mode & 0o002) !== 0
}

/**
 * Settings cedar-peer works with but under which going back to `cback3` would fail silently, each
 * as `location: warning`: a working dir the backup user cannot write (cback3 writes there as that
 * user), a backup user without a login shell (cback3 runs commands as it through `su -c`).
 * Never fails; empty when there is nothing to say.
 *
 * @since 1.0.0
 * @category operations
 */
export const warnings = (config: PoolConfig): Effect.Effect<ReadonlyArray<string>, never, FileSystem.FileSystem | SystemUsers> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const users = yield* SystemUsers
    const user = yield* users.lookupUser(config.options.backupUser)
    if (Option.isNone(user)) return [] // an error already
    const found: Array<string> = []
    const shell = user.value.shell
    if (shell !== undefined && NO_LOGIN.test(shell)) {
      found.push(
        `${Config.locate(config, ["options", "backupUser"])}: ${config.options.backupUser} has no login shell (${shell}): ` +
          "cedar-peer runs commands as it without a shell, but cback3 uses `su -c`, which would fail"
      )
    }
    const group = Option.getOrUndefined(yield* users.lookupGroup(config.options.backupGroup))
    const info = yield* Effect.option(fs.stat(config.options.workingDir))
    if (Option.isSome(info) && info.value.type === "Directory") {
      const gids = [user.value.gid, ...(group === undefined ? [] : [group])]
      if (!writableBy(info.value, user.value.uid, gids)) {
        found.push(
          `${Config.locate(config, ["options", "workingDir"])}: ${config.options.workingDir} is not writable by the backup user ` +
            `${config.options.backupUser}: cedar-peer does not need it to be, but cback3 would fail there`
        )
      }
    }
    return found
  })

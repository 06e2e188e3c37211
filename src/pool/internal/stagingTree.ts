// The staging tree of a run, opened so that nobody but root can redirect what root writes into it:
// `<stagingDir>/YYYY/MM/DD/<peer>`, each level opened without following a link (made when
// missing), directories owned by root with the backup group (mode 0750), so the backup user can
// read everything and rename or replace nothing; staged files and indicators are the backup
// user's. Cedar chowns the directories themselves to the backup user (see docs/compatibility.md).
import { Effect, Result } from "effect"
import type { Scope } from "effect"
import { FileOperationFailed } from "../../domain/PeerError.js"
import type { Ownership } from "../../domain/Peer.js"
import type { ReplaceEmpty } from "../../peers/stageInto.js"
import { DEF_STAGE_INDICATOR } from "../../domain/Peer.js"
import type { Directory, DiskError, NotRegularFile } from "../../disk/StagingDisk.js"
import { StagingDisk } from "../../disk/StagingDisk.js"

const MASTER = "master"

/** Mode of every directory of the tree: root writes, the backup group reads, others nothing. */
export const TREE_MODE = 0o750

/** The year, month and day components of the daily directory, in local time. */
export const dailyComponents = (date: Date): readonly [string, string, string] => {
  const pad = (n: number) => String(n).padStart(2, "0")
  return [String(date.getFullYear()), pad(date.getMonth() + 1), pad(date.getDate())]
}

const failed = (peer: string, path: string) => (error: DiskError | NotRegularFile) =>
  new FileOperationFailed({
    peer,
    operation: error._tag === "NotRegularFile" ? "open" : error.operation === "makeDirectory" ? "makeDirectory" : "open",
    path,
    cause: error._tag === "NotRegularFile"
      ? `exists and is a ${error.type === "SymbolicLink" ? "symbolic link" : error.type}, not a directory; nothing written there`
      : error
  })

/**
 * How the tree's directories are made: as root, owned by root and the backup group; otherwise
 * left to the process (its own directories, its umask).
 */
const directoryAttributes = (ownership: Ownership | undefined) =>
  ownership === undefined ? { mode: 0o755 } : { mode: TREE_MODE, ownership: { uid: process.geteuid?.() ?? 0, gid: ownership.gid } }

/** A peer's opened directory; `replaceEmpty` when this run made it, so a stage may replace it whole. */
export interface PeerDirectory {
  readonly directory: Directory
  readonly replaceEmpty?: ReplaceEmpty | undefined
}

/** The opened daily directory and, for each peer, its opened directory or why it could not be used. */
export interface StagingTree {
  readonly dailyDir: string
  readonly daily: Directory
  readonly peers: ReadonlyMap<string, Result.Result<PeerDirectory, FileOperationFailed>>
}

/**
 * Opens (making what is missing) the daily directory and one directory per peer. A link or a
 * non-directory at the staging dir's YYYY, MM or DD fails the run; at a peer's directory, only
 * that peer.
 */
export const openStagingTree = (
  stagingDir: string,
  date: Date,
  peerNames: ReadonlyArray<string>,
  ownership: Ownership | undefined
): Effect.Effect<StagingTree, FileOperationFailed, StagingDisk | Scope.Scope> =>
  Effect.gen(function*() {
    const disk = yield* StagingDisk
    const base = stagingDir.replace(/\/+$/, "")
    let directory = yield* disk.openDirectory(base).pipe(Effect.mapError(failed(MASTER, base)))
    let shown = base
    const attributes = directoryAttributes(ownership)
    const [year, month, day] = dailyComponents(date)
    for (const component of [year, month, day]) {
      shown = `${shown}/${component}`
      const opened = yield* disk.openSubdirectory(directory, component, attributes).pipe(Effect.mapError(failed(MASTER, shown)))
      // a re-run of a day is normal (Cedar warns each time): a debug line, for the daily dir only
      if (!opened.created && component === day) yield* Effect.logDebug(`staging directory ${shown} already existed`)
      directory = opened.directory
    }
    const daily = directory
    const peers = new Map<string, Result.Result<PeerDirectory, FileOperationFailed>>()
    for (const name of peerNames) {
      const opened = yield* Effect.result(
        disk.openSubdirectory(daily, name, attributes).pipe(Effect.mapError(failed(name, `${shown}/${name}`)))
      )
      if (Result.isSuccess(opened) && !opened.success.created) {
        yield* Effect.logDebug(`staging directory ${shown}/${name} already existed`)
      }
      // only root can write in the daily directory: one made empty by this run stays so until its peer lands
      peers.set(name, Result.map(opened, ({ created, directory }) => created ? { directory, replaceEmpty: { parent: daily, name, ...attributes } } : { directory }))
    }
    return { dailyDir: shown, daily, peers }
  })

/** Writes the master's stage indicator into the daily directory, never through a link, owned by the backup user. */
export const writeMasterIndicator = (
  tree: StagingTree,
  ownership: Ownership | undefined
): Effect.Effect<void, FileOperationFailed, StagingDisk> =>
  Effect.flatMap(StagingDisk, (disk) =>
    disk.writeEmptyFile(tree.daily, DEF_STAGE_INDICATOR, { ownership }).pipe(
      Effect.mapError((error) =>
        new FileOperationFailed({
          peer: MASTER,
          operation: error._tag === "DiskError" && (error.operation === "chown" || error.operation === "chmod") ? error.operation : "create",
          path: `${tree.dailyDir}/${DEF_STAGE_INDICATOR}`,
          cause: error._tag === "NotRegularFile" ? `exists and is a ${error.type}, not a regular file; left alone` : error
        })
      )
    ))

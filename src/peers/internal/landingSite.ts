// Where a peer's files are gathered before they land, and how they land: all of them or none.
// Local and remote peers alike gather into a private directory; what differs is only how the
// files get there (a copy, scp, a tar stream).
//
// When the target is the empty directory the pool made for the peer this run (`replaceEmpty`), the
// private directory is made beside it, in the daily directory, and takes its place in one rename:
// the peer's directory holds nothing, then everything, and the files cost one directory
// operation each (their creation) instead of two. Otherwise the private directory is made inside
// the target and each file is renamed into place.
import { Effect } from "effect"
import type { Scope } from "effect"
import type { Ownership } from "../../domain/Peer.js"
import type { StageIntoOptions } from "../stageInto.js"
import type { Directory, DiskError, FileName, FileNames, StagingDiskShape } from "../../disk/StagingDisk.js"

const key = (name: FileName): string => Buffer.from(name).toString("latin1")

/** Where a peer's files gather, and how they land. */
export interface LandingSite {
  readonly gather: (target: Directory, options: StageIntoOptions, owner?: Ownership) => Effect.Effect<Directory, DiskError, Scope.Scope>
  readonly land: (
    privateDir: Directory,
    names: FileNames,
    target: Directory,
    options: StageIntoOptions,
    bytes: number
  ) => Effect.Effect<void, DiskError>
}

export const makeLandingSite = (disk: StagingDiskShape): LandingSite => {
  /**
   * A fresh private directory to gather the files in, owned by `owner` while a copy command
   * writes it: beside a target that can be replaced whole, inside it otherwise. Inside, what
   * killed runs left in the target is removed first (their pid is gone); beside, the target is
   * new and the pool sweeps the daily directory once for all its peers.
   */
  const gather = (
    target: Directory,
    options: StageIntoOptions,
    owner?: Ownership
  ): Effect.Effect<Directory, DiskError, Scope.Scope> =>
    Effect.gen(function*() {
      if (options.replaceEmpty !== undefined) return yield* disk.makePrivateDirectory(options.replaceEmpty.parent, owner)
      const removed = yield* disk.removeLeftovers(target).pipe(
        Effect.catch((error) => Effect.as(Effect.logWarning(`cannot remove leftovers in ${target.shown}: ${error.detail}`), []))
      )
      for (const name of removed) yield* Effect.logInfo(`removed ${target.shown.replace(/\/+$/, "")}/${name}, left by a run that is gone`)
      return yield* disk.makePrivateDirectory(target, owner)
    })

  /**
   * Renames each file into the target, all or none: should a rename fail, the files this call
   * added are moved back into the private directory (removed whole afterwards). A file that
   * existed before is only ever replaced by a rename: whole or untouched.
   */
  const renameEach = (privateDir: Directory, names: FileNames, target: Directory) =>
    Effect.gen(function*() {
      const before = new Set((yield* disk.list(target)).map((entry) => key(entry.name)))
      yield* disk.commit(privateDir, names, target).pipe(
        Effect.tapError(() =>
          Effect.gen(function*() {
            const left = new Set((yield* disk.list(privateDir)).map((entry) => key(entry.name)))
            const added: Array<FileName> = []
            for (let i = 0; i < names.length; i++) {
              const name = names.at(i)!
              if (!left.has(key(name)) && !before.has(key(name))) added.push(name)
            }
            yield* disk.commit(target, added, privateDir)
          }).pipe(Effect.catch((undo) => Effect.logError(`cannot take back the files staged so far: ${undo.message}`)))
        )
      )
    })

  /**
   * Puts the gathered files in place, all or none, and as one step: not interruptible midway, so
   * a stop arriving meanwhile is seen once they are all in (or all out). The `committing` progress
   * is reported inside that step, so whoever stops the peer knows its files were going in: it is
   * never reported for a landing that did not start.
   */
  const land = (
    privateDir: Directory,
    names: FileNames,
    target: Directory,
    options: StageIntoOptions,
    bytes: number
  ): Effect.Effect<void, DiskError> => {
    const replace = options.replaceEmpty
    const each = renameEach(privateDir, names, target)
    const committing = Effect.sync(() => options.onProgress?.({ phase: "committing", files: names.length, bytes }))
    if (replace === undefined) return Effect.uninterruptible(Effect.andThen(committing, each))
    return Effect.andThen(
      committing,
      disk.replaceEmptyDirectory(replace.parent, privateDir, replace.name, replace).pipe(
        // no longer empty (only root can write there: another tool, a run of an older version):
        // the files go in one by one beside what is there, as on a second run of the day
        Effect.catch((error) =>
          Effect.andThen(Effect.logDebug(`${target.shown} not replaced whole (${error.detail}): renaming file by file`), each)
        )
      )
    ).pipe(Effect.uninterruptible)
  }

  return { gather, land } as const
}

/**
 * What staging into a directory the pool opened for the run takes beyond a stage's options: the
 * pool's own knowledge that the directory is new and empty, so that it may be replaced whole.
 * Not part of `StageOptions`: only the pool has such a directory to give.
 *
 * @since 1.0.0
 */
import type { Ownership, StageOptions } from "../domain/Peer.js"
import type { Directory } from "../disk/StagingDisk.js"

/**
 * An empty directory that a stage may replace whole: `name` in `parent`, made for this run.
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
 * The options of `stagePeerInto`.
 *
 * @since 1.0.0
 * @category models
 */
export interface StageIntoOptions extends StageOptions {
  /**
   * The target is the empty directory `name` of `parent`, made for this run (as the pool makes
   * one per peer). The files are then gathered in a private directory of `parent`, which takes
   * the target's place in one rename with `mode` and `ownership`: the directory holds nothing,
   * then everything. Should the target no longer be empty by then, the files are renamed into it
   * one by one as usual.
   */
  readonly replaceEmpty?: ReplaceEmpty | undefined
}

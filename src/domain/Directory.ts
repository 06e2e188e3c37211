/**
 * An open directory, as the staging disk hands it out (see `StagingDisk`, which re-exports it):
 * a value of the domain, because the stage options of a pool name one (`replaceEmpty`).
 *
 * @since 1.0.0
 */

/**
 * An open directory. Operations address entries relative to it, so renaming or replacing one of
 * its parents after it was opened changes nothing. `shown` is its path for messages; what else it
 * holds (a descriptor, …) is the business of the disk that opened it, and no other disk takes it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Directory {
  readonly shown: string
}

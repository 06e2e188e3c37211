/**
 * The values of a stage operation: its options, where it is (`PeerPhase`), what it applies to
 * indicator files, and its report.
 *
 * @since 1.0.0
 */
import { Schema } from "effect"

/**
 * Numeric owner and group applied to staged files with chown.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ownership {
  readonly uid: number
  readonly gid: number
}

/**
 * What a stage operation applies to the files it stages.
 *
 * @since 0.1.0
 * @category models
 */
export interface StageOptions {
  /** chown every staged file to this uid/gid */
  readonly ownership?: Ownership | undefined
  /** chmod every staged file to these permission bits, e.g. `0o640` */
  readonly permissions?: number | undefined
  /** local peers only: stage the regular files and report other entries instead of failing */
  readonly skipUnsupported?: boolean | undefined
  /** at most this many files; more fails the peer with `LimitExceeded`, nothing staged */
  readonly maxFiles?: number | undefined
  /** at most this many bytes in all; more fails the peer with `LimitExceeded`, nothing staged */
  readonly maxBytes?: number | undefined
  /** compare the SHA-256 of every staged file with its source's; a mismatch is `VerificationFailed` */
  readonly verify?: boolean | undefined
  /** called as the operation goes: what it is doing, files and bytes so far where known */
  readonly onProgress?: ((progress: StageProgress) => void) | undefined
  /**
   * `false`: a listener that only wants the phases. An scp copy reports no files and bytes as
   * they arrive (it would look into the directory scp writes to every few hundred milliseconds
   * for them: at 5,000 small files, ≈ 5 % more CPU), only its start. Default `true`.
   */
  readonly copyProgress?: boolean | undefined
}

/**
 * What a peer is doing while it is staged: in a stage operation's progress and in the pool's events.
 *
 * @since 0.2.0
 * @category models
 */
export type PeerPhase = "checking" | "connecting" | "copying" | "verifying" | "committing" | "indicator"

/**
 * Where a stage operation is, for progress displays.
 *
 * @since 0.2.0
 * @category models
 */
export interface StageProgress {
  readonly phase: PeerPhase
  readonly files?: number | undefined
  readonly bytes?: number | undefined
}

/**
 * What a stage operation applies to an indicator file it writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndicatorOptions {
  readonly ownership?: Ownership | undefined
  readonly permissions?: number | undefined
}

/**
 * The kind of a directory entry that cannot be staged.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EntryKind = Schema.Literals([
  "Directory",
  "SymbolicLink",
  "FIFO",
  "Socket",
  "BlockDevice",
  "CharacterDevice",
  "Unknown",
  /** a regular file with more than one link where only fresh copies may be (a remote landing) */
  "HardLink",
  /** a name the copy command could not have produced (e.g. a dotfile after `dir/*`) */
  "UnexpectedName"
])

/**
 * @since 1.0.0
 * @category models
 */
export type EntryKind = typeof EntryKind.Type

/**
 * A collect-directory entry that is not a regular file.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SkippedEntry = Schema.Struct({ name: Schema.String, kind: EntryKind })

/**
 * @since 0.1.0
 * @category models
 */
export type SkippedEntry = typeof SkippedEntry.Type

/**
 * The outcome of staging one peer. `count` is Cedar's return value: the number of files copied.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StageReport = Schema.Struct({
  count: Schema.Number,
  bytes: Schema.Number,
  /**
   * the staged file names, sorted by their bytes, shown as `showName` shows them (a local peer's
   * report makes them on first read: a million of them take some 40 MB)
   */
  files: Schema.Array(Schema.String),
  /** entries left out with `skipUnsupported` (empty otherwise) */
  skipped: Schema.Array(SkippedEntry),
  /** with `verify`: the SHA-256 (hex) of each staged file, in the order of `files` (for a manifest) */
  hashes: Schema.optionalKey(Schema.Array(Schema.Struct({ name: Schema.String, sha256: Schema.String })))
})

/**
 * @since 0.1.0
 * @category models
 */
export type StageReport = typeof StageReport.Type

/**
 * The collect-indicator status of a peer: `unreachable` when it could not be looked for at all
 * (unknown host, refused login, timeout), `not-ready` when the peer answered without it.
 *
 * @since 0.1.0
 * @category models
 */
export interface IndicatorStatus {
  readonly status: "ready" | "not-ready" | "unreachable"
  /** why the indicator was not found, when known */
  readonly reason?: string | undefined
}

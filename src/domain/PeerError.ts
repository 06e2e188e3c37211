/**
 * Every error a cedar-peer operation can fail with. Each is a tagged, schema-backed value (so
 * `Effect.catchTag` and `--json` both work) whose `message` starts with the peer it concerns, and
 * each public operation fails with one named union of them (`StagePeerError`, `CheckError`, …).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { describeCause, withDetail } from "./errorText.js"
import { EntryKind } from "./stage.js"

/**
 * A peer was described with invalid fields: empty name, relative directory, unknown failure mode,
 * empty command, invalid host or user name, invalid action name. (Cedar: ValueError)
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPeerConfig extends Schema.TaggedError<InvalidPeerConfig>()("InvalidPeerConfig", {
  peer: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `peer ${this.peer}: invalid peer configuration: ${this.problems.join("; ")}`
  }
}

/**
 * Why a path was refused.
 *
 * @since 0.1.0
 * @category models
 */
export const PathProblem = Schema.Literals(["NotAbsolute", "NotFound", "NotADirectory", "BadName", "BadCharacter"])

/**
 * @since 0.1.0
 * @category models
 */
export type PathProblem = typeof PathProblem.Type

const pathProblemText: Record<PathProblem, string> = {
  NotAbsolute: "not an absolute path",
  NotFound: "does not exist",
  NotADirectory: "not a directory",
  BadName: "not a single plain file name",
  BadCharacter: "contains a NUL byte or a newline"
}

/**
 * A path given to an operation is not absolute, does not exist, is not a directory, holds a
 * forbidden character, or an indicator name is not a plain file name. (Cedar: ValueError)
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPath extends Schema.TaggedError<InvalidPath>()("InvalidPath", {
  peer: Schema.String,
  path: Schema.String,
  problem: PathProblem
}) {
  override get message(): string {
    return `peer ${this.peer}: ${JSON.stringify(this.path)}: ${pathProblemText[this.problem]}`
  }
}

/**
 * A local collect directory holds entries other than regular files; nothing was copied.
 * (Cedar: ValueError, after a partial copy)
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedEntry extends Schema.TaggedError<UnsupportedEntry>()("UnsupportedEntry", {
  peer: Schema.String,
  collectDir: Schema.String,
  entries: Schema.Array(Schema.Struct({ name: Schema.String, kind: EntryKind }))
}) {
  override get message(): string {
    const list = this.entries.map((e) => `${JSON.stringify(e.name)} (${e.kind})`).join(", ")
    return `peer ${this.peer}: ${this.collectDir}: not regular files, nothing staged: ${list}`
  }
}

/**
 * There was no file to stage. (Cedar: IOError)
 *
 * @since 0.1.0
 * @category errors
 */
export class NothingStaged extends Schema.TaggedError<NothingStaged>()("NothingStaged", {
  peer: Schema.String,
  collectDir: Schema.String
}) {
  override get message(): string {
    return `peer ${this.peer}: ${this.collectDir}: no files to stage`
  }
}

/**
 * A copy failed: a local I/O error, a non-zero exit of the rcp command, or a copy that reported
 * success but left no file. (Cedar: IOError)
 *
 * @since 0.1.0
 * @category errors
 */
export class CopyFailed extends Schema.TaggedError<CopyFailed>()("CopyFailed", {
  peer: Schema.String,
  path: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  stderr: Schema.optional(Schema.String),
  argv: Schema.optional(Schema.Array(Schema.String)),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const status = this.exitCode === undefined ? "copy failed" : `copy failed with exit status ${this.exitCode}`
    return withDetail(`peer ${this.peer}: ${this.path}: ${status}`, this.stderr ?? describeCause(this.cause))
  }
}

/**
 * Creating, renaming or removing a file, chown or chmod failed. (Cedar: OSError)
 *
 * @since 0.1.0
 * @category errors
 */
export class FileOperationFailed extends Schema.TaggedError<FileOperationFailed>()("FileOperationFailed", {
  peer: Schema.String,
  operation: Schema.Literals(["create", "chown", "chmod", "rename", "remove", "makeDirectory", "stat", "open", "lock"]),
  path: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return withDetail(`peer ${this.peer}: ${this.path}: ${this.operation} failed`, describeCause(this.cause))
  }
}

/**
 * A remote peer has a local user, but only root may run commands as another user. (Cedar: OSError)
 *
 * @since 0.1.0
 * @category errors
 */
export class LocalUserNotPermitted extends Schema.TaggedError<LocalUserNotPermitted>()("LocalUserNotPermitted", {
  peer: Schema.String,
  localUser: Schema.String
}) {
  override get message(): string {
    return `peer ${this.peer}: local user ${this.localUser} is set, but only root can run commands as another user`
  }
}

/**
 * The rsh command could not start or exited with a non-zero status. (Cedar: IOError)
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteCommandFailed extends Schema.TaggedError<RemoteCommandFailed>()("RemoteCommandFailed", {
  peer: Schema.String,
  argv: Schema.Array(Schema.String),
  exitCode: Schema.optional(Schema.Number),
  stderr: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const status = this.exitCode === undefined ? "could not run" : `exited with status ${this.exitCode}`
    return withDetail(`peer ${this.peer}: remote command ${status} (${this.argv.join(" ")})`, this.stderr)
  }
}

/**
 * A managed action failed on a remote peer; wraps the failed remote command. (Cedar: IOError)
 *
 * @since 0.1.0
 * @category errors
 */
export class ManagedActionFailed extends Schema.TaggedError<ManagedActionFailed>()("ManagedActionFailed", {
  peer: Schema.String,
  action: Schema.String,
  cause: RemoteCommandFailed
}) {
  override get message(): string {
    const status = this.cause.exitCode === undefined ? "could not run" : `exited with status ${this.cause.exitCode}`
    return withDetail(`peer ${this.peer}: managed action ${this.action} ${status}`, this.cause.stderr)
  }
}

// What Config.load says of a file it cannot read.
const UNREADABLE = new Set(["file not found", "permission denied", "is a directory, not a file", "not a readable file"])

/**
 * A configuration file is missing, unreadable or invalid; lists every problem with its location.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  path: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    // a file that cannot be read is not an invalid one: `/etc/cback3.conf: not found`
    const [only] = this.problems
    if (this.problems.length === 1 && only !== undefined && UNREADABLE.has(only)) {
      return `${this.path}: ${only === "file not found" ? "not found" : only}`
    }
    return `${this.path}: invalid configuration:\n  ${this.problems.join("\n  ")}`
  }
}

/**
 * A peer went over one of its limits (`maxFiles`, `maxBytes`); nothing of it was staged.
 *
 * @since 0.2.0
 * @category errors
 */
export class LimitExceeded extends Schema.TaggedError<LimitExceeded>()("LimitExceeded", {
  peer: Schema.String,
  /** which limit: the number of files or the number of bytes */
  limit: Schema.Literals(["maxFiles", "maxBytes"]),
  /** the configured maximum */
  max: Schema.Number,
  /** what the peer had (at least) when the limit was passed */
  value: Schema.Number
}) {
  override get message(): string {
    const unit = this.limit === "maxFiles" ? "files" : "bytes"
    return `peer ${this.peer}: limit ${this.limit} exceeded: at least ${this.value} ${unit}, at most ${this.max} allowed; nothing staged`
  }
}

/**
 * An operation on a peer did not finish in time; its processes were killed.
 *
 * @since 0.2.0
 * @category errors
 */
export class TimedOut extends Schema.TaggedError<TimedOut>()("TimedOut", {
  peer: Schema.String,
  /** what was timed out, e.g. `stage`, `connect`, `check`, `command` */
  operation: Schema.String,
  /** the timeout, human readable, e.g. `30s` */
  after: Schema.String
}) {
  override get message(): string {
    return `peer ${this.peer}: ${this.operation} timed out after ${this.after}`
  }
}

/**
 * Another run holds the pool's lock; this run touched nothing.
 *
 * @since 0.2.0
 * @category errors
 */
export class AlreadyRunning extends Schema.TaggedError<AlreadyRunning>()("AlreadyRunning", {
  lockFile: Schema.String,
  pid: Schema.Number,
  /** when the holder started, ISO 8601 */
  startedAt: Schema.String
}) {
  override get message(): string {
    return `${this.lockFile}: another cedar-peer run holds the lock (pid ${this.pid}, started ${this.startedAt}); nothing done`
  }
}

/**
 * A staged file's SHA-256 differs from its source's; nothing of the peer was staged.
 *
 * @since 0.2.0
 * @category errors
 */
export class VerificationFailed extends Schema.TaggedError<VerificationFailed>()("VerificationFailed", {
  peer: Schema.String,
  file: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `peer ${this.peer}: ${this.file}: verification failed: source sha256 ${this.expected}, staged ${this.actual}; nothing staged`
  }
}

/**
 * Any error of a peer operation.
 *
 * @since 0.1.0
 * @category errors
 */
export type PeerError =
  | InvalidPeerConfig
  | InvalidPath
  | UnsupportedEntry
  | NothingStaged
  | CopyFailed
  | FileOperationFailed
  | LocalUserNotPermitted
  | RemoteCommandFailed
  | ManagedActionFailed
  | LimitExceeded
  | TimedOut
  | VerificationFailed

/**
 * What staging a local peer (`LocalPeers.stagePeer`, `stagePeerInto`) fails with: a subset of
 * `StagePeerError`.
 *
 * @since 1.0.0
 * @category errors
 */
export type LocalStagePeerError =
  | InvalidPath
  | UnsupportedEntry
  | NothingStaged
  | CopyFailed
  | FileOperationFailed
  | LimitExceeded
  | VerificationFailed

/**
 * What staging a peer (`stagePeer`, `stagePeerInto` of either peer kind) fails with; a remote peer
 * adds its time limits, its shell command and its local user to a local peer's failures.
 *
 * @since 1.0.0
 * @category errors
 */
export type StagePeerError =
  | LocalStagePeerError
  | TimedOut
  | RemoteCommandFailed
  | LocalUserNotPermitted

/**
 * What looking for a peer's collect indicator (`checkCollectIndicator`, `collectIndicatorStatus`)
 * fails with: only an indicator name that is not a plain file name. A peer that cannot be reached
 * is a status, not a failure.
 *
 * @since 1.0.0
 * @category errors
 */
export type CheckError = InvalidPath

/**
 * What writing a local peer's stage indicator fails with: a subset of `WriteIndicatorError`.
 *
 * @since 1.0.0
 * @category errors
 */
export type LocalWriteIndicatorError = InvalidPath | FileOperationFailed

/**
 * What writing a peer's stage indicator (`writeStageIndicator` of either peer kind) fails with.
 *
 * @since 1.0.0
 * @category errors
 */
export type WriteIndicatorError =
  | LocalWriteIndicatorError
  | CopyFailed
  | TimedOut
  | LocalUserNotPermitted

/**
 * What running a command on a remote peer (`executeRemoteCommand`) fails with.
 *
 * @since 1.0.0
 * @category errors
 */
export type ExecuteError = RemoteCommandFailed | TimedOut | LocalUserNotPermitted

/**
 * What running a managed action on a remote peer (`executeManagedAction`) fails with: an invalid
 * action name, the failed action, a time limit or a local user that may not be used.
 *
 * @since 1.0.0
 * @category errors
 */
export type ManagedActionError = InvalidPeerConfig | ManagedActionFailed | TimedOut | LocalUserNotPermitted

/**
 * Everything a pool's per-peer result can carry: an invalid peer and the failure of any peer
 * operation the pool runs.
 *
 * @since 1.0.0
 * @category errors
 */
export type PeerFailure =
  | InvalidPeerConfig
  | StagePeerError
  | CheckError
  | WriteIndicatorError
  | ExecuteError
  | ManagedActionError

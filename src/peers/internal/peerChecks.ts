// What both peer kinds check the same way: a local directory that an operation needs.
import { Effect } from "effect"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import type { PlatformError } from "effect/PlatformError"
import { FileOperationFailed, InvalidPath } from "../../domain/PeerError.js"

/** ENOENT, or ENOTDIR for a path under a file: either way the directory is not there. */
export const isMissing = (error: PlatformError): boolean =>
  error.reason._tag === "NotFound" || error.reason._tag === "BadResource"

/**
 * Fails unless `dir` is an absolute path to an existing directory. A symlink to a directory
 * passes: stat follows links, as Cedar's os.path.isdir does.
 */
export const requireDirectory = (
  fs: FileSystem,
  path: Path,
  peer: string,
  dir: string
): Effect.Effect<void, InvalidPath | FileOperationFailed> =>
  Effect.gen(function*() {
    const invalid = (problem: InvalidPath["problem"]) => new InvalidPath({ peer, path: dir, problem })
    if (dir.includes("\0")) return yield* invalid("BadCharacter")
    if (!path.isAbsolute(dir)) return yield* invalid("NotAbsolute")
    const info = yield* fs.stat(dir).pipe(
      Effect.mapError((error): InvalidPath | FileOperationFailed =>
        isMissing(error) ? invalid("NotFound") : new FileOperationFailed({ peer, operation: "stat", path: dir, cause: error })
      )
    )
    if (info.type !== "Directory") return yield* invalid("NotADirectory")
  })

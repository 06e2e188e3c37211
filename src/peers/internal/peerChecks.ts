// What both peer kinds check the same way: untrusted input decoded into a peer value, and a
// local directory that an operation needs.
import { Effect, Schema, SchemaIssue } from "effect"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import type { PlatformError } from "effect/PlatformError"
import { FileOperationFailed, InvalidPath, InvalidPeerConfig } from "../../domain/PeerError.js"

/** Every problem of a decode as `field: message`. */
export const problemsOf = (error: Schema.SchemaError, prefix?: string): Array<string> =>
  formatIssues(error.issue).issues.map((issue) =>
    `${prefix ?? (issue.path ?? []).map((key) => String(typeof key === "object" ? key.key : key)).join(".")}: ${issue.message}`
  )

// a missing field reads as it did with Effect 3 ("is missing", not Schema 4's "Missing key")
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => issue._tag === "MissingKey" ? "is missing" : SchemaIssue.defaultLeafHook(issue)
})

/** Decodes untrusted fields into a peer value, listing every problem in one InvalidPeerConfig. */
export const decodePeer = <A>(
  schema: Schema.Decoder<A>,
  name: unknown,
  fields: Record<string, unknown>
): Effect.Effect<A, InvalidPeerConfig> =>
  Schema.decodeUnknownEffect(schema, { errors: "all", onExcessProperty: "ignore" })(
    // an `undefined` optional field means "not set", which exact optional fields spell by absence
    Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))
  ).pipe(
    Effect.mapError((error) =>
      new InvalidPeerConfig({ peer: typeof name === "string" ? name : String(name), problems: problemsOf(error) })
    )
  )

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

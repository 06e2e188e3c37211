/**
 * A local peer: a Cedar Backup client whose collect directory is reached through the filesystem.
 * `LocalPeer` is the validated value, `LocalPeers` the service that stages it.
 *
 * @since 0.1.0
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Schema } from "effect"
import { makeLandingSite } from "./internal/landingSite.js"
import { decodePeer, isMissing, requireDirectory as checkDirectory } from "./internal/peerChecks.js"
import type { IndicatorOptions, IndicatorStatus, SkippedEntry, StageOptions, StageReport } from "./Peer.js"
import {
  AbsolutePath,
  DEF_COLLECT_INDICATOR,
  DEF_STAGE_INDICATOR,
  EntryKind,
  FailureMode,
  isPlainFileName,
  NonBlankString,
  showName
} from "./Peer.js"
import {
  CopyFailed,
  FileOperationFailed,
  InvalidPath,
  InvalidPeerConfig,
  LimitExceeded,
  NothingStaged,
  UnsupportedEntry,
  VerificationFailed
} from "./PeerError.js"
import type { ByteLimitReached, Directory, DiskError, NotRegularFile } from "./StagingDisk.js"
import { StagingDisk } from "./StagingDisk.js"

const isEntryKind = Schema.is(EntryKind)
const kindOf = (type: string): SkippedEntry["kind"] => (isEntryKind(type) ? type : "Unknown")

/**
 * A local peer: its name, its collect directory (which need not exist yet) and when the pool
 * ignores its failures. `new LocalPeer(...)` throws on bad input; use `make` for untrusted input.
 *
 * @since 0.1.0
 * @category models
 */
export class LocalPeer extends Schema.TaggedClass<LocalPeer>()("LocalPeer", {
  name: NonBlankString,
  collectDir: AbsolutePath,
  ignoreFailureMode: Schema.optionalWith(FailureMode, { exact: true })
}) {}

/**
 * What `make` accepts: the fields of a `LocalPeer`, unvalidated.
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalPeerInput {
  readonly name: string
  readonly collectDir: string
  readonly ignoreFailureMode?: string | undefined
}

/**
 * Validates `input` into a `LocalPeer`; `InvalidPeerConfig` lists every problem as `field: message`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: LocalPeerInput): Effect.Effect<LocalPeer, InvalidPeerConfig> =>
  decodePeer(LocalPeer, input.name, { ...input, _tag: "LocalPeer" })

/**
 * The collect dir's regular files, sorted by their bytes: names, the same names shown, and their
 * bytes as listed (when sizes were asked for). Two arrays rather than an object per file: a
 * collect dir can hold hundreds of thousands of files.
 */
type Regular = { readonly names: ReadonlyArray<Uint8Array>; readonly shown: ReadonlyArray<string>; readonly bytes: number }

const byBytes = (a: { readonly name: Uint8Array }, b: { readonly name: Uint8Array }) => Buffer.compare(a.name, b.name)

/**
 * Every error `stagePeer` can fail with.
 *
 * @since 0.2.0
 * @category models
 */
export type StageError =
  | InvalidPath
  | UnsupportedEntry
  | NothingStaged
  | CopyFailed
  | FileOperationFailed
  | LimitExceeded
  | VerificationFailed

/**
 * Stages local peers and reads and writes their indicator files. Staging goes through the
 * `StagingDisk` (nothing followed, byte names, one private directory per run); the indicators and
 * the path checks through the platform `FileSystem`.
 *
 * @since 0.1.0
 * @category services
 */
export class LocalPeers extends Effect.Service<LocalPeers>()("cedar-peer/LocalPeers", {
  effect: Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const disk = yield* StagingDisk
    const site = makeLandingSite(disk)

    const invalidPath = (peer: LocalPeer, dir: string, problem: InvalidPath["problem"]) =>
      new InvalidPath({ peer: peer.name, path: dir, problem })

    const fileOperationFailed =
      (peer: LocalPeer, operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
        new FileOperationFailed({ peer: peer.name, operation, path: file, cause })

    const requireDirectory = (peer: LocalPeer, dir: string) => checkDirectory(fs, path, peer.name, dir)

    const requireIndicatorName = (peer: LocalPeer, name: string) =>
      isPlainFileName(name) ? Effect.void : Effect.fail(invalidPath(peer, name, "BadName"))

    const joinShown = (dir: string, shown: string) => `${dir.replace(/\/+$/, "")}/${shown}`

    /** Opens a directory the administrator named; checked first so that its problems keep their 0.1.0 errors. */
    const openNamed = (peer: LocalPeer, dir: string) =>
      Effect.zipRight(
        requireDirectory(peer, dir),
        disk.openDirectory(dir).pipe(Effect.mapError(fileOperationFailed(peer, "open", dir)))
      )

    /** A file of the batch that was not a regular file when opened: the peer fails naming it. */
    const unsupported = (peer: LocalPeer, error: NotRegularFile) =>
      new UnsupportedEntry({
        peer: peer.name,
        collectDir: peer.collectDir,
        entries: [{ name: showName(error.name), kind: kindOf(error.type) }]
      })

    const copyError = (peer: LocalPeer, target: Directory, error: DiskError | NotRegularFile | ByteLimitReached) => {
      switch (error._tag) {
        case "NotRegularFile":
          return unsupported(peer, error)
        case "ByteLimitReached":
          return new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: error.max, value: error.bytes })
        case "DiskError": {
          const shown = error.entry === undefined ? "" : showName(error.entry)
          if (error.operation === "chown" || error.operation === "chmod") {
            return new FileOperationFailed({ peer: peer.name, operation: error.operation, path: joinShown(target.shown, shown), cause: error })
          }
          return new CopyFailed({ peer: peer.name, path: error.entry === undefined ? peer.collectDir : joinShown(peer.collectDir, shown), cause: error })
        }
      }
    }

    // The collect dir's regular files (sorted by their bytes) and everything else; nothing followed.
    const listCollectDir = (peer: LocalPeer, collect: Directory, options: StageOptions) =>
      Effect.gen(function*() {
        const entries = yield* disk.list(collect, { sizes: options.maxBytes !== undefined }).pipe(
          Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: peer.collectDir, cause }))
        )
        const files = entries.filter((entry) => entry.type === "File").sort(byBytes)
        const others = entries.filter((entry) => entry.type !== "File").sort(byBytes)
        const names = files.map((entry) => entry.name)
        const regular: Regular = {
          names,
          shown: names.map(showName),
          bytes: files.reduce((sum, entry) => sum + (entry.size ?? 0), 0)
        }
        const skipped: Array<SkippedEntry> = others.map((e) => ({ name: showName(e.name), kind: kindOf(e.type) }))
        return { regular, skipped }
      })

    const checkLimits = (peer: LocalPeer, regular: Regular, options: StageOptions) =>
      Effect.gen(function*() {
        if (options.maxFiles !== undefined && regular.names.length > options.maxFiles) {
          return yield* new LimitExceeded({ peer: peer.name, limit: "maxFiles", max: options.maxFiles, value: regular.names.length })
        }
        if (options.maxBytes !== undefined) {
          const listed = regular.bytes
          if (listed > options.maxBytes) {
            return yield* new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: options.maxBytes, value: listed })
          }
        }
      })

    // Copies every file into one private directory, then lands them all in one uninterruptible
    // step (see landingSite). Before it, a failure or an interruption removes the private
    // directory whole and the target is as it was; a landing that completed stays complete,
    // whatever arrives meanwhile; one that fails midway takes back what it had added.
    const stageInto = (
      peer: LocalPeer,
      collect: Directory,
      target: Directory,
      regular: Regular,
      options: StageOptions
    ) =>
      Effect.scoped(Effect.gen(function*() {
        const names = regular.names
        const staging = yield* site.gather(target, options).pipe(
          Effect.mapError(fileOperationFailed(peer, "makeDirectory", joinShown(target.shown, ".cedar-peer-*")))
        )
        const copied = yield* disk.copyFiles(collect, names, staging, {
          ownership: options.ownership,
          permissions: options.permissions
        }, { maxBytes: options.maxBytes, hash: options.verify === true }).pipe(
          Effect.mapError((error) => copyError(peer, target, error))
        )
        if (options.verify === true) {
          const staged = yield* disk.hashFiles(staging, names).pipe(
            Effect.mapError((error) =>
              error._tag === "NotRegularFile" ? unsupported(peer, error) : new CopyFailed({ peer: peer.name, path: staging.shown, cause: error })
            )
          )
          const expected = copied.hashes ?? []
          const bad = staged.findIndex((hash, i) => hash !== expected[i])
          if (bad !== -1) {
            return yield* new VerificationFailed({
              peer: peer.name,
              file: joinShown(peer.collectDir, regular.shown[bad]!),
              expected: expected[bad]!,
              actual: staged[bad]!
            })
          }
        }
        yield* site.land(staging, names, target, options).pipe(
          Effect.mapError((error) => new FileOperationFailed({ peer: peer.name, operation: "rename", path: error.path, cause: error }))
        )
        const report: StageReport = {
          count: copied.count,
          bytes: copied.bytes,
          files: regular.shown,
          skipped: [],
          ...(options.verify === true
            ? { hashes: regular.shown.map((name, i) => ({ name, sha256: copied.hashes?.[i] ?? "" })) }
            : {})
        }
        return report
      }))

    const stageToDirectory = (peer: LocalPeer, collect: Directory, target: Directory, options: StageOptions) =>
      Effect.gen(function*() {
        const { regular, skipped } = yield* listCollectDir(peer, collect, options)
        if (skipped.length > 0 && options.skipUnsupported !== true) {
          return yield* new UnsupportedEntry({ peer: peer.name, collectDir: peer.collectDir, entries: skipped })
        }
        if (regular.names.length === 0) {
          return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
        }
        yield* checkLimits(peer, regular, options)
        const report = yield* stageInto(peer, collect, target, regular, options)
        return { ...report, skipped } satisfies StageReport
      })

    const stagePeer: (peer: LocalPeer, targetDir: string, options?: StageOptions) => Effect.Effect<StageReport, StageError> =
      Effect.fn("LocalPeers.stagePeer")(function*(peer: LocalPeer, targetDir: string, options: StageOptions = {}) {
        if (targetDir.includes("\0")) return yield* invalidPath(peer, targetDir, "BadCharacter")
        if (!path.isAbsolute(targetDir)) return yield* invalidPath(peer, targetDir, "NotAbsolute")
        return yield* Effect.scoped(Effect.gen(function*() {
          const collect = yield* openNamed(peer, peer.collectDir)
          const target = yield* openNamed(peer, targetDir)
          return yield* stageToDirectory(peer, collect, target, options)
        }))
      })

    const stagePeerInto: (peer: LocalPeer, target: Directory, options?: StageOptions) => Effect.Effect<StageReport, StageError> =
      Effect.fn("LocalPeers.stagePeerInto")(function*(peer: LocalPeer, target: Directory, options: StageOptions = {}) {
        return yield* Effect.scoped(Effect.gen(function*() {
          const collect = yield* openNamed(peer, peer.collectDir)
          return yield* stageToDirectory(peer, collect, target, options)
        }))
      })

    const collectIndicatorStatus = Effect.fn("LocalPeers.collectIndicatorStatus")(
      function*(peer: LocalPeer, name: string = DEF_COLLECT_INDICATOR) {
        yield* requireIndicatorName(peer, name)
        const found = yield* fs.exists(path.join(peer.collectDir, name)).pipe(Effect.orElseSucceed(() => false))
        const ready: IndicatorStatus = { status: "ready" }
        if (found) return ready
        const reason = yield* fs.stat(peer.collectDir).pipe(
          Effect.map((info) =>
            info.type === "Directory" ? `collect indicator ${name} not found` : "collect directory is not a directory"
          ),
          Effect.catchAll((error) =>
            Effect.succeed(
              isMissing(error) ? "collect directory does not exist" : `collect directory is not readable: ${error.message}`
            )
          )
        )
        const notReady: IndicatorStatus = { status: "not-ready", reason }
        return notReady
      }
    )

    const checkCollectIndicator = Effect.fn("LocalPeers.checkCollectIndicator")(
      function*(peer: LocalPeer, name: string = DEF_COLLECT_INDICATOR) {
        return (yield* collectIndicatorStatus(peer, name)).status === "ready"
      }
    )

    // The collect dir is writable by the peer's user: the indicator is written without following
    // a link, and ownership and permissions are set on the open file.
    const writeStageIndicator = Effect.fn("LocalPeers.writeStageIndicator")(
      function*(peer: LocalPeer, name: string = DEF_STAGE_INDICATOR, options: IndicatorOptions = {}) {
        yield* requireIndicatorName(peer, name)
        yield* requireDirectory(peer, peer.collectDir)
        const file = path.join(peer.collectDir, name)
        yield* Effect.scoped(Effect.gen(function*() {
          const collect = yield* disk.openDirectory(peer.collectDir).pipe(Effect.mapError(fileOperationFailed(peer, "open", peer.collectDir)))
          yield* disk.writeEmptyFile(collect, name, { ownership: options.ownership, permissions: options.permissions }).pipe(
            Effect.mapError((error) =>
              fileOperationFailed(peer, error._tag === "DiskError" && (error.operation === "chown" || error.operation === "chmod") ? error.operation : "create", file)(error)
            )
          )
        }))
      }
    )

    return { stagePeer, stagePeerInto, checkCollectIndicator, collectIndicatorStatus, writeStageIndicator } as const
  })
}) {}

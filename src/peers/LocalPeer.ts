/**
 * A local peer: a Cedar Backup client whose collect directory is reached through the filesystem.
 * `LocalPeer` is the validated value, `LocalPeers` the service that stages it.
 *
 * @since 0.1.0
 */
import { Context, Effect, FileSystem, Layer, Path, Schema } from "effect"
import type { LandingSite } from "./internal/landingSite.js"
import { makeLandingSite } from "./internal/landingSite.js"
import { isMissing, requireDirectory as checkDirectory } from "./internal/peerChecks.js"
import type { IndicatorOptions, IndicatorStatus, SkippedEntry, StageOptions, StageReport } from "../domain/Peer.js"
import { DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR, EntryKind, isPlainFileName, showName } from "../domain/Peer.js"
import type { LocalPeer } from "../domain/peers.js"
import type { CheckError, LocalStagePeerError, LocalWriteIndicatorError } from "../domain/PeerError.js"
import {
  CopyFailed,
  FileOperationFailed,
  InvalidPath,
  LimitExceeded,
  NothingStaged,
  UnsupportedEntry,
  VerificationFailed
} from "../domain/PeerError.js"
import type { StageIntoOptions } from "./stageInto.js"
import type { ByteLimitReached, Directory, DiskError, NameList, NotRegularFile, StagingDiskShape } from "../disk/StagingDisk.js"
import { StagingDisk } from "../disk/StagingDisk.js"

const isEntryKind = Schema.is(EntryKind)
const kindOf = (type: string): SkippedEntry["kind"] => (isEntryKind(type) ? type : "Unknown")

export {
  /**
   * A local peer: its name, its collect directory (which need not exist yet) and when the pool
   * ignores its failures. `new LocalPeer(...)` throws on bad input; use `make` for untrusted input.
   *
   * @since 0.1.0
   * @category models
   */
  LocalPeer,
  /**
   * What `make` accepts: the fields of a `LocalPeer`, unvalidated.
   *
   * @since 0.1.0
   * @category models
   */
  type LocalPeerInput,
  /**
   * Validates `input` into a `LocalPeer`; `InvalidPeerConfig` lists every problem as `field: message`.
   *
   * @since 0.1.0
   * @category constructors
   */
  makeLocalPeer as make
} from "../domain/peers.js"

/**
 * Every error `stagePeer` can fail with: `LocalStagePeerError` of `PeerError`, under its 0.2.0 name.
 *
 * @since 0.2.0
 * @category models
 */
export type StageError = LocalStagePeerError

/**
 * What `LocalPeers` does: stage a local peer and read and write its indicator files.
 *
 * @since 1.0.0
 * @category models
 */
export interface LocalPeersShape {
  /** Copies the collect dir's regular files into `targetDir`, all of them or none. */
  readonly stagePeer: (peer: LocalPeer, targetDir: string, options?: StageOptions) => Effect.Effect<StageReport, LocalStagePeerError>
  /** As `stagePeer`, into a directory the pool opened for the run (see `StageIntoOptions.replaceEmpty`). */
  readonly stagePeerInto: (peer: LocalPeer, target: Directory, options?: StageIntoOptions) => Effect.Effect<StageReport, LocalStagePeerError>
  /** Whether the collect indicator (default `cback.collect`) is in the collect dir. */
  readonly checkCollectIndicator: (peer: LocalPeer, name?: string) => Effect.Effect<boolean, CheckError>
  /** The collect indicator's status, with the reason when the peer is not ready. */
  readonly collectIndicatorStatus: (peer: LocalPeer, name?: string) => Effect.Effect<IndicatorStatus, CheckError>
  /** Writes the empty stage indicator (default `cback.stage`) into the collect dir, never through a link. */
  readonly writeStageIndicator: (
    peer: LocalPeer,
    name?: string,
    options?: IndicatorOptions
  ) => Effect.Effect<void, LocalWriteIndicatorError>
}

/**
 * The collect dir's regular files, sorted by their bytes, packed (a collect dir can hold a million
 * files), and their bytes as listed (when sizes were asked for).
 */
type Regular = { readonly names: NameList; readonly bytes: number }

/** The names as `showName` shows them, made only for the report. */
const shownNames = (names: NameList): Array<string> => {
  const shown = new Array<string>(names.length)
  for (let i = 0; i < names.length; i++) shown[i] = showName(names.at(i)!)
  return shown
}

/** What the operations share, taken once by `make` so that the methods require nothing. */
interface Env {
  readonly fs: FileSystem.FileSystem
  readonly path: Path.Path
  readonly disk: StagingDiskShape
  readonly site: LandingSite
}


const invalidPath = (peer: LocalPeer, dir: string, problem: InvalidPath["problem"]) =>
  new InvalidPath({ peer: peer.name, path: dir, problem })

const fileOperationFailed =
  (peer: LocalPeer, operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
    new FileOperationFailed({ peer: peer.name, operation, path: file, cause })

const requireDirectory = (env: Env, peer: LocalPeer, dir: string) => checkDirectory(env.fs, env.path, peer.name, dir)

const requireIndicatorName = (peer: LocalPeer, name: string) =>
  isPlainFileName(name) ? Effect.void : Effect.fail(invalidPath(peer, name, "BadName"))

const joinShown = (dir: string, shown: string) => `${dir.replace(/\/+$/, "")}/${shown}`

/** Opens a directory the administrator named; checked first so that its problems keep their 0.1.0 errors. */
const openNamed = (env: Env, peer: LocalPeer, dir: string) =>
  Effect.andThen(
    requireDirectory(env, peer, dir),
    env.disk.openDirectory(dir).pipe(Effect.mapError(fileOperationFailed(peer, "open", dir)))
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
// With a file limit, the listing stops as soon as it is passed.
const listCollectDir = (env: Env, peer: LocalPeer, collect: Directory, options: StageOptions) =>
  Effect.gen(function*() {
    const listing = yield* env.disk.listFiles(collect, { sizes: options.maxBytes !== undefined, maxFiles: options.maxFiles }).pipe(
      Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: peer.collectDir, cause }))
    )
    const regular: Regular = { names: listing.files, bytes: listing.bytes }
    const skipped: Array<SkippedEntry> = listing.others.map((e) => ({ name: showName(e.name), kind: kindOf(e.type) }))
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

/** Compares the staged copies' SHA-256 with the sources' (hashed as they were copied). */
const verifyStaged = (
  env: Env,
  peer: LocalPeer,
  staging: Directory,
  regular: Regular,
  expected: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const staged = yield* env.disk.hashFiles(staging, regular.names).pipe(
      Effect.mapError((error) =>
        error._tag === "NotRegularFile" ? unsupported(peer, error) : new CopyFailed({ peer: peer.name, path: staging.shown, cause: error })
      )
    )
    const bad = staged.findIndex((hash, i) => hash !== expected[i])
    if (bad !== -1) {
      return yield* new VerificationFailed({
        peer: peer.name,
        file: joinShown(peer.collectDir, showName(regular.names.at(bad)!)),
        expected: expected[bad]!,
        actual: staged[bad]!
      })
    }
  })

// Copies every file into one private directory, then lands them all in one uninterruptible
// step (see landingSite). Before it, a failure or an interruption removes the private
// directory whole and the target is as it was; a landing that completed stays complete,
// whatever arrives meanwhile; one that fails midway takes back what it had added.
const stageInto = (
  env: Env,
  peer: LocalPeer,
  collect: Directory,
  target: Directory,
  regular: Regular,
  options: StageIntoOptions
) =>
  Effect.scoped(Effect.gen(function*() {
    const names = regular.names
    const staging = yield* env.site.gather(target, options).pipe(
      Effect.mapError(fileOperationFailed(peer, "makeDirectory", joinShown(target.shown, ".cedar-peer-*")))
    )
    const copied = yield* env.disk.copyFiles(collect, names, staging, {
      ownership: options.ownership,
      permissions: options.permissions
    }, { maxBytes: options.maxBytes, hash: options.verify === true }).pipe(
      Effect.mapError((error) => copyError(peer, target, error))
    )
    if (options.verify === true) yield* verifyStaged(env, peer, staging, regular, copied.hashes ?? [])
    yield* env.site.land(staging, names, target, options, copied.bytes).pipe(
      Effect.mapError((error) => new FileOperationFailed({ peer: peer.name, operation: "rename", path: error.path, cause: error }))
    )
    const files = shownNames(names)
    const report: StageReport = {
      count: copied.count,
      bytes: copied.bytes,
      files,
      skipped: [],
      ...(options.verify === true
        ? { hashes: files.map((name, i) => ({ name, sha256: copied.hashes?.[i] ?? "" })) }
        : {})
    }
    return report
  }))

const stageToDirectory = (env: Env, peer: LocalPeer, collect: Directory, target: Directory, options: StageIntoOptions) =>
  Effect.gen(function*() {
    const { regular, skipped } = yield* listCollectDir(env, peer, collect, options)
    if (skipped.length > 0 && options.skipUnsupported !== true) {
      return yield* new UnsupportedEntry({ peer: peer.name, collectDir: peer.collectDir, entries: skipped })
    }
    if (regular.names.length === 0) {
      return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
    }
    yield* checkLimits(peer, regular, options)
    const report = yield* stageInto(env, peer, collect, target, regular, options)
    return { ...report, skipped } satisfies StageReport
  })

const stagePeer = (env: Env): LocalPeersShape["stagePeer"] =>
  Effect.fn("LocalPeers.stagePeer")(function*(peer: LocalPeer, targetDir: string, options: StageOptions = {}) {
    if (targetDir.includes("\0")) return yield* invalidPath(peer, targetDir, "BadCharacter")
    if (!env.path.isAbsolute(targetDir)) return yield* invalidPath(peer, targetDir, "NotAbsolute")
    return yield* Effect.scoped(Effect.gen(function*() {
      const collect = yield* openNamed(env, peer, peer.collectDir)
      const target = yield* openNamed(env, peer, targetDir)
      return yield* stageToDirectory(env, peer, collect, target, options)
    }))
  })

const stagePeerInto = (env: Env): LocalPeersShape["stagePeerInto"] =>
  Effect.fn("LocalPeers.stagePeerInto")(function*(peer: LocalPeer, target: Directory, options: StageIntoOptions = {}) {
    return yield* Effect.scoped(Effect.gen(function*() {
      const collect = yield* openNamed(env, peer, peer.collectDir)
      return yield* stageToDirectory(env, peer, collect, target, options)
    }))
  })

const collectIndicatorStatus = (env: Env): LocalPeersShape["collectIndicatorStatus"] =>
  Effect.fn("LocalPeers.collectIndicatorStatus")(function*(peer: LocalPeer, name: string = DEF_COLLECT_INDICATOR) {
    yield* requireIndicatorName(peer, name)
    const found = yield* env.fs.exists(env.path.join(peer.collectDir, name)).pipe(Effect.orElseSucceed(() => false))
    const ready: IndicatorStatus = { status: "ready" }
    if (found) return ready
    const reason = yield* env.fs.stat(peer.collectDir).pipe(
      Effect.map((info) =>
        info.type === "Directory" ? `collect indicator ${name} not found` : "collect directory is not a directory"
      ),
      Effect.catch((error) =>
        Effect.succeed(
          isMissing(error) ? "collect directory does not exist" : `collect directory is not readable: ${error.message}`
        )
      )
    )
    const notReady: IndicatorStatus = { status: "not-ready", reason }
    return notReady
  })

const checkCollectIndicator = (
  status: LocalPeersShape["collectIndicatorStatus"]
): LocalPeersShape["checkCollectIndicator"] =>
  Effect.fn("LocalPeers.checkCollectIndicator")(function*(peer: LocalPeer, name: string = DEF_COLLECT_INDICATOR) {
    return (yield* status(peer, name)).status === "ready"
  })

// The collect dir is writable by the peer's user: the indicator is written without following
// a link, and ownership and permissions are set on the open file.
const writeStageIndicator = (env: Env): LocalPeersShape["writeStageIndicator"] =>
  Effect.fn("LocalPeers.writeStageIndicator")(
    function*(peer: LocalPeer, name: string = DEF_STAGE_INDICATOR, options: IndicatorOptions = {}) {
      yield* requireIndicatorName(peer, name)
      yield* requireDirectory(env, peer, peer.collectDir)
      const file = env.path.join(peer.collectDir, name)
      yield* Effect.scoped(Effect.gen(function*() {
        const collect = yield* env.disk.openDirectory(peer.collectDir).pipe(
          Effect.mapError(fileOperationFailed(peer, "open", peer.collectDir))
        )
        yield* env.disk.writeEmptyFile(collect, name, { ownership: options.ownership, permissions: options.permissions }).pipe(
          Effect.mapError((error) =>
            fileOperationFailed(
              peer,
              error._tag === "DiskError" && (error.operation === "chown" || error.operation === "chmod") ? error.operation : "create",
              file
            )(error)
          )
        )
      }))
    }
  )

/** Builds the `LocalPeers` operations on the `StagingDisk`, `FileSystem` and `Path`, taken once. */
const makeLocalPeers = Effect.gen(function*() {
  const disk = yield* StagingDisk
  const env: Env = { fs: yield* FileSystem.FileSystem, path: yield* Path.Path, disk, site: makeLandingSite(disk) }
  const status = collectIndicatorStatus(env)
  return {
    stagePeer: stagePeer(env),
    stagePeerInto: stagePeerInto(env),
    checkCollectIndicator: checkCollectIndicator(status),
    collectIndicatorStatus: status,
    writeStageIndicator: writeStageIndicator(env)
  } satisfies LocalPeersShape
})

/**
 * Stages local peers and reads and writes their indicator files. Staging goes through the
 * `StagingDisk` (nothing followed, byte names, one private directory per run); the indicators and
 * the path checks through the platform `FileSystem`. `layer` requires `StagingDisk`, `FileSystem`
 * and `Path`, and provides none of them.
 *
 * @since 0.1.0
 * @category services
 */
export class LocalPeers extends Context.Service<LocalPeers, LocalPeersShape>()("cedar-peer/LocalPeers") {
  /**
   * The service over the `StagingDisk`, `FileSystem` and `Path` it requires.
   *
   * @since 1.0.0
   * @category layers
   */
  static readonly layer = Layer.effect(this, makeLocalPeers)
}

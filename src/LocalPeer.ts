/**
 * A local peer: a Cedar Backup client whose collect directory is reached through the filesystem.
 * `LocalPeer` is the validated value, `LocalPeers` the service that stages it.
 *
 * @since 0.1.0
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { decodePeer, isMissing, requireDirectory as checkDirectory } from "./internal/peerChecks.js"
import type { IndicatorOptions, IndicatorStatus, Ownership, SkippedEntry, StageOptions, StageReport } from "./Peer.js"
import {
  AbsolutePath,
  DEF_COLLECT_INDICATOR,
  DEF_STAGE_INDICATOR,
  FailureMode,
  isPlainFileName,
  NonBlankString
} from "./Peer.js"
import {
  CopyFailed,
  FileOperationFailed,
  InvalidPath,
  InvalidPeerConfig,
  NothingStaged,
  UnsupportedEntry
} from "./PeerError.js"

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

/** How many files are copied at once: enough to keep the libuv pool busy, few enough to bound fds. */
const COPY_CONCURRENCY = 8

const entryKind = (type: FileSystem.File.Type): SkippedEntry["kind"] => (type === "File" ? "Unknown" : type)

type Entry =
  | { readonly name: string; readonly kind: "File"; readonly size: number }
  | { readonly name: string; readonly kind: SkippedEntry["kind"] }

/**
 * Stages local peers and reads and writes their indicator files. Built on the platform
 * `FileSystem` and `Path`, so the same code runs on a real disk and on the test layer.
 *
 * @since 0.1.0
 * @category services
 */
export class LocalPeers extends Effect.Service<LocalPeers>()("cedar-peer/LocalPeers", {
  effect: Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path

    const invalidPath = (peer: LocalPeer, dir: string, problem: InvalidPath["problem"]) =>
      new InvalidPath({ peer: peer.name, path: dir, problem })

    const fileOperationFailed =
      (peer: LocalPeer, operation: FileOperationFailed["operation"], file: string) => (cause: unknown) =>
        new FileOperationFailed({ peer: peer.name, operation, path: file, cause })

    const requireDirectory = (peer: LocalPeer, dir: string) => checkDirectory(fs, path, peer.name, dir)

    const requireIndicatorName = (peer: LocalPeer, name: string) =>
      isPlainFileName(name) ? Effect.void : Effect.fail(invalidPath(peer, name, "BadName"))

    // stat follows links, so a link is recognised by readLink succeeding (dangling ones included).
    const classify = (peer: LocalPeer, name: string) => {
      const full = path.join(peer.collectDir, name)
      return fs.readLink(full).pipe(
        Effect.as<Entry>({ name, kind: "SymbolicLink" }),
        Effect.catchAll(() =>
          fs.stat(full).pipe(
            Effect.map((info): Entry =>
              info.type === "File" ? { name, kind: "File", size: Number(info.size) } : { name, kind: entryKind(info.type) }
            ),
            Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: full, cause }))
          )
        )
      )
    }

    const applyAttributes = (peer: LocalPeer, file: string, reported: string, options: IndicatorOptions) =>
      Effect.gen(function*() {
        const ownership: Ownership | undefined = options.ownership
        if (ownership !== undefined) {
          yield* fs.chown(file, ownership.uid, ownership.gid).pipe(
            Effect.mapError(fileOperationFailed(peer, "chown", reported))
          )
        }
        if (options.permissions !== undefined) {
          yield* fs.chmod(file, options.permissions).pipe(Effect.mapError(fileOperationFailed(peer, "chmod", reported)))
        }
      })

    // Copies every file under a temporary name, then renames them all into place in one
    // uninterruptible commit: an interruption before the commit leaves the target as it was; a
    // failure removes the temporary files and every file this call created.
    const stageAtomically = (
      peer: LocalPeer,
      targetDir: string,
      files: ReadonlyArray<string>,
      existing: ReadonlySet<string>,
      options: StageOptions
    ) => {
      const token = randomBytes(6).toString("hex")
      const temps = new Set<string>()
      const created: Array<string> = []
      const tempOf = (index: number) => path.join(targetDir, `.cedar-peer-${token}-${index}.tmp`)

      const copyOne = (name: string, index: number) =>
        Effect.gen(function*() {
          const from = path.join(peer.collectDir, name)
          const temp = tempOf(index)
          temps.add(temp)
          yield* fs.copyFile(from, temp).pipe(
            Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: from, cause }))
          )
          yield* applyAttributes(peer, temp, path.join(targetDir, name), options)
        })

      const commitOne = (name: string, index: number) => {
        const target = path.join(targetDir, name)
        return fs.rename(tempOf(index), target).pipe(
          Effect.mapError(fileOperationFailed(peer, "rename", target)),
          Effect.tap(() => {
            temps.delete(tempOf(index))
            if (!existing.has(name)) created.push(target)
          })
        )
      }

      const cleanup = Effect.suspend(() =>
        Effect.forEach(
          [...temps, ...created],
          (file) =>
            fs.remove(file, { force: true }).pipe(
              Effect.catchAll((error) => Effect.logWarning(`cedar-peer: could not remove ${file}`, error))
            ),
          { discard: true }
        )
      )

      return Effect.forEach(files, copyOne, { concurrency: COPY_CONCURRENCY, discard: true }).pipe(
        Effect.zipRight(Effect.uninterruptible(Effect.forEach(files, commitOne, { discard: true }))),
        Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : cleanup))
      )
    }

    const stagePeer = Effect.fn("LocalPeers.stagePeer")(
      function*(peer: LocalPeer, targetDir: string, options: StageOptions = {}) {
        if (targetDir.includes("\0")) return yield* invalidPath(peer, targetDir, "BadCharacter")
        if (!path.isAbsolute(targetDir)) return yield* invalidPath(peer, targetDir, "NotAbsolute")
        yield* requireDirectory(peer, peer.collectDir)
        yield* requireDirectory(peer, targetDir)

        const names = yield* fs.readDirectory(peer.collectDir).pipe(
          Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: peer.collectDir, cause }))
        )
        const entries = yield* Effect.forEach(names, (name) => classify(peer, name), { concurrency: COPY_CONCURRENCY })
        const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        const regular = entries.filter((e): e is Entry & { kind: "File"; size: number } => e.kind === "File").sort(byName)
        const skipped: Array<SkippedEntry> = entries
          .filter((e) => e.kind !== "File")
          .map((e) => ({ name: e.name, kind: e.kind as SkippedEntry["kind"] }))
          .sort(byName)

        if (skipped.length > 0 && options.skipUnsupported !== true) {
          return yield* new UnsupportedEntry({ peer: peer.name, collectDir: peer.collectDir, entries: skipped })
        }
        if (regular.length === 0) {
          return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
        }

        const existing = new Set(
          yield* fs.readDirectory(targetDir).pipe(Effect.mapError(fileOperationFailed(peer, "stat", targetDir)))
        )
        const files = regular.map((e) => e.name)
        yield* stageAtomically(peer, targetDir, files, existing, options)
        // bytes come from the listing's stat: the collect indicator says the peer is done writing
        const report: StageReport = {
          count: files.length,
          bytes: regular.reduce((sum, e) => sum + e.size, 0),
          files,
          skipped
        }
        return report
      }
    )

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

    const writeStageIndicator = Effect.fn("LocalPeers.writeStageIndicator")(
      function*(peer: LocalPeer, name: string = DEF_STAGE_INDICATOR, options: IndicatorOptions = {}) {
        yield* requireIndicatorName(peer, name)
        yield* requireDirectory(peer, peer.collectDir)
        const file = path.join(peer.collectDir, name)
        yield* fs.writeFile(file, new Uint8Array(0)).pipe(Effect.mapError(fileOperationFailed(peer, "create", file)))
        yield* applyAttributes(peer, file, file, options)
      }
    )

    return { stagePeer, checkCollectIndicator, collectIndicatorStatus, writeStageIndicator } as const
  })
}) {}

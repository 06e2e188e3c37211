/**
 * A nightly staging job, as a developer would write it on top of cedar-peer: load the pool's
 * configuration, run Cedar's stage action over it with `Pool.stage`, then write a manifest of what
 * each peer staged (file names and sizes) into the daily directory. Pool-level failures are typed
 * errors handled with `Effect.catchTags`; per-peer failures are data in the stage summary.
 *
 * Run it with `node nightly.js [CONFIG] [--full]` once compiled (`main` at the bottom), or test it
 * on the test layer as `nightly.test-example.ts` does.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, FileSystem, Layer, Path, Schema } from "effect"
import { fileURLToPath } from "node:url"
import { Config, LocalPeer, NodeStagingDisk, Pool, RemotePeer, SystemUsers } from "cedar-peer"

/**
 * Our own error, next to cedar-peer's: the manifest could not be written. A `Schema.TaggedError`
 * like theirs, so `catchTags` handles all of them alike.
 *
 * @since 0.1.0
 * @category errors
 */
export class ManifestFailed extends Schema.TaggedError<ManifestFailed>()("ManifestFailed", {
  path: Schema.String,
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `${this.path}: cannot write the manifest: ${String((this.cause as { message?: unknown })?.message ?? this.cause)}`
  }
}

/**
 * What a nightly run is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface NightlyOptions {
  /** a Cedar Backup `cback3.conf`, or a `.json` config */
  readonly configPath: string
  readonly full?: boolean | undefined
  /** stage only these peers (all when absent) */
  readonly peers?: ReadonlyArray<string> | undefined
  /** the moment the run is for (default: now); fixes the daily directory */
  readonly now?: Date | undefined
}

/**
 * One peer's line in the manifest.
 *
 * @since 0.1.0
 * @category models
 */
export interface ManifestPeer {
  readonly name: string
  readonly status: Pool.PeerStageResult["status"]
  readonly ignored: boolean
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number }>
  readonly error?: string
}

/**
 * The manifest written to `<daily>/manifest.json`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Manifest {
  readonly dailyDir: string
  readonly ok: boolean
  readonly peers: ReadonlyArray<ManifestPeer>
}

/**
 * The manifest's file name in the daily directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const MANIFEST = "manifest.json"

// The staged files of a peer directory, with sizes, sorted by name.
const listStaged = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const names = [...(yield* fs.readDirectory(dir))].sort()
    return yield* Effect.forEach(names, (name) =>
      fs.stat(path.join(dir, name)).pipe(Effect.map((info) => ({ name, bytes: Number(info.size) }))))
  })

// Written under a temporary name and renamed, so a reader never sees half a manifest.
const writeManifest = (file: string, manifest: Manifest) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const temp = `${file}.tmp`
    yield* fs.writeFileString(temp, `${JSON.stringify(manifest, null, 2)}\n`).pipe(
      Effect.andThen(fs.rename(temp, file)),
      Effect.tapError(() => fs.remove(temp, { force: true }).pipe(Effect.ignore))
    )
  }).pipe(Effect.mapError((cause) => new ManifestFailed({ path: file, cause })))

/**
 * Stages the pool and writes the manifest; returns it. Fails only for the pool as a whole: a bad
 * config (`ConfigError`), an unknown peer name (`InvalidPeerConfig`), a staging area that cannot be
 * prepared (`FileOperationFailed`) or a manifest that cannot be written (`ManifestFailed`).
 *
 * @since 0.1.0
 * @category programs
 */
export const nightly = (options: NightlyOptions) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const config = yield* Config.load(options.configPath)
    const summary = yield* Pool.stage(config, { full: options.full, peers: options.peers, now: options.now })
    const peers = yield* Effect.forEach(summary.peers, (peer) =>
      Effect.gen(function*() {
        const files = peer.status === "staged"
          ? yield* listStaged(path.join(summary.dailyDir, peer.name)).pipe(
            Effect.mapError((cause) => new ManifestFailed({ path: path.join(summary.dailyDir, peer.name), cause }))
          )
          : []
        const line: ManifestPeer = {
          name: peer.name,
          status: peer.status,
          ignored: peer.ignored,
          files,
          ...(peer.error === undefined ? {} : { error: `${peer.error._tag}: ${peer.error.message}` })
        }
        return line
      }))
    const manifest: Manifest = { dailyDir: summary.dailyDir, ok: summary.ok, peers }
    yield* writeManifest(path.join(summary.dailyDir, MANIFEST), manifest)
    return manifest
  })

/**
 * The run as an exit status: 0 when every peer was staged or its failure ignored, 1 when a peer
 * failed or something went wrong on the master, 2 for a configuration problem (as the CLI does).
 * Every error is handled here, so the error type is `never`.
 *
 * @since 0.1.0
 * @category programs
 */
export const nightlyExitCode = (options: NightlyOptions) =>
  nightly(options).pipe(
    Effect.tap((manifest) =>
      Effect.log(`${manifest.peers.filter((p) => p.status === "staged").length} of ${manifest.peers.length} peer(s) staged`)
    ),
    Effect.map((manifest) => (manifest.ok ? 0 : 1)),
    Effect.catchTags({
      ConfigError: (error) => Effect.as(Effect.logError(error.message), 2),
      InvalidPeerConfig: (error) => Effect.as(Effect.logError(error.message), 2),
      FileOperationFailed: (error) => Effect.as(Effect.logError(`staging area: ${error.message}`), 1),
      ManifestFailed: (error) => Effect.as(Effect.logError(error.message), 1)
    })
  )

/**
 * The Node layers: the two peer services over the real system users, filesystem and processes.
 *
 * @since 0.1.0
 * @category layers
 */
export const MainLayer = Layer.mergeAll(LocalPeer.LocalPeers.layer, RemotePeer.RemotePeers.layer).pipe(
  Layer.provideMerge(SystemUsers.layer),
  Layer.provideMerge(NodeStagingDisk.layer),
  Layer.provideMerge(NodeServices.layer)
)

/**
 * Runs the job on the Node layers: `nightly [CONFIG] [--full]`.
 *
 * @since 0.1.0
 * @category main
 */
export const main = (args: ReadonlyArray<string>): void => {
  const configPath = args.find((arg) => !arg.startsWith("--")) ?? "/etc/cback3.conf"
  const program = nightlyExitCode({ configPath, full: args.includes("--full") }).pipe(
    Effect.flatMap((code) => Effect.sync(() => void (process.exitCode = code))),
    Effect.provide(MainLayer)
  )
  // runMain turns Ctrl-C into an interruption, so a peer being staged is cleaned up before exit.
  NodeRuntime.runMain(program)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2))

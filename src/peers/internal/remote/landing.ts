// Landing what a transport brought into a private directory: only regular files directly in it,
// with one link and a name the transport could have produced, are accepted; anything else fails
// the peer and nothing lands. Limits are checked on what is actually there, attributes are set on
// the open files, and the files are put in place (see landingSite) only once everything checked out.
import { Effect } from "effect"
import type { StageOptions, StageReport } from "../../../domain/Peer.js"
import { EntryKind, showName } from "../../../domain/Peer.js"
import { CopyFailed, FileOperationFailed, LimitExceeded, NothingStaged, UnsupportedEntry } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { DiskError, Directory, DirectoryEntry, FileName, NotRegularFile, StagingDiskShape } from "../../../disk/StagingDisk.js"

const DOT = 0x2e

/** Whether a name could come out of `dir/*` (and out of the tar transport's listing): no dotfile, no `/`. */
export const isLandableName = (name: FileName): boolean =>
  name.length > 0 && name[0] !== DOT && !name.includes(0x2f) && !name.includes(0)

const KINDS = new Set<string>(EntryKind.literals)

/** The kind reported for an entry the disk refused (a regular file refused can only be a hard link). */
export const kindOf = (type: string): EntryKind => (type === "File" ? "HardLink" : KINDS.has(type) ? (type as EntryKind) : "Unknown")

const OPERATIONS: ReadonlyArray<FileOperationFailed["operation"]> = [
  "create",
  "chown",
  "chmod",
  "rename",
  "remove",
  "makeDirectory",
  "stat",
  "open",
  "lock"
]

/**
 * A staging-disk failure as the peer's error: no space left is a failed copy saying so, anything
 * else a failed file operation (the nearest of its operations), the disk error kept as cause.
 */
export const diskFailure = (peer: RemotePeer, error: DiskError): CopyFailed | FileOperationFailed => {
  if (error.code === "ENOSPC") {
    return new CopyFailed({ peer: peer.name, path: error.path, stderr: "no space left on device", cause: error })
  }
  const operation = OPERATIONS.find((op) => error.operation.toLowerCase().includes(op.toLowerCase())) ??
    (/mkdir|directory/i.test(error.operation) ? "makeDirectory" : /list|read|stat/i.test(error.operation) ? "stat" : "open")
  return new FileOperationFailed({ peer: peer.name, operation, path: error.path, cause: error })
}


const byShownName = (a: { readonly shown: string }, b: { readonly shown: string }) =>
  a.shown < b.shown ? -1 : a.shown > b.shown ? 1 : 0

/**
 * What a transport leaves in the private directory: files another user wrote, to be taken back
 * (`reclaim`: the directory was handed to the copy's user) and adopted one by one, or files this
 * process created and finished itself, whose bytes it counted.
 */
export type Landing =
  | { readonly _tag: "ToAdopt"; readonly reclaim: boolean }
  | { readonly _tag: "Finished"; readonly bytes: number }

/** What a landing checked and adopted, before the files are committed. */
export interface Landed {
  readonly names: ReadonlyArray<FileName>
  readonly files: ReadonlyArray<string>
  readonly bytes: number
}

export const makeLanding = (disk: StagingDiskShape) => {
  const unsupported = (peer: RemotePeer, entries: ReadonlyArray<{ name: string; kind: EntryKind }>) =>
    new UnsupportedEntry({ peer: peer.name, collectDir: `${peer.remoteUser}@${peer.name}:${peer.collectDir}`, entries })

  // Every regular file the disk refuses to adopt (a hard link, or swapped since the listing), found
  // one by one with no attribute applied: only run once a batch was refused, to list them all.
  const refusedOneByOne = (privateDir: Directory, names: ReadonlyArray<FileName>) =>
    Effect.forEach(names, (name) =>
      disk.adoptFiles(privateDir, [name], {}).pipe(
        Effect.as(undefined),
        Effect.catchTag("NotRegularFile", (refused) =>
          Effect.succeed({ name: showName(name), kind: kindOf(refused.type) })),
        Effect.catchTag("DiskError", () => Effect.succeed(undefined))
      )).pipe(Effect.map((found) => found.filter((entry) => entry !== undefined)))

  /**
   * Checks what is in `privateDir` and adopts it as `landing` says (taken back from the copy's
   * user first when it was handed over): the files it accepts, their names shown, and their bytes.
   */
  const check = (
    peer: RemotePeer,
    privateDir: Directory,
    options: StageOptions,
    landing: Landing
  ): Effect.Effect<Landed, UnsupportedEntry | NothingStaged | LimitExceeded | CopyFailed | FileOperationFailed> =>
    Effect.gen(function*() {
      const mapDisk = (error: DiskError) => diskFailure(peer, error)
      // From here on the copy's user can no longer add, remove or swap anything in the directory.
      if (landing._tag === "ToAdopt" && landing.reclaim) yield* disk.reclaim(privateDir).pipe(Effect.mapError(mapDisk))
      const entries: ReadonlyArray<DirectoryEntry> = yield* disk.list(privateDir).pipe(Effect.mapError(mapDisk))
      const offending: Array<{ name: string; kind: EntryKind }> = []
      const accepted: Array<{ name: FileName; shown: string }> = []
      for (const entry of entries) {
        const shown = showName(entry.name)
        if (entry.type !== "File") offending.push({ name: shown, kind: kindOf(entry.type) })
        else if (!isLandableName(entry.name)) offending.push({ name: shown, kind: "UnexpectedName" })
        else accepted.push({ name: entry.name, shown })
      }
      accepted.sort(byShownName)
      const names = accepted.map((file) => file.name)
      if (offending.length > 0) {
        const refused = yield* refusedOneByOne(privateDir, names)
        return yield* unsupported(peer, [...offending, ...refused].sort((a, b) => byShownName({ shown: a.name }, { shown: b.name })))
      }
      if (names.length === 0) return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
      if (options.maxFiles !== undefined && names.length > options.maxFiles) {
        return yield* new LimitExceeded({ peer: peer.name, limit: "maxFiles", max: options.maxFiles, value: names.length })
      }
      // Finished files were made and completed by this process in a directory no one else can
      // write: listed and checked above all the same, but not opened a second time.
      const totals = landing._tag === "Finished" ? { bytes: landing.bytes } : yield* disk.adoptFiles(privateDir, names, {
        ownership: options.ownership,
        permissions: options.permissions
      }).pipe(
        Effect.catchTag("NotRegularFile", (_refused: NotRegularFile) =>
          refusedOneByOne(privateDir, names).pipe(Effect.flatMap((refused) => Effect.fail(unsupported(peer, refused))))),
        Effect.mapError((error) => (error._tag === "DiskError" ? mapDisk(error) : error))
      )
      if (options.maxBytes !== undefined && totals.bytes > options.maxBytes) {
        return yield* new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: options.maxBytes, value: totals.bytes })
      }
      return { names, files: accepted.map((file) => file.shown), bytes: totals.bytes }
    })

  const report = (landed: Landed, hashes?: ReadonlyArray<{ name: string; sha256: string }>): StageReport => ({
    count: landed.names.length,
    bytes: landed.bytes,
    files: landed.files,
    skipped: [],
    ...(hashes === undefined ? {} : { hashes })
  })

  return { check, report } as const
}

// The tar transport: the peer lists the regular, non-dot files directly in its collect dir and
// streams them as one GNU tar archive over the rsh command; the master unpacks that stream itself
// (as root) into its private directory through the staging disk, entry by entry, refusing
// anything that is not a regular file with a plain name and stopping the transfer the moment a
// limit is passed.
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
import type * as tar from "tar-stream"
import type { StageOptions } from "../../../domain/Peer.js"
import { EntryKind, showName } from "../../../domain/Peer.js"
import { CopyFailed, LimitExceeded, UnsupportedEntry } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import { type Directory, DiskError, type FileCreator, type FileName, type FileWriter, type StagingDiskShape } from "../../../disk/StagingDisk.js"
import { runAs } from "../runAs.js"
import { quoteWord } from "../../../domain/shellWords.js"
import { remoteCommandArgv } from "./argv.js"
import { type RemoteContext, requireCopied } from "./context.js"
import { isLandableName, type Landing } from "./landing.js"
import type { SilenceLimits } from "./silence.js"
import { makeArchiveEnd } from "./tarEnd.js"

/**
 * What runs on the peer after `cd` into the collect dir: regular files and links to regular files
 * (scp copies those too), no dotfiles (`dir/*` skips them), nothing below the top level; GNU tar
 * format so that names travel as raw bytes (PAX would re-encode them), links followed and hard
 * links stored as whole files. `./` before every name keeps a name starting with `-` a name.
 */
export const TAR_PIPELINE =
  "find . -mindepth 1 -maxdepth 1 ! -name '.*' -xtype f -print0 | tar -c -f - --format=gnu --null --no-recursion --dereference --hard-dereference -T -"

/** The remote command line of the tar transport for `collectDir` (quoted for the remote shell). */
export const tarCommand = (collectDir: string): string => `cd -- ${quoteWord(collectDir)} && ${TAR_PIPELINE}`

type Kind = typeof EntryKind.Type

const TAR_KINDS: Readonly<Record<string, Kind>> = {
  link: "HardLink",
  symlink: "SymbolicLink",
  directory: "Directory",
  "block-device": "BlockDevice",
  "character-device": "CharacterDevice",
  fifo: "FIFO"
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Why an unpack stopped before the stream's end: the peer's error to fail with. */
type Refusal = UnsupportedEntry | LimitExceeded | CopyFailed

/** How an unpack that was not refused ended. */
export type Unpacked =
  | { readonly _tag: "Done"; readonly files: number; readonly bytes: number }
  | { readonly _tag: "Corrupt"; readonly detail: string }

/** How the data of one entry went into its file. */
type Drained =
  | { readonly _tag: "Written"; readonly bytes: number }
  | { readonly _tag: "TooBig"; readonly value: number }
  | { readonly _tag: "Failed"; readonly error: DiskError }

/** How the walk over the entries ended: unpacked, unreadable, or refused with the peer's error. */
type Walked = Unpacked | { readonly _tag: "Refused"; readonly error: Refusal }

// A name as sent: GNU tar headers and long names are raw bytes (read as latin1, one char per
// byte); a PAX path, which only another tar would send, is UTF-8.
const nameOf = (header: tar.Header): FileName => {
  const pax = header.pax as Record<string, string> | null | undefined
  const raw = Buffer.from(header.name, pax?.path === undefined ? "latin1" : "utf8")
  return raw.length > 2 && raw[0] === 0x2e && raw[1] === 0x2f ? raw.subarray(2) : raw
}

/** Feeds the stream to the unpacker, which must see an end-of-archive marker with nothing after it (see tarEnd). */
const feed = async (source: AsyncIterable<Uint8Array>, extract: tar.Extract) => {
  const archiveEnd = makeArchiveEnd()
  try {
    for await (const chunk of source) {
      if (extract.destroyed) return
      const problem = archiveEnd.push(chunk)
      if (problem !== undefined) return void extract.destroy(new Error(problem))
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off("drain", done)
            extract.off("close", done)
            resolve()
          }
          extract.on("drain", done)
          extract.on("close", done)
        })
      }
    }
    const cut = archiveEnd.end()
    if (cut !== undefined) return void extract.destroy(new Error(cut))
    extract.end(undefined)
  } catch (error) {
    extract.destroy(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * Writes an entry's data as it arrives: each chunk one plain synchronous write, the byte limit
 * (`before` bytes came earlier) checked as it goes. A stream that fails rejects (a corrupt one).
 */
const drain = async (entry: AsyncIterable<Uint8Array>, writer: FileWriter, before: number, maxBytes: number | undefined): Promise<Drained> => {
  let bytes = 0
  for await (const chunk of entry) {
    bytes += chunk.length
    if (maxBytes !== undefined && before + bytes > maxBytes) return { _tag: "TooBig", value: before + bytes }
    const failed = writer.write(chunk)
    if (failed !== undefined) return { _tag: "Failed", error: failed }
  }
  return { _tag: "Written", bytes }
}

/** What the walk refuses, and how it says so: the peer's errors for one unpack. */
interface Rules {
  readonly options: StageOptions
  readonly refuse: (name: FileName, kind: Kind) => Refusal
  readonly tooMuch: (limit: "maxFiles" | "maxBytes", max: number, value: number) => Refusal
  readonly failed: (error: DiskError) => Refusal
}

const rulesOf = (peer: RemotePeer, privateDir: Directory, options: StageOptions): Rules => {
  const collectDir = `${peer.remoteUser}@${peer.name}:${peer.collectDir}`
  return {
    options,
    refuse: (name, kind) => new UnsupportedEntry({ peer: peer.name, collectDir, entries: [{ name: showName(name), kind }] }),
    tooMuch: (limit, max, value) => new LimitExceeded({ peer: peer.name, limit, max, value }),
    failed: (error) => diskFull(peer, privateDir.shown, error)
  }
}

/** Why a header is refused before any of its data is read, given the files and bytes before it. */
const refusalOf = (header: tar.Header, name: FileName, files: number, bytes: number, rules: Rules): Refusal | undefined => {
  const { maxBytes, maxFiles } = rules.options
  if (header.type !== "file" && header.type !== "contiguous-file") return rules.refuse(name, TAR_KINDS[header.type] ?? "Unknown")
  if (!isLandableName(name)) return rules.refuse(name, "UnexpectedName")
  if (maxFiles !== undefined && files + 1 > maxFiles) return rules.tooMuch("maxFiles", maxFiles, files + 1)
  // the header says how much is coming: no need to receive it to know it is too much
  if (maxBytes !== undefined && bytes + header.size > maxBytes) return rules.tooMuch("maxBytes", maxBytes, bytes + header.size)
  return undefined
}

/**
 * Walks the archive's entries into files of `creator`, one plain promise for the whole archive:
 * per entry only its checks and its system calls (the effects are at the level of the unpack).
 * Each file is finished on the descriptor that wrote it, so the landing need not open it again:
 * the owner asked for, and the permissions asked for or, as scp gives a new file, its source's
 * permission bits under root's usual umask 022.
 */
const walk = async (extract: tar.Extract, creator: FileCreator, rules: Rules, signal: AbortSignal): Promise<Walked> => {
  const { options } = rules
  const refused = (error: Refusal): Walked => ({ _tag: "Refused", error })
  let files = 0
  let bytes = 0
  try {
    for await (const entry of extract) {
      if (signal.aborted) return { _tag: "Corrupt", detail: "interrupted" }
      const header = entry.header
      const name = nameOf(header)
      const refusal = refusalOf(header, name, files, bytes, rules)
      if (refusal !== undefined) return refused(refusal)
      files += 1
      const writer = creator.create(name)
      if (writer instanceof DiskError) return refused(writer.code === "EEXIST" ? rules.refuse(name, "UnexpectedName") : rules.failed(writer))
      const drained = await drain(entry as AsyncIterable<Uint8Array>, writer, bytes, options.maxBytes)
      if (drained._tag === "TooBig") return refused(rules.tooMuch("maxBytes", options.maxBytes!, drained.value))
      if (drained._tag === "Failed") return refused(rules.failed(drained.error))
      const unfinished = writer.finish({ ownership: options.ownership, permissions: options.permissions ?? (header.mode & 0o755) })
      if (unfinished !== undefined) return refused(rules.failed(unfinished))
      bytes += drained.bytes
      options.onProgress?.({ phase: "copying", files, bytes })
    }
  } catch (error) {
    return { _tag: "Corrupt", detail: messageOf(error) }
  }
  return { _tag: "Done", files, bytes }
}

/**
 * Unpacks a tar stream into `privateDir` (this run's private directory, root's alone) through
 * the staging disk. Every file is created exclusively without following a link (a second entry
 * of the same name is refused) and gets the ownership and permissions of `options` before it is
 * closed: what is in `privateDir` once the unpack is done is ready to be committed.
 */
export const unpack = (
  peer: RemotePeer,
  source: AsyncIterable<Uint8Array>,
  disk: StagingDiskShape,
  privateDir: Directory,
  options: StageOptions
): Effect.Effect<Unpacked, Refusal> =>
  Effect.gen(function*() {
    // loaded on first use: only peers on the tar transport need it, and the CLI starts without it
    const { extract: makeExtract } = yield* Effect.promise(() => import("tar-stream"))
    const extract = makeExtract({ filenameEncoding: "latin1" } as Parameters<typeof makeExtract>[0])
    // errors are read from the walk; a listener keeps a late one from crashing the process
    extract.on("error", () => {})
    // however the unpack ends (refused, interrupted), the unpacker stops, and with it the feeding
    yield* Effect.addFinalizer(() => Effect.sync(() => extract.destroy(undefined as unknown as Error)))
    const creator = yield* disk.createFiles(privateDir)
    const feeding = feed(source, extract)
    const walked = yield* Effect.promise((signal) => walk(extract, creator, rulesOf(peer, privateDir, options), signal))
    if (walked._tag === "Refused") return yield* Effect.fail(walked.error)
    if (walked._tag === "Done") yield* Effect.promise(() => feeding)
    return walked
  }).pipe(Effect.scoped)

const diskFull = (peer: RemotePeer, dir: string, error: DiskError): CopyFailed =>
  new CopyFailed({
    peer: peer.name,
    path: dir,
    stderr: error.code === "ENOSPC" ? "no space left on device" : error.message,
    cause: error
  })

export const makeTarTransport = (ctx: RemoteContext) => {
  /** Brings the collect dir's files into `privateDir`; fails as the copy failed or was refused. */
  const copy = (peer: RemotePeer, privateDir: Directory, options: StageOptions, timeout: Duration.Input, silence: SilenceLimits) =>
    Effect.gen(function*() {
      const argv = runAs(peer.localUser, remoteCommandArgv(peer, tarCommand(peer.collectDir), yield* ctx.connectionOf(peer)))
      const source = ctx.remoteLabel(peer, peer.collectDir)
      options.onProgress?.({ phase: "copying", files: 0, bytes: 0 })
      const { consumed, ran } = yield* ctx.runStreaming(
        argv,
        timeout,
        (stdout) => unpack(peer, Stream.toAsyncIterable(stdout), ctx.disk, privateDir, options),
        silence
      )
      yield* requireCopied(peer, "stage", source, argv, ran)
      if (consumed === undefined || consumed._tag === "Corrupt") {
        const detail = consumed === undefined ? "no tar stream" : consumed.detail
        return yield* new CopyFailed({ peer: peer.name, path: source, stderr: `unreadable tar stream: ${detail}`, argv })
      }
      const landed: Landing = { _tag: "Finished", bytes: consumed.bytes }
      return landed
    })

  return { copy } as const
}

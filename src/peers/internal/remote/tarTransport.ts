// The tar transport: the peer lists the regular, non-dot files directly in its collect dir and
// streams them as one GNU tar archive over the rsh command; the master unpacks that stream itself
// (as root) into its private directory through the staging disk, entry by entry, refusing
// anything that is not a regular file with a plain name and stopping the transfer the moment a
// limit is passed.
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
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
import { type Corrupt, TarReader, type TarHeader, type TarType } from "./tarReader.js"

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

const TAR_KINDS: Readonly<Record<TarType, Kind | undefined>> = {
  file: undefined,
  link: "HardLink",
  symlink: "SymbolicLink",
  directory: "Directory",
  "block-device": "BlockDevice",
  "character-device": "CharacterDevice",
  fifo: "FIFO",
  unknown: "Unknown"
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Why an unpack stopped before the stream's end: the peer's error to fail with. */
type Refusal = UnsupportedEntry | LimitExceeded | CopyFailed

/** How an unpack that was not refused ended. */
export type Unpacked = { readonly _tag: "Done"; readonly files: number; readonly bytes: number } | Corrupt

/** How the walk over the entries ended: unpacked, unreadable, or refused with the peer's error. */
type Walked = Unpacked | { readonly _tag: "Refused"; readonly error: Refusal }

/** A member's name as sent (raw bytes: GNU tar headers and long names carry them), without tar's `./`. */
const nameOf = (header: TarHeader): FileName => {
  const raw = header.name
  return raw.length > 2 && raw[0] === 0x2e && raw[1] === 0x2f ? raw.subarray(2) : raw
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

/**
 * Why a header is refused before any of its data is read, given the files and bytes before it.
 * The size is the header's word, and the reader delivers exactly that many bytes: a member
 * cannot bring more than `maxBytes` allows once its header has passed.
 */
const refusalOf = (header: TarHeader, name: FileName, files: number, bytes: number, rules: Rules): Refusal | undefined => {
  const { maxBytes, maxFiles } = rules.options
  const kind = TAR_KINDS[header.type]
  if (kind !== undefined) return rules.refuse(name, kind)
  if (!isLandableName(name)) return rules.refuse(name, "UnexpectedName")
  if (maxFiles !== undefined && files + 1 > maxFiles) return rules.tooMuch("maxFiles", maxFiles, files + 1)
  if (maxBytes !== undefined && bytes + header.size > maxBytes) return rules.tooMuch("maxBytes", maxBytes, bytes + header.size)
  return undefined
}

/**
 * Unpacks the archive into files of `creator` as its chunks arrive: per member only its checks
 * and its system calls, all synchronous, so one promise covers the whole archive. Each file is
 * finished on the descriptor that wrote it, so the landing need not open it again: the owner
 * asked for, and the permissions asked for or, as scp gives a new file, its source's permission
 * bits under root's usual umask 022.
 */
const walk = async (source: AsyncIterable<Uint8Array>, creator: FileCreator, rules: Rules, signal: AbortSignal): Promise<Walked> => {
  const { options } = rules
  const refused = (error: Refusal): Walked => ({ _tag: "Refused", error })
  let files = 0
  let bytes = 0
  /** the member being written: its file and what its header said */
  let current: { readonly writer: FileWriter; readonly header: TarHeader } | undefined
  const reader = new TarReader<Walked>({
    header: (header) => {
      const name = nameOf(header)
      const refusal = refusalOf(header, name, files, bytes, rules)
      if (refusal !== undefined) return refused(refusal)
      files += 1
      const writer = creator.create(name)
      if (writer instanceof DiskError) return refused(writer.code === "EEXIST" ? rules.refuse(name, "UnexpectedName") : rules.failed(writer))
      current = { writer, header }
      return undefined
    },
    data: (chunk) => {
      const failed = current!.writer.write(chunk)
      return failed === undefined ? undefined : refused(rules.failed(failed))
    },
    end: () => {
      const { writer, header } = current!
      current = undefined
      const unfinished = writer.finish({ ownership: options.ownership, permissions: options.permissions ?? (header.mode & 0o755) })
      if (unfinished !== undefined) return refused(rules.failed(unfinished))
      bytes += header.size
      options.onProgress?.({ phase: "copying", files, bytes })
      return undefined
    }
  })
  try {
    for await (const chunk of source) {
      if (signal.aborted) return { _tag: "Corrupt", detail: "interrupted" }
      const stopped = reader.push(chunk)
      if (stopped !== undefined) return stopped
    }
  } catch (error) {
    return { _tag: "Corrupt", detail: messageOf(error) }
  }
  return reader.end() ?? { _tag: "Done", files, bytes }
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
    const creator = yield* disk.createFiles(privateDir)
    const walked = yield* Effect.promise((signal) => walk(source, creator, rulesOf(peer, privateDir, options), signal))
    if (walked._tag === "Refused") return yield* Effect.fail(walked.error)
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

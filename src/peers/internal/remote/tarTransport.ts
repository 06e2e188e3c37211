// The tar transport: the peer lists the regular, non-dot files directly in its collect dir and
// streams them as one GNU tar archive over the rsh command; the master unpacks that stream itself
// (as root) into its private directory, entry by entry, refusing anything that is not a regular
// file with a plain name and stopping the transfer the moment a limit is passed.
import type { Duration } from "effect"
import { closeSync, fchmodSync, fchownSync } from "node:fs"
import { Effect, Stream } from "effect"
import type * as tar from "tar-stream"
import type { StageOptions } from "../../../domain/Peer.js"
import { EntryKind, showName } from "../../../domain/Peer.js"
import { CopyFailed, LimitExceeded, UnsupportedEntry } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { Directory, FileName } from "../../../disk/StagingDisk.js"
import { runAs } from "../runAs.js"
import { quoteWord } from "../../../domain/shellWords.js"
import { remoteCommandArgv } from "./argv.js"
import { type RemoteContext, requireCopied } from "./context.js"
import { isLandableName, type Landing } from "./landing.js"
import type { SilenceLimits } from "./silence.js"
import { makeArchiveEnd } from "./tarEnd.js"
import { codeOf, createExclusive, messageOf, writeAll } from "./privateFiles.js"

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

/** Why an unpack stopped before the stream's end: the peer's error to fail with. */
class Refused {
  constructor(readonly error: UnsupportedEntry | LimitExceeded | CopyFailed) {}
}

/** How an unpack that was not refused ended. */
export type Unpacked =
  | { readonly _tag: "Done"; readonly files: number; readonly bytes: number }
  | { readonly _tag: "Corrupt"; readonly detail: string }

// A name as sent: GNU tar headers and long names are raw bytes (read as latin1, one char per
// byte); a PAX path, which only another tar would send, is UTF-8.
const nameOf = (header: tar.Header): FileName => {
  const pax = header.pax as Record<string, string> | null | undefined
  const raw = Buffer.from(header.name, pax?.path === undefined ? "latin1" : "utf8")
  return raw.length > 2 && raw[0] === 0x2e && raw[1] === 0x2f ? raw.subarray(2) : raw
}

/**
 * Unpacks a tar stream into `dir` (this run's private directory, root's alone, as a path through
 * its open descriptor). Every file is created exclusively without following a link (a second
 * entry of the same name is refused) and gets the ownership and permissions of `options` before
 * it is closed: what is in `dir` once the unpack is done is ready to be committed.
 */
export const unpack = async (
  peer: RemotePeer,
  source: AsyncIterable<Uint8Array>,
  privateDir: Directory,
  options: StageOptions,
  signal: AbortSignal
): Promise<Unpacked> => {
  const collectDir = `${peer.remoteUser}@${peer.name}:${peer.collectDir}`
  const dir = privateDir.handle
  const failed = (error: unknown) => new Refused(diskFull(peer, privateDir.shown, error))
  const refuse = (name: FileName, kind: Kind) =>
    new Refused(new UnsupportedEntry({ peer: peer.name, collectDir, entries: [{ name: showName(name), kind }] }))
  // loaded on first use: only peers on the tar transport need it, and the CLI starts without it
  const { extract: makeExtract } = await import("tar-stream")
  const extract = makeExtract({ filenameEncoding: "latin1" } as Parameters<typeof makeExtract>[0])
  // errors are read from the iteration below; a listener keeps a late one from crashing the process
  extract.on("error", () => {})
  // the archive must end with its end-of-archive marker, and nothing may follow it (see tarEnd)
  const archiveEnd = makeArchiveEnd()
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        if (signal.aborted || extract.destroyed) return
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
  })()
  let files = 0
  let bytes = 0
  try {
    for await (const entry of extract) {
      if (signal.aborted) throw new Error("interrupted")
      const header = entry.header
      const name = nameOf(header)
      if (header.type !== "file" && header.type !== "contiguous-file") throw refuse(name, TAR_KINDS[header.type] ?? "Unknown")
      if (!isLandableName(name)) throw refuse(name, "UnexpectedName")
      files += 1
      if (options.maxFiles !== undefined && files > options.maxFiles) {
        throw new Refused(new LimitExceeded({ peer: peer.name, limit: "maxFiles", max: options.maxFiles, value: files }))
      }
      // the header says how much is coming: no need to receive it to know it is too much
      if (options.maxBytes !== undefined && bytes + header.size > options.maxBytes) {
        throw new Refused(
          new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: options.maxBytes, value: bytes + header.size })
        )
      }
      let file: number
      try {
        file = createExclusive(dir, name)
      } catch (error) {
        if (codeOf(error) === "EEXIST") throw refuse(name, "UnexpectedName")
        throw failed(error)
      }
      try {
        for await (const chunk of entry as AsyncIterable<Uint8Array>) {
          bytes += chunk.length
          if (options.maxBytes !== undefined && bytes > options.maxBytes) {
            throw new Refused(new LimitExceeded({ peer: peer.name, limit: "maxBytes", max: options.maxBytes, value: bytes }))
          }
          try {
            writeAll(file, chunk)
          } catch (error) {
            throw failed(error)
          }
        }
        // Finished here, on the descriptor that wrote it, so the landing need not open it again:
        // the owner asked for, and the permissions asked for or, as scp gives a new file, its
        // source's permission bits under root's usual umask 022.
        try {
          if (options.ownership !== undefined) fchownSync(file, options.ownership.uid, options.ownership.gid)
          fchmodSync(file, options.permissions ?? (header.mode & 0o755))
        } catch (error) {
          throw failed(error)
        }
      } finally {
        closeSync(file)
      }
      options.onProgress?.({ phase: "copying", files, bytes })
    }
  } catch (error) {
    extract.destroy(undefined as unknown as Error) // no error: a plain stop
    if (error instanceof Refused) throw error
    return { _tag: "Corrupt", detail: messageOf(error) }
  }
  await feeding
  return { _tag: "Done", files, bytes }
}

const diskFull = (peer: RemotePeer, dir: string, error: unknown): CopyFailed =>
  new CopyFailed({
    peer: peer.name,
    path: dir,
    stderr: codeOf(error) === "ENOSPC" ? "no space left on device" : messageOf(error),
    cause: error
  })

export const makeTarTransport = (ctx: RemoteContext) => {
  /** Brings the collect dir's files into `privateDir`; fails as the copy failed or was refused. */
  const copy = (peer: RemotePeer, privateDir: Directory, options: StageOptions, timeout: Duration.Input, silence: SilenceLimits) =>
    Effect.gen(function*() {
      const argv = runAs(peer.localUser, remoteCommandArgv(peer, tarCommand(peer.collectDir), yield* ctx.connectionOf(peer)))
      const source = ctx.remoteLabel(peer, peer.collectDir)
      options.onProgress?.({ phase: "copying", files: 0, bytes: 0 })
      const { consumed, ran } = yield* ctx.runStreaming(argv, timeout, (stdout) =>
        Effect.tryPromise({
          try: (signal) => unpack(peer, Stream.toAsyncIterable(stdout), privateDir, options, signal),
          catch: (error) => error
        }).pipe(
          Effect.catch((error) =>
            error instanceof Refused
              ? Effect.fail(error.error)
              : Effect.succeed<Unpacked>({ _tag: "Corrupt", detail: messageOf(error) })
          )
        ), silence)
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

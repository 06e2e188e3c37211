// Verification of a remote landing: one hashing command on the peer for all files (over the rsh
// command), the landed files hashed here, every landed file's pair compared before anything is
// committed.
import type { Duration } from "effect"
import { Effect, Stream } from "effect"
import { showName } from "../../../domain/Peer.js"
import { RemoteCommandFailed, TimedOut, UnsupportedEntry, VerificationFailed } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { Directory, FileName, StagingDiskShape } from "../../../disk/StagingDisk.js"
import { runAs } from "../runAs.js"
import { quoteWord } from "../../../domain/shellWords.js"
import { remoteCommandArgv } from "./argv.js"
import type { RemoteContext } from "./context.js"
import { diskFailure, kindOf } from "./landing.js"

/**
 * The remote command hashing what either transport copies: the regular files and links to regular
 * files directly in the collect dir, no dotfiles, each as `./NAME` (never read as an option).
 */
export const hashCommand = (collectDir: string): string =>
  `cd -- ${quoteWord(collectDir)} && find . -mindepth 1 -maxdepth 1 ! -name '.*' -xtype f -exec sha256sum -- {} +`

const key = (name: Uint8Array): string => Buffer.from(name).toString("latin1")

// sha256sum writes a name holding a backslash or a line break escaped, the line then led by `\`.
const unescapeSum = (name: Uint8Array): Buffer => {
  const out: Array<number> = []
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x5c && i + 1 < name.length) {
      const next = name[++i]!
      out.push(next === 0x6e ? 0x0a : next === 0x72 ? 0x0d : next)
    } else {
      out.push(name[i]!)
    }
  }
  return Buffer.from(out)
}

/** The `sha256sum` output as name (bytes, as latin1 text) → hex digest. */
export const parseSums = (output: Uint8Array): ReadonlyMap<string, string> => {
  const sums = new Map<string, string>()
  const text = Buffer.from(output)
  let start = 0
  while (start < text.length) {
    let end = text.indexOf(0x0a, start)
    if (end < 0) end = text.length
    let line = text.subarray(start, end)
    start = end + 1
    const escaped = line[0] === 0x5c
    if (escaped) line = line.subarray(1)
    const digest = line.subarray(0, 64).toString("latin1")
    if (!/^[0-9a-f]{64}$/.test(digest) || line[64] !== 0x20) continue
    let name: Buffer = line.subarray(66)
    if (escaped) name = unescapeSum(name)
    if (name[0] === 0x2e && name[1] === 0x2f) name = name.subarray(2)
    sums.set(key(name), digest)
  }
  return sums
}

/**
 * The most `sha256sum` prints for one file: `\\`, the digest, two spaces, `./` and a name of at
 * most 255 bytes with each byte escaped at most to two, a line break; rounded up.
 */
const MAX_SUM_LINE = 1024
/** Lines allowed beyond one per landed file (files that arrived on the peer after the copy). */
const SPARE_LINES = 1024

/** The most the hashing command may print for `files` landed files: what a peer sends past it is not read. */
export const maxHashOutput = (files: number): number => (files + SPARE_LINES) * MAX_SUM_LINE

/** Collects a peer's stdout up to `max` bytes; past them, `tooMuch` (the child is then stopped with its scope). */
const collectAtMost = <E>(stdout: Stream.Stream<Uint8Array, unknown>, max: number, tooMuch: () => E): Effect.Effect<Buffer, E> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    const over = { _tag: "Over" } as const
    return Stream.runForEach(stdout, (chunk) => {
      total += chunk.length
      if (total > max) return Effect.fail(over)
      chunks.push(chunk)
      return Effect.void
    }).pipe(
      Effect.map(() => Buffer.concat(chunks)),
      Effect.catch((error) => (error === over ? Effect.fail(tooMuch()) : Effect.succeed(Buffer.alloc(0))))
    )
  })

export const makeVerify = (ctx: RemoteContext, disk: StagingDiskShape) => {
  /** Each landed file's SHA-256 when it matches the peer's; fails on the first that does not. */
  const verify = (
    peer: RemotePeer,
    privateDir: Directory,
    names: ReadonlyArray<FileName>,
    timeout: Duration.Input
  ) =>
    Effect.gen(function*() {
      const argv = runAs(peer.localUser, remoteCommandArgv(peer, hashCommand(peer.collectDir), yield* ctx.connectionOf(peer)))
      const max = maxHashOutput(names.length)
      const { consumed, ran } = yield* ctx.runStreaming(argv, timeout, (stdout) =>
        collectAtMost(stdout, max, () =>
          new RemoteCommandFailed({
            peer: peer.name,
            argv,
            stderr: `stopped after ${max} bytes of output, more than sha256sum prints for ${names.length} file(s)`
          })))
      if (ran._tag === "NotRun" && ran.expired !== undefined) {
        return yield* new TimedOut({ peer: peer.name, operation: "verify", after: ran.expired })
      }
      if (ran._tag === "NotRun") {
        return yield* new RemoteCommandFailed({ peer: peer.name, argv, stderr: ran.reason, cause: ran.cause })
      }
      if (ran.exitCode !== 0) {
        return yield* new RemoteCommandFailed({ peer: peer.name, argv, exitCode: ran.exitCode, stderr: ran.stderr })
      }
      const remote = parseSums(consumed ?? Buffer.alloc(0))
      const local = yield* disk.hashFiles(privateDir, names).pipe(
        Effect.mapError((error) =>
          error._tag === "DiskError"
            ? diskFailure(peer, error)
            : new UnsupportedEntry({
              peer: peer.name,
              collectDir: ctx.remoteLabel(peer, peer.collectDir),
              entries: [{ name: showName(error.name), kind: kindOf(error.type) }]
            })
        )
      )
      const hashes: Array<{ name: string; sha256: string }> = []
      for (let i = 0; i < names.length; i++) {
        const file = showName(names[i]!)
        const actual = local[i]!
        const expected = remote.get(key(names[i]!)) ?? "(not on the peer any more)"
        if (expected !== actual) return yield* new VerificationFailed({ peer: peer.name, file, expected, actual })
        hashes.push({ name: file, sha256: actual })
      }
      return hashes
    })

  return { verify } as const
}

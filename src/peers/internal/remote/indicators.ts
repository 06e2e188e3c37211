// A remote peer's indicator files: whether its collect indicator is there (fetched into a private
// dir under the working dir) and writing its stage indicator (pushed from one).
import { Effect } from "effect"
import type { IndicatorOptions, IndicatorStatus } from "../../../domain/Peer.js"
import { DEF_COLLECT_INDICATOR, DEF_STAGE_INDICATOR } from "../../../domain/Peer.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { ScpProtocol } from "../remotePath.js"
import { trimTrailingSlashes } from "../remotePath.js"
import { runAs } from "../runAs.js"
import { fetchArgv, pushArgv } from "./argv.js"
import { type RemoteContext, requireCopied } from "./context.js"

/**
 * Whether a non-zero scp exit means the peer could not be reached at all. Status 255 is ssh's own
 * failure (unknown host, refused login, closed connection) in SFTP mode, except when ssh dies
 * before scp has written its first request: scp then gets SIGPIPE, prints `lost connection` (even
 * with `-q`) and exits 1 — a refused connection takes that path about one time in ten. Legacy scp
 * (`-O`, rcp) exits 1 both when it could not connect and when the file is missing, but the
 * file-level errors come from the remote scp and are printed as `scp: …`, while a failed
 * connection prints ssh's messages or, with `-q`, nothing: so without an `scp: ` line, legacy
 * means unreachable.
 */
export const isUnreachable = (protocol: ScpProtocol, exitCode: number, stderr: string): boolean => {
  if (exitCode === 255) return true
  const lines = stderr.split(/\r?\n/)
  if (protocol === "sftp") return lines.some((line) => line.trim() === LOST_CONNECTION)
  return !lines.some((line) => line.startsWith("scp: "))
}

/** What scp prints when its ssh is gone before it could write to it (its SIGPIPE handler). */
const LOST_CONNECTION = "lost connection"

const describeStatus = (peer: RemotePeer, name: string, status: IndicatorStatus): string =>
  `peer ${peer.name}: collect indicator ${name} ${status.status}${status.reason === undefined ? "" : `: ${status.reason}`}`

const firstLine = (text: string): string => text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? ""

export const makeIndicators = (ctx: RemoteContext) => {
  const { path } = ctx

  const collectIndicatorStatus = Effect.fn("RemotePeers.collectIndicatorStatus")(
    function*(peer: RemotePeer, name: string = DEF_COLLECT_INDICATOR) {
      yield* ctx.requireIndicatorName(peer, name)
      yield* ctx.requireRemotePath(peer)
      const { timeouts } = yield* ctx.settingsOf(peer)
      const status: IndicatorStatus = yield* Effect.scoped(Effect.gen(function*() {
        yield* ctx.requireLocalUserAllowed(peer)
        const protocol = yield* ctx.protocolOf(peer)
        const workDir = yield* ctx.privateDirectory(peer, peer.workingDir, "write")
        const localFile = path.join(workDir.path, name)
        const copy = fetchArgv(peer, name, localFile, yield* ctx.connectionOf(peer))
        const ran = yield* ctx.runCopy(peer, "check", runAs(peer.localUser, copy), {
          timeout: timeouts.indicator,
          program: copy[0]!
        })
        if (ran._tag === "NotRun") {
          const reason = ran.expired === undefined ? ran.reason : `${copy[0]} timed out after ${ran.expired}`
          return { status: "unreachable", reason } satisfies IndicatorStatus
        }
        // looked up through the open directory: a link its owner planted at that name is not followed
        const arrived = yield* ctx.disk.list(workDir.directory).pipe(
          Effect.map((entries) => entries.some((entry) => entry.type === "File" && Buffer.from(entry.name).equals(Buffer.from(name)))),
          Effect.orElseSucceed(() => false)
        )
        if (ran.exitCode === 0) {
          return arrived
            ? ({ status: "ready" } satisfies IndicatorStatus)
            : ({ status: "not-ready", reason: `copy of ${name} exited 0 but no file arrived` } satisfies IndicatorStatus)
        }
        const detail = firstLine(ran.stderr)
        // name the copy program, not a runuser wrapper that only passed its status on
        const reason = `${copy[0]} exited with status ${ran.exitCode}${detail === "" ? "" : `: ${detail}`}`
        return {
          status: isUnreachable(protocol, ran.exitCode, ran.stderr) ? "unreachable" : "not-ready",
          reason
        } satisfies IndicatorStatus
      })).pipe(
        Effect.catch((error): Effect.Effect<IndicatorStatus> =>
          Effect.succeed({ status: "unreachable", reason: error.message })
        )
      )
      // The status carries its reason as data; its caller decides how loud to be (the pool
      // logs a not-ready peer as an error, or as info when its failures are ignored).
      if (status.status !== "ready") yield* Effect.logDebug(describeStatus(peer, name, status))
      return status
    }
  )

  // The boolean drops the reason, so it is logged here (Cedar's behaviour: false, with the reason in the log).
  const checkCollectIndicator = Effect.fn("RemotePeers.checkCollectIndicator")(
    function*(peer: RemotePeer, name: string = DEF_COLLECT_INDICATOR) {
      const status = yield* collectIndicatorStatus(peer, name)
      if (status.status !== "ready") yield* Effect.logWarning(describeStatus(peer, name, status))
      return status.status === "ready"
    }
  )

  const writeStageIndicator = Effect.fn("RemotePeers.writeStageIndicator")(
    function*(peer: RemotePeer, name: string = DEF_STAGE_INDICATOR, options: IndicatorOptions = {}) {
      yield* ctx.requireIndicatorName(peer, name)
      yield* ctx.requireRemotePath(peer)
      yield* ctx.requireLocalUserAllowed(peer)
      const { timeouts } = yield* ctx.settingsOf(peer)
      const protocol = yield* ctx.protocolOf(peer)
      yield* Effect.scoped(Effect.gen(function*() {
        // The local user only reads this file: the directory stays the process's own (0711), and
        // the file is created in it without following a link, then given to that user so that scp
        // running as them can read it whatever its permissions.
        const workDir = yield* ctx.privateDirectory(peer, peer.workingDir, "traverse")
        const localFile = path.join(workDir.path, name)
        yield* ctx.disk.writeEmptyFile(workDir.directory, name, {
          ownership: workDir.owner,
          // scp gives a file it creates the mode of its source; ownership on the peer is the remote user's.
          permissions: options.permissions
        }).pipe(Effect.mapError((error) => ctx.fileOperationFailed(peer, "create", localFile)(error)))
        const push = pushArgv(peer, localFile, name, protocol, yield* ctx.connectionOf(peer))
        const argv = runAs(peer.localUser, push)
        const target = ctx.remoteLabel(peer, `${trimTrailingSlashes(peer.collectDir)}/${name}`)
        // pushing an empty file again is harmless, so any transient failure is retried
        const ran = yield* ctx.runCopy(peer, "indicator", argv, { timeout: timeouts.indicator, program: push[0]! })
        yield* requireCopied(peer, "indicator", target, argv, ran)
      }))
    }
  )

  return { collectIndicatorStatus, checkCollectIndicator, writeStageIndicator } as const
}

// Staging a remote peer: a transport (scp by default, or tar) brings the collect dir's files into
// a fresh private directory (see landingSite); the landing checks what arrived (only regular
// files with plain names, within the limits), applies attributes, optionally verifies every file
// against the peer, and puts them in place. The private directory is always removed whole.
import { Effect, Option } from "effect"
import type { StageOptions, StageReport } from "../../../domain/Peer.js"
import type { StageIntoOptions } from "../../stageInto.js"
import { FileOperationFailed } from "../../../domain/PeerError.js"
import type { RemotePeer } from "../../../domain/peers.js"
import type { Directory, StagingDiskShape } from "../../../disk/StagingDisk.js"
import type { RemoteContext } from "./context.js"
import { makeLandingSite } from "../landingSite.js"
import { diskFailure, makeLanding } from "./landing.js"
import { makeScpTransport } from "./scpTransport.js"
import { makeTarTransport } from "./tarTransport.js"
import { makeVerify } from "./verify.js"

export const makeTransfer = (ctx: RemoteContext, disk: StagingDiskShape) => {
  const landing = makeLanding(disk)
  const site = makeLandingSite(disk)
  const scp = makeScpTransport(ctx)
  const tar = makeTarTransport(ctx)
  const { verify } = makeVerify(ctx, disk)

  // scp runs as the local user and must be able to write the private directory; the tar stream
  // is unpacked by this process, so its private directory is never handed to anyone.
  const copyOwner = (peer: RemotePeer, targetDir: string) =>
    Effect.gen(function*() {
      if (peer.localUser === undefined || peer.transport === "tar") return undefined
      const ids = yield* ctx.users.lookupUser(peer.localUser)
      if (Option.isNone(ids)) {
        return yield* new FileOperationFailed({
          peer: peer.name,
          operation: "chown",
          path: targetDir,
          cause: `no such local user: ${peer.localUser}`
        })
      }
      return ids.value
    })

  // Stages into a directory already opened (the pool's staging tree, held open for the run), so
  // nothing between the check of its path and the landing can redirect where files go.
  const stageInto = (peer: RemotePeer, target: Directory, options: StageIntoOptions) =>
    Effect.gen(function*() {
      yield* ctx.requireRemotePath(peer)
      yield* ctx.requireLocalUserAllowed(peer)
      const { timeouts } = yield* ctx.settingsOf(peer)
      const owner = yield* copyOwner(peer, target.shown)
      return yield* Effect.scoped(Effect.gen(function*() {
        const privateDir = yield* site.gather(target, options, owner).pipe(Effect.mapError((error) => diskFailure(peer, error)))
        const transport = peer.transport === "tar" ? tar : scp
        const brought = yield* transport.copy(peer, privateDir, options, timeouts.stage, { stall: timeouts.stall })
        const landed = yield* landing.check(peer, privateDir, options, brought)
        let hashes: ReadonlyArray<{ name: string; sha256: string }> | undefined
        if (options.verify === true) {
          options.onProgress?.({ phase: "verifying", files: landed.names.length, bytes: landed.bytes })
          hashes = yield* verify(peer, privateDir, landed.names, timeouts.command)
        }
        yield* site.land(privateDir, landed.names, target, options, landed.bytes).pipe(Effect.mapError((error) => diskFailure(peer, error)))
        const report: StageReport = landing.report(landed, hashes)
        return report
      }))
    })

  const stagePeer = Effect.fn("RemotePeers.stagePeer")(
    function*(peer: RemotePeer, targetDir: string, options: StageOptions = {}) {
      yield* ctx.requireTargetDirectory(peer, targetDir)
      yield* ctx.requireRemotePath(peer)
      yield* ctx.requireLocalUserAllowed(peer)
      return yield* Effect.scoped(Effect.gen(function*() {
        const target = yield* disk.openDirectory(targetDir).pipe(Effect.mapError((error) => diskFailure(peer, error)))
        return yield* stageInto(peer, target, options)
      }))
    }
  )

  const stagePeerInto = Effect.fn("RemotePeers.stagePeerInto")(
    function*(peer: RemotePeer, target: Directory, options: StageIntoOptions = {}) {
      return yield* stageInto(peer, target, options)
    }
  )

  return { stagePeer, stagePeerInto } as const
}

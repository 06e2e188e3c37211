// Staging a remote peer: the copy command brings the collect dir's files into a private
// directory inside the target dir, then they are landed (attributes applied, renamed into place).
import { Effect } from "effect"
import type { StageOptions, StageReport } from "../../Peer.js"
import { CopyFailed, NothingStaged, TimedOut } from "../../PeerError.js"
import type { RemotePeer } from "../../RemotePeer.js"
import { runAs } from "../runAs.js"
import { stageArgv } from "./argv.js"
import type { RemoteContext } from "./context.js"

export const makeTransfer = (ctx: RemoteContext) => {
  const { fs, path } = ctx

  // Renames every file into the target; should one rename fail (or the fiber be interrupted),
  // the files this call added are taken out again, so the target holds all of them or none.
  // A file that existed before is only ever replaced by a rename: whole or untouched.
  const moveInto = (peer: RemotePeer, from: string, to: string, names: ReadonlyArray<string>) => {
    const added: Array<string> = []
    return Effect.gen(function*() {
      for (const name of names) {
        const target = path.join(to, name)
        const existed = yield* fs.exists(target).pipe(Effect.orElseSucceed(() => true))
        yield* fs.rename(path.join(from, name), target).pipe(
          Effect.mapError(ctx.fileOperationFailed(peer, "rename", target))
        )
        if (!existed) added.push(target)
      }
    }).pipe(
      Effect.onExit((exit) =>
        exit._tag === "Success"
          ? Effect.void
          : Effect.forEach(added, (file) => fs.remove(file).pipe(Effect.ignore), { discard: true })
      )
    )
  }

  const stagePeer = Effect.fn("RemotePeers.stagePeer")(
    function*(peer: RemotePeer, targetDir: string, options: StageOptions = {}) {
      yield* ctx.requireTargetDirectory(peer, targetDir)
      yield* ctx.requireRemotePath(peer)
      yield* ctx.requireLocalUserAllowed(peer)
      const { timeouts } = yield* ctx.settingsOf(peer)
      return yield* Effect.scoped(Effect.gen(function*() {
        const privateDir = yield* ctx.privateDirectory(peer, targetDir)
        const copy = stageArgv(peer, privateDir, yield* ctx.connectionOf(peer))
        const argv = runAs(peer.localUser, copy)
        const source = ctx.remoteLabel(peer, peer.collectDir)
        // retried only while nothing has arrived: a copy cut off half-way is reported, not redone
        const ran = yield* ctx.runCopy(peer, "stage", argv, {
          timeout: timeouts.stage,
          program: copy[0]!,
          landed: fs.readDirectory(privateDir).pipe(
            Effect.map((names) => names.length > 0),
            Effect.orElseSucceed(() => true)
          )
        })
        if (ran._tag === "NotRun" && ran.expired !== undefined) {
          return yield* new TimedOut({ peer: peer.name, operation: "stage", after: ran.expired })
        }
        if (ran._tag === "NotRun") {
          return yield* new CopyFailed({ peer: peer.name, path: source, stderr: ran.reason, argv, cause: ran.cause })
        }
        if (ran.exitCode !== 0) {
          return yield* new CopyFailed({ peer: peer.name, path: source, exitCode: ran.exitCode, stderr: ran.stderr, argv })
        }
        const names = (yield* fs.readDirectory(privateDir).pipe(
          Effect.mapError((cause) => new CopyFailed({ peer: peer.name, path: privateDir, argv, cause }))
        )).slice().sort()
        if (names.length === 0) return yield* new NothingStaged({ peer: peer.name, collectDir: peer.collectDir })
        let bytes = 0
        for (const name of names) {
          const file = path.join(privateDir, name)
          const info = yield* fs.stat(file).pipe(Effect.mapError(ctx.fileOperationFailed(peer, "stat", file)))
          bytes += Number(info.size)
          if (options.ownership !== undefined) {
            yield* fs.chown(file, options.ownership.uid, options.ownership.gid).pipe(
              Effect.mapError(ctx.fileOperationFailed(peer, "chown", file))
            )
          }
          if (options.permissions !== undefined) {
            yield* fs.chmod(file, options.permissions).pipe(Effect.mapError(ctx.fileOperationFailed(peer, "chmod", file)))
          }
        }
        yield* moveInto(peer, privateDir, targetDir, names)
        const report: StageReport = { count: names.length, bytes, files: names, skipped: [] }
        return report
      }))
    }
  )

  return { stagePeer } as const
}

// Commands run on a remote peer over the rsh command: an arbitrary command line, or a managed
// Cedar Backup action. Never retried: a command may not be idempotent, and a dropped connection
// does not tell whether it ran on the peer.
import type { Duration } from "effect"
import { Effect, Schema } from "effect"
import { ActionName } from "../../../domain/Peer.js"
import { InvalidPeerConfig, ManagedActionFailed, RemoteCommandFailed, TimedOut } from "../../../domain/PeerError.js"
import { problemsOf, type RemoteOutput, type RemotePeer } from "../../../domain/peers.js"
import { runAs } from "../runAs.js"
import { buildCbackCommand, remoteCommandArgv } from "./argv.js"
import type { RemoteContext } from "./context.js"

export const makeCommands = (ctx: RemoteContext) => {
  const runRemote = (peer: RemotePeer, command: string, operation: string, timeout: Duration.Input) =>
    Effect.gen(function*() {
      const argv = runAs(peer.localUser, remoteCommandArgv(peer, command, yield* ctx.connectionOf(peer)))
      if (command.trim() === "") {
        // ssh without a command opens a login shell, which would wait on stdin
        return yield* new RemoteCommandFailed({ peer: peer.name, argv, stderr: "refusing to run an empty remote command" })
      }
      const ran = yield* ctx.run(argv, timeout)
      if (ran._tag === "NotRun" && ran.expired !== undefined) {
        return yield* new TimedOut({ peer: peer.name, operation, after: ran.expired })
      }
      if (ran._tag === "NotRun") {
        return yield* new RemoteCommandFailed({ peer: peer.name, argv, stderr: ran.reason, cause: ran.cause })
      }
      if (ran.exitCode !== 0) {
        return yield* new RemoteCommandFailed({ peer: peer.name, argv, exitCode: ran.exitCode, stderr: ran.stderr })
      }
      const output: RemoteOutput = { stdout: ran.stdout, stderr: ran.stderr }
      return output
    })

  const executeRemoteCommand = Effect.fn("RemotePeers.executeRemoteCommand")(
    function*(peer: RemotePeer, command: string) {
      yield* ctx.requireLocalUserAllowed(peer)
      return yield* runRemote(peer, command, "command", (yield* ctx.settingsOf(peer)).timeouts.command)
    }
  )

  const executeManagedAction = Effect.fn("RemotePeers.executeManagedAction")(
    function*(peer: RemotePeer, action: string, fullBackup: boolean) {
      yield* Schema.decodeUnknownEffect(ActionName)(action).pipe(
        Effect.mapError((error) => new InvalidPeerConfig({ peer: peer.name, problems: problemsOf(error, "action") }))
      )
      yield* ctx.requireLocalUserAllowed(peer)
      const command = buildCbackCommand(peer.cbackCommand, action, fullBackup)
      yield* runRemote(peer, command, `managed action ${action}`, (yield* ctx.settingsOf(peer)).timeouts.managedAction).pipe(
        Effect.catchTag("RemoteCommandFailed", (cause) => Effect.fail(new ManagedActionFailed({ peer: peer.name, action, cause })))
      )
    }
  )

  return { executeRemoteCommand, executeManagedAction } as const
}

// How long each kind of child process may run before it is killed (re-exported by RemotePeer).
import { Context, Duration } from "effect"
import { DEFAULT_TIMEOUTS } from "../../../domain/Settings.js"

/**
 * The remote time limits: the `ssh -V` probe, the connection (TCP and the server's banner), a
 * stalled session, and the whole of each operation.
 *
 * @since 1.0.0
 * @category models
 */
export interface RemoteTimeoutsShape {
  readonly probe: Duration.Input
  readonly connect: Duration.Input
  readonly stall: Duration.Input
  readonly indicator: Duration.Input
  readonly stage: Duration.Input
  readonly command: Duration.Input
  readonly managedAction: Duration.Input
}

/**
 * The library-wide defaults of the remote time limits, so a hung ssh cannot hang a backup
 * forever. A peer's own `timeouts` (seconds, set from the configuration) win over these. Override
 * with `Effect.provideService(RemoteTimeouts, {...})` or a layer. Defaults: `ssh -V` probe 30 s;
 * connect 30 s (TCP connection and the server's banner); stall 60 s (a session with no answer
 * to keep-alives); indicator check and write 5 min; staging copy 12 h; remote command 1 h;
 * managed action 12 h (a full collect on a large peer takes hours).
 *
 * @since 0.1.0
 * @category services
 */
export const RemoteTimeouts: Context.Reference<RemoteTimeoutsShape> = Context.Reference<RemoteTimeoutsShape>(
  "cedar-peer/RemoteTimeouts",
  {
    defaultValue: () => ({
      probe: "30 seconds",
      connect: Duration.seconds(DEFAULT_TIMEOUTS.connect),
      stall: Duration.seconds(DEFAULT_TIMEOUTS.stall),
      indicator: Duration.seconds(DEFAULT_TIMEOUTS.indicator),
      stage: Duration.seconds(DEFAULT_TIMEOUTS.stage),
      command: Duration.seconds(DEFAULT_TIMEOUTS.command),
      managedAction: Duration.seconds(DEFAULT_TIMEOUTS.managedAction)
    })
  }
)

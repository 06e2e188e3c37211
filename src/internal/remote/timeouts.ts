// How long each kind of child process may run before it is killed (re-exported by RemotePeer).
import type { Duration } from "effect"
import { Context } from "effect"

/**
 * How long a child may run before it is killed and the operation fails, so a hung ssh cannot hang
 * a backup forever. Override with `Effect.provideService(RemoteTimeouts, {...})` or a layer.
 * Defaults: `ssh -V` probe 30 s; indicator check and write 5 min; staging copy 12 h; remote
 * command 1 h; managed action 12 h (a full collect on a large peer takes hours).
 *
 * @since 0.1.0
 * @category services
 */
export class RemoteTimeouts extends Context.Reference<RemoteTimeouts>()("cedar-peer/RemoteTimeouts", {
  defaultValue: (): {
    readonly probe: Duration.DurationInput
    readonly indicator: Duration.DurationInput
    readonly stage: Duration.DurationInput
    readonly command: Duration.DurationInput
    readonly managedAction: Duration.DurationInput
  } => ({
    probe: "30 seconds",
    indicator: "5 minutes",
    stage: "12 hours",
    command: "1 hour",
    managedAction: "12 hours"
  })
}) {}

// A remote peer's settings as its operations use them: the peer's own values (seconds, from the
// configuration) over the library-wide defaults.
import { Duration, Effect } from "effect"
import type { RemotePeer } from "../../../domain/peers.js"
import { RemoteRetries } from "./retry.js"
import { RemoteTimeouts } from "./timeouts.js"

export interface Settings {
  readonly timeouts: {
    readonly probe: Duration.Duration
    readonly connect: Duration.Duration
    readonly stall: Duration.Duration
    readonly indicator: Duration.Duration
    readonly stage: Duration.Duration
    readonly command: Duration.Duration
    readonly managedAction: Duration.Duration
  }
  readonly retries: { readonly count: number; readonly baseDelay: Duration.Duration }
  readonly connectionSharing: boolean
}

const pick = (seconds: number | undefined, fallback: Duration.Input): Duration.Duration =>
  seconds === undefined ? Duration.fromInputUnsafe(fallback) : Duration.millis(Math.round(seconds * 1000))

export const settingsOf = (peer: RemotePeer): Effect.Effect<Settings> =>
  Effect.map(Effect.all([RemoteTimeouts, RemoteRetries]), ([defaults, retries]): Settings => {
    const own = peer.timeouts ?? {}
    return {
      timeouts: {
        probe: Duration.fromInputUnsafe(defaults.probe),
        connect: pick(own.connect, defaults.connect),
        stall: pick(own.stall, defaults.stall),
        indicator: pick(own.indicator, defaults.indicator),
        stage: pick(own.stage, defaults.stage),
        command: pick(own.command, defaults.command),
        managedAction: pick(own.managedAction, defaults.managedAction)
      },
      retries: {
        count: peer.retries?.count ?? retries.count,
        baseDelay: pick(peer.retries?.baseDelay, retries.baseDelay)
      },
      connectionSharing: peer.connectionSharing ?? true
    }
  })

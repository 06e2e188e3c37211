// A remote peer's settings as its operations use them: the peer's own values (seconds, from the
// configuration) over the library-wide defaults, resolved as every setting is.
import { Duration, Effect } from "effect"
import { DEFAULT_SETTINGS, resolveSettings, type SettingsDefaults, TIMEOUT_NAMES, type Timeouts } from "../../../domain/Settings.js"
import type { RemotePeer } from "../../../domain/peers.js"
import { RemoteRetries, type RemoteRetriesShape } from "./retry.js"
import { RemoteTimeouts, type RemoteTimeoutsShape } from "./timeouts.js"

export interface Settings {
  readonly timeouts: { readonly [K in keyof Timeouts | "probe"]: Duration.Duration }
  readonly retries: { readonly count: number; readonly baseDelay: Duration.Duration }
  readonly connectionSharing: boolean
}

const toSeconds = (input: Duration.Input): number => Duration.toMillis(Duration.fromInputUnsafe(input)) / 1000
const fromSeconds = (seconds: number): Duration.Duration => Duration.millis(Math.round(seconds * 1000))

// The References hold the library-wide defaults (a program may replace them), in seconds here.
const defaultsOf = (timeouts: RemoteTimeoutsShape, retries: RemoteRetriesShape): SettingsDefaults => ({
  ...DEFAULT_SETTINGS,
  timeouts: Object.fromEntries(TIMEOUT_NAMES.map((name) => [name, toSeconds(timeouts[name])])) as Record<keyof Timeouts, number>,
  retries: { count: retries.count, baseDelay: toSeconds(retries.baseDelay) }
})

export const settingsOf = (peer: RemotePeer): Effect.Effect<Settings> =>
  Effect.map(Effect.all([RemoteTimeouts, RemoteRetries]), ([timeouts, retries]): Settings => {
    const resolved = resolveSettings([peer], defaultsOf(timeouts, retries))
    return {
      timeouts: {
        probe: Duration.fromInputUnsafe(timeouts.probe),
        ...Object.fromEntries(TIMEOUT_NAMES.map((name) => [name, fromSeconds(resolved.timeouts[name])])) as Record<keyof Timeouts, Duration.Duration>
      },
      retries: { count: resolved.retries.count, baseDelay: fromSeconds(resolved.retries.baseDelay) },
      connectionSharing: resolved.connectionSharing
    }
  })

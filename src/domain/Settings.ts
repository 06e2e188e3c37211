/**
 * The settings a peer is staged with — limits, timeouts, retries, transport, connection sharing,
 * verification — and the only place their defaults are written. A setting is resolved one way
 * everywhere: the first layer that sets it wins (a run's overrides, then the peer's own, then the
 * pool's options), field by field for timeouts and retries, else the default.
 *
 * @since 1.0.0
 */
import { Schema } from "effect"

/**
 * How a remote peer's files travel: `scp` runs the rcp command (the default), `tar` runs `tar` on
 * the peer over the rsh command and unpacks the stream on the master.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Transport = Schema.Literals(["scp", "tar"]).annotate({ message: "must be one of scp, tar" })

/**
 * @since 0.2.0
 * @category models
 */
export type Transport = typeof Transport.Type

/**
 * The names of the per-operation timeouts a peer may set (seconds).
 *
 * @since 0.2.0
 * @category constants
 */
export const TIMEOUT_NAMES = ["connect", "stall", "indicator", "stage", "command", "managedAction"] as const

/**
 * @since 0.2.0
 * @category models
 */
export type TimeoutName = typeof TIMEOUT_NAMES[number]

/**
 * How long each operation on a peer may take, in seconds: `connect` (establishing a connection),
 * `stall` (a transfer that moves nothing), `indicator` (checking or writing an indicator), `stage`
 * (staging the whole peer), `command` (a remote command), `managedAction` (a managed action).
 *
 * @since 0.2.0
 * @category models
 */
export type Timeouts = { readonly [K in TimeoutName]: number }

/**
 * Retries of transient failures: how many after the first attempt, and the base delay in seconds
 * of the exponential backoff between them.
 *
 * @since 0.2.0
 * @category models
 */
export interface Retries {
  readonly count: number
  readonly baseDelay: number
}

/**
 * The defaults of every timeout, in seconds.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 30,
  stall: 60,
  indicator: 300,
  stage: 43200,
  command: 3600,
  managedAction: 43200
}

/**
 * The default retries: 2, starting 5 seconds apart.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_RETRIES: Retries = { count: 2, baseDelay: 5 }

/**
 * The default number of peers staged at once.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_CONCURRENCY = 4

/**
 * The settings a peer runs with, every value resolved. `maxFiles`/`maxBytes` absent means
 * unlimited. `transport` and `connectionSharing` matter only for remote peers.
 *
 * @since 0.2.0
 * @category models
 */
export interface PeerSettings {
  readonly maxFiles?: number
  readonly maxBytes?: number
  readonly timeouts: Timeouts
  readonly retries: Retries
  readonly transport: Transport
  readonly connectionSharing: boolean
  readonly verify: boolean
}

/**
 * One layer of settings, each value optional: a run's overrides (e.g. command-line flags), a
 * peer's own configuration, the pool's options. Timeouts and retries are set field by field.
 *
 * @since 0.2.0
 * @category models
 */
export interface SettingsOverrides {
  readonly maxFiles?: number
  readonly maxBytes?: number
  readonly timeouts?: Partial<Timeouts>
  readonly retries?: Partial<Retries>
  readonly transport?: Transport
  readonly connectionSharing?: boolean
  readonly verify?: boolean
}

/**
 * What a setting is when no layer sets it; `maxFiles`/`maxBytes` have none (unlimited).
 *
 * @since 1.0.0
 * @category models
 */
export type SettingsDefaults = Omit<PeerSettings, "maxFiles" | "maxBytes">

/**
 * The defaults of every setting: `DEFAULT_TIMEOUTS`, `DEFAULT_RETRIES`, transport `scp`,
 * connection sharing on, verification off.
 *
 * @since 1.0.0
 * @category constants
 */
export const DEFAULT_SETTINGS: SettingsDefaults = {
  timeouts: DEFAULT_TIMEOUTS,
  retries: DEFAULT_RETRIES,
  transport: "scp",
  connectionSharing: true,
  verify: false
}

type Layer = SettingsOverrides | undefined

const first = <A>(layers: ReadonlyArray<Layer>, get: (layer: SettingsOverrides) => A | undefined): A | undefined => {
  for (const layer of layers) {
    const value = layer === undefined ? undefined : get(layer)
    if (value !== undefined) return value
  }
  return undefined
}

// Keeps only what is set, so that an absent value stays absent (exactOptionalPropertyTypes).
const defined = <T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }

const nonEmpty = <T extends object>(value: T): T | undefined => (Object.keys(value).length === 0 ? undefined : value)

/**
 * Merges layers of settings, the first layer that sets a value winning (field by field for
 * timeouts and retries), without filling in defaults: what no layer sets stays absent.
 *
 * @since 1.0.0
 * @category constructors
 */
export const mergeSettings = (layers: ReadonlyArray<SettingsOverrides | undefined>): SettingsOverrides => {
  const timeouts = nonEmpty(defined(Object.fromEntries(
    TIMEOUT_NAMES.map((name) => [name, first(layers, (layer) => layer.timeouts?.[name])])
  ) as Partial<Timeouts>))
  const retries = nonEmpty(defined({
    count: first(layers, (layer) => layer.retries?.count),
    baseDelay: first(layers, (layer) => layer.retries?.baseDelay)
  }))
  return defined({
    maxFiles: first(layers, (layer) => layer.maxFiles),
    maxBytes: first(layers, (layer) => layer.maxBytes),
    timeouts,
    retries,
    transport: first(layers, (layer) => layer.transport),
    connectionSharing: first(layers, (layer) => layer.connectionSharing),
    verify: first(layers, (layer) => layer.verify)
  })
}

/**
 * Resolves layers of settings into every value (see `mergeSettings`), taking `defaults`
 * (`DEFAULT_SETTINGS` unless given) for what no layer sets.
 *
 * @since 1.0.0
 * @category constructors
 */
export const resolveSettings = (
  layers: ReadonlyArray<SettingsOverrides | undefined>,
  defaults: SettingsDefaults = DEFAULT_SETTINGS
): PeerSettings => {
  const merged = mergeSettings(layers)
  return {
    ...(merged.maxFiles === undefined ? {} : { maxFiles: merged.maxFiles }),
    ...(merged.maxBytes === undefined ? {} : { maxBytes: merged.maxBytes }),
    timeouts: { ...defaults.timeouts, ...merged.timeouts },
    retries: { ...defaults.retries, ...merged.retries },
    transport: merged.transport ?? defaults.transport,
    connectionSharing: merged.connectionSharing ?? defaults.connectionSharing,
    verify: merged.verify ?? defaults.verify
  }
}

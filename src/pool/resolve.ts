/**
 * The pool resolved from its configuration: which peers a run takes and their peer values, where
 * a run stages (its daily directory) and locks, whose failures it ignores, and who owns what it
 * writes.
 *
 * @since 1.0.0
 */
import { Effect, Option } from "effect"
import type { PeerConfig, PoolConfig } from "../config/Config.js"
import { locate } from "../config/Config.js"
import type { FailureMode, Ownership } from "../domain/Peer.js"
import { ConfigError, InvalidPeerConfig } from "../domain/PeerError.js"
import type { AnyPeer } from "../peers/anyPeer.js"
import type { RemotePeer } from "../peers/RemotePeer.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { peerValue } from "./settings.js"
import type { SettingsOverrides } from "../domain/Settings.js"

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const

/**
 * The daily staging directory `<stagingDir>/YYYY/MM/DD` for a date, in local time.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dailyDir = (stagingDir: string, date: Date): string => {
  const pad = (n: number) => String(n).padStart(2, "0")
  const base = stagingDir.replace(/\/+$/, "")
  return `${base}/${date.getFullYear()}/${pad(date.getMonth() + 1)}/${pad(date.getDate())}`
}

/**
 * The lock file that keeps two runs of one pool apart: `.cedar-peer.lock` in the staging dir,
 * the tree two runs would both write into.
 *
 * @since 0.2.0
 * @category constructors
 */
export const lockFile = (config: PoolConfig): string => `${config.stagingDir.replace(/\/+$/, "")}/.cedar-peer.lock`

/**
 * Whether a peer's failures are ignored: `none` never, `all` always; on a full run or
 * the starting day of the week `weekly` peers are ignored, on other days `daily` peers are.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFailureIgnored = (
  mode: FailureMode | undefined,
  context: { readonly full: boolean; readonly startingDay: string; readonly date: Date }
): boolean => {
  if (mode === undefined || mode === "none") return false
  if (mode === "all") return true
  const startOfWeek = WEEKDAYS[context.date.getDay()] === context.startingDay
  return context.full || startOfWeek ? mode === "weekly" : mode === "daily"
}

const unknownPeer = (name: string, config: PoolConfig) =>
  new InvalidPeerConfig({
    peer: name,
    problems: [`no peer of that name in ${config.source} (known: ${config.peers.map((p) => p.name).join(", ") || "none"})`]
  })

/**
 * The configured peers named, in the order given, or all of them when no name is given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const selectPeers = (
  config: PoolConfig,
  names: ReadonlyArray<string> | undefined
): Effect.Effect<ReadonlyArray<PeerConfig>, InvalidPeerConfig> =>
  Effect.gen(function*() {
    if (names === undefined || names.length === 0) return config.peers
    const selected: Array<PeerConfig> = []
    for (const name of names) {
      const found = config.peers.find((p) => p.name === name)
      if (found === undefined) return yield* unknownPeer(name, config)
      if (!selected.includes(found)) selected.push(found)
    }
    return selected
  })

/**
 * The peer value of one configured peer, by name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const findPeer = (
  config: PoolConfig,
  name: string,
  override?: SettingsOverrides
): Effect.Effect<AnyPeer, InvalidPeerConfig, SystemUsers> =>
  Effect.gen(function*() {
    const [peer] = yield* selectPeers(config, [name])
    return yield* peerValue(config, peer!, yield* (yield* SystemUsers).isRoot, override)
  })

/**
 * The remote peer of that name, or `InvalidPeerConfig` when it is unknown or local.
 *
 * @since 0.1.0
 * @category constructors
 */
export const findRemotePeer = (config: PoolConfig, name: string): Effect.Effect<RemotePeer, InvalidPeerConfig, SystemUsers> =>
  Effect.flatMap(findPeer(config, name), (peer) =>
    peer._tag === "RemotePeer"
      ? Effect.succeed(peer)
      : Effect.fail(new InvalidPeerConfig({ peer: name, problems: ["is a local peer: remote commands need a remote peer"] })))

/**
 * The backup user's uid and the backup group's gid, which a run as root gives what it stages; a
 * name that does not resolve on this machine is a `ConfigError`.
 *
 * @since 1.0.0
 * @category constructors
 */
export const backupOwnership = (config: PoolConfig): Effect.Effect<Ownership, ConfigError, SystemUsers> =>
  Effect.gen(function*() {
    const users = yield* SystemUsers
    const user = yield* users.lookupUser(config.options.backupUser)
    const gid = yield* users.lookupGroup(config.options.backupGroup)
    const problems = [
      ...(Option.isNone(user) ? [`${locate(config, ["options", "backupUser"])}: no such user on this machine: ${config.options.backupUser}`] : []),
      ...(Option.isNone(gid) ? [`${locate(config, ["options", "backupGroup"])}: no such group on this machine: ${config.options.backupGroup}`] : [])
    ]
    if (Option.isNone(user) || Option.isNone(gid)) return yield* new ConfigError({ path: config.source, problems })
    return { uid: user.value.uid, gid: gid.value } satisfies Ownership
  })

/**
 * Whether the remote peers answer: one batch-mode connection to each, through the same rsh
 * command line, ssh options and time limits as its staging (see `RemotePeers`), with the cause
 * in words when it does not.
 *
 * @since 1.0.0
 */
import { Duration, Effect } from "effect"
import * as Config from "../config/Config.js"
import type { PoolConfig, RemotePeerConfig } from "../config/Config.js"
import { quoteWord } from "../domain/shellWords.js"
import { formatAfter } from "../peers/process.js"
import { RemotePeers } from "../peers/RemotePeer.js"
import { sshCause } from "../peers/sshCause.js"
import { SystemUsers } from "../peers/SystemUsers.js"
import { placeOf } from "../config/place.js"
import { peerValue } from "./settings.js"
import type { SettingsOverrides } from "../domain/Settings.js"

/**
 * How to try a remote peer: the command line's timeouts (`--timeout connect=2`) over the
 * configuration's.
 *
 * @since 1.0.0
 * @category models
 */
export interface ReachOptions {
  readonly settings?: SettingsOverrides | undefined
  /** seconds a peer has to answer (default: twice its connect timeout and 5 s) */
  readonly limit?: number | undefined
}

const lastLine = (text: string): string =>
  text.split("\n").map((line) => line.trim()).filter((line) => line !== "").at(-1) ?? ""

/**
 * One remote peer as a connection attempt found it: reached or not, and why not in a few words
 * (`connection refused`, `host key changed`…) next to the whole reason ssh gave.
 *
 * @since 1.0.0
 * @category models
 */
export interface PeerReach {
  readonly name: string
  /** where the peer is in the file (`peers.peer[2]`, `peers[1]`) */
  readonly location: string
  readonly reached: boolean
  /** the cause in words, when not reached (or when reached and the probe found something) */
  readonly cause?: string | undefined
  /** what ssh said, its last line */
  readonly detail?: string | undefined
}

// A failed rsh run, as reached or not: status 255 (or none) is ssh's own failure.
const reachOf = (
  peer: { readonly name: string; readonly location: string },
  error: string | { readonly _tag: string; readonly message: string; readonly exitCode?: number | undefined; readonly stderr?: string }
): PeerReach => {
  if (typeof error === "string") return { ...peer, reached: false, cause: "timed out", detail: error }
  if (error._tag !== "RemoteCommandFailed") return { ...peer, reached: false, cause: sshCause(error.message) ?? "could not connect", detail: error.message }
  const detail = lastLine(error.stderr ?? "")
  if (error.exitCode === undefined || error.exitCode === 255) {
    return { ...peer, reached: false, cause: sshCause(error.stderr ?? "") ?? "could not connect", detail: detail || "the rsh command could not run" }
  }
  return { ...peer, reached: true, cause: `the rsh command exited with status ${error.exitCode}`, detail }
}

// Runs `command` on one remote peer through its rsh command in batch mode, bounded.
const probe = (
  config: PoolConfig,
  peer: RemotePeerConfig,
  index: number,
  command: string,
  options: ReachOptions
): Effect.Effect<{ readonly reach: PeerReach; readonly exitCode: number | undefined }, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const at = { name: peer.name, location: placeOf(config, ["peers", index]) }
    const isRoot = yield* (yield* SystemUsers).isRoot
    const connect = Config.peerSettings(config, peer, options.settings).timeouts.connect
    // batch mode and the connect timeout come with the peer's own ssh options (see RemotePeers)
    const value = yield* peerValue(config, peer, isRoot, options.settings)
    if (value._tag !== "RemotePeer") return { reach: { ...at, reached: true }, exitCode: 0 }
    const limit = Duration.seconds(options.limit ?? connect * 2 + 5)
    return yield* (yield* RemotePeers).executeRemoteCommand(value, command).pipe(
      Effect.timeoutOrElse({ duration: limit, orElse: () => Effect.fail(`no answer within ${formatAfter(limit)}`) }),
      Effect.as({ reach: { ...at, reached: true } as PeerReach, exitCode: 0 as number | undefined }),
      Effect.catch((error) => {
        const reach = reachOf(at, error)
        const exitCode = typeof error === "object" && "exitCode" in error ? error.exitCode : undefined
        return Effect.succeed({ reach, exitCode })
      })
    )
  }).pipe(
    Effect.catch((error) =>
      Effect.succeed({
        reach: { name: peer.name, location: Config.locate(config, ["peers", index]), reached: false, cause: "invalid peer", detail: error.message },
        exitCode: undefined
      })
    )
  )

/**
 * Tries one batch-mode connection to every remote peer (its rsh command running `true`) and tells
 * for each whether it was reached, and if not why, in words and as ssh said it. Peers are tried
 * `poolConcurrency` at once. A peer that cannot be reached is a fact about the night, not a
 * configuration error: the CLI reports it per peer and exits 1.
 *
 * @since 1.0.0
 * @category operations
 */
export const reachPeers = (
  config: PoolConfig,
  options: ReachOptions = {}
): Effect.Effect<ReadonlyArray<PeerReach>, never, RemotePeers | SystemUsers> =>
  Effect.forEach(
    config.peers.flatMap((peer, i) => (peer.type === "remote" ? [[peer, i] as const] : [])),
    ([peer, i]) => Effect.map(probe(config, peer, i, "true", options), (result) => result.reach),
    { concurrency: Config.poolConcurrency(config) }
  )

/**
 * Why a remote peer was not staged, as far as a second look tells: its rsh command, in batch
 * mode, tests for the collect directory. Not reached: ssh's cause (`connection refused`,
 * `permission denied (publickey)`…), which scp hides under `-q`; reached: whether the collect
 * directory is there. Never fails.
 *
 * @since 1.0.0
 * @category operations
 */
export const diagnose = (
  config: PoolConfig,
  name: string,
  options: ReachOptions = {}
): Effect.Effect<PeerReach & { readonly collectDirFound?: boolean }, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const index = config.peers.findIndex((peer) => peer.name === name)
    const peer = config.peers[index]
    if (peer === undefined || peer.type !== "remote") return { name, location: "", reached: true }
    // a second look, after the run's own tries: one connect timeout and a little more
    const connect = Config.peerSettings(config, peer, options.settings).timeouts.connect
    const { reach, exitCode } = yield* probe(config, peer, index, `test -d ${quoteWord(peer.collectDir)}`, { limit: connect + 2, ...options })
    if (!reach.reached) return reach
    // `test -d` answers 0 or 1; anything else is the login shell's own trouble
    if (exitCode === 0) return { ...reach, cause: undefined, collectDirFound: true }
    if (exitCode === 1) return { ...reach, cause: `collect dir ${peer.collectDir} not found`, collectDirFound: false }
    return reach
  })

/**
 * Tries one batch-mode connection to every remote peer (its rsh command running `true`, with
 * `-o BatchMode=yes -o ConnectTimeout=…` added for ssh) and returns a located problem for each
 * peer that cannot be reached, with the reason ssh gave. Peers are tried `poolConcurrency` at once.
 *
 * @since 0.2.0
 * @category operations
 */
export const reach = (config: PoolConfig): Effect.Effect<ReadonlyArray<string>, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    const remotePeers = yield* RemotePeers
    const isRoot = yield* (yield* SystemUsers).isRoot
    const remote = config.peers.flatMap((peer, i) => (peer.type === "remote" ? [[peer, i] as const] : []))
    const results = yield* Effect.forEach(
      remote,
      ([peer, i]) =>
        Effect.gen(function*() {
          const connect = Config.peerSettings(config, peer).timeouts.connect
          const value = yield* peerValue(config, peer, isRoot)
          if (value._tag !== "RemotePeer") return undefined
          const limit = Duration.seconds(connect * 2 + 5)
          const at = Config.locate(config, ["peers", i])
          return yield* remotePeers.executeRemoteCommand(value, "true").pipe(
            Effect.timeoutOrElse({ duration: limit, orElse: () => Effect.fail(`no answer within ${formatAfter(limit)}`) }),
            Effect.as(undefined),
            Effect.catch((error) =>
              Effect.succeed(
                typeof error === "string"
                  ? `${at}: cannot reach ${peer.name}: ${error}`
                  : error._tag !== "RemoteCommandFailed"
                  ? `${at}: ${error.message}`
                  : error.exitCode === undefined || error.exitCode === 255
                  // 255: ssh's own failure (refused, timed out, authentication): the peer was not reached
                  ? `${at}: cannot reach ${peer.name}: ${lastLine(error.stderr) || "the rsh command could not run"}`
                  : `${at}: ${peer.name}: the rsh command running \`true\` there exited with status ${error.exitCode}` +
                    (lastLine(error.stderr) === "" ? "" : `: ${lastLine(error.stderr)}`)
              )
            )
          )
        }).pipe(Effect.catch((error) => Effect.succeed(`${Config.locate(config, ["peers", i])}: ${error.message}`))),
      { concurrency: Config.poolConcurrency(config) }
    )
    return results.filter((problem) => problem !== undefined)
  })

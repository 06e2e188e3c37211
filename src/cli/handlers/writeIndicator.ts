// `write-indicator`: a peer's stage indicator, written into its collect directory.
import { Effect } from "effect"
import * as Config from "../../config/Config.js"
import * as Pool from "../../pool/Pool.js"
import { render } from "../render.js"

/**
 * The options of `write-indicator`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface WriteIndicatorOptions {
  readonly config: string
  readonly json: boolean
  readonly peer: string
  readonly indicator: string
}

/**
 * Runs `write-indicator`.
 *
 * @since 1.0.0
 * @category commands
 */
export const writeIndicator = (opts: WriteIndicatorOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const peer = yield* Pool.findPeer(pool, opts.peer)
    yield* Pool.writeStageIndicator(peer, opts.indicator)
    yield* render(opts.json, true, { ok: true, peer: peer.name, indicator: opts.indicator }, `wrote ${opts.indicator} for peer ${peer.name}`)
  })

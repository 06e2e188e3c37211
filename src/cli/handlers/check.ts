// `check`: which peers have written their collect indicator; stages nothing.
import { Effect } from "effect"
import * as Config from "../../config/Config.js"
import * as Pool from "../../pool/Pool.js"
import { explain } from "../causes.js"
import { render } from "../render.js"
import { checkJson, checkText } from "../report.js"
import { NO_LIMITS, settingsOf, type Timeouts } from "../runControl.js"

/**
 * The options of `check`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface CheckOptions {
  readonly config: string
  readonly json: boolean
  readonly peers: ReadonlyArray<string>
  readonly indicator: string
  readonly timeout: Timeouts
}

/**
 * Runs `check`.
 *
 * @since 1.0.0
 * @category commands
 */
export const check = (opts: CheckOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const settings = settingsOf({ ...NO_LIMITS, timeout: opts.timeout })
    const summary = yield* Pool.check(pool, { peers: opts.peers, indicator: opts.indicator, settings })
    // the cause in words for each peer not ready, as a stage run's notes give it
    const explainOne = explain(pool, settings)
    const causes = yield* Effect.forEach(summary.peers, (p) =>
      p.status === "ready"
        ? Effect.succeed(undefined)
        : explainOne({ name: p.name, type: p.type, status: p.status, files: 0, bytes: 0, ignored: false, ...(p.reason === undefined ? {} : { reason: p.reason }) }), { concurrency: 4 })
    const explained = { ...summary, peers: summary.peers.map((p, i) => (causes[i] === undefined ? p : { ...p, cause: causes[i] })) }
    yield* render(opts.json, summary.ok, checkJson(explained), checkText(explained))
  })

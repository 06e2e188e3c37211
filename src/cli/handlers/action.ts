// `action`: a managed action (cback3 ACTION) on the managed remote peers, under the pool's lock.
import { Effect } from "effect"
import * as Config from "../../config/Config.js"
import * as Pool from "../../pool/Pool.js"
import * as RunLock from "../../pool/RunLock.js"
import * as Validate from "../../pool/Validate.js"
import { OutputService } from "../output.js"
import { render } from "../render.js"
import { actionJson, actionText } from "../report.js"
import { runControl } from "../runControl.js"

/**
 * The options of `action`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface ActionOptions {
  readonly config: string
  readonly json: boolean
  readonly full: boolean
  readonly peers: ReadonlyArray<string>
  readonly action: string
}

/**
 * Runs `action`.
 *
 * @since 1.0.0
 * @category commands
 */
export const action = (opts: ActionOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const control = yield* runControl
    const output = yield* OutputService
    yield* control.graceful(Effect.scoped(Effect.gen(function*() {
      yield* Validate.requireStagingDir(pool) // the pool's lock lives there
      yield* RunLock.acquire(Pool.lockFile(pool))
      const summary = yield* Pool.runManagedAction(pool, opts.action, { full: opts.full, peers: opts.peers, stop: control.stop })
      for (const peer of summary.peers) {
        if (peer.error !== undefined) {
          const message = peer.error.message.startsWith(`peer ${peer.name}`) ? peer.error.message : `peer ${peer.name}: ${peer.error.message}`
          output.failure(`error[${peer.error._tag}] ${message}`)
        }
      }
      yield* render(opts.json, summary.ok, actionJson(summary), actionText(summary))
    })))
  })

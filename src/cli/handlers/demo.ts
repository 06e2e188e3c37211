// `demo`: a small pool of local peers (one not ready), its config written, then staged.
import { Console, Effect, Option } from "effect"
import * as Config from "../../config/Config.js"
import { makeDemoPool } from "../demo.js"
import { runStage } from "./runStage.js"

/**
 * The options of `demo`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface DemoOptions {
  readonly json: boolean
  readonly dir: Option.Option<string>
}

/**
 * Runs `demo`.
 *
 * @since 1.0.0
 * @category commands
 */
export const demo = (opts: DemoOptions) =>
  Effect.gen(function*() {
    const made = yield* makeDemoPool(Option.getOrUndefined(opts.dir))
    const pool = yield* Config.load(made.configPath)
    if (!opts.json) yield* Console.log(`demo pool in ${made.root}`)
    yield* runStage(
      pool,
      { json: opts.json, full: false, peers: [] },
      () => ["", `config: ${made.configPath}`, `try:    cedar-peer check --config ${made.configPath}`],
      { config: made.configPath }
    )
  })

// `validate`: the staging sections of the configuration and this machine, and the pool as read.
import { Effect } from "effect"
import * as Config from "../../config/Config.js"
import * as Validate from "../../pool/Validate.js"
import { render } from "../render.js"
import { reachLines } from "../report.js"
import { NO_LIMITS, settingsOf, type Timeouts } from "../runControl.js"

const withoutOrigin = ({ origin: _origin, ...model }: Config.PoolConfig) => model

/**
 * The options of `validate`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface ValidateOptions {
  readonly config: string
  readonly json: boolean
  readonly syntaxOnly: boolean
  readonly reach: boolean
  readonly timeout: Timeouts
}

/**
 * Runs `validate`.
 *
 * @since 1.0.0
 * @category commands
 */
export const validate = (opts: ValidateOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    if (!opts.syntaxOnly) yield* Validate.validate(pool)
    // worth knowing, never an error: settings cback3 would trip over if the site went back to it
    const warnings = opts.syntaxOnly ? [] : yield* Validate.warnings(pool)
    for (const warning of warnings) yield* Effect.logWarning(warning)
    const reached = opts.reach ? yield* Validate.reachPeers(pool, { settings: settingsOf({ ...NO_LIMITS, timeout: opts.timeout }) }) : undefined
    const lines = [
      `${pool.source}: valid`,
      // what cedar-peer reads of a cback3.conf is only what the stage needs
      `checked: the staging sections (options, peers, stage)${opts.syntaxOnly ? ", the file only" : " and this machine"}; \`cback3 validate\` checks the rest`,
      `staging dir: ${pool.stagingDir}`,
      `working dir: ${pool.options.workingDir}, backup user/group: ${pool.options.backupUser}/${pool.options.backupGroup}, week starts ${pool.options.startingDay}`,
      ...pool.peers.map((p) =>
        `peer ${p.name}: ${p.type}, collect dir ${p.collectDir}` +
        (p.ignoreFailures ? `, ignore failures ${p.ignoreFailures}` : "") +
        (p.type === "remote" && p.managed ? `, managed (${(p.managedActions ?? pool.options.managedActions).join(", ")})` : "")
      ),
      ...(reached === undefined ? [] : reachLines(reached))
    ]
    const ok = reached === undefined || reached.every((r) => r.reached && r.cause === undefined)
    yield* render(
      opts.json,
      ok,
      {
        ok,
        // the model, as before: where in the file it came from is for locating problems only
        ...withoutOrigin(pool),
        ...(warnings.length === 0 ? {} : { warnings }),
        ...(reached === undefined ? {} : { reach: reached })
      },
      lines.join("\n")
    )
  })

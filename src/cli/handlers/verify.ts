// `verify`: a daily directory's files against its cedar-peer.sha256 manifest.
import { Effect } from "effect"
import * as Manifest from "../../pool/Manifest.js"
import { render } from "../render.js"

/**
 * The options of `verify`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface VerifyOptions {
  readonly json: boolean
  readonly dailyDir: string
}

/**
 * Runs `verify`.
 *
 * @since 1.0.0
 * @category commands
 */
export const verify = (opts: VerifyOptions) =>
  Effect.gen(function*() {
    const report = yield* Manifest.verify(opts.dailyDir)
    const lines = [
      ...report.mismatches.map((m) => `MISMATCH ${m.file}: expected ${m.expected}, found ${m.actual}`),
      ...report.missing.map((file) => `MISSING  ${file}`),
      ...report.badLines.map((line) => `UNREADABLE manifest line ${line}`),
      `${report.manifest}: ${report.checked} file(s) checked, ${report.mismatches.length} mismatch(es), ${report.missing.length} missing: ${report.ok ? "ok" : "FAILED"}`
    ]
    yield* render(opts.json, report.ok, report, lines.join("\n"))
  })

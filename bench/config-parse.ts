// How long Config.decodeXml takes for cback3.conf files of growing size (a pool of N local
// peers): the pre-check and the parse are linear, so doubling N about doubles the time.
//
//   node scripts/run-ts.mjs bench/config-parse.ts [N ...]    (default 8000 32000 64000)
//
// Figures, not assertions. Config.load refuses files over MAX_CONFIG_BYTES before parsing.
import { Effect } from "effect"
import * as Config from "../src/config/Config.js"

const peer = (i: number) => `<peer><name>db${i}</name><type>local</type><collect_dir>/var/backup/db${i}</collect_dir></peer>\n`
const document = (n: number) =>
  `<?xml version="1.0"?>\n<cb_config><options><starting_day>monday</starting_day><working_dir>/tmp</working_dir>` +
  `<backup_user>backup</backup_user><backup_group>backup</backup_group></options>` +
  `<stage><staging_dir>/tmp</staging_dir>${Array.from({ length: n }, (_, i) => peer(i)).join("")}</stage></cb_config>\n`

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0)
for (const n of sizes.length > 0 ? sizes : [8000, 32000, 64000]) {
  const text = document(n)
  const start = performance.now()
  const result = await Effect.runPromise(Effect.result(Config.decodeXml(text, "bench.conf")))
  const ms = performance.now() - start
  console.log(`${String(n).padStart(7)} peers  ${(text.length / 1024 / 1024).toFixed(2).padStart(6)} MiB  ${ms.toFixed(0).padStart(6)} ms  ${result._tag}`)
}

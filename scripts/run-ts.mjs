#!/usr/bin/env node
// Runs a TypeScript script of the repository (the benchmarks) through vite's module runner, which
// resolves the `.js` import specifiers of our sources to their `.ts` files:
//   node scripts/run-ts.mjs bench/run.ts [ARGS...]
import { resolve } from "node:path"
import { runnerImport } from "vite"

const [script, ...rest] = process.argv.slice(2)
if (script === undefined) {
  console.error("usage: node scripts/run-ts.mjs SCRIPT.ts [ARGS...]")
  process.exit(2)
}
// the script reads its own arguments from process.argv as it would when run directly
process.argv = [process.argv[0], resolve(script), ...rest.filter((arg, i) => !(i === 0 && arg === "--"))]
await runnerImport(resolve(script))

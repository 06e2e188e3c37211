// A command's handler is loaded only when that command runs: `--version`, `--help` and the other
// commands never evaluate it (nor the library modules it alone imports), which keeps their
// start-up memory down (the bin is one bundle; esbuild evaluates a dynamically imported module on
// its first import only).
import { Effect } from "effect"

/**
 * Runs `use` on the module `load` imports, importing it on first use.
 *
 * @since 1.0.0
 * @category combinators
 */
export const lazily = <M, A, E, R>(load: () => Promise<M>, use: (module: M) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.promise(load), use)

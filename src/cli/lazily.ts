// What only some runs need is loaded when they need it: a command's handler when that command
// runs, the library's layers for a command, the config module when a limit flag is given. So
// `--version`, `--help` and the other commands never evaluate it, which keeps their start-up
// memory down: the bin is one bundle, and esbuild evaluates a module imported with `import()` on
// its first import only.
import { Effect } from "effect"

/**
 * Runs `use` on the module `load` imports, importing it on first use.
 *
 * @since 1.0.0
 * @category combinators
 */
export const lazily = <M, A, E, R>(load: () => Promise<M>, use: (module: M) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.promise(load), use)

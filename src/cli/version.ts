// The version the bin prints and logs, read once from the package that holds the bin.
import { createRequire } from "node:module"

/**
 * The package's version, read from its package.json (two levels up from src/cli and dist/cli).
 *
 * @since 0.1.0
 * @category constants
 */
export const VERSION: string = (createRequire(import.meta.url)("../../package.json") as { readonly version: string }).version

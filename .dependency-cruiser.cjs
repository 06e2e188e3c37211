// The layout's import rules, checked in CI (`npm run lint:imports`). Arrows point one way:
//   domain ← config ← pool ← cli      and      domain ← disk ← peers ← pool
// testing (the exported test layer) may use everything but the CLI; nothing imports the CLI.
/** The folders a layer must not import, by layer. */
const forbidden = {
  domain: ["config", "disk", "peers", "pool", "cli", "testing"],
  config: ["disk", "peers", "pool", "cli", "testing"],
  disk: ["config", "peers", "pool", "cli", "testing"],
  peers: ["config", "pool", "cli", "testing"],
  pool: ["cli", "testing"],
  testing: ["cli"]
}

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    ...Object.entries(forbidden).map(([layer, below]) => ({
      name: `${layer}-imports-only-below`,
      comment: `src/${layer}/ must not import ${below.join(", ")}: the arrows of the layout point one way`,
      severity: "error",
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${below.join("|")})/` }
    })),
    {
      name: "nothing-imports-the-cli",
      comment: "the CLI is a shell around the library: the library and its test layer never reach into it",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" }
    },
    {
      name: "internal-stays-in-its-folder",
      comment: "a module under X/internal/ is X's implementation: only X's own modules import it",
      severity: "error",
      from: { path: "^src/([^/]+)/", pathNot: "^src/testing/" },
      to: { path: "^src/[^/]+/internal/", pathNot: "^src/$1/internal/" }
    },
    {
      name: "no-circular",
      // A public module imports its internal implementation, which names the public module's types
      // (`import type`) but never runs it: a value import back would close a cycle, caught here.
      // Between folders even a type-only cycle is refused, by the layer rules above.
      comment: "no import cycle through values",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } }
    },
    {
      name: "index-is-the-only-barrel",
      comment: "src/index.ts is for the package's users; the code imports the module it needs",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/index\\.ts$" },
      to: { path: "^src/index\\.ts$" }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    // type-only imports count: a cycle through types is still a cycle for a reader
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] }
  }
}

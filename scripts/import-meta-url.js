// Injected into the CommonJS bundle of the bin: its sources are ES modules, and import.meta.url
// is the only part of import.meta they use.
export const importMetaUrl = require("node:url").pathToFileURL(__filename).href

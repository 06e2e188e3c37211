/**
 * What local and remote peers share, in one place to import it from: Cedar Backup's constants
 * (`cedar.ts`), the schemas their fields are made of (`fields.ts`), what a peer's name may be
 * (`peerNames.ts`), file names as bytes (`names.ts`), and the values of a stage operation
 * (`stage.ts`).
 *
 * @since 0.1.0
 */
export * from "./cedar.js"
export * from "./fields.js"
export * from "./names.js"
export * from "./peerNames.js"
export * from "./stage.js"

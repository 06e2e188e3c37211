/**
 * The test layer of cedar-peer (`cedar-peer/testing`): an in-memory FileSystem and StagingDisk, a scripted
 * ChildProcessSpawner that records every argv, and a fake remote host for scp/ssh.
 *
 * @since 0.1.0
 */
export * as FakeRemoteHost from "./FakeRemoteHost.js"
export * as MemoryFileSystem from "./MemoryFileSystem.js"
/**
 * A scripted `ChildProcessSpawner` that records every argv.
 *
 * @since 1.0.0
 * @category testing
 */
export * as ScriptedSpawner from "./ScriptedSpawner.js"
/**
 * The 0.2 name of `ScriptedSpawner` (a scripted `CommandExecutor` then, a `ChildProcessSpawner` now).
 *
 * @since 0.1.0
 * @category testing
 * @deprecated use `ScriptedSpawner`
 */
export * as ScriptedExecutor from "./ScriptedSpawner.js"
export * as MemoryStagingDisk from "./MemoryStagingDisk.js"

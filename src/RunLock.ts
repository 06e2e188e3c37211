/**
 * One run at a time per pool: a lock file holding the pid, the kernel start time of that process
 * and the wall-clock time the run started. A second run finds the holder alive and fails at once
 * with `AlreadyRunning`; a lock whose process is gone (or whose pid now belongs to another
 * process: the start time differs) is taken over, with a log line.
 *
 * The lock file is created complete (written under a private name, then hard-linked into place,
 * which fails if the name exists), never followed if it is a symbolic link, and taken over under a
 * second exclusive file so that two runs finding the same stale lock cannot both win.
 *
 * @since 0.2.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import { constants } from "node:fs"
import * as fsp from "node:fs/promises"
import { hostname } from "node:os"
import { AlreadyRunning, FileOperationFailed } from "./PeerError.js"

/**
 * What a lock file says about the run holding it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Holder {
  readonly pid: number
  /** the process's start time in clock ticks since boot (`/proc/PID/stat`, field 22) */
  readonly startTime: string
  /** when the run started, ISO 8601 */
  readonly startedAt: string
  readonly host: string
  /** tells this run's lock from another's with the same pid */
  readonly nonce: string
}

/**
 * What the lock service does.
 *
 * @since 1.0.0
 * @category models
 */
export interface RunLockShape {
  /** Holds the lock file until the scope closes; fails at once while another live run holds it. */
  readonly acquire: (lockFile: string) => Effect.Effect<Holder, AlreadyRunning | FileOperationFailed, Scope.Scope>
}

/**
 * The lock service: `acquire` holds the lock until the scope closes.
 *
 * @since 0.2.0
 * @category services
 */
export class RunLock extends Context.Service<RunLock, RunLockShape>()("cedar-peer/RunLock") {}

/**
 * Holds the lock file until the scope closes.
 *
 * @since 0.2.0
 * @category operations
 */
export const acquire = (lockFile: string): Effect.Effect<Holder, AlreadyRunning | FileOperationFailed, RunLock | Scope.Scope> =>
  Effect.flatMap(RunLock, (lock) => lock.acquire(lockFile))

type Errno = NodeJS.ErrnoException

const MASTER = "master"

const io = <A>(path: string, run: () => Promise<A>): Effect.Effect<A, Errno> =>
  Effect.tryPromise({ try: run, catch: (error) => error as Errno }).pipe(Effect.withSpan("RunLock.io", { attributes: { path } }))

const lockFailed = (path: string) => (cause: unknown) => new FileOperationFailed({ peer: MASTER, operation: "lock", path, cause })

/**
 * The start time of a process in clock ticks since boot, and whether it is a zombie; undefined
 * when there is no such process.
 *
 * @since 0.2.0
 * @category operations
 */
export const processStart = (pid: number): Effect.Effect<{ readonly startTime: string; readonly zombie: boolean } | undefined> =>
  io(`/proc/${pid}/stat`, () => fsp.readFile(`/proc/${pid}/stat`, "latin1")).pipe(
    Effect.map((stat) => {
      // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const startTime = fields[19]
      return startTime === undefined ? undefined : { startTime, zombie: fields[0] === "Z" || fields[0] === "X" }
    }),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * Whether the run a lock file names is still alive: same host, same pid, same start time, not a
 * zombie. A lock from another host cannot be checked and counts as alive.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isAlive = (holder: Holder): Effect.Effect<boolean> =>
  holder.host !== hostname()
    ? Effect.succeed(true)
    : Effect.map(processStart(holder.pid), (proc) => proc !== undefined && !proc.zombie && proc.startTime === holder.startTime)

const parseHolder = (text: string): Holder | undefined => {
  try {
    const value = JSON.parse(text) as Partial<Holder>
    return typeof value.pid === "number" && Number.isInteger(value.pid) && value.pid > 0 &&
        typeof value.startTime === "string" && typeof value.startedAt === "string" &&
        typeof value.host === "string" && typeof value.nonce === "string"
      ? value as Holder
      : undefined
  } catch {
    return undefined
  }
}

/** Reads a lock file without following a link: its inode and what it says (undefined: not ours, or torn). */
const readLock = (path: string) =>
  io(path, async () => {
    const handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    try {
      const info = await handle.stat()
      if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "ENOTREG" })
      return { ino: info.ino, holder: parseHolder(await handle.readFile("utf8")) }
    } finally {
      await handle.close()
    }
  })

const describe = (holder: Holder | undefined) =>
  holder === undefined ? "an unreadable lock" : `the lock of pid ${holder.pid} (started ${holder.startedAt})`

/** The real lock on the local disk, checked against `/proc`. */
const make = Effect.sync((): RunLockShape => {
  const acquire = (lockFile: string): Effect.Effect<Holder, AlreadyRunning | FileOperationFailed, Scope.Scope> =>
    Effect.gen(function*() {
      const failed = lockFailed(lockFile)
      const own = yield* processStart(process.pid)
      const me: Holder = {
        pid: process.pid,
        startTime: own?.startTime ?? "unknown",
        startedAt: new Date().toISOString(),
        host: hostname(),
        nonce: randomBytes(8).toString("hex")
      }
      const draft = `${lockFile}.${me.nonce}.tmp`
      const token = `${lockFile}.takeover`
      const busy = (holder: Holder, file: string) => new AlreadyRunning({ lockFile: file, pid: holder.pid, startedAt: holder.startedAt })

      // The draft is ours alone (exclusive create): whatever name it ends up under is complete.
      yield* io(draft, () => fsp.writeFile(draft, JSON.stringify(me) + "\n", { flag: "wx", mode: 0o644 })).pipe(Effect.mapError(failed))
      const removeDraft = io(draft, () => fsp.unlink(draft)).pipe(Effect.ignore)

      const attempt: Effect.Effect<boolean, AlreadyRunning | FileOperationFailed> = Effect.gen(function*() {
        const linked = yield* io(lockFile, () => fsp.link(draft, lockFile)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => e.code === "EEXIST", () => Effect.succeed(false)),
          Effect.mapError(failed)
        )
        if (linked) return true
        const current = yield* readLock(lockFile).pipe(
          Effect.map((found) => found as { ino: number; holder: Holder | undefined } | undefined),
          Effect.catchIf((e) => e.code === "ENOENT", () => Effect.succeed(undefined)),
          Effect.mapError(failed)
        )
        if (current === undefined) return false // released meanwhile: try again
        if (current.holder !== undefined && (yield* isAlive(current.holder))) return yield* busy(current.holder, lockFile)

        // Stale. Only the run holding the takeover token may replace it.
        const gotToken = yield* io(token, () => fsp.link(draft, token)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => e.code === "EEXIST", () => Effect.succeed(false)),
          Effect.mapError(failed)
        )
        if (!gotToken) {
          const other = yield* readLock(token).pipe(Effect.orElseSucceed(() => undefined))
          if (other?.holder !== undefined && (yield* isAlive(other.holder))) return yield* busy(other.holder, lockFile)
          // a run died in the middle of a takeover: its token is as stale as the lock
          yield* io(token, () => fsp.unlink(token)).pipe(Effect.ignore)
          yield* Effect.logWarning(`${token}: removed ${describe(other?.holder)}: that process is gone`)
          return false
        }
        const replaced = yield* Effect.gen(function*() {
          const again = yield* readLock(lockFile).pipe(Effect.orElseSucceed(() => undefined))
          if (again?.ino !== current.ino) return false // someone else took it over, or it was released
          yield* io(lockFile, () => fsp.rename(draft, lockFile)).pipe(Effect.mapError(failed))
          yield* Effect.logWarning(`${lockFile}: took over ${describe(current.holder)}: that process is gone`)
          return true
        }).pipe(Effect.ensuring(io(token, () => fsp.unlink(token)).pipe(Effect.ignore)))
        return replaced
      })

      const release = Effect.gen(function*() {
        const current = yield* readLock(lockFile).pipe(Effect.orElseSucceed(() => undefined))
        if (current?.holder?.nonce === me.nonce) {
          yield* io(lockFile, () => fsp.unlink(lockFile)).pipe(Effect.ignore)
        } else {
          yield* Effect.logWarning(`${lockFile}: the lock is no longer this run's; left as it is`)
        }
      })

      yield* Effect.acquireRelease(
        Effect.gen(function*() {
          // a few rounds: each lost round means another run changed the lock meanwhile
          for (let round = 0; round < 5; round++) {
            if (yield* attempt) return
          }
          return yield* failed("the lock kept changing while it was being taken")
        }).pipe(Effect.ensuring(removeDraft), Effect.uninterruptible),
        () => release
      )
      return me
    })
  return { acquire }
})

/**
 * The lock on the local disk, checked against `/proc` (Linux).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<RunLock> = Layer.effect(RunLock, make)

/**
 * A lock that is always free: for tests and programs that serialise runs themselves.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerNoop: Layer.Layer<RunLock> = Layer.succeed(RunLock)({
  acquire: () =>
    Effect.succeed({ pid: process.pid, startTime: "", startedAt: new Date(0).toISOString(), host: "", nonce: "" })
})

/**
 * One run at a time per pool: a lock file holding the pid, the kernel start time of that process
 * and the wall-clock time the run started. The run keeps the lock file open while it holds it. A
 * second run finds the holder alive and fails at once with `AlreadyRunning`; a holder counts only
 * when it is a process of this host, alive, started when the lock says, running as this run's
 * user and holding that very lock file open. Anything else (a process gone, a pid reused, a lock
 * forged by another user, naming pid 1 or another host) is taken over, with a warning naming what
 * was found.
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
import { AlreadyRunning, FileOperationFailed } from "../domain/PeerError.js"

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
 * Whether the process a lock file names is still alive: this host, same pid, same start time, not
 * a zombie. A lock naming another host is not this host's run: it does not count as alive.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isAlive = (holder: Holder): Effect.Effect<boolean> =>
  holder.host !== hostname()
    ? Effect.succeed(false)
    : Effect.map(processStart(holder.pid), (proc) => proc !== undefined && !proc.zombie && proc.startTime === holder.startTime)

/** The file a lock is, as `/proc/PID/fd` shows it: device and inode. */
interface LockInode {
  readonly dev: number
  readonly ino: number
}

/** The effective uid of a process (`Uid:` in `/proc/PID/status`, second field); undefined when unknown. */
const processUid = (pid: number): Effect.Effect<number | undefined> =>
  io(`/proc/${pid}/status`, () => fsp.readFile(`/proc/${pid}/status`, "latin1")).pipe(
    Effect.map((status) => {
      const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1]
      return uid === undefined ? undefined : Number(uid)
    }),
    Effect.orElseSucceed(() => undefined)
  )

/** The command name of a process, for the warnings. */
const processName = (pid: number): Effect.Effect<string> =>
  io(`/proc/${pid}/comm`, () => fsp.readFile(`/proc/${pid}/comm`, "utf8")).pipe(
    Effect.map((comm) => JSON.stringify(comm.trim())),
    Effect.orElseSucceed(() => "unknown")
  )

/**
 * Whether a process has the lock file open. Undefined when its descriptors cannot be read (another
 * user's process and this run is not root): then the other checks decide.
 */
const holdsOpen = (pid: number, lock: LockInode): Effect.Effect<boolean | undefined> =>
  io(`/proc/${pid}/fd`, async () => {
    for (const fd of await fsp.readdir(`/proc/${pid}/fd`)) {
      const info = await fsp.stat(`/proc/${pid}/fd/${fd}`).catch(() => undefined)
      if (info !== undefined && info.dev === lock.dev && info.ino === lock.ino) return true
    }
    return false
  }).pipe(Effect.orElseSucceed(() => undefined))

/**
 * Why the run a lock names does not hold it, or undefined when it does: a process of this host,
 * alive, started when the lock says, running as this run's user, with that lock file open (which
 * no other user can make one of root's processes do).
 */
const whyStale = (holder: Holder, lock: LockInode): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    if (holder.host !== hostname()) return `it names another host (${JSON.stringify(holder.host)}), not this one`
    if (!(yield* isAlive(holder))) return "that process is gone"
    const uid = yield* processUid(holder.pid)
    const me = process.geteuid?.()
    if (uid !== undefined && me !== undefined && uid !== me) {
      return `pid ${holder.pid} (${yield* processName(holder.pid)}) runs as uid ${uid}, not as this run's uid ${me}: it is not a cedar-peer run`
    }
    if ((yield* holdsOpen(holder.pid, lock)) === false) {
      return `pid ${holder.pid} (${yield* processName(holder.pid)}) does not hold the lock file open: it is not a cedar-peer run`
    }
    return undefined
  })

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
      return { ino: info.ino, dev: info.dev, holder: parseHolder(await handle.readFile("utf8")) }
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
      // It stays open until the lock is released: that open descriptor is what tells another run
      // that this process holds the lock (see whyStale), from the moment the lock file exists.
      const held = yield* io(draft, async () => {
        const handle = await fsp.open(draft, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644)
        try {
          await handle.writeFile(JSON.stringify(me) + "\n")
          return handle
        } catch (error) {
          await handle.close()
          throw error
        }
      }).pipe(Effect.mapError(failed))
      const closeHeld = Effect.promise(() => held.close().catch(() => undefined))
      const removeDraft = io(draft, () => fsp.unlink(draft)).pipe(Effect.ignore)

      const attempt: Effect.Effect<boolean, AlreadyRunning | FileOperationFailed> = Effect.gen(function*() {
        const linked = yield* io(lockFile, () => fsp.link(draft, lockFile)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => e.code === "EEXIST", () => Effect.succeed(false)),
          Effect.mapError(failed)
        )
        if (linked) return true
        const current = yield* readLock(lockFile).pipe(
          Effect.map((found) => found as { ino: number; dev: number; holder: Holder | undefined } | undefined),
          Effect.catchIf((e) => e.code === "ENOENT", () => Effect.succeed(undefined)),
          Effect.mapError(failed)
        )
        if (current === undefined) return false // released meanwhile: try again
        const stale = current.holder === undefined ? "it is not a lock file of cedar-peer" : yield* whyStale(current.holder, current)
        if (current.holder !== undefined && stale === undefined) return yield* busy(current.holder, lockFile)

        // Stale. Only the run holding the takeover token may replace it.
        const gotToken = yield* io(token, () => fsp.link(draft, token)).pipe(
          Effect.as(true),
          Effect.catchIf((e) => e.code === "EEXIST", () => Effect.succeed(false)),
          Effect.mapError(failed)
        )
        if (!gotToken) {
          const other = yield* readLock(token).pipe(Effect.orElseSucceed(() => undefined))
          if (other === undefined) return false // released meanwhile: try again
          const why = other.holder === undefined ? "it is not a lock file of cedar-peer" : yield* whyStale(other.holder, other)
          if (other.holder !== undefined && why === undefined) return yield* busy(other.holder, lockFile)
          // a run died in the middle of a takeover (or the token is forged): as stale as the lock
          yield* io(token, () => fsp.unlink(token)).pipe(Effect.ignore)
          yield* Effect.logWarning(`${token}: removed ${describe(other.holder)}: ${why}`)
          return false
        }
        const replaced = yield* Effect.gen(function*() {
          const again = yield* readLock(lockFile).pipe(Effect.orElseSucceed(() => undefined))
          if (again?.ino !== current.ino) return false // someone else took it over, or it was released
          yield* io(lockFile, () => fsp.rename(draft, lockFile)).pipe(Effect.mapError(failed))
          yield* Effect.logWarning(`${lockFile}: took over ${describe(current.holder)}: ${stale}`)
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
      }).pipe(Effect.ensuring(closeHeld))

      yield* Effect.acquireRelease(
        Effect.gen(function*() {
          // a few rounds: each lost round means another run changed the lock meanwhile
          for (let round = 0; round < 5; round++) {
            if (yield* attempt) return
          }
          return yield* failed("the lock kept changing while it was being taken")
        }).pipe(Effect.ensuring(removeDraft), Effect.onError(() => closeHeld), Effect.uninterruptible),
        () => release
      )
      return me
    })
  return { acquire }
})

/**
 * The lock service: `acquire` holds the lock until the scope closes.
 *
 * @since 0.2.0
 * @category services
 */
export class RunLock extends Context.Service<RunLock, RunLockShape>()("cedar-peer/RunLock") {
  /**
   * The lock on the local disk, checked against `/proc` (Linux).
   *
   * @since 1.0.0
   * @category layers
   */
  static readonly layer: Layer.Layer<RunLock> = Layer.effect(this, make)
}

/**
 * The lock on the local disk, checked against `/proc` (Linux) (`RunLock.layer`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<RunLock> = RunLock.layer

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

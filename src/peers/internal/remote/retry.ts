// Retrying a copy that failed for a reason that may pass: the peer could not be reached, or the
// connection dropped. A failure that will fail the same way again (a missing directory, a
// refused login, a bad command line) is never retried. Remote commands and managed actions are
// never retried at all: they may not be idempotent, and a dropped connection does not tell
// whether the command ran.
import { Context, Duration, Effect, Schedule } from "effect"
import { DEFAULT_RETRIES } from "../../../domain/Settings.js"
import { formatAfter } from "../../process.js"
import type { ScpProtocol } from "../remotePath.js"

/** How a child ended, as the retry logic sees it (the `Ran` of the remote context). */
export type Outcome =
  | { readonly _tag: "Exited"; readonly exitCode: number; readonly stderr: string }
  | { readonly _tag: "NotRun"; readonly reason: string; readonly expired?: string | undefined }

/**
 * One retry about to happen: which peer and operation, the attempt it will be (2 = the first
 * retry), why, and how long until it starts.
 *
 * @since 0.2.0
 * @category models
 */
export interface RetryNotice {
  readonly peer: string
  readonly operation: string
  readonly attempt: number
  readonly reason: string
  readonly delayMillis: number
}

/**
 * What `RetryObserver` holds: told of one retry, before its delay starts.
 *
 * @since 1.0.0
 * @category models
 */
export interface RetryObserverShape {
  (notice: RetryNotice): Effect.Effect<void>
}

/**
 * Told of every retry before its delay starts (the pool turns it into a `PeerRetrying` event).
 * The default does nothing; each retry is logged either way.
 *
 * @since 0.2.0
 * @category services
 */
export const RetryObserver: Context.Reference<RetryObserverShape> = Context.Reference<RetryObserverShape>(
  "cedar-peer/RetryObserver",
  { defaultValue: () => () => Effect.void }
)

/**
 * How transient failures are retried: `count` more attempts, the first after about `baseDelay`.
 *
 * @since 1.0.0
 * @category models
 */
export interface RemoteRetriesShape {
  readonly count: number
  readonly baseDelay: Duration.Input
}

/**
 * The library-wide default of how transient failures are retried; a peer's own `retries` win.
 * Defaults: 2 retries, the first after about 5 s (then 10 s), each delay jittered by ±20 %.
 * `count: 0` turns retries off (e.g. in tests on a `TestClock` that exercise unreachable peers).
 *
 * @since 0.2.0
 * @category services
 */
export const RemoteRetries: Context.Reference<RemoteRetriesShape> = Context.Reference<RemoteRetriesShape>(
  "cedar-peer/RemoteRetries",
  { defaultValue: () => ({ count: DEFAULT_RETRIES.count, baseDelay: Duration.seconds(DEFAULT_RETRIES.baseDelay) }) }
)

// OpenSSH's own words for a connection that failed or broke: worth another try.
const TRANSIENT = [
  /connection refused/i,
  /connection reset/i,
  /connection timed out/i,
  /operation timed out/i,
  /connection closed/i,
  /closed by remote host/i,
  /broken pipe/i,
  /timeout, server .* not responding/i,
  /kex_exchange_identification/i,
  /ssh_exchange_identification/i,
  /no route to host/i,
  /network is unreachable/i,
  /lost connection/i
]

// Failures that will not go away by themselves: a retry would only delay the report.
const PERMANENT = [
  /permission denied/i,
  /host key verification failed/i,
  /could not resolve hostname/i,
  /name or service not known/i,
  /bad configuration option/i,
  /no such file or directory/i,
  /not a regular file/i,
  /is a directory/i,
  /no space left on device/i,
  /too many authentication failures/i
]

const firstLine = (text: string): string => text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "") ?? ""

/**
 * Why an ssh/scp failure is worth retrying, or `undefined` when it is not. Transient: one of
 * OpenSSH's connection messages (refused, reset, timed out, closed); or, with no message that
 * names a lasting cause, exit status 255 (ssh's own failure in SFTP-mode scp and ssh), or legacy
 * scp's exit 1 without any `scp: ` line (the remote scp never answered). Permanent: everything
 * else, including a run the operation's own time limit ended (it already had its time).
 */
export const transientReason = (protocol: ScpProtocol, program: string, outcome: Outcome): string | undefined => {
  if (outcome._tag === "NotRun") return undefined
  if (outcome.exitCode === 0) return undefined
  const lines = outcome.stderr.split(/\r?\n/).filter((line) => line.trim() !== "")
  const detail = firstLine(outcome.stderr)
  const said = `${program} exited with status ${outcome.exitCode}${detail === "" ? "" : `: ${detail}`}`
  if (lines.some((line) => PERMANENT.some((re) => re.test(line)))) return undefined
  if (lines.some((line) => TRANSIENT.some((re) => re.test(line)))) return said
  if (outcome.exitCode === 255) return said
  if (protocol === "legacy" && outcome.exitCode === 1 && !lines.some((line) => line.startsWith("scp: "))) return said
  return undefined
}

class Transient<A> {
  constructor(readonly result: A, readonly reason: string) {}
}

/**
 * Runs `attempt`, and again while `classify` calls its result transient: at most `count` more
 * times, after exponentially growing delays from `baseDelay` with jitter (Effect's `Schedule`, so
 * a `TestClock` drives it in tests). Each retry is logged with its reason and told to the
 * `RetryObserver`. The last result is returned whatever it is: the caller turns it into its error.
 */
export const retrying = <A, E, R>(
  options: {
    readonly peer: string
    readonly operation: string
    readonly count: number
    readonly baseDelay: Duration.Duration
  },
  attempt: Effect.Effect<A, E, R>,
  classify: (result: A) => Effect.Effect<string | undefined, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const observe = yield* RetryObserver
    let attempts = 1
    const schedule = Schedule.exponential(options.baseDelay, 2).pipe(
      Schedule.jittered,
      Schedule.upTo({ times: options.count }),
      Schedule.setInputType<E | Transient<A>>(),
      // called only while the count allows another attempt, with the delay before it; any other
      // failure than a transient one is not retried (see `while` below), so it is not told either
      Schedule.modifyDelay(({ duration, input }) =>
        Effect.gen(function*() {
          if (!(input instanceof Transient)) return duration
          const reason = input.reason
          attempts += 1
          const notice: RetryNotice = {
            peer: options.peer,
            operation: options.operation,
            attempt: attempts,
            reason,
            delayMillis: Math.round(Duration.toMillis(duration))
          }
          yield* Effect.logWarning(
            `peer ${options.peer}: ${options.operation} failed (${reason}); attempt ${attempts} of ${
              options.count + 1
            } in ${formatAfter(duration)}`
          )
          yield* observe(notice)
          return duration
        })
      )
    )
    const once = attempt.pipe(
      Effect.flatMap((result) =>
        Effect.flatMap(classify(result), (why) =>
          why === undefined ? Effect.succeed(result) : Effect.fail(new Transient(result, why)))
      )
    )
    return yield* once.pipe(
      Effect.retry({ schedule, while: (error) => error instanceof Transient }),
      Effect.catchIf((error): error is Transient<A> => error instanceof Transient, (last) => Effect.succeed(last.result))
    ) as Effect.Effect<A, E, R>
  })

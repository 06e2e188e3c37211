// Which ssh/scp failures are worth another attempt: OpenSSH's connection messages and its own
// exit status 255; never a missing file, a refused login or a run that used up its time.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Logger } from "effect"
import { TestClock } from "effect/testing"
import { type RetryNotice, RetryObserver, retrying, transientReason } from "../../src/peers/internal/remote/retry.js"

const exited = (exitCode: number, stderr = "") => ({ _tag: "Exited" as const, exitCode, stderr })

describe("transientReason", () => {
  it.each([
    ["sftp", exited(255, "scp: Connection closed\r\n")],
    ["sftp", exited(255)],
    ["sftp", exited(255, "ssh: connect to host 10.0.0.9 port 22: Connection refused\r\n")],
    ["sftp", exited(255, "Connection timed out during banner exchange\r\n")],
    ["sftp", exited(255, "kex_exchange_identification: read: Connection reset by peer\r\n")],
    ["sftp", exited(255, "Timeout, server 10.0.0.9 not responding.\r\n")],
    ["legacy", exited(1)],
    ["legacy", exited(1, "ssh: connect to host h port 22: No route to host\r\nlost connection\n")],
    ["sftp", exited(1, "client_loop: send disconnect: Broken pipe\r\n")]
  ] as const)("%s %j is transient", (protocol, outcome) => {
    expect(transientReason(protocol, "scp", outcome)).toBe(
      `scp exited with status ${outcome.exitCode}${outcome.stderr.trim() === "" ? "" : `: ${outcome.stderr.split(/\r?\n/)[0]!.trim()}`}`
    )
  })

  it.each([
    ["sftp", exited(0)],
    ["sftp", exited(1, "scp: /c/cback.collect: No such file or directory\n")],
    ["legacy", exited(1, "scp: /c/x: No such file or directory\n")],
    ["legacy", exited(1, "scp: /c/x: Permission denied\n")],
    ["sftp", exited(255, "backup@h: Permission denied (publickey).\r\n")],
    ["sftp", exited(255, "ssh: Could not resolve hostname nowhere: Name or service not known\r\n")],
    ["sftp", exited(255, "Host key verification failed.\r\n")],
    ["sftp", exited(255, "command-line line 0: Bad configuration option: frob\r\n")],
    ["sftp", exited(2, "usage: scp ...\n")],
    ["sftp", { _tag: "NotRun" as const, reason: "timed out after 5m", expired: "5m" }],
    ["sftp", { _tag: "NotRun" as const, reason: "could not run /opt/scp: ENOENT" }]
  ] as const)("%s %j is permanent", (protocol, outcome) => {
    expect(transientReason(protocol, "scp", outcome)).toBeUndefined()
  })
})

// Each retry is logged where it is decided (the pool only relays the RetryObserver's notices as events).
describe("retrying", () => {
  it.effect("logs every retry with its reason and the attempt to come, tells the observer, returns the last result", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const notices: Array<RetryNotice> = []
      let calls = 0
      const fiber = yield* retrying(
        { peer: "alpha", operation: "copy", count: 2, baseDelay: Duration.seconds(5) },
        Effect.sync(() => ++calls),
        (call) => Effect.succeed(call < 3 ? `scp exited with status 255: Connection refused (${call})` : undefined)
      ).pipe(
        Effect.provideService(RetryObserver, (notice) => Effect.sync(() => void notices.push(notice))),
        Effect.provide(Logger.layer([Logger.make(({ message }) => void logs.push(Array.isArray(message) ? message.join(" ") : String(message)))])),
        Effect.forkChild
      )
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* Fiber.join(fiber)).toBe(3)
      expect(logs).toHaveLength(2)
      expect(logs[0]).toMatch(/^peer alpha: copy failed \(scp exited with status 255: Connection refused \(1\)\); attempt 2 of 3 in \d/)
      expect(logs[1]).toMatch(/^peer alpha: copy failed \(scp exited with status 255: Connection refused \(2\)\); attempt 3 of 3 in \d/)
      expect(notices.map((n) => [n.peer, n.operation, n.attempt, n.reason])).toEqual([
        ["alpha", "copy", 2, "scp exited with status 255: Connection refused (1)"],
        ["alpha", "copy", 3, "scp exited with status 255: Connection refused (2)"]
      ])
    }))

  it.effect("stops after count retries and returns the last (still failing) result", () =>
    Effect.gen(function*() {
      let calls = 0
      const fiber = yield* retrying(
        { peer: "alpha", operation: "copy", count: 1, baseDelay: Duration.seconds(5) },
        Effect.sync(() => ++calls),
        () => Effect.succeed("scp exited with status 255")
      ).pipe(Effect.provide(Logger.layer([])), Effect.forkChild)
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* Fiber.join(fiber)).toBe(2)
    }))
})

// The limit flags' parsing, in process: named and bare timeouts, errors that name the flag.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { parseTimeouts, runControl, settingsOf } from "../../src/cli/runControl.js"

describe("--timeout", () => {
  it.effect("NAME=SECONDS sets one timeout, a bare value the whole stage; units as in the config", () =>
    Effect.gen(function*() {
      expect(yield* parseTimeouts(["connect=30", "5m", "managedAction=2h", "stall=0.5"])).toEqual({
        connect: 30,
        stage: 300,
        managedAction: 7200,
        stall: 0.5
      })
      expect(yield* parseTimeouts([])).toEqual({})
    }))

  it.effect.each([
    ["lunch=30", /the name must be one of connect, stall, indicator, stage, command, managedAction/],
    ["stall=0", /the time must be seconds above 0/],
    ["-3", /the time must be seconds above 0/],
    ["connect=", /the time must be/]
  ])("%s is refused, naming --timeout", ([value, message]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parseTimeouts([value as string]))
      // effect/cli reports a ValidationError's message as it is: the user reads exactly this
      expect(error._tag).toBe("ValidationError")
      expect(error.message).toContain(`--timeout ${JSON.stringify(value)}: `)
      expect(error.message).toMatch(message as RegExp)
    }))
})

describe("settingsOf", () => {
  it("passes on only the flags given", () => {
    expect(settingsOf({ maxFiles: Option.none(), maxBytes: Option.none(), timeout: {}, verify: false })).toEqual({})
    expect(settingsOf({ maxFiles: Option.some(5), maxBytes: Option.some(1024), timeout: { stage: 60 }, verify: true })).toEqual({
      maxFiles: 5,
      maxBytes: 1024,
      timeouts: { stage: 60 },
      verify: true
    })
  })
})

describe("runControl", () => {
  it.effect("without the bin's service, never stops and runs commands as they are", () =>
    Effect.gen(function*() {
      const control = yield* runControl
      expect(yield* control.graceful(Effect.succeed(1))).toBe(1)
      expect(yield* Effect.raceFirst(Effect.as(control.stop, "stopped"), Effect.succeed("ran"))).toBe("ran")
    }))
})

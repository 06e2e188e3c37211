// The settings model: one resolution (first layer that sets a value wins, field by field), one set of defaults.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Config from "../src/config/Config.js"
import * as Settings from "../src/domain/Settings.js"
import * as RemotePeer from "../src/peers/RemotePeer.js"

describe("Settings", () => {
  it("mergeSettings keeps only what a layer sets, the first one winning field by field", () => {
    expect(Settings.mergeSettings([])).toStrictEqual({})
    expect(Settings.mergeSettings([undefined, { timeouts: {} }, {}])).toStrictEqual({})
    expect(Settings.mergeSettings([
      { timeouts: { connect: 1 }, verify: true },
      { timeouts: { connect: 2, stall: 3 }, retries: { baseDelay: 4 }, transport: "tar" },
      { retries: { count: 5, baseDelay: 6 }, connectionSharing: false, maxFiles: 7 }
    ])).toStrictEqual({
      maxFiles: 7,
      timeouts: { connect: 1, stall: 3 },
      retries: { count: 5, baseDelay: 4 },
      transport: "tar",
      connectionSharing: false,
      verify: true
    })
  })

  it("resolveSettings fills in the defaults, or the defaults it is given", () => {
    expect(Settings.resolveSettings([{ timeouts: { stage: 9 } }])).toStrictEqual({
      timeouts: { ...Settings.DEFAULT_TIMEOUTS, stage: 9 },
      retries: Settings.DEFAULT_RETRIES,
      transport: "scp",
      connectionSharing: true,
      verify: false
    })
    const defaults = { ...Settings.DEFAULT_SETTINGS, transport: "tar" as const }
    expect(Settings.resolveSettings([{ maxBytes: 1 }], defaults).transport).toBe("tar")
    expect(Settings.resolveSettings([{ maxBytes: 1 }], defaults).maxBytes).toBe(1)
  })

  it("the library-wide References default to the same values, as Durations", () => {
    const timeouts = RemotePeer.RemoteTimeouts.defaultValue()
    for (const name of Settings.TIMEOUT_NAMES) {
      expect(Duration.toSeconds(Duration.fromInputUnsafe(timeouts[name]))).toBe(Settings.DEFAULT_TIMEOUTS[name])
    }
    const retries = RemotePeer.RemoteRetries.defaultValue()
    expect(retries.count).toBe(Settings.DEFAULT_RETRIES.count)
    expect(Duration.toSeconds(Duration.fromInputUnsafe(retries.baseDelay))).toBe(Settings.DEFAULT_RETRIES.baseDelay)
  })

  it.effect("Config and RemotePeer share the one Transport schema", () =>
    Effect.sync(() => {
      expect(RemotePeer.Transport).toBe(Settings.Transport)
      expect(Config.Transport).toBe(Settings.Transport)
      expect(Config.TIMEOUT_NAMES).toBe(Settings.TIMEOUT_NAMES)
    }))
})

// How file names (bytes) are shown, and read back: one escape form for every byte string.
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { nameBytes, showName, unescapeName } from "../src/Peer.js"

const latin1 = (text: string) => Uint8Array.from(Buffer.from(text, "latin1"))

describe("showName", () => {
  it("shows printable ASCII as it is, however long", () => {
    expect(showName(nameBytes("file-000123.dat"))).toBe("file-000123.dat")
    expect(showName(nameBytes("a b ~!@#$%^&*()_+{}|:\"<>?`-=[];',./"))).toBe("a b ~!@#$%^&*()_+{}|:\"<>?`-=[];',./")
    const long = "x".repeat(300)
    expect(showName(nameBytes(long))).toBe(long)
  })

  it("escapes a backslash, control characters, DEL and invalid UTF-8; shows valid UTF-8 as text", () => {
    expect(showName(nameBytes("back\\slash"))).toBe("back\\\\slash")
    expect(showName(nameBytes("tab\there\nnewline"))).toBe("tab\\x09here\\x0anewline")
    expect(showName(latin1("del\x7f"))).toBe("del\\x7f")
    expect(showName(latin1("caf\xe9"))).toBe("caf\\xe9")
    expect(showName(nameBytes("café ☃ 𝄞"))).toBe("café ☃ 𝄞")
  })

  it("unescapeName gives back the exact bytes of any name", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        expect(Buffer.from(unescapeName(showName(bytes))).equals(Buffer.from(bytes))).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })

  it("shows a view of a larger buffer from its own bytes only", () => {
    const buffer = Buffer.from("prefix-name.dat-suffix")
    expect(showName(buffer.subarray(7, 15))).toBe("name.dat")
  })
})

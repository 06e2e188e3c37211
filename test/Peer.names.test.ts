// How file names (bytes) are shown, and read back: one escape form for every byte string.
import { describe, expect, it } from "@effect/vitest"
import { nameBytes, showName, unescapeName } from "../src/domain/Peer.js"
import { xorshift32 } from "./support/seeded.js"

const latin1 = (text: string) => Uint8Array.from(Buffer.from(text, "latin1"))

// Effect 4.1.5 ships no FastCheck: byte strings from a seeded generator (xorshift32), so a failure
// reproduces. Half the bytes come from those that take the escaping paths (backslash, `x`, control
// characters, DEL, UTF-8 lead and continuation bytes, bytes never valid in UTF-8), half uniform.
const SPECIAL = [0x00, 0x09, 0x0a, 0x1f, 0x20, 0x5c, 0x78, 0x7e, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff]
const randomNames = (runs: number, seed: number): Array<Uint8Array> => {
  const next = xorshift32(seed)
  return Array.from({ length: runs }, () =>
    Uint8Array.from({ length: 1 + (next() % 40) }, () => next() % 2 === 0 ? SPECIAL[next() % SPECIAL.length]! : next() % 256))
}

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
    const utf8 = nameBytes("é☃𝄞")
    const edges = [Uint8Array.of(0x5c, 0x78, 0x34, 0x31), Uint8Array.of(0xf0, 0x9d, 0x84), utf8, utf8.subarray(1), Uint8Array.of(0xed, 0xa0, 0x80)]
    for (const bytes of [...edges, ...randomNames(2000, 0x5eed), ...randomNames(2000, 2024)]) {
      expect(Buffer.from(unescapeName(showName(bytes))).equals(Buffer.from(bytes)), showName(bytes)).toBe(true)
    }
  })

  it("shows a view of a larger buffer from its own bytes only", () => {
    const buffer = Buffer.from("prefix-name.dat-suffix")
    expect(showName(buffer.subarray(7, 15))).toBe("name.dat")
  })
})

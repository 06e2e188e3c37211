/**
 * File names as bytes: a plain file name, and how a name of any bytes is shown in text and JSON
 * and read back.
 *
 * @since 1.0.0
 */

/**
 * Whether `name` is a single plain file name: not empty, not `.` or `..`, no `/` and no NUL.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPlainFileName = (name: string): boolean =>
  name.length > 0 && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0")

/**
 * `isPlainFileName` for a name as bytes (as the kernel stores it): not empty, not `.` or `..`, no
 * `/` and no NUL byte.
 *
 * @since 1.0.0
 * @category predicates
 */
export const isPlainFileNameBytes = (name: Uint8Array): boolean => {
  if (name.length === 0) return false
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) return false
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f || name[i] === 0) return false
  }
  return true
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * How a file name (bytes) is shown in text and JSON output: as UTF-8, except that a backslash is
 * written `\\`, and each byte of an invalid UTF-8 sequence and each control character `\xHH`.
 * The form is unambiguous (`unescapeName` gives the bytes back); names without a backslash,
 * control character or invalid byte show as they are.
 *
 * @since 0.2.0
 * @category constructors
 */
export const showName = (name: Uint8Array): string => {
  // the common case, printable ASCII without a backslash: the bytes as they are, as one flat
  // string (built character by character, a long name would be a chain of joined pieces)
  if (isPlainAscii(name)) return Buffer.from(name.buffer, name.byteOffset, name.length).toString("latin1")
  let out = ""
  let i = 0
  while (i < name.length) {
    const b = name[i]!
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (width > 1 && i + width <= name.length) {
      try {
        out += utf8.decode(name.subarray(i, i + width))
        i += width
        continue
      } catch {
        // an invalid sequence: its first byte is escaped below, the rest looked at again
      }
    }
    if (b === 0x5c) out += "\\\\"
    else if (b < 0x20 || b === 0x7f || b >= 0x80) out += `\\x${b.toString(16).padStart(2, "0")}`
    else out += String.fromCharCode(b)
    i += 1
  }
  return out
}

const isPlainAscii = (name: Uint8Array): boolean => {
  for (let i = 0; i < name.length; i++) {
    const b = name[i]!
    if (b < 0x20 || b > 0x7e || b === 0x5c) return false
  }
  return true
}

/**
 * The bytes of a name shown by `showName`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const unescapeName = (shown: string): Uint8Array => {
  const bytes: Array<number> = []
  const encoder = new TextEncoder()
  for (let i = 0; i < shown.length; i++) {
    const c = shown[i]!
    if (c === "\\" && shown[i + 1] === "\\") {
      bytes.push(0x5c)
      i += 1
    } else if (c === "\\" && shown[i + 1] === "x") {
      bytes.push(parseInt(shown.slice(i + 2, i + 4), 16))
      i += 3
    } else {
      const cp = shown.codePointAt(i)!
      const char = String.fromCodePoint(cp)
      bytes.push(...encoder.encode(char))
      i += char.length - 1
    }
  }
  return Uint8Array.from(bytes)
}

/**
 * The bytes of a name given as text (UTF-8).
 *
 * @since 0.2.0
 * @category constructors
 */
export const nameBytes = (name: string): Uint8Array => new TextEncoder().encode(name)

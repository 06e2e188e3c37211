// The fake hosts' reading of command lines: paths, SFTP globs with backslash escapes, a remote
// shell's words (and what it would interpret), getopt as ssh and scp parse their options, and
// `[user@]host:path` operands.
import type { Volume } from "memfs"

export const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1)
export const dirname = (path: string): string => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}
export const joinPath = (dir: string, name: string): string => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

export const GLOB_META = /[*?[]/

// A glob in the backslash-escaped form (OpenBSD glob, as sftp uses it) of one path segment.
export const segmentRegExp = (segment: string): RegExp => {
  let source = ""
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!
    if (c === "\\" && i + 1 < segment.length) {
      source += escapeRegExp(segment[++i]!)
    } else if (c === "*") {
      source += "[^/]*"
    } else if (c === "?") {
      source += "[^/]"
    } else if (c === "[") {
      const end = segment.indexOf("]", i + 2)
      if (end < 0) {
        source += "\\["
      } else {
        let body = segment.slice(i + 1, end)
        const negate = body.startsWith("!") || body.startsWith("^")
        if (negate) body = body.slice(1)
        source += `[${negate ? "^" : ""}${body.replace(/\\(.)/g, "$1").replace(/[\]\\^]/g, "\\$&")}]`
        i = end
      }
    } else {
      source += escapeRegExp(c)
    }
  }
  return new RegExp(`^${source}$`, "s")
}
export const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
export const unescape = (segment: string): string => segment.replace(/\\(.)/gsu, "$1")
export const hasGlobMeta = (segment: string): boolean => GLOB_META.test(segment.replace(/\\./gsu, ""))

/** Expands an escaped glob against a volume; names starting with `.` match only a literal `.`. */
export const expandGlob = (volume: Volume, pattern: string): Array<string> => {
  const segments = pattern.split("/").filter((s) => s !== "")
  let paths: Array<string> = ["/"]
  for (const segment of segments) {
    const next: Array<string> = []
    for (const base of paths) {
      if (!hasGlobMeta(segment)) {
        const candidate = joinPath(base, unescape(segment))
        if (volume.existsSync(candidate)) next.push(candidate)
        continue
      }
      if (!isDirectory(volume, base)) continue
      const regExp = segmentRegExp(segment)
      const names = (volume.readdirSync(base) as Array<string>).map(String).sort()
      for (const name of names) {
        if (name.startsWith(".") && !segment.startsWith(".")) continue
        if (regExp.test(name)) next.push(joinPath(base, name))
      }
    }
    paths = next
  }
  return paths
}

export const isDirectory = (volume: Volume, path: string): boolean => {
  try {
    return volume.statSync(path).isDirectory()
  } catch {
    return false
  }
}

// What a remote shell makes of one word: either the word in escaped-glob form, or the character
// a real shell would have interpreted (expansion, command substitution, a second command …).
export type ShellWord = { readonly _tag: "Word"; readonly pattern: string } | { readonly _tag: "Interpreted"; readonly char: string }

export const SHELL_SPECIAL = new Set(["$", "`", ";", "&", "|", "<", ">", "(", ")", "{", "}", "~", "#", "\n"])

/** Decodes a remote shell line into words (quotes and backslashes honoured). */
export const decodeShellLine = (line: string): Array<ShellWord> => {
  const words: Array<ShellWord> = []
  let current: string | undefined
  let i = 0
  const push = (text: string) => {
    current = (current ?? "") + text
  }
  while (i < line.length) {
    const c = line[i]!
    if (c === " " || c === "\t") {
      if (current !== undefined) words.push({ _tag: "Word", pattern: current })
      current = undefined
      i++
    } else if (c === "\\") {
      if (i + 1 < line.length) push(`\\${line[i + 1]!}`)
      i += 2
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) return [{ _tag: "Interpreted", char: "'" }]
      push(line.slice(i + 1, end).replace(/./gsu, "\\$&"))
      i = end + 1
    } else if (c === "\"") {
      let j = i + 1
      let text = ""
      while (j < line.length && line[j] !== "\"") {
        const d = line[j]!
        if (d === "$" || d === "`") return [{ _tag: "Interpreted", char: d }]
        if (d === "\\" && j + 1 < line.length && "$`\"\\\n".includes(line[j + 1]!)) {
          text += line[j + 1]!
          j += 2
        } else {
          text += d
          j++
        }
      }
      if (j >= line.length) return [{ _tag: "Interpreted", char: "\"" }]
      push(text.replace(/./gsu, "\\$&"))
      i = j + 1
    } else if (SHELL_SPECIAL.has(c)) {
      return [{ _tag: "Interpreted", char: c }]
    } else {
      push(c)
      i++
    }
  }
  if (current !== undefined) words.push({ _tag: "Word", pattern: current })
  return words
}

// scp/ssh options that take an argument.
export const SCP_ARG = new Set("cDFiJlMoPSX".split(""))
export const SSH_ARG = new Set("BbcDEeFIiJLlmOopQRSWw".split(""))

export interface Parsed {
  /** flags in the order given */
  readonly flags: Array<string>
  readonly values: Map<string, string>
  readonly operands: ReadonlyArray<string>
}

/** getopt as OpenSSH uses it: options until `--` or the first operand. */
export const getopt = (args: ReadonlyArray<string>, withArgument: Set<string>): Parsed => {
  const flags: Array<string> = []
  const values = new Map<string, string>()
  let i = 0
  for (; i < args.length; i++) {
    const word = args[i]!
    if (word === "--") {
      i++
      break
    }
    if (!word.startsWith("-") || word === "-") break
    for (let j = 1; j < word.length; j++) {
      const flag = word[j]!
      if (withArgument.has(flag)) {
        values.set(flag, j < word.length - 1 ? word.slice(j + 1) : (args[++i] ?? ""))
        break
      }
      flags.push(flag)
    }
  }
  return { flags, values, operands: args.slice(i) }
}

// The host part of an scp operand, as scp's colon() finds it: a `/` before the `:` means local.
export const splitRemote = (operand: string): { user?: string; host: string; path: string } | undefined => {
  if (operand.startsWith(":")) return undefined
  let bracket = operand.startsWith("[")
  for (let i = 0; i < operand.length; i++) {
    const c = operand[i]!
    if (c === "@" && operand[i + 1] === "[") bracket = true
    if (c === "]" && operand[i + 1] === ":" && bracket) return hostPart(operand.slice(0, i + 1), operand.slice(i + 2))
    if (c === ":" && !bracket) return hostPart(operand.slice(0, i), operand.slice(i + 1))
    if (c === "/") return undefined
  }
  return undefined
}
export const hostPart = (userHost: string, path: string) => {
  const at = userHost.lastIndexOf("@")
  const host = (at < 0 ? userHost : userHost.slice(at + 1)).replace(/^\[(.*)\]$/, "$1")
  return at < 0 ? { host, path } : { user: userHost.slice(0, at), host, path }
}

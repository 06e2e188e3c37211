// What a JSON config's syntax error says: where the text stops being JSON, as a line and column,
// which JSON.parse does not always tell.
// JSON.parse does not always say where it stopped, so the offset is found by a small recogniser.
const jsonErrorOffset = (text: string): number | undefined => {
  let i = 0
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++
  }
  const eat = (re: RegExp): boolean => {
    re.lastIndex = i
    const m = text.match(re) // sticky: matches at lastIndex only
    if (m === null) return false
    i += m[0].length
    return true
  }
  const string = (): boolean => eat(/"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y) || (scanBadString(), false)
  // Points at the character that ends a bad string (or at the end of the text).
  const scanBadString = () => {
    i++
    while (i < text.length && text[i] !== '"' && text.charCodeAt(i) >= 0x20) {
      if (text[i] === "\\") {
        if (!eat(/\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y)) return
      } else i++
    }
  }
  const value = (): boolean => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      ws()
      if (text[i] === "}") return (i++, true)
      for (;;) {
        ws()
        if (text[i] !== '"' || !string()) return false
        ws()
        if (text[i] !== ":") return false
        i++
        if (!value()) return false
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "}") return (i++, true)
        else return false
      }
    }
    if (c === "[") {
      i++
      ws()
      if (text[i] === "]") return (i++, true)
      for (;;) {
        if (!value()) return false
        ws()
        if (text[i] === ",") i++
        else if (text[i] === "]") return (i++, true)
        else return false
      }
    }
    if (c === '"') return string()
    return eat(/true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y)
  }
  try {
    if (!value()) return i
    ws()
    return i < text.length ? i : undefined
  } catch {
    return undefined // nesting too deep to follow
  }
}

const lineColumn = (text: string, offset: number): string => {
  const before = text.slice(0, offset).split("\n")
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`
}

export const jsonSyntaxProblem = (text: string, error: unknown): string => {
  const offset = jsonErrorOffset(text)
  if (offset === undefined) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/, (\.\.\.)?".*" is not valid JSON$/s, "")
    return `JSON syntax error: ${reason}`
  }
  const found = offset >= text.length ? "end of input" : JSON.stringify(text[offset])
  return `${lineColumn(text, offset)}: JSON syntax error: unexpected ${found}`
}

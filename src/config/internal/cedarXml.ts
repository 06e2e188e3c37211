// Reads a Cedar Backup `cback3.conf` into a plain tree shaped like the JSON config (camelCase keys,
// arrays for lists), so that both formats are decoded by the same schemas in Config.ts. Only the
// sections and fields cedar-peer uses are picked; everything else is ignored, as Cedar ignores
// what it does not know.
import { Result } from "effect"
import { XMLParser, XMLValidator } from "fast-xml-parser"

/** The normalised tree: only the keys present in the document are set. */
export interface RawPool {
  readonly options?: Record<string, unknown>
  readonly peers?: ReadonlyArray<Record<string, unknown>>
  readonly stage?: Record<string, unknown>
}

// Every element is parsed as an array of its occurrences, so repeated elements (`<peer>`) keep
// their order and a single one is not flattened into a different shape.
const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  // Without it numeric character references (`&#10;`, `&#x20;`) are left undecoded. The HTML names
  // it would also decode (`&copy;`) never get here: forbiddenReferences rejects them first.
  htmlEntities: true,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute
})

type Element = string | Record<string, unknown>

const childrenOf = (element: Element | undefined, name: string): ReadonlyArray<Element> => {
  if (element === undefined || typeof element === "string" || !Object.hasOwn(element, name)) return []
  const value = element[name]
  return Array.isArray(value) ? (value as ReadonlyArray<Element>) : []
}

// Cedar reads the first element of a name (later duplicates are ignored) and treats an empty
// element as unset: its own writer emits `<backup_user/>` for a field that has no value.
const firstChild = (element: Element | undefined, name: string): Element | undefined => childrenOf(element, name)[0]

const textOf = (element: Element | undefined): string | undefined => {
  if (element === undefined) return undefined
  const text = typeof element === "string" ? element : element["#text"]
  if (typeof text !== "string") return undefined
  const trimmed = text.trim()
  return trimmed === "" ? undefined : trimmed
}

const text = (element: Element | undefined, name: string): string | undefined => textOf(firstChild(element, name))

// Cedar's parseCommaSeparatedString: split on commas, trim, drop empty items.
const commaList = (value: string | undefined): ReadonlyArray<string> | undefined =>
  value === undefined ? undefined : value.split(",").map((item) => item.trim()).filter((item) => item.length > 0)

const defined = (fields: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))

const camelCase = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())

// A group of cedar-peer's own settings (`<timeouts>`, `<retries>`): every child with a value is
// passed on, so that a misspelt one is reported rather than ignored. Text where children belong
// is passed on as text, to be reported too; an empty element is unset.
const group = (element: Element | undefined, name: string): Record<string, unknown> | string | undefined => {
  const section = firstChild(element, name)
  if (section === undefined) return undefined
  if (typeof section === "string") return textOf(section)
  const fields = defined(Object.fromEntries(
    Object.keys(section).filter((key) => key !== "#text").map((key) => [camelCase(key), text(section, key)])
  ))
  return Object.keys(fields).length === 0 ? textOf(section) : fields
}

// cedar-peer's settings, read from <options> and from each peer (Cedar ignores them).
const settings = (element: Element): Record<string, unknown> => ({
  maxFiles: text(element, "max_files"),
  maxBytes: text(element, "max_bytes"),
  timeouts: group(element, "timeouts"),
  retries: group(element, "retries"),
  verify: text(element, "verify")
})

const remoteSettings = (element: Element): Record<string, unknown> => ({
  transport: text(element, "transport"),
  connectionSharing: text(element, "connection_sharing")
})

const options = (section: Element): Record<string, unknown> =>
  defined({
    startingDay: text(section, "starting_day"),
    workingDir: text(section, "working_dir"),
    backupUser: text(section, "backup_user"),
    backupGroup: text(section, "backup_group"),
    rcpCommand: text(section, "rcp_command"),
    rshCommand: text(section, "rsh_command"),
    cbackCommand: text(section, "cback_command"),
    managedActions: commaList(text(section, "managed_actions")),
    ...settings(section),
    ...remoteSettings(section),
    concurrency: text(section, "concurrency")
  })

// Like Cedar, remote-only fields are read only for remote peers: on a local peer they are ignored.
const peer = (element: Element): Record<string, unknown> => {
  const type = text(element, "type")
  const common = {
    type,
    name: text(element, "name"),
    collectDir: text(element, "collect_dir"),
    ignoreFailures: text(element, "ignore_failures"),
    ...settings(element)
  }
  if (type !== "remote") return defined(common)
  return defined({
    ...common,
    backupUser: text(element, "backup_user"),
    rcpCommand: text(element, "rcp_command"),
    rshCommand: text(element, "rsh_command"),
    cbackCommand: text(element, "cback_command"),
    managed: text(element, "managed"),
    managedActions: commaList(text(element, "managed_actions")),
    ...remoteSettings(element)
  })
}

const position = (line: number | undefined, col: number | undefined): string =>
  col === undefined ? `line ${line ?? 1}` : `line ${line ?? 1}, column ${col}`

// Line and column of offsets asked for in increasing order: each newline is counted once, so
// locating every problem of a document is linear in its length.
const lineCounter = (source: string) => {
  let line = 1
  let lineStart = 0
  return (offset: number): string => {
    for (let nl = source.indexOf("\n", lineStart); nl >= 0 && nl < offset; nl = source.indexOf("\n", lineStart)) {
      line++
      lineStart = nl + 1
    }
    return position(line, offset - lineStart + 1)
  }
}

const PREDEFINED_ENTITIES = new Set(["amp", "lt", "gt", "quot", "apos"])

// XML 1.0's Char production: what a character reference may stand for.
const isXmlChar = (code: number): boolean =>
  code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) ||
  (code >= 0x10000 && code <= 0x10ffff)

// Sticky, and at most 1024 characters long: a longer one is no reference (the well-formedness
// check reports its '&'), and no '&' is ever scanned past more than that.
const REFERENCE = /&(?:#([0-9]{1,1020})|#x([0-9a-fA-F]{1,1019})|([A-Za-z_:][A-Za-z0-9_:.-]{0,1021}));/y

/** At most this many forbidden references are listed; the rest are counted. */
const MAX_LISTED = 20

// Where the DOCTYPE starting at `start` ends: after its closing `>`, skipping quoted strings,
// comments and the internal subset in brackets, where `>` does not end it.
const doctypeEnd = (source: string, start: number): number => {
  let i = start + "<!DOCTYPE".length
  let subset = false
  while (i < source.length) {
    const c = source[i]!
    if (c === '"' || c === "'") {
      const close = source.indexOf(c, i + 1)
      if (close < 0) return source.length
      i = close + 1
    } else if (source.startsWith("<!--", i)) {
      const close = source.indexOf("-->", i + 4)
      if (close < 0) return source.length
      i = close + 3
    } else {
      if (c === "[") subset = true
      else if (c === "]") subset = false
      else if (c === ">" && !subset) return i + 1
      i++
    }
  }
  return source.length
}

/**
 * The references a config may not hold, each located: a DOCTYPE (which can declare entities that
 * read local files or expand without bound), any entity reference but XML's five predefined ones
 * (an undeclared name would otherwise be read as its literal text), and character references to
 * characters XML does not allow. Comments, CDATA sections and processing instructions hold no
 * references and are skipped.
 */
export const forbiddenReferences = (source: string): ReadonlyArray<string> => {
  const problems: Array<string> = []
  let unlisted = 0
  const at = lineCounter(source)
  const report = (offset: number, problem: string) => {
    if (problems.length < MAX_LISTED) problems.push(`${at(offset)}: ${problem}`)
    else unlisted++
  }
  const skipTo = (from: number, close: string): number => {
    const end = source.indexOf(close, from)
    return end < 0 ? source.length : end + close.length
  }
  // The next '<' and '&' at or after i, each searched for again only once i has passed it: searching
  // both afresh at every step would rescan the text after one to find the other (quadratic).
  let lt = -1
  let amp = -1
  let i = 0
  while (i < source.length) {
    if (lt < i && lt !== source.length) lt = indexOrEnd(source, "<", i)
    if (amp < i && amp !== source.length) amp = indexOrEnd(source, "&", i)
    i = Math.min(lt, amp)
    if (i >= source.length) break
    if (i === lt) {
      if (source.startsWith("<!--", i)) i = skipTo(i + 4, "-->")
      else if (source.startsWith("<![CDATA[", i)) i = skipTo(i + 9, "]]>")
      else if (source.startsWith("<?", i)) i = skipTo(i + 2, "?>")
      else if (source.slice(i, i + 9).toUpperCase() === "<!DOCTYPE") {
        report(i, "a DOCTYPE is not allowed in a configuration (its entities could read files or expand without bound)")
        i = doctypeEnd(source, i)
      } else i++
      continue
    }
    REFERENCE.lastIndex = i
    const match = REFERENCE.exec(source)
    if (match === null) {
      i++ // a bare '&': the well-formedness check reports it
      continue
    }
    const [reference, decimal, hex, name] = match
    if (name !== undefined && !PREDEFINED_ENTITIES.has(name)) {
      report(i, `entity reference ${reference} is not allowed: only &amp; &lt; &gt; &quot; &apos; and character references like &#10; are`)
    } else if (name === undefined) {
      const code = decimal !== undefined ? Number(decimal) : parseInt(hex!, 16)
      if (!isXmlChar(code)) report(i, `character reference ${reference} is not a character XML allows`)
    }
    i += reference.length
  }
  if (unlisted > 0) problems.push(`and ${unlisted} more forbidden reference(s) or DOCTYPE(s) like those above`)
  return problems
}

const indexOrEnd = (source: string, search: string, from: number): number => {
  const found = source.indexOf(search, from)
  return found < 0 ? source.length : found
}

/**
 * Parses `source` (the document text) as a Cedar Backup configuration document. Fails with the problems that make it
 * unusable as a whole: a DOCTYPE or a forbidden reference (each located), not well-formed (with
 * the parser's line and column), or a root element other than `<cb_config>`.
 */
export const parseCedarXml = (source: string): Result.Result<RawPool, ReadonlyArray<string>> => {
  // Checked before anything parses the document, so no entity is ever expanded or taken literally.
  const forbidden = forbiddenReferences(source)
  const valid = XMLValidator.validate(source)
  if (forbidden.length > 0 || valid !== true) {
    return Result.fail([
      ...forbidden,
      ...(valid === true ? [] : [`${position(valid.err.line, valid.err.col)}: XML is not well-formed: ${valid.err.msg}`])
    ])
  }
  let document: Record<string, unknown>
  try {
    document = parser.parse(source) as Record<string, unknown>
  } catch (error) {
    return Result.fail([`XML is not well-formed: ${error instanceof Error ? error.message : String(error)}`])
  }
  const roots = Object.entries(document).flatMap(([name, value]) => (Array.isArray(value) ? value.map(() => name) : []))
  if (roots.length !== 1 || roots[0] !== "cb_config") {
    const found = roots.length === 0 ? "no root element" : roots.map((name) => `<${name}>`).join(", ")
    return Result.fail([`document: the root element must be a single <cb_config>, found ${found}`])
  }
  const root = firstChild(document, "cb_config")
  const optionsSection = firstChild(root, "options")
  const peersSection = firstChild(root, "peers")
  const stageSection = firstChild(root, "stage")
  const stagePeers = childrenOf(stageSection, "peer")
  return Result.succeed({
    ...(optionsSection === undefined ? {} : { options: options(optionsSection) }),
    ...(peersSection === undefined ? {} : { peers: childrenOf(peersSection, "peer").map(peer) }),
    ...(stageSection === undefined ? {} : {
      stage: defined({
        stagingDir: text(stageSection, "staging_dir"),
        peers: stagePeers.length === 0 ? undefined : stagePeers.map(peer)
      })
    })
  })
}

const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/**
 * Renders a location in the normalised tree as its element path in the XML document:
 * `options.working_dir`, `peers.peer[2].collect_dir` (the third `<peer>` element of `<peers>`),
 * `stage.peer[0].name` (the first `<peer>` element of `<stage>`), `options.timeouts.managed_action`,
 * `options.managed_actions[1]` (an item of a comma-separated list).
 */
export const xmlLocation = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce((out: string, key: PropertyKey, i: number): string => {
    if (typeof key === "number") {
      // The tree's peer lists are arrays; in the document they are repeated <peer> elements.
      const list = i === 1 && path[0] === "peers"
      return list ? `${out}.peer[${key}]` : `${out}[${key}]`
    }
    const name = key === "peers" && i === 1 && path[0] === "stage" ? "peer" : snakeCase(String(key))
    return out === "" ? name : `${out}.${name}`
  }, "")

// Where each element of a cback3.conf starts, by line (people count lines from 1): the `<peer>`
// elements of `<peers>` and of `<stage>`, in order, and the first element of each name inside
// `<options>` and `<stage>`. Found by scanning the text (the parser keeps no positions), in time
// linear in its length, so that a pool of ten thousand peers is located as fast as it is read.

export interface XmlLines {
  readonly peers: ReadonlyArray<number>
  readonly stagePeers: ReadonlyArray<number>
  /** keyed `section.element`, e.g. `options.backup_user` */
  readonly fields: Readonly<Record<string, number>>
}

// The line of an offset, by binary search over where each line starts.
const lineIndex = (text: string) => {
  const starts = [0]
  for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", nl + 1)) starts.push(nl + 1)
  return (offset: number): number => {
    let low = 0
    let high = starts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if (starts[mid]! <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
}

const sectionOf = (text: string, name: string): readonly [number, number] | undefined => {
  const start = text.search(new RegExp(`<${name}[\\s>]`))
  if (start < 0) return undefined
  const end = text.indexOf(`</${name}>`, start)
  return [start, end < 0 ? text.length : end]
}

// Every start tag inside `range`, in order, as [name, offset].
const tagsIn = (text: string, range: readonly [number, number] | undefined): ReadonlyArray<readonly [string, number]> => {
  if (range === undefined) return []
  const found: Array<readonly [string, number]> = []
  const pattern = /<([A-Za-z_][\w.-]*)[\s>/]/g
  pattern.lastIndex = range[0] + 1 // past the section's own tag
  for (let m = pattern.exec(text); m !== null && m.index < range[1]; m = pattern.exec(text)) found.push([m[1]!, m.index])
  return found
}

export const xmlLines = (text: string): XmlLines => {
  const lineAt = lineIndex(text)
  const fields: Record<string, number> = {}
  // <peers> holds nothing but peers, so only <options> and <stage> name fields
  const scan = (section: string, withFields: boolean): ReadonlyArray<number> => {
    const lines: Array<number> = []
    for (const [name, offset] of tagsIn(text, sectionOf(text, section))) {
      const key = `${section}.${name}`
      if (withFields && !Object.hasOwn(fields, key)) fields[key] = lineAt(offset)
      if (name === "peer") lines.push(lineAt(offset))
    }
    return lines
  }
  scan("options", true)
  return { peers: scan("peers", false), stagePeers: scan("stage", true), fields }
}

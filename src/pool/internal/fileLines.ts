// Where a validation problem is, for people: a cback3.conf's problems by line, a JSON file's by
// their place in its vocabulary.
import { Effect, FileSystem, Option } from "effect"
import * as Config from "../../config/Config.js"
import type { PoolConfig } from "../../config/Config.js"

// Where each element of a cback3.conf starts, by line (people count lines from 1): the peers of
// the list the pool came from, in order, and the first line of `<section>…<field>`.
export interface XmlLines {
  readonly peers: ReadonlyArray<number>
  readonly field: (section: string, field: string) => number | undefined
}

const lineAt = (text: string, offset: number): number => text.slice(0, offset).split("\n").length

const xmlLines = (text: string, stagePeers: boolean): XmlLines => {
  const section = (name: string): readonly [number, number] | undefined => {
    const start = text.search(new RegExp(`<${name}[\\s>]`))
    if (start < 0) return undefined
    const end = text.indexOf(`</${name}>`, start)
    return [start, end < 0 ? text.length : end]
  }
  const within = (name: string, tag: string): ReadonlyArray<number> => {
    const range = section(name)
    if (range === undefined) return []
    const found: Array<number> = []
    const pattern = new RegExp(`<${tag}[\\s>/]`, "g")
    pattern.lastIndex = range[0]
    for (let m = pattern.exec(text); m !== null && m.index < range[1]; m = pattern.exec(text)) found.push(lineAt(text, m.index))
    return found
  }
  return {
    peers: within(stagePeers ? "stage" : "peers", "peer"),
    field: (name, field) => within(name, field)[0]
  }
}

/**
 * Where a problem is, for people: a peer by its name (and its line in a cback3.conf, else its
 * place in the JSON list), any other field by its place in the file's vocabulary and its line.
 */
export const placeOf = (config: PoolConfig, path: ReadonlyArray<PropertyKey>, lines: XmlLines | undefined): string => {
  const located = Config.locate(config, path)
  if (path[0] === "peers" && typeof path[1] === "number") {
    const line = lines?.peers[path[1]]
    const field = located.replace(/^.*?\]\.?/, "")
    return `peer ${config.peers[path[1]]?.name ?? path[1]} (${line === undefined ? located.replace(/\.[^\]]*$/, "") : `line ${line}`})` +
      (field === "" ? "" : ` ${field}`)
  }
  const [section, field] = located.split(".")
  const line = section !== undefined && field !== undefined ? lines?.field(section, field) : undefined
  return line === undefined ? located : `${located} (line ${line})`
}

// The lines of the pool's file when it is a cback3.conf that can be read again; none for JSON.
export const linesOf = (config: PoolConfig): Effect.Effect<XmlLines | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (Config.locate(config, ["options"]) !== "options" || config.source.toLowerCase().endsWith(".json")) return undefined
    const text = yield* Effect.option((yield* FileSystem.FileSystem).readFileString(config.source))
    if (Option.isNone(text)) return undefined
    return xmlLines(text.value, Config.locate(config, ["peers", 0]).startsWith("stage."))
  })

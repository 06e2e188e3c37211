// The names of private directories: who made them (pid and process start time, so a reused pid
// is told apart), and which leftovers a later run may remove.
import * as NFS from "node:fs"
import { randomBytes } from "node:crypto"

/** Every private directory and temporary file of cedar-peer starts with this. */
export const PRIVATE_PREFIX = ".cedar-peer-"

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
export const processStartTime = (pid: number): string | undefined => {
  try {
    const stat = NFS.readFileSync(`/proc/${pid}/stat`, "latin1")
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return fields[19]
  } catch {
    return undefined
  }
}

/** This process's maker mark: `<pid>-<start time>`. */
export const ownMark = (): string => `${process.pid}-${processStartTime(process.pid) ?? "0"}`

/** A fresh private directory name carrying `mark`. */
export const privateName = (mark: string): string => `${PRIVATE_PREFIX}${mark}-${randomBytes(6).toString("hex")}`

/** A fresh short private directory name (`.cedar-peer-XXXXXX`, like mkdtemp's), for socket directories. */
export const shortPrivateName = (): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
  return `${PRIVATE_PREFIX}${Array.from(randomBytes(6), (byte) => alphabet[byte % alphabet.length]).join("")}`
}

/** What a name left in a target or working directory is, as far as clean-up is concerned. */
export type Leftover =
  | { readonly _tag: "Private"; readonly pid: number; readonly start: string }
  /** 0.1.0's temporary files: no version that still runs makes them */
  | { readonly _tag: "LegacyFile" }
  /** a mkdtemp directory: 0.1.0's, or a control-socket directory, whose path must stay too short for a mark */
  | { readonly _tag: "Unmarked" }

const PRIVATE = /^\.cedar-peer-(\d+)-(\d+)-[0-9a-f]{12}$/
// cedar-peer 0.1.0: `.cedar-peer-<12 hex>-<n>.tmp` files (local) and mkdtemp `.cedar-peer-XXXXXX` directories (remote)
const LEGACY_FILE = /^\.cedar-peer-[0-9a-f]{12}-\d+\.tmp$/
const LEGACY_DIR = /^\.cedar-peer-[A-Za-z0-9]{6}$/

/** Classifies a name; `undefined` for anything cedar-peer did not make. */
export const leftover = (name: string, isDirectory: boolean): Leftover | undefined => {
  const found = name.match(PRIVATE)
  if (found !== null && isDirectory) return { _tag: "Private", pid: Number(found[1]), start: found[2]! }
  if (!isDirectory && LEGACY_FILE.test(name)) return { _tag: "LegacyFile" }
  if (isDirectory && LEGACY_DIR.test(name)) return { _tag: "Unmarked" }
  return undefined
}

/** How long an unmarked directory must have been left alone before a later run takes it for a leftover. */
export const UNMARKED_GRACE_MS = 24 * 60 * 60 * 1000

/**
 * Whether the maker of a leftover is gone: its pid is not running, or runs a process started at
 * another time (the pid was reused). 0.1.0's temporary files are always leftovers; an unmarked
 * directory is one once it has not been modified for a day (no operation that uses one runs that
 * long), so a live run's control socket directory is never taken.
 */
export const makerIsGone = (
  found: Leftover,
  startTimeOf: (pid: number) => string | undefined,
  modifiedMs: number | undefined,
  now: number = Date.now()
): boolean => {
  switch (found._tag) {
    case "LegacyFile":
      return true
    case "Unmarked":
      return modifiedMs !== undefined && now - modifiedMs > UNMARKED_GRACE_MS
    case "Private":
      return startTimeOf(found.pid) !== found.start
  }
}

/**
 * The leftover policy, once for every staging disk: whether the entry `name` of a target or
 * working directory is something cedar-peer made (see `leftover`) whose maker is gone (see
 * `makerIsGone`), so that a run may remove it now. `modifiedMs` is asked only of an unmarked
 * directory (one look more, for the few entries that need it).
 */
export const isRemovableLeftover = (
  name: string,
  isDirectory: boolean,
  modifiedMs: () => number | undefined,
  startTimeOf: (pid: number) => string | undefined = processStartTime
): boolean => {
  const found = leftover(name, isDirectory)
  if (found === undefined) return false
  return makerIsGone(found, startTimeOf, found._tag === "Unmarked" ? modifiedMs() : undefined)
}

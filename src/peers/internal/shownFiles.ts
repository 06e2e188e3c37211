// A report's `files` made from the packed listing only when someone reads them. A collect dir
// can hold a million files: as strings their names take some 40 MB more than packed, and most
// runs never read them (the pool's run, `stage-peer` without --json), so they are shown on the
// first read, once, and the same array is handed back on every later one.
import type { SkippedEntry, StageReport } from "../../domain/Peer.js"
import { showName } from "../../domain/Peer.js"
import type { NameList } from "../../disk/StagingDisk.js"

/** The names as `showName` shows them. */
export const shownNames = (names: NameList): Array<string> => {
  const shown = new Array<string>(names.length)
  for (let i = 0; i < names.length; i++) shown[i] = showName(names.at(i)!)
  return shown
}

/**
 * A report whose `files` are `names` shown, made on first read. The property is an enumerable
 * getter, in the place a plain `files` would have (so spreading, `JSON.stringify` and equality
 * see what they would): copying the report with a spread makes the names.
 */
export const reportWithShownFiles = (
  totals: { readonly count: number; readonly bytes: number },
  names: NameList,
  skipped: ReadonlyArray<SkippedEntry>,
  hashes?: ReadonlyArray<string>
): StageReport => {
  let packed: NameList | undefined = names
  let shown: ReadonlyArray<string> | undefined
  const files = (): ReadonlyArray<string> => {
    if (shown === undefined) {
      shown = shownNames(packed!)
      // shown once: the packed names are no longer needed here
      packed = undefined
    }
    return shown
  }
  const report = { count: totals.count, bytes: totals.bytes } as { count: number; bytes: number }
  Object.defineProperty(report, "files", { get: files, enumerable: true })
  const rest = hashes === undefined
    ? { skipped }
    : { skipped, hashes: files().map((name, i) => ({ name, sha256: hashes[i] ?? "" })) }
  return Object.assign(report, rest) as unknown as StageReport
}

// Word splitting and quoting as a POSIX shell does them; shlex is a faithful port of Python's
// shlex, which is what Cedar Backup itself uses to split rcp/rsh commands.
import { quote, split } from "shlex"

/** Splits a command line into argv; `undefined` when quotes are unbalanced. */
export const splitWords = (line: string): ReadonlyArray<string> | undefined => {
  try {
    return split(line)
  } catch {
    return undefined
  }
}

/** Quotes one word so that a POSIX shell reads it back literally. */
export const quoteWord = (word: string): string => quote(word)

/** Quotes every word of argv into one shell line. */
export const quoteLine = (argv: ReadonlyArray<string>): string => argv.map(quote).join(" ")

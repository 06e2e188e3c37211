// What an operator acts on when ssh or scp failed: the cause in a few words, read from what
// OpenSSH printed. The full text stays where it was (the log, --json); this only names it.

// Most specific first: a changed host key also says "verification failed", a refused login
// through a proxy may also say "Connection closed".
const CAUSES: ReadonlyArray<readonly [RegExp, (match: RegExpMatchArray) => string]> = [
  [/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for \S+ has changed/, () => "host key changed"],
  [/No \S+ host key is known for|Host key verification failed/, () => "host key not known"],
  [/Permission denied \(([^)]*)\)/, (m) => `permission denied (${m[1]})`],
  [/Could not resolve hostname|Name or service not known|Temporary failure in name resolution|No address associated with hostname/, () =>
    "unknown host"],
  [/Connection refused/, () => "connection refused"],
  [/timed out/i, () => "timed out"],
  [/No route to host|Network is unreachable/, () => "no route to host"],
  [/Connection reset by|Connection closed by|kex_exchange_identification/, () => "connection closed by the host"]
]

/** The cause of an ssh/scp failure in words (`connection refused`, `host key changed`…), when its text tells one. */
export const sshCause = (text: string): string | undefined => {
  for (const [pattern, phrase] of CAUSES) {
    const match = text.match(pattern)
    if (match !== null) return phrase(match)
  }
  return undefined
}

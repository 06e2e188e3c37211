// Why a peer was not staged, in the words an operator acts on: `connection refused`, `host key
// changed`, `permission denied (publickey)`, `unknown host`, `collect dir /x not found`, `collect
// indicator cback.collect not found`. Read from what ssh/scp printed; when scp was quiet about it
// (`-q` hides ssh's messages: only "Connection closed" is left), a second look through the
// peer's rsh command in batch mode tells. The full text stays in --json and the log.
import { Effect } from "effect"
import type * as Config from "../config/Config.js"
import { sshCause } from "../peers/sshCause.js"
import { DEF_COLLECT_INDICATOR } from "../domain/Peer.js"
import type * as Pool from "../pool/Pool.js"
import type { RemotePeers } from "../peers/RemotePeer.js"
import type { SystemUsers } from "../peers/SystemUsers.js"
import * as Validate from "../pool/Validate.js"

const stderrOf = (error: Pool.PeerStageResult["error"]): string =>
  error !== undefined && "stderr" in error && typeof error.stderr === "string" ? error.stderr : ""

/** The cause the text of a result already tells, without asking the peer again. */
export const causeInText = (result: Pool.PeerStageResult): string | undefined => {
  if (result.error?._tag === "TimedOut") return "timed out"
  return sshCause([result.reason ?? "", result.error?.message ?? "", stderrOf(result.error)].join("\n"))
}

// Not staged for a reason the text hides: scp's "No such file" for the indicator is said alike of
// a missing indicator and a missing collect dir; a peer not reached, or a copy ssh failed (status
// 255), where `scp -q` kept ssh's words to itself. Another look costs a connection attempt, so
// only then, and never for a peer whose failures are ignored.
const worthALook = (result: Pool.PeerStageResult): boolean =>
  result.type === "remote" && !result.ignored &&
  ((result.status === "not-ready" && /No such file or directory/.test(result.reason ?? "")) ||
    result.status === "unreachable" ||
    (result.error !== undefined && "exitCode" in result.error && result.error.exitCode === 255))

/** The cause of a peer's failure in words, or undefined when it is staged or nothing clearer than its note is known. */
export const explain = (
  pool: Config.PoolConfig,
  settings: Config.SettingsOverrides | undefined
) =>
(result: Pool.PeerStageResult): Effect.Effect<string | undefined, never, RemotePeers | SystemUsers> =>
  Effect.gen(function*() {
    if (result.status === "staged" || result.status === "interrupted") return undefined
    const told = causeInText(result)
    if (told !== undefined || !worthALook(result)) return told
    const found = yield* Validate.diagnose(pool, result.name, { settings })
    if (!found.reached || found.cause !== undefined) return found.cause
    return result.status === "not-ready" ? `collect indicator ${DEF_COLLECT_INDICATOR} not found` : undefined
  })

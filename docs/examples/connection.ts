/**
 * One remote peer staged over one ssh connection, with its own limits and retry policy, every
 * retry reported. (Type-checked with the project; `test/docs.test.ts` checks the quotes of it in
 * docs/library.md.)
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { RemotePeer } from "cedar-peer"

export const stageDb1 = Effect.gen(function*() {
  const peer = yield* RemotePeer.make({
    name: "db1.example.org",
    collectDir: "/var/backup/collect",
    workingDir: "/var/tmp/cback",
    remoteUser: "backup",
    timeouts: { connect: 10, stall: 60, indicator: 300, stage: 43200 }, // seconds
    retries: { count: 2, baseDelay: 5 }, // seconds
    connectionSharing: true
  })
  const remote = yield* RemotePeer.RemotePeers
  // check, copy and indicator write: one ssh handshake instead of three
  return yield* remote.withConnection(
    peer,
    Effect.gen(function*() {
      if (!(yield* remote.checkCollectIndicator(peer))) return undefined
      const report = yield* remote.stagePeer(peer, "/opt/backup/stage/db1.example.org")
      yield* remote.writeStageIndicator(peer)
      return report
    })
  )
}).pipe(
  Effect.provideService(RemotePeer.RetryObserver, (notice) =>
    Effect.log(`${notice.peer}: ${notice.operation} attempt ${notice.attempt} in ${notice.delayMillis} ms (${notice.reason})`)
  )
)

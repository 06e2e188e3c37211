/**
 * Who the process runs as and how user and group names map to ids: the facts the pool needs to
 * decide on ownership and local users. A service, so tests can pretend to be root or not.
 *
 * @since 0.1.0
 */
import { Cache, Context, Effect, Layer, Option } from "effect"
import { ChildProcessSpawner } from "effect/process"
import { command, runToEnd, type Spawner } from "./process.js"

/**
 * A user's numeric ids, as passwd gives them.
 *
 * @since 1.0.0
 * @category models
 */
export interface UserIds {
  readonly uid: number
  readonly gid: number
  /** the login shell (passwd's last field), when known */
  readonly shell?: string | undefined
}

/**
 * The facts `SystemUsers` answers.
 *
 * @since 1.0.0
 * @category services
 */
export interface SystemUsersShape {
  /** Whether the process runs as root (uid 0). */
  readonly isRoot: Effect.Effect<boolean>
  /** The uid and primary gid of a user name, if the user exists. */
  readonly lookupUser: (name: string) => Effect.Effect<Option.Option<UserIds>>
  /** The gid of a group name, if the group exists. */
  readonly lookupGroup: (name: string) => Effect.Effect<Option.Option<number>>
}

const getent = (spawner: Spawner, database: "passwd" | "group", name: string) =>
  runToEnd(spawner, command(["getent", "--", database, name])).pipe(
    Effect.map((done) => done.exitCode === 0 ? Option.some(done.stdout.split("\n")[0]!.split(":")) : Option.none()),
    Effect.orElseSucceed(() => Option.none<Array<string>>())
  )

const numberAt = (fields: ReadonlyArray<string>, index: number): Option.Option<number> => {
  const value = Number(fields[index])
  return fields[index] !== undefined && fields[index] !== "" && Number.isInteger(value) ? Option.some(value) : Option.none()
}

/**
 * Each answer is kept for a minute: a pool run asks for the same few names once per peer and
 * operation, and every `getent` is a process forked from this one. A minute also bounds how old
 * a passwd or group entry a long-running program can act on.
 */
const ANSWER_TTL = "1 minute"

/** Names kept at once: a pool names a handful (backup user, group, local users). */
const ANSWERS_KEPT = 1024

// The real facts: `process.getuid()` and `getent` (so NSS users from LDAP and the like resolve
// too), each name's answer kept for a minute. A Cache also asks once when several fibers want
// the same name at the same moment.
const make = Effect.gen(function*() {
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const users = yield* Cache.make({
    capacity: ANSWERS_KEPT,
    timeToLive: ANSWER_TTL,
    lookup: (name: string) =>
      getent(spawner, "passwd", name).pipe(Effect.map(Option.flatMap((fields) =>
        Option.map(Option.all({ uid: numberAt(fields, 2), gid: numberAt(fields, 3) }), (ids): UserIds => ({ ...ids, shell: fields[6] ?? "" }))
      )))
  })
  const groups = yield* Cache.make({
    capacity: ANSWERS_KEPT,
    timeToLive: ANSWER_TTL,
    lookup: (name: string) => getent(spawner, "group", name).pipe(Effect.map(Option.flatMap((fields) => numberAt(fields, 2))))
  })
  return {
    isRoot: Effect.sync(() => process.getuid?.() === 0),
    lookupUser: (name) => Cache.get(users, name),
    lookupGroup: (name) => Cache.get(groups, name)
  } satisfies SystemUsersShape
})

/**
 * Who the process runs as, and the ids of user and group names.
 *
 * @since 0.1.0
 * @category services
 */
export class SystemUsers extends Context.Service<SystemUsers, SystemUsersShape>()("cedar-peer/SystemUsers") {
  /**
   * The real facts: `process.getuid()` and `getent` (NSS users from LDAP and the like resolve
   * too), each name's answer kept for a minute.
   *
   * @since 1.0.0
   * @category layers
   */
  static readonly layer: Layer.Layer<SystemUsers, never, ChildProcessSpawner.ChildProcessSpawner> = Layer.effect(this, make)
}

/**
 * The real facts (`SystemUsers.layer`): `process.getuid()` and `getent`, each name's answer kept
 * for a minute.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SystemUsers, never, ChildProcessSpawner.ChildProcessSpawner> = SystemUsers.layer

/**
 * Fixed facts for tests: whether we are root, and the users and groups that exist.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (facts: {
  readonly root: boolean
  readonly users?: Readonly<Record<string, UserIds>>
  readonly groups?: Readonly<Record<string, number>>
}): Layer.Layer<SystemUsers> =>
  Layer.succeed(SystemUsers, {
    isRoot: Effect.succeed(facts.root),
    lookupUser: (name) => Effect.succeed(Option.fromNullishOr(facts.users?.[name])),
    lookupGroup: (name) => Effect.succeed(Option.fromNullishOr(facts.groups?.[name]))
  })

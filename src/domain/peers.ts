/**
 * The peers of a pool as values: a local peer (a collect directory on this machine) and a remote
 * peer (one reached over rsh/rcp), validated from untrusted input by `makeLocalPeer` and
 * `makeRemotePeer`. `LocalPeer.ts` and `RemotePeer.ts` offer them with the services that stage them.
 *
 * @since 1.0.0
 */
import { Effect, Schema, SchemaIssue } from "effect"
import { AbsolutePath, CommandLine, FailureMode, LocalPeerName, NonBlankString, RemotePath, RemotePeerName, UserName } from "./Peer.js"
import { InvalidPeerConfig } from "./PeerError.js"
import { Transport } from "./Settings.js"

/**
 * Every problem of a decode as `field: message` (or `prefix: message`).
 *
 * @since 1.0.0
 * @category constructors
 */
export const problemsOf = (error: Schema.SchemaError, prefix?: string): Array<string> =>
  formatIssues(error.issue).issues.map((issue) =>
    `${prefix ?? (issue.path ?? []).map((key) => String(typeof key === "object" ? key.key : key)).join(".")}: ${issue.message}`
  )

// a missing field reads as it did with Effect 3 ("is missing", not Schema 4's "Missing key")
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => issue._tag === "MissingKey" ? "is missing" : SchemaIssue.defaultLeafHook(issue)
})

// Decodes untrusted fields into a peer value, listing every problem in one InvalidPeerConfig.
const decodePeer = <A>(
  schema: Schema.Decoder<A>,
  name: unknown,
  fields: Record<string, unknown>
): Effect.Effect<A, InvalidPeerConfig> =>
  Schema.decodeUnknownEffect(schema, { errors: "all", onExcessProperty: "ignore" })(
    // an `undefined` optional field means "not set", which exact optional fields spell by absence
    Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))
  ).pipe(
    Effect.mapError((error) =>
      new InvalidPeerConfig({ peer: typeof name === "string" ? name : String(name), problems: problemsOf(error) })
    )
  )

/**
 * A local peer: its name, its collect directory (which need not exist yet) and when the pool
 * ignores its failures. `new LocalPeer(...)` throws on bad input; use `make` for untrusted input.
 *
 * @since 0.1.0
 * @category models
 */
export class LocalPeer extends Schema.TaggedClass<LocalPeer>()("LocalPeer", {
  name: LocalPeerName,
  collectDir: AbsolutePath,
  ignoreFailureMode: Schema.optionalKey(FailureMode)
}) {}

/**
 * What `make` accepts: the fields of a `LocalPeer`, unvalidated (the failure mode is still
 * checked at run time, for callers that are not type-checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface LocalPeerInput {
  readonly name: string
  readonly collectDir: string
  readonly ignoreFailureMode?: FailureMode | undefined
}

/**
 * Validates `input` into a `LocalPeer`; `InvalidPeerConfig` lists every problem as `field: message`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLocalPeer = (input: LocalPeerInput): Effect.Effect<LocalPeer, InvalidPeerConfig> =>
  decodePeer(LocalPeer, input.name, { ...input, _tag: "LocalPeer" })

const Positive = Schema.Number.check(Schema.isGreaterThan(0))

/**
 * A peer's own time limits, in seconds (each optional: an absent one takes the `RemoteTimeouts`
 * default). `connect`: the TCP connection and the server's banner; `stall`: a session that stops
 * answering keep-alives; `indicator`, `stage`, `command`, `managedAction`: the whole operation.
 *
 * @since 0.2.0
 * @category models
 */
export const Timeouts = Schema.Struct({
  connect: Schema.optionalKey(Positive),
  stall: Schema.optionalKey(Positive),
  indicator: Schema.optionalKey(Positive),
  stage: Schema.optionalKey(Positive),
  command: Schema.optionalKey(Positive),
  managedAction: Schema.optionalKey(Positive)
})

/**
 * How a transient failure (the peer could not be reached, the connection dropped) is retried:
 * `count` more attempts (default 2) after an exponentially growing, jittered delay starting at
 * `baseDelay` seconds (default 5).
 *
 * @since 0.2.0
 * @category models
 */
export const Retries = Schema.Struct({
  count: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  baseDelay: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * A remote peer. `rcpCommand` / `rshCommand` hold the command line as given (absent when the
 * default is used); `rcpArgv` / `rshArgv` give the argv actually run. `new RemotePeer(...)` throws
 * on bad input; use `make` for untrusted input.
 *
 * @since 0.1.0
 * @category models
 */
export class RemotePeer extends Schema.TaggedClass<RemotePeer>()("RemotePeer", {
  name: RemotePeerName,
  collectDir: RemotePath,
  workingDir: AbsolutePath,
  remoteUser: UserName,
  localUser: Schema.optionalKey(UserName),
  rcpCommand: Schema.optionalKey(CommandLine),
  rshCommand: Schema.optionalKey(CommandLine),
  cbackCommand: Schema.optionalKey(NonBlankString),
  ignoreFailureMode: Schema.optionalKey(FailureMode),
  timeouts: Schema.optionalKey(Timeouts),
  retries: Schema.optionalKey(Retries),
  /** one ssh connection for all of this peer's operations inside `RemotePeers.connect` (default true) */
  connectionSharing: Schema.optionalKey(Schema.Boolean),
  /** how files are brought over; absent: `scp` */
  transport: Schema.optionalKey(Transport)
}) {}

/**
 * What `make` accepts: the fields of a `RemotePeer`, unvalidated.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemotePeerInput {
  readonly name: string
  readonly collectDir: string
  readonly workingDir: string
  readonly remoteUser: string
  readonly localUser?: string | undefined
  readonly rcpCommand?: string | undefined
  readonly rshCommand?: string | undefined
  readonly cbackCommand?: string | undefined
  readonly ignoreFailureMode?: string | undefined
  readonly timeouts?: Partial<typeof Timeouts.Encoded> | undefined
  readonly retries?: Partial<typeof Retries.Encoded> | undefined
  readonly connectionSharing?: boolean | undefined
  readonly transport?: string | undefined
}

/**
 * Validates `input` into a `RemotePeer`; `InvalidPeerConfig` lists every problem as `field: message`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRemotePeer = (input: RemotePeerInput): Effect.Effect<RemotePeer, InvalidPeerConfig> =>
  decodePeer(RemotePeer, input.name, { ...input, _tag: "RemotePeer" })

/**
 * What a successful remote command printed (the last 64 KiB of each stream at most).
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteOutput {
  readonly stdout: string
  readonly stderr: string
}

/**
 * Fake remote hosts for the scripted spawner: `scp` copies between a host's in-memory tree and
 * the local FileSystem from context, `ssh` runs a scripted handler, `runuser -u USER --` is
 * stripped and recorded. Remote operands are decoded the way real OpenSSH scp does per protocol
 * (SFTP: its own glob with backslash escapes; legacy `-O`: a remote shell), and a remote-shell word
 * that a real shell would have interpreted (`$`, backticks, `;`, `|`, …) is refused and recorded,
 * so encoding mistakes show up as failed tests instead of passing silently.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem } from "effect"
import type { Layer } from "effect"
import type { ChildProcessSpawner } from "effect/process"
import { Volume } from "memfs"
import { createHash } from "node:crypto"
import * as tar from "tar-stream"
import { TAR_PIPELINE } from "../peers/internal/remote/tarTransport.js"
import { hashCommand } from "../peers/internal/remote/verify.js"
import { splitWords } from "../domain/shellWords.js"
import type { DirectoryJSON } from "memfs"
import type { Reply } from "./ScriptedSpawner.js"
import * as ScriptedSpawner from "./ScriptedSpawner.js"
import { ok, scp as scpOf } from "./internal/fakeHostScp.js"
import { basename, getopt, isDirectory, joinPath, SSH_ARG } from "./internal/fakeHostWords.js"

/**
 * One fake host: the users that may log in and its files (`path -> content`, `null` for an empty
 * directory), as memfs `Volume.fromJSON` takes them.
 *
 * @since 0.1.0
 * @category models
 */
export interface HostSpec {
  readonly users: ReadonlyArray<string>
  readonly files?: DirectoryJSON | undefined
}

/**
 * A remote command run through the fake `ssh`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RemoteCommand {
  readonly host: string
  readonly user: string
  readonly command: string
}

/**
 * One started command: its argv with any `runuser -u USER --` prefix removed, and that user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Invocation {
  readonly argv: ReadonlyArray<string>
  readonly runAs?: string | undefined
}

/**
 * Options of the fake.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly hosts: Readonly<Record<string, HostSpec>>
  /** protocol of an scp argv with neither `-O` nor `-s`: `sftp` (OpenSSH >= 9.0, the default) or `legacy` */
  readonly defaultProtocol?: "sftp" | "legacy" | undefined
  /** the banner `ssh -V` prints; defaults to one matching `defaultProtocol` */
  readonly sshVersion?: string | undefined
  /** answers `ssh … user@host command`; default: exit 0 */
  readonly onCommand?: ((command: RemoteCommand) => Reply | Effect.Effect<Reply>) | undefined
  /** wraps every started command: change its reply, delay it, make it hang after it ran … */
  readonly around?:
    | ((argv: ReadonlyArray<string>, run: Effect.Effect<Reply, never, FileSystem.FileSystem>) => Effect.Effect<
      Reply,
      never,
      FileSystem.FileSystem
    >)
    | undefined
}

/**
 * A running fake: the spawner layer (it needs the local FileSystem) and everything to inspect.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeRemoteHost {
  readonly layer: Layer.Layer<ChildProcessSpawner.ChildProcessSpawner, never, FileSystem.FileSystem>
  /** every argv as started, `runuser` prefix included */
  readonly calls: ReadonlyArray<ReadonlyArray<string>>
  readonly invocations: ReadonlyArray<Invocation>
  readonly commands: ReadonlyArray<RemoteCommand>
  /** remote-shell words refused because a real shell would have interpreted them */
  readonly shellInjections: ReadonlyArray<{ readonly host: string; readonly word: string }>
  /** a host's tree */
  readonly volume: (host: string) => Volume
  /** a host's tree as `path -> content` (`null` for an empty directory) */
  readonly tree: (host: string) => DirectoryJSON
}

const TAR_WORDS = splitWords(TAR_PIPELINE) ?? []
const HASH_WORDS = (splitWords(hashCommand("/")) ?? []).slice(4)
const sameWords = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
  a.length === b.length && a.every((word, i) => word === b[i])

// What `find . -mindepth 1 -maxdepth 1 ! -name '.*' -xtype f` lists: regular files and links to
// them (memfs's statSync follows links), no dotfiles, sorted for a stable stream.
const topLevelFiles = (volume: Volume, dir: string): Array<string> =>
  (volume.readdirSync(dir) as Array<string>).map(String).sort().filter((name) => {
    if (name.startsWith(".")) return false
    try {
      return volume.statSync(joinPath(dir, name)).isFile()
    } catch {
      return false
    }
  })

/**
 * The bytes of a tar stream holding `entries` in order (GNU long-name records for long names), as
 * the tar transport receives it from a peer: the fake host's own streams, and hostile ones in tests.
 *
 * @since 0.2.0
 * @category constructors
 */
export const tarStream = (
  entries: ReadonlyArray<{ readonly header: Partial<tar.Header> & Pick<tar.Header, "name">; readonly content: Uint8Array | string }>
): Effect.Effect<Uint8Array> =>
  Effect.promise(async () => {
    const pack = tar.pack()
    const chunks: Array<Uint8Array> = []
    pack.on("data", (chunk) => {
      chunks.push(chunk as Uint8Array)
    })
    const ended = new Promise<void>((resolve) => pack.on("end", () => resolve()))
    for (const { header, content } of entries) pack.entry(header, content)
    pack.finalize()
    await ended
    return Buffer.concat(chunks)
  })

const packTar = (volume: Volume, dir: string): Effect.Effect<Uint8Array> =>
  tarStream(topLevelFiles(volume, dir).map((name) => {
    const content = volume.readFileSync(joinPath(dir, name)) as Uint8Array
    const mode = volume.statSync(joinPath(dir, name)).mode & 0o7777
    return { header: { name: `./${name}`, size: content.length, mode }, content }
  }))

const sumLine = (volume: Volume, dir: string, name: string): string => {
  const digest = createHash("sha256").update(volume.readFileSync(joinPath(dir, name)) as Uint8Array).digest("hex")
  const escaped = /[\\\n]/.test(name)
  return `${escaped ? "\\" : ""}${digest}  ./${escaped ? name.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") : name}\n`
}

/**
 * The remote commands the remote transports run (`cd -- DIR && …`: the tar transport's stream
 * and the verification's hashes), answered from the host's tree; `undefined` for any other.
 */
const knownCommand = (volume: Volume, line: string): Effect.Effect<Reply> | undefined => {
  const words = splitWords(line)
  if (words === undefined || words[0] !== "cd" || words[1] !== "--" || words[3] !== "&&") return undefined
  const dir = words[2]!
  const tail = words.slice(4)
  const isTar = sameWords(tail, TAR_WORDS)
  if (!isTar && !sameWords(tail, HASH_WORDS)) return undefined
  if (!isDirectory(volume, dir)) return Effect.succeed({ exitCode: 2, stderr: `sh: 1: cd: can't cd to ${dir}\n` })
  if (isTar) return Effect.map(packTar(volume, dir), (stdout): Reply => ({ exitCode: 0, stdout }))
  return Effect.succeed({ exitCode: 0, stdout: topLevelFiles(volume, dir).map((name) => sumLine(volume, dir, name)).join("") })
}

/**
 * Builds fake hosts. Provide `layer` with the local FileSystem (memory or real) the copies use.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): FakeRemoteHost => {
  const volumes = new Map<string, { readonly users: ReadonlyArray<string>; readonly volume: Volume }>()
  for (const [name, spec] of Object.entries(options.hosts)) {
    const volume = Volume.fromJSON(spec.files ?? {})
    volume.mkdirSync("/", { recursive: true })
    volumes.set(name, { users: spec.users, volume })
  }
  const defaultProtocol = options.defaultProtocol ?? "sftp"
  const sshVersion = options.sshVersion ??
    (defaultProtocol === "sftp" ? "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024" : "OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w  11 Sep 2023")
  const invocations: Array<Invocation> = []
  const commands: Array<RemoteCommand> = []
  const shellInjections: Array<{ host: string; word: string }> = []

  // Logging in as the ssh transport does: unknown host and refused login are both status 255.
  const login = (host: string, user: string): { readonly volume: Volume } | Reply => {
    const entry = volumes.get(host)
    if (entry === undefined) {
      return { exitCode: 255, stderr: `ssh: Could not resolve hostname ${host}: Name or service not known\r\n` }
    }
    if (!entry.users.includes(user)) return { exitCode: 255, stderr: `${user}@${host}: Permission denied (publickey).\r\n` }
    return entry
  }

  const ssh = (args: ReadonlyArray<string>, runAs: string | undefined): Effect.Effect<Reply> => {
    const parsed = getopt(args, SSH_ARG)
    if (parsed.flags.includes("V")) return Effect.succeed({ exitCode: 0, stderr: `${sshVersion}\n` })
    const [destination, ...rest] = parsed.operands
    if (destination === undefined) return Effect.succeed({ exitCode: 255, stderr: "usage: ssh destination [command]\n" })
    const at = destination.lastIndexOf("@")
    const host = at < 0 ? destination : destination.slice(at + 1)
    const user = at < 0 ? (parsed.values.get("l") ?? runAs ?? "root") : destination.slice(0, at)
    const session = login(host, user)
    if ("exitCode" in session) return Effect.succeed(session)
    const command = { host, user, command: rest.join(" ") }
    commands.push(command)
    const known = knownCommand(session.volume, command.command)
    if (known !== undefined) return known
    const reply = options.onCommand?.(command) ?? ok
    return Effect.isEffect(reply) ? reply : Effect.succeed(reply)
  }

  const scp = (program: string, args: ReadonlyArray<string>, runAs: string | undefined) =>
    scpOf({ login, defaultProtocol, shellInjections }, program, args, runAs)

  const dispatch = (raw: ReadonlyArray<string>): Effect.Effect<Reply, never, FileSystem.FileSystem> => {
    let argv = raw
    let runAs: string | undefined
    if (basename(argv[0] ?? "") === "runuser") {
      const parsed = getopt(argv.slice(1), new Set(["u", "g", "G", "w"]))
      runAs = parsed.values.get("u")
      argv = parsed.operands
    }
    invocations.push({ argv, runAs })
    const program = basename(argv[0] ?? "")
    if (program === "ssh") return ssh(argv.slice(1), runAs)
    if (program === "scp") return scp(argv[0]!, argv.slice(1), runAs)
    return Effect.succeed({ exitCode: 127, stderr: `${argv[0] ?? ""}: command not found\n` })
  }

  const spawner = ScriptedSpawner.make((argv) => options.around ? options.around(argv, dispatch(argv)) : dispatch(argv))
  const volume = (host: string): Volume => {
    const entry = volumes.get(host)
    if (entry === undefined) throw new Error(`FakeRemoteHost: no host ${host}`)
    return entry.volume
  }
  return {
    layer: spawner.layer,
    calls: spawner.calls,
    invocations,
    commands,
    shellInjections,
    volume,
    tree: (host) => volume(host).toJSON()
  }
}

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

const basename = (path: string): string => path.slice(path.lastIndexOf("/") + 1)
const dirname = (path: string): string => {
  const i = path.lastIndexOf("/")
  return i <= 0 ? "/" : path.slice(0, i)
}
const joinPath = (dir: string, name: string): string => (dir.endsWith("/") ? dir + name : `${dir}/${name}`)

const GLOB_META = /[*?[]/

// A glob in the backslash-escaped form (OpenBSD glob, as sftp uses it) of one path segment.
const segmentRegExp = (segment: string): RegExp => {
  let source = ""
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!
    if (c === "\\" && i + 1 < segment.length) {
      source += escapeRegExp(segment[++i]!)
    } else if (c === "*") {
      source += "[^/]*"
    } else if (c === "?") {
      source += "[^/]"
    } else if (c === "[") {
      const end = segment.indexOf("]", i + 2)
      if (end < 0) {
        source += "\\["
      } else {
        let body = segment.slice(i + 1, end)
        const negate = body.startsWith("!") || body.startsWith("^")
        if (negate) body = body.slice(1)
        source += `[${negate ? "^" : ""}${body.replace(/\\(.)/g, "$1").replace(/[\]\\^]/g, "\\$&")}]`
        i = end
      }
    } else {
      source += escapeRegExp(c)
    }
  }
  return new RegExp(`^${source}$`, "s")
}
const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
const unescape = (segment: string): string => segment.replace(/\\(.)/gsu, "$1")
const hasGlobMeta = (segment: string): boolean => GLOB_META.test(segment.replace(/\\./gsu, ""))

/** Expands an escaped glob against a volume; names starting with `.` match only a literal `.`. */
const expandGlob = (volume: Volume, pattern: string): Array<string> => {
  const segments = pattern.split("/").filter((s) => s !== "")
  let paths: Array<string> = ["/"]
  for (const segment of segments) {
    const next: Array<string> = []
    for (const base of paths) {
      if (!hasGlobMeta(segment)) {
        const candidate = joinPath(base, unescape(segment))
        if (volume.existsSync(candidate)) next.push(candidate)
        continue
      }
      if (!isDirectory(volume, base)) continue
      const regExp = segmentRegExp(segment)
      const names = (volume.readdirSync(base) as Array<string>).map(String).sort()
      for (const name of names) {
        if (name.startsWith(".") && !segment.startsWith(".")) continue
        if (regExp.test(name)) next.push(joinPath(base, name))
      }
    }
    paths = next
  }
  return paths
}

const isDirectory = (volume: Volume, path: string): boolean => {
  try {
    return volume.statSync(path).isDirectory()
  } catch {
    return false
  }
}

// What a remote shell makes of one word: either the word in escaped-glob form, or the character
// a real shell would have interpreted (expansion, command substitution, a second command …).
type ShellWord = { readonly _tag: "Word"; readonly pattern: string } | { readonly _tag: "Interpreted"; readonly char: string }

const SHELL_SPECIAL = new Set(["$", "`", ";", "&", "|", "<", ">", "(", ")", "{", "}", "~", "#", "\n"])

/** Decodes a remote shell line into words (quotes and backslashes honoured). */
const decodeShellLine = (line: string): Array<ShellWord> => {
  const words: Array<ShellWord> = []
  let current: string | undefined
  let i = 0
  const push = (text: string) => {
    current = (current ?? "") + text
  }
  while (i < line.length) {
    const c = line[i]!
    if (c === " " || c === "\t") {
      if (current !== undefined) words.push({ _tag: "Word", pattern: current })
      current = undefined
      i++
    } else if (c === "\\") {
      if (i + 1 < line.length) push(`\\${line[i + 1]!}`)
      i += 2
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1)
      if (end < 0) return [{ _tag: "Interpreted", char: "'" }]
      push(line.slice(i + 1, end).replace(/./gsu, "\\$&"))
      i = end + 1
    } else if (c === "\"") {
      let j = i + 1
      let text = ""
      while (j < line.length && line[j] !== "\"") {
        const d = line[j]!
        if (d === "$" || d === "`") return [{ _tag: "Interpreted", char: d }]
        if (d === "\\" && j + 1 < line.length && "$`\"\\\n".includes(line[j + 1]!)) {
          text += line[j + 1]!
          j += 2
        } else {
          text += d
          j++
        }
      }
      if (j >= line.length) return [{ _tag: "Interpreted", char: "\"" }]
      push(text.replace(/./gsu, "\\$&"))
      i = j + 1
    } else if (SHELL_SPECIAL.has(c)) {
      return [{ _tag: "Interpreted", char: c }]
    } else {
      push(c)
      i++
    }
  }
  if (current !== undefined) words.push({ _tag: "Word", pattern: current })
  return words
}

// scp/ssh options that take an argument.
const SCP_ARG = new Set("cDFiJlMoPSX".split(""))
const SSH_ARG = new Set("BbcDEeFIiJLlmOopQRSWw".split(""))

interface Parsed {
  /** flags in the order given */
  readonly flags: Array<string>
  readonly values: Map<string, string>
  readonly operands: ReadonlyArray<string>
}

/** getopt as OpenSSH uses it: options until `--` or the first operand. */
const getopt = (args: ReadonlyArray<string>, withArgument: Set<string>): Parsed => {
  const flags: Array<string> = []
  const values = new Map<string, string>()
  let i = 0
  for (; i < args.length; i++) {
    const word = args[i]!
    if (word === "--") {
      i++
      break
    }
    if (!word.startsWith("-") || word === "-") break
    for (let j = 1; j < word.length; j++) {
      const flag = word[j]!
      if (withArgument.has(flag)) {
        values.set(flag, j < word.length - 1 ? word.slice(j + 1) : (args[++i] ?? ""))
        break
      }
      flags.push(flag)
    }
  }
  return { flags, values, operands: args.slice(i) }
}

// The host part of an scp operand, as scp's colon() finds it: a `/` before the `:` means local.
const splitRemote = (operand: string): { user?: string; host: string; path: string } | undefined => {
  if (operand.startsWith(":")) return undefined
  let bracket = operand.startsWith("[")
  for (let i = 0; i < operand.length; i++) {
    const c = operand[i]!
    if (c === "@" && operand[i + 1] === "[") bracket = true
    if (c === "]" && operand[i + 1] === ":" && bracket) return hostPart(operand.slice(0, i + 1), operand.slice(i + 2))
    if (c === ":" && !bracket) return hostPart(operand.slice(0, i), operand.slice(i + 1))
    if (c === "/") return undefined
  }
  return undefined
}
const hostPart = (userHost: string, path: string) => {
  const at = userHost.lastIndexOf("@")
  const host = (at < 0 ? userHost : userHost.slice(at + 1)).replace(/^\[(.*)\]$/, "$1")
  return at < 0 ? { host, path } : { user: userHost.slice(0, at), host, path }
}

const ok: Reply = { exitCode: 0 }

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
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const parsed = getopt(args, SCP_ARG)
      // the last of -O / -s wins, as in scp's own option loop
      const modeFlag = parsed.flags.filter((f) => f === "O" || f === "s").pop()
      const protocol = modeFlag === undefined ? defaultProtocol : modeFlag === "O" ? "legacy" : "sftp"
      const quiet = parsed.flags.includes("q")
      if (parsed.operands.length < 2) return { exitCode: 1, stderr: "usage: scp [-346ABCOpqRrsTv] source ... target\n" }
      const sources = parsed.operands.slice(0, -1)
      const target = parsed.operands[parsed.operands.length - 1]!
      const remoteTarget = splitRemote(target)
      const remoteSources = sources.map(splitRemote)
      // as measured with OpenSSH 9.2: SFTP mode exits 255, legacy mode 1 (and with -q says nothing)
      const connectionFailed = (reply: Reply): Reply =>
        protocol === "sftp"
          ? { exitCode: 255, stderr: quiet ? `${program}: Connection closed\r\n` : `${reply.stderr ?? ""}scp: Connection closed\r\n` }
          : { exitCode: 1, stderr: quiet ? "" : reply.stderr ?? "" }
      const errors: Array<string> = []

      if (remoteTarget === undefined) {
        // download: every source remote, into a local file or directory
        const targetIsDir = yield* fs.stat(target).pipe(
          Effect.map((info) => info.type === "Directory"),
          Effect.orElseSucceed(() => false)
        )
        for (let s = 0; s < sources.length; s++) {
          const remote = remoteSources[s]
          if (remote === undefined) {
            errors.push(`scp: ${sources[s]}: local to local copies are not supported by the fake`)
            continue
          }
          const session = login(remote.host, remote.user ?? runAs ?? "root")
          if ("exitCode" in session) return connectionFailed(session)
          let patterns: Array<string>
          if (protocol === "sftp") {
            patterns = [remote.path]
          } else {
            const words = decodeShellLine(remote.path)
            const interpreted = words.find((w) => w._tag === "Interpreted")
            if (interpreted !== undefined) {
              shellInjections.push({ host: remote.host, word: remote.path })
              return { exitCode: 1, stderr: `fake remote shell: would interpret ${JSON.stringify(interpreted.char)} in ${remote.path}\n` }
            }
            patterns = words.map((w) => (w._tag === "Word" ? w.pattern : ""))
          }
          for (const pattern of patterns) {
            const matches = hasGlobMeta(pattern) ? expandGlob(session.volume, pattern) : [unescape(pattern)]
            if (matches.length === 0) {
              errors.push(protocol === "sftp" ? `scp: ${remote.path}: No such file or directory` : `scp: ${unescape(pattern)}: No such file or directory`)
              continue
            }
            if (matches.length > 1 && !targetIsDir) {
              errors.push(`scp: ${target}: Not a directory`)
              continue
            }
            for (const match of matches) {
              let content: Uint8Array
              try {
                if (!session.volume.statSync(match).isFile()) {
                  errors.push(`scp: ${match}: not a regular file`)
                  continue
                }
                content = session.volume.readFileSync(match) as Uint8Array
              } catch {
                errors.push(`scp: ${match}: No such file or directory`)
                continue
              }
              const local = targetIsDir ? joinPath(target, basename(match)) : target
              const written = yield* fs.writeFile(local, new Uint8Array(content)).pipe(
                Effect.as(true),
                Effect.orElseSucceed(() => false)
              )
              if (!written) errors.push(`scp: ${local}: No such file or directory`)
            }
          }
        }
      } else {
        // upload: local sources to a remote file or directory
        const session = login(remoteTarget.host, remoteTarget.user ?? runAs ?? "root")
        if ("exitCode" in session) return connectionFailed(session)
        let path = remoteTarget.path
        if (protocol === "legacy") {
          const words = decodeShellLine(path)
          const interpreted = words.find((w) => w._tag === "Interpreted")
          if (interpreted !== undefined || words.length !== 1) {
            shellInjections.push({ host: remoteTarget.host, word: path })
            return { exitCode: 1, stderr: `fake remote shell: would interpret ${JSON.stringify(interpreted?.char ?? " ")} in ${path}\n` }
          }
          path = unescape((words[0] as { pattern: string }).pattern)
        }
        const targetIsDir = isDirectory(session.volume, path)
        for (const source of sources) {
          if (splitRemote(source) !== undefined) {
            errors.push(`scp: ${source}: remote to remote copies are not supported by the fake`)
            continue
          }
          const content = yield* fs.readFile(source).pipe(Effect.option)
          if (content._tag === "None") {
            errors.push(`scp: ${source}: No such file or directory`)
            continue
          }
          const mode = yield* fs.stat(source).pipe(Effect.map((info) => info.mode & 0o777), Effect.orElseSucceed(() => 0o644))
          const remotePath = targetIsDir ? joinPath(path, basename(source)) : path
          if (!isDirectory(session.volume, dirname(remotePath))) {
            errors.push(`scp: ${remotePath}: No such file or directory`)
            continue
          }
          session.volume.writeFileSync(remotePath, content.value, { mode })
        }
      }
      return errors.length === 0 ? ok : { exitCode: 1, stderr: errors.map((e) => `${e}\n`).join("") }
    })

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

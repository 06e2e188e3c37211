// The fake `scp`: a copy between a fake host's tree and the local FileSystem from context, its
// remote operands decoded as OpenSSH decodes them per protocol (SFTP: its own glob with backslash
// escapes; legacy `-O`: a remote shell, whose interpreted words are refused and recorded).
import { Effect, FileSystem } from "effect"
import type { Volume } from "memfs"
import type { Reply } from "../ScriptedSpawner.js"
import { basename, decodeShellLine, dirname, expandGlob, getopt, hasGlobMeta, isDirectory, joinPath, SCP_ARG, splitRemote, unescape } from "./fakeHostWords.js"

export const ok: Reply = { exitCode: 0 }

/** What the fake `scp` needs of the hosts: logging in, the protocol by default, where refused shell words are recorded. */
export interface FakeHosts {
  readonly login: (host: string, user: string) => { readonly volume: Volume } | Reply
  readonly defaultProtocol: "sftp" | "legacy"
  readonly shellInjections: Array<{ host: string; word: string }>
}

/** One run of `scp`, as parsed: the operands and how a connection that fails is reported. */
interface ScpRun {
  readonly sources: ReadonlyArray<string>
  readonly target: string
  readonly protocol: "sftp" | "legacy"
  readonly runAs: string | undefined
  readonly connectionFailed: (reply: Reply) => Reply
  readonly errors: Array<string>
}

// download: every source remote, into a local file or directory
const download = (hosts: FakeHosts, run: ScpRun) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { connectionFailed, errors, protocol, runAs, sources, target } = run
    const { login, shellInjections } = hosts
    const remoteSources = sources.map(splitRemote)
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
    return undefined
  })

// upload: local sources to a remote file or directory
const upload = (hosts: FakeHosts, run: ScpRun, remoteTarget: NonNullable<ReturnType<typeof splitRemote>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { connectionFailed, errors, protocol, runAs, sources } = run
    const { login, shellInjections } = hosts
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
    return undefined
  })

/** Runs `scp ARGS` against the fake hosts (as `runAs` when given: the local user of `runuser -u`). */
export const scp = (hosts: FakeHosts, program: string, args: ReadonlyArray<string>, runAs: string | undefined) =>
  Effect.gen(function*() {
    const parsed = getopt(args, SCP_ARG)
    // the last of -O / -s wins, as in scp's own option loop
    const modeFlag = parsed.flags.filter((f) => f === "O" || f === "s").pop()
    const protocol = modeFlag === undefined ? hosts.defaultProtocol : modeFlag === "O" ? "legacy" : "sftp"
    const quiet = parsed.flags.includes("q")
    if (parsed.operands.length < 2) return { exitCode: 1, stderr: "usage: scp [-346ABCOpqRrsTv] source ... target\n" }
    const sources = parsed.operands.slice(0, -1)
    const target = parsed.operands[parsed.operands.length - 1]!
    const remoteTarget = splitRemote(target)
    // as measured with OpenSSH 9.2: SFTP mode exits 255, legacy mode 1 (and with -q says nothing)
    const connectionFailed = (reply: Reply): Reply =>
      protocol === "sftp"
        ? { exitCode: 255, stderr: quiet ? `${program}: Connection closed\r\n` : `${reply.stderr ?? ""}scp: Connection closed\r\n` }
        : { exitCode: 1, stderr: quiet ? "" : reply.stderr ?? "" }
    const run: ScpRun = { sources, target, protocol, runAs, connectionFailed, errors: [] }
    const stopped = remoteTarget === undefined ? yield* download(hosts, run) : yield* upload(hosts, run, remoteTarget)
    if (stopped !== undefined) return stopped
    return run.errors.length === 0 ? ok : { exitCode: 1, stderr: run.errors.map((e) => `${e}\n`).join("") }
  })

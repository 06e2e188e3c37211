/**
 * A real, throwaway OpenSSH server on 127.0.0.1 for the remote-peer tests and the benchmark.
 *
 * Everything lives in one fresh temp dir (host key, client keys, authorized_keys, configs, pid
 * file, log) that is removed on stop; the server is stopped by its pid. Needs root: it creates
 * the test users and runs sshd, which must start as root to switch to them.
 *
 * @since 0.1.0
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/**
 * What the tests get from the running server (plain JSON: it crosses into the test workers).
 *
 * @since 0.1.0
 * @category models
 */
export interface SshServerInfo {
  readonly host: string
  /** a `Host` alias of `configFile` that leads to `host` */
  readonly alias: string
  readonly port: number
  /** the server's temp dir (removed on stop) */
  readonly dir: string
  /** one client config for every local user: IdentityFile `<dir>/keys/%u/id_ed25519` */
  readonly configFile: string
  /** the user logged in to on the "remote" side: login shell /bin/sh, a home dir */
  readonly remoteUser: string
  readonly remoteUid: number
  readonly remoteGid: number
  readonly remoteHome: string
  /** the local backup user: login shell /usr/sbin/nologin, own copy of the client key */
  readonly localUser: string
  readonly localUid: number
  readonly localGid: number
  /** rcp command line, default scp protocol (SFTP on OpenSSH >= 9.0) */
  readonly rcpSftp: string
  /** rcp command line, legacy scp protocol (`-O`: paths go through the remote shell) */
  readonly rcpLegacy: string
  /** rsh command line */
  readonly rsh: string
  /** `ssh -V` of the client, e.g. `OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026` */
  readonly sshVersion: string
}

/**
 * A running server and how to stop it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SshServer {
  readonly info: SshServerInfo
  /** stops sshd by its pid and removes the temp dir; safe to call twice */
  readonly stop: () => Promise<void>
}

const SSHD = "/usr/sbin/sshd"
/** A `Host` alias of the client config for 127.0.0.1: not a DNS name (an underscore). */
const SSH_ALIAS = "db_1"
const REMOTE_USER = "cpremote"
const LOCAL_USER = "cplocal"

const run = (file: string, args: ReadonlyArray<string>): string =>
  execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const lookupUser = (name: string): { uid: number; gid: number; home: string } | undefined => {
  try {
    const fields = run("getent", ["passwd", name]).split("\n")[0]!.split(":")
    return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5]! }
  } catch {
    return undefined
  }
}

// `-p '*'`: not a usable password, but not "locked" either ('!'), which sshd refuses with UsePAM no.
const ensureUser = (name: string, shell: string): { uid: number; gid: number; home: string } => {
  if (lookupUser(name) === undefined) {
    run("useradd", ["--create-home", "--shell", shell, "--user-group", "--password", "*", "--", name])
  } else {
    run("usermod", ["--password", "*", "--", name])
  }
  const user = lookupUser(name)
  if (user === undefined) throw new Error(`sshd harness: could not create user ${name}`)
  return user
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

// Ready means the server sent its banner, not just that the port is bound.
const sshBanner = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once("data", (data) => done(data.toString("latin1").startsWith("SSH-2.0-")))
    socket.once("error", () => done(false))
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })

const readLog = (file: string): string => {
  try {
    return fs.readFileSync(file, "utf8").trim()
  } catch {
    return ""
  }
}

/**
 * Starts sshd on 127.0.0.1 at a free port with a fresh host key and client key pair, creating the
 * test users if missing. Rejects, with sshd's log, if the server does not come up.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startSshd = async (): Promise<SshServer> => {
  if (process.getuid?.() !== 0) throw new Error("sshd harness: must run as root (it creates users and runs sshd)")
  if (!fs.existsSync(SSHD)) throw new Error(`sshd harness: ${SSHD} is missing (run .ci/run, which installs openssh-server)`)
  const remote = ensureUser(REMOTE_USER, "/bin/sh")
  const local = ensureUser(LOCAL_USER, "/usr/sbin/nologin")

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cedar-sshd-"))
  let child: ChildProcess | undefined
  // If the test process exits without calling stop (a killed or crashed run), take sshd and the
  // temp dir with it: synchronous, as an "exit" listener must be.
  const onExit = () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, "SIGTERM")
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", onExit)
  const stop = async () => {
    process.removeListener("exit", onExit)
    const current = child
    child = undefined
    if (current?.pid !== undefined && current.exitCode === null && current.signalCode === null) {
      process.kill(current.pid, "SIGTERM")
      let timer: NodeJS.Timeout | undefined
      await Promise.race([exited(current), new Promise((resolve) => (timer = setTimeout(resolve, 3000)))])
      clearTimeout(timer)
      if (current.exitCode === null && current.signalCode === null) process.kill(current.pid, "SIGKILL")
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }

  try {
    // Traversable by the test users: cpremote's sshd reads authorized_keys, cplocal reads config and key.
    fs.chmodSync(dir, 0o755)
    const hostKey = path.join(dir, "ssh_host_ed25519_key")
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cedar-sshd-host", "-f", hostKey])
    const keys = path.join(dir, "keys")
    fs.mkdirSync(keys, { mode: 0o755 })
    const rootKeyDir = path.join(keys, "root")
    fs.mkdirSync(rootKeyDir, { mode: 0o700 })
    const rootKey = path.join(rootKeyDir, "id_ed25519")
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "cedar-sshd-client", "-f", rootKey])
    // ssh refuses a private key others can read, so cplocal gets its own copy, 0600, owned by it.
    const localKeyDir = path.join(keys, LOCAL_USER)
    fs.mkdirSync(localKeyDir, { mode: 0o700 })
    const localKey = path.join(localKeyDir, "id_ed25519")
    fs.copyFileSync(rootKey, localKey)
    fs.chmodSync(localKey, 0o600)
    fs.chownSync(localKey, local.uid, local.gid)
    fs.chownSync(localKeyDir, local.uid, local.gid)
    const authorizedKeys = path.join(dir, "authorized_keys")
    fs.copyFileSync(`${rootKey}.pub`, authorizedKeys)
    fs.chmodSync(authorizedKeys, 0o644)

    const port = await freePort()
    const pidFile = path.join(dir, "sshd.pid")
    const sshdConfig = path.join(dir, "sshd_config")
    fs.writeFileSync(sshdConfig, [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      // The temp dir sits under world-writable /tmp, which StrictModes would reject.
      "StrictModes no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      // No PAM: no pam_loginuid (fails in containers), no motd; accounts need a non-'!' password field.
      "UsePAM no",
      "UseDNS no",
      "X11Forwarding no",
      "PrintMotd no",
      "PermitUserEnvironment no",
      // The default scp protocol needs the sftp subsystem; internal-sftp needs no external binary.
      "Subsystem sftp internal-sftp",
      // The tests open many connections at once; the default 10:30:100 drops some at random.
      "MaxStartups 200",
      "MaxSessions 200",
      "LogLevel ERROR",
      ""
    ].join("\n"), { mode: 0o644 })

    const configFile = path.join(dir, "ssh_config")
    fs.writeFileSync(configFile, [
      // a peer named by an ssh alias, as a site's ~/.ssh/config names its hosts
      `Host ${SSH_ALIAS}`,
      "  HostName 127.0.0.1",
      "Host *",
      `  Port ${port}`,
      `  IdentityFile ${keys}/%u/id_ed25519`,
      "  IdentitiesOnly yes",
      "  BatchMode yes",
      "  StrictHostKeyChecking no",
      "  UserKnownHostsFile /dev/null",
      "  GlobalKnownHostsFile /dev/null",
      "  ConnectTimeout 5",
      "  LogLevel ERROR",
      // The default post-quantum key exchange costs ~0.3 s per connection; the tests open hundreds.
      "  KexAlgorithms curve25519-sha256",
      ""
    ].join("\n"), { mode: 0o644 })

    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
    run(SSHD, ["-t", "-f", sshdConfig])

    const logFile = path.join(dir, "sshd.log")
    const log = fs.openSync(logFile, "a")
    child = spawn(SSHD, ["-D", "-e", "-f", sshdConfig], { stdio: ["ignore", log, log] })
    fs.closeSync(log)
    const started = child
    const deadline = Date.now() + 10_000
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`sshd harness: sshd exited (${started.exitCode ?? started.signalCode}): ${readLog(logFile)}`)
      }
      if (await sshBanner(port)) break
      if (Date.now() > deadline) throw new Error(`sshd harness: sshd did not answer on port ${port}: ${readLog(logFile)}`)
      await sleep(50)
    }

    // ssh -V prints to stderr
    const sshVersion = spawnSync("/usr/bin/ssh", ["-V"], { encoding: "utf8" }).stderr
    const info: SshServerInfo = {
      host: "127.0.0.1",
      alias: SSH_ALIAS,
      port,
      dir,
      configFile,
      remoteUser: REMOTE_USER,
      remoteUid: remote.uid,
      remoteGid: remote.gid,
      remoteHome: remote.home,
      localUser: LOCAL_USER,
      localUid: local.uid,
      localGid: local.gid,
      rcpSftp: `/usr/bin/scp -B -q -F ${configFile}`,
      rcpLegacy: `/usr/bin/scp -B -q -O -F ${configFile}`,
      rsh: `/usr/bin/ssh -F ${configFile}`,
      sshVersion: sshVersion.trim()
    }
    return { info, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * The server the global setup provided, or a thrown error with the reason it could not start:
 * every ssh test then fails loudly with that reason instead of being skipped.
 *
 * @since 0.1.0
 * @category constructors
 */
export const requireServer = (provided: SshServerInfo | { readonly error: string }): SshServerInfo => {
  if ("error" in provided) throw new Error(`loopback sshd is not running: ${provided.error}`)
  return provided
}

/**
 * A fresh scratch tree for one test file, reachable by the test users (0755), removed by `remove`.
 * Both "sides" live here: the remote collect dirs (owned by the remote user) and the local
 * targets and working dirs.
 *
 * @since 0.1.0
 * @category constructors
 */
/** Gives a tree to uid:gid, links included (never followed). */
export const chownTree = (dir: string, uid: number, gid: number): void => {
  fs.chownSync(dir, uid, gid)
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) chownTree(full, uid, gid)
    else fs.lchownSync(full, uid, gid)
  }
}

export const makeScratch = (server: SshServerInfo, label: string) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `cedar-${label}-`))
  fs.chmodSync(root, 0o755)
  let counter = 0
  const fresh = (name: string) => path.join(root, `${String(++counter).padStart(3, "0")}-${name}`)
  return {
    root,
    /** a new directory under `parent` (default: a fresh one in the scratch root) */
    dir: (name: string, options: { readonly owner?: "root" | "remote" | "local"; readonly mode?: number; readonly parent?: string } = {}) => {
      const dir = options.parent === undefined ? fresh(name) : path.join(options.parent, name)
      fs.mkdirSync(dir, { recursive: true })
      fs.chmodSync(dir, options.mode ?? 0o755)
      if (options.owner === "remote") fs.chownSync(dir, server.remoteUid, server.remoteGid)
      if (options.owner === "local") fs.chownSync(dir, server.localUid, server.localGid)
      return dir
    },
    /** a collect dir on the "remote" side owned by the remote user, holding `files` (name -> content) */
    collectDir: (name: string, files: Readonly<Record<string, string>>, parent?: string) => {
      const dir = parent === undefined ? fresh(name) : path.join(parent, name)
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 })
      for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true, mode: 0o755 })
        fs.writeFileSync(path.join(dir, file), content, { mode: 0o644 })
      }
      chownTree(dir, server.remoteUid, server.remoteGid)
      return dir
    },
    chownTree,
    remove: () => fs.rmSync(root, { recursive: true, force: true })
  }
}

/**
 * Every entry of `dir` as `name -> "<uid>:<gid>:<mode>:<content>"` (or `<dir>` / `<link>`), to
 * assert a whole directory at once: names, contents, ownership and modes, and nothing else there.
 *
 * @since 0.1.0
 * @category constructors
 */
export const snapshot = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name)
    const info = fs.lstatSync(full)
    out[name] = info.isSymbolicLink()
      ? "<link>"
      : info.isDirectory()
      ? "<dir>"
      : `${info.uid}:${info.gid}:${(info.mode & 0o7777).toString(8)}:${fs.readFileSync(full, "utf8")}`
  }
  return out
}

import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import {
  encodeDownloadSource,
  encodeUploadTarget,
  hasBadCharacter,
  parseOpenSshVersion,
  protocolForBanner,
  protocolFromArgv,
  scpRemotePrefix,
  sshDestination,
  sshProgramFor,
  trimTrailingSlashes
} from "../../src/peers/internal/remotePath.js"

// Paths an attacker (or an unlucky admin) could put in a config: each must reach the peer literally.
const HOSTILE_PATHS = [
  "/srv/collect",
  "/srv/with space/x",
  "/srv/$(touch /tmp/cedar-pwned)",
  "/srv/`id`",
  "/srv/a;rm -rf ~",
  "/srv/a&&b||c|d",
  "/srv/it's",
  "/srv/\"double\"",
  "/srv/star*",
  "/srv/question?",
  "/srv/[ab]",
  "/srv/-leading",
  "/srv/--option=x",
  "/srv/back\\slash",
  "/srv/~tilde/~",
  "/srv/brace{a,b}",
  "/srv/#hash",
  "/srv/$HOME",
  "/srv/!bang",
  "/srv/<in>out",
  "/srv/(paren)",
  "/srv/tab\there",
  "/srv/ünïcödé €",
  "/srv/emoji 😀/🚀", // outside the BMP: surrogate pairs must not be split by an escape
  "/srv/=equals:colon,comma@at%percent^caret"
]

// What a POSIX shell makes of `word` (the remote shell of legacy scp is one).
const throughShell = (shell: string, word: string): string =>
  execFileSync(shell, ["-c", `printf '%s' ${word}`], { encoding: "utf8", cwd: "/" })

describe("protocolFromArgv", () => {
  it.each([
    [["/usr/bin/scp", "-B", "-q", "-C"], undefined],
    [["scp"], undefined],
    [["/opt/openssh/bin/scp", "-r"], undefined],
    [["scp", "-O"], "legacy"],
    [["scp", "-s"], "sftp"],
    [["scp", "-O", "-s"], "sftp"],
    [["scp", "-s", "-O"], "legacy"],
    [["scp", "-BqO"], "legacy"],
    [["scp", "-Bqs"], "sftp"],
    [["scp", "-P", "2222", "-O"], "legacy"],
    [["scp", "-P2222", "-O"], "legacy"],
    [["scp", "-o", "-O"], undefined], // "-O" is the argument of -o
    [["scp", "-oBatchMode=yes"], undefined],
    [["scp", "-i", "/k/-s"], undefined],
    [["scp", "-S", "/usr/bin/ssh", "-s"], "sftp"],
    [["scp", "--", "-O"], undefined],
    [["scp", "file", "-O"], undefined],
    [["/usr/bin/rcp"], "legacy"],
    [["rsync", "-s"], "legacy"],
    [["/usr/bin/scp.real"], "legacy"]
  ] as const)("%j → %s", (argv, expected) => {
    expect(protocolFromArgv(argv)).toBe(expected)
  })
})

describe("OpenSSH version", () => {
  it.each([
    ["OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", { major: 9, minor: 2 }],
    ["OpenSSH_8.4p1 Debian-5+deb11u3, OpenSSL 1.1.1w", { major: 8, minor: 4 }],
    ["OpenSSH_10.0p2, LibreSSL 3.3.6", { major: 10, minor: 0 }],
    ["Sun_SSH_1.1", undefined],
    ["", undefined]
  ] as const)("parses %j", (banner, expected) => {
    expect(parseOpenSshVersion(banner)).toEqual(expected)
  })

  it.each([
    ["OpenSSH_9.0p1", "sftp"],
    ["OpenSSH_9.2p1 Debian", "sftp"],
    ["OpenSSH_10.1p1", "sftp"],
    ["OpenSSH_8.9p1 Ubuntu", "legacy"],
    ["OpenSSH_7.4p1", "legacy"],
    ["dropbear", "legacy"],
    [undefined, "legacy"]
  ] as const)("%j defaults to %s", (banner, expected) => {
    expect(protocolForBanner(banner)).toBe(expected)
  })

  it("asks the ssh beside an absolute scp, else ssh on PATH", () => {
    expect(sshProgramFor(["/usr/bin/scp", "-B"])).toBe("/usr/bin/ssh")
    expect(sshProgramFor(["/opt/ssh/bin/scp"])).toBe("/opt/ssh/bin/ssh")
    expect(sshProgramFor(["scp"])).toBe("ssh")
  })
})

describe("remote path encoding", () => {
  it.each(HOSTILE_PATHS)("download source %j escapes everything outside [A-Za-z0-9._/-]", (path) => {
    const encoded = encodeDownloadSource(path)
    expect(encoded.replace(/\\[^]/gu, "")).toMatch(/^[A-Za-z0-9._/-]*$/)
    expect(encoded.replace(/\\([^])/gu, "$1")).toBe(path) // what sftp's glob unescapes
  })

  it.each(HOSTILE_PATHS)("download source %j reaches sh and bash literally (legacy remote shell)", (path) => {
    const encoded = encodeDownloadSource(path)
    expect(throughShell("sh", encoded)).toBe(path)
    expect(throughShell("bash", encoded)).toBe(path)
  })

  it.each(HOSTILE_PATHS)("upload target %j is literal in SFTP mode", (path) => {
    expect(encodeUploadTarget(path, "sftp")).toBe(path)
  })

  it.each(HOSTILE_PATHS)("upload target %j reaches sh and bash literally in legacy mode", (path) => {
    const encoded = encodeUploadTarget(path, "legacy")
    expect(throughShell("sh", encoded)).toBe(path)
    expect(throughShell("bash", encoded)).toBe(path)
  })

  it("escapes a character outside the BMP as one code point", () => {
    expect(encodeDownloadSource("/a/🚀")).toBe("/a/\\🚀")
    expect(Buffer.from(encodeDownloadSource("/a/🚀"), "utf8").toString("utf8")).toBe("/a/\\🚀")
  })

  it("an escaped `/*` suffix still globs, the escaped directory does not", () => {
    expect(`${encodeDownloadSource("/srv/a b*")}/*`).toBe("/srv/a\\ b\\*/*")
    expect(encodeDownloadSource("/srv/plain-dir_1.0/x")).toBe("/srv/plain-dir_1.0/x")
  })

  it.each([
    ["/srv/a\nb", true],
    ["/srv/a\rb", true],
    ["/srv/a\0b", true],
    ["/srv/a b\t$(x)", false]
  ] as const)("bad character in %j: %s", (path, expected) => {
    expect(hasBadCharacter(path)).toBe(expected)
  })

  it("trims trailing slashes so a suffix never doubles one", () => {
    expect(trimTrailingSlashes("/srv/collect/")).toBe("/srv/collect")
    expect(trimTrailingSlashes("/srv/collect//")).toBe("/srv/collect")
    expect(trimTrailingSlashes("/srv/collect")).toBe("/srv/collect")
    expect(trimTrailingSlashes("/")).toBe("")
  })
})

describe("host operands", () => {
  it.each([
    ["backup", "db1.example.org", "backup@db1.example.org:", "backup@db1.example.org"],
    ["backup", "192.0.2.10", "backup@192.0.2.10:", "backup@192.0.2.10"],
    ["backup", "::1", "backup@[::1]:", "backup@::1"],
    ["backup", "2001:db8::42", "backup@[2001:db8::42]:", "backup@2001:db8::42"]
  ] as const)("%s@%s", (user, host, scp, ssh) => {
    expect(scpRemotePrefix(user, host)).toBe(scp)
    expect(sshDestination(user, host)).toBe(ssh)
  })
})

// The cause of an ssh/scp failure in words, from what OpenSSH 9.2 prints (messages as measured
// against the loopback sshd; test/cli/site.ssh.test.ts runs the real ones), and durations as
// people write them.
import { describe, expect, it } from "vitest"
import { formatAfter } from "../../src/peers/process.js"
import { sshCause } from "../../src/peers/sshCause.js"

describe("sshCause", () => {
  it.each([
    ["ssh: connect to host 10.0.0.9 port 22: Connection refused\n/usr/bin/scp: Connection closed", "connection refused"],
    ["ssh: connect to host 10.0.0.9 port 22: Connection timed out", "timed out"],
    ["Connection timed out during banner exchange\nConnection to 127.0.0.2 port 22 timed out", "timed out"],
    ["backup@db1: Permission denied (publickey).", "permission denied (publickey)"],
    ["backup@db1: Permission denied (publickey,password).", "permission denied (publickey,password)"],
    ["ssh: Could not resolve hostname db_1: Name or service not known", "unknown host"],
    ["ssh: Could not resolve hostname db1: Temporary failure in name resolution", "unknown host"],
    [
      "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key for [127.0.0.1]:2222 has changed and you have requested strict checking.\nHost key verification failed.",
      "host key changed"
    ],
    ["No ED25519 host key is known for db1 and you have requested strict checking.\nHost key verification failed.", "host key not known"],
    ["ssh: connect to host 10.9.9.9 port 22: No route to host", "no route to host"],
    ["kex_exchange_identification: Connection closed by remote host", "connection closed by the host"]
  ])("%s", (text, cause) => {
    expect(sshCause(text)).toBe(cause)
  })

  it("tells nothing when the text tells nothing (scp -q)", () => {
    expect(sshCause("/usr/bin/scp: Connection closed")).toBeUndefined()
    expect(sshCause("/usr/bin/scp: /srv/collect/cback.collect: No such file or directory")).toBeUndefined()
  })
})

describe("formatAfter", () => {
  it.each([
    [30_000, "30s"],
    [120_000, "2m"],
    [7_200_000, "2h"],
    [1_500, "1.5s"],
    [4_946.555647, "4.9s"],
    [9_153.137752000001, "9.2s"],
    [12_044.9, "12s"],
    [65_000, "65s"]
  ])("%s ms is %s", (millis, text) => {
    expect(formatAfter(millis)).toBe(text)
  })
})

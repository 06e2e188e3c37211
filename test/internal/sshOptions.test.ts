// The ssh options cedar-peer adds: which command lines get them, where they go, and that an
// option the operator's command line already sets is never added (ssh keeps the first value).
import { describe, expect, it } from "@effect/vitest"
import {
  connectionOptions,
  openSshKind,
  optionsSetBy,
  setsOwnSharing,
  withConnection,
  withSshOptions
} from "../../src/peers/internal/remote/sshOptions.js"

const TIMEOUTS = { connect: 30, stall: 60 }

describe("optionsSetBy", () => {
  it.each([
    [["ssh", "-o", "ConnectTimeout=5"], "connecttimeout"],
    [["ssh", "-oConnectTimeout=5"], "connecttimeout"],
    [["ssh", "-o", "connecttimeout 5"], "connecttimeout"],
    [["ssh", "-o", " CONNECTTIMEOUT\t5"], "connecttimeout"],
    [["ssh", "-qoServerAliveInterval=9"], "serveraliveinterval"],
    [["/usr/bin/scp", "-B", "-q"], "batchmode"],
    [["scp", "-qB"], "batchmode"],
    [["ssh", "-S", "/tmp/ctl"], "controlpath"],
    [["ssh", "-M"], "controlmaster"],
    [["scp", "-F", "/etc/x", "-o", "BatchMode=no"], "batchmode"]
  ])("%j sets %s", (argv, key) => {
    expect(optionsSetBy(argv).has(key)).toBe(true)
  })

  it("reads options only before `--` or the first operand, and skips option arguments", () => {
    expect([...optionsSetBy(["ssh", "--", "-o", "ConnectTimeout=1"])]).toEqual([])
    expect([...optionsSetBy(["ssh", "host", "-o", "ConnectTimeout=1"])]).toEqual([])
    // `-F -oX` : the config file is named "-oX", no option is set
    expect([...optionsSetBy(["ssh", "-F", "-oConnectTimeout=1"])]).toEqual([])
    // scp's -S is the program to use, not a control path; ssh's -B binds to an interface
    expect([...optionsSetBy(["scp", "-S", "/usr/bin/ssh"])]).toEqual([])
    expect([...optionsSetBy(["ssh", "-B", "lo"])]).toEqual([])
  })

  it("knows nothing of other programs", () => {
    expect(openSshKind("/usr/bin/rsync")).toBeUndefined()
    expect([...optionsSetBy(["rsh", "-o", "ConnectTimeout=1"])]).toEqual([])
  })
})

describe("withSshOptions", () => {
  it("inserts the options before the first `--`, after the command's own options", () => {
    expect(withSshOptions(["/usr/bin/ssh", "-p", "2222", "--", "u@h", "true"], [{ key: "ConnectTimeout", value: "30" }]))
      .toEqual(["/usr/bin/ssh", "-p", "2222", "-o", "ConnectTimeout=30", "--", "u@h", "true"])
    expect(withSshOptions(["scp", "-q"], [{ key: "ConnectTimeout", value: "30" }])).toEqual(["scp", "-q", "-o", "ConnectTimeout=30"])
  })

  it("leaves out what the command sets itself, in any spelling", () => {
    const argv = ["ssh", "-oconnecttimeout 5", "--", "u@h"]
    expect(withSshOptions(argv, [{ key: "ConnectTimeout", value: "30" }, { key: "BatchMode", value: "yes" }]))
      .toEqual(["ssh", "-oconnecttimeout 5", "-o", "BatchMode=yes", "--", "u@h"])
  })

  it("leaves any other program exactly as configured", () => {
    const argv = ["/usr/local/bin/my-rcp", "-x", "--", "u@h:/x", "/y"]
    expect(withSshOptions(argv, [{ key: "ConnectTimeout", value: "30" }])).toBe(argv)
  })
})

describe("connectionOptions", () => {
  it("a connect timeout, keep-alives that end a silent session after about `stall`, batch mode", () => {
    expect(connectionOptions(TIMEOUTS)).toEqual([
      { key: "ConnectTimeout", value: "30" },
      { key: "ServerAliveInterval", value: "20" },
      { key: "ServerAliveCountMax", value: "3" },
      { key: "BatchMode", value: "yes" }
    ])
    expect(connectionOptions({ connect: 0.5, stall: 1 }).slice(0, 2)).toEqual([
      { key: "ConnectTimeout", value: "1" },
      { key: "ServerAliveInterval", value: "1" }
    ])
  })

  it("with a shared connection: ControlMaster auto, the private ControlPath, a bounded ControlPersist", () => {
    expect(withConnection(["ssh"], { ...TIMEOUTS, control: { path: "/w/.cedar-peer-x/cm", persist: 60 } })).toEqual([
      "ssh",
      ...["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=20", "-o", "ServerAliveCountMax=3", "-o", "BatchMode=yes"],
      ...["-o", "ControlMaster=auto", "-o", "ControlPath=/w/.cedar-peer-x/cm", "-o", "ControlPersist=60"]
    ])
  })

  it("never mixes its sharing with the command's own", () => {
    for (const argv of [["ssh", "-o", "ControlPath=~/.ssh/cm-%C"], ["ssh", "-S", "none"], ["scp", "-o", "ControlMaster=no"]]) {
      expect(setsOwnSharing(argv)).toBe(true)
      const out = withConnection(argv, { ...TIMEOUTS, control: { path: "/w/d/cm", persist: 60 } })
      expect(out.some((word) => word.startsWith("Control") && word.includes("/w/d"))).toBe(false)
      expect(out.filter((word) => word.startsWith("ControlMaster=auto"))).toEqual([])
    }
  })
})

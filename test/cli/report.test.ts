// The JSON documents of stage and action: a peer's failure is the tagged error itself in the
// library's results, and `{ "_tag", "message" }` in what the CLI prints, as it always was.
import { describe, expect, it } from "vitest"
import { actionJson, stageJson } from "../../src/cli/report.js"
import { ManagedActionFailed, RemoteCommandFailed, UnsupportedEntry } from "../../src/domain/PeerError.js"

const remoteFailure = new RemoteCommandFailed({ peer: "db1", argv: ["ssh", "db1", "cback3 collect"], exitCode: 3, stderr: "no space left\n" })

describe("--json documents of per-peer failures", () => {
  it("stage: the error as its tag and message, nothing else of it", () => {
    const error = new UnsupportedEntry({ peer: "alpha", collectDir: "/c", entries: [{ name: "fifo", kind: "FIFO" }] })
    const document = JSON.parse(JSON.stringify(stageJson({
      dailyDir: "/stage/2026/12/01",
      full: false,
      ok: false,
      peers: [{ name: "alpha", type: "local", status: "failed", files: 0, bytes: 0, ignored: false, error }]
    })))
    expect(document).toEqual({
      dailyDir: "/stage/2026/12/01",
      full: false,
      ok: false,
      peers: [{
        name: "alpha",
        type: "local",
        status: "failed",
        files: 0,
        bytes: 0,
        ignored: false,
        reason: error.message,
        error: { _tag: "UnsupportedEntry", message: error.message }
      }]
    })
  })

  it("action: the error as its tag and message; an interrupted peer says why", () => {
    const error = new ManagedActionFailed({ peer: "db1", action: "collect", cause: remoteFailure })
    const document = JSON.parse(JSON.stringify(actionJson({
      action: "collect",
      full: true,
      ok: false,
      peers: [
        { name: "db1", status: "failed", error },
        { name: "db2", status: "interrupted", reason: "the run was stopped before the action was done on this peer" }
      ]
    })))
    expect(document).toEqual({
      action: "collect",
      full: true,
      ok: false,
      peers: [
        { name: "db1", status: "failed", error: { _tag: "ManagedActionFailed", message: error.message } },
        { name: "db2", status: "interrupted", reason: "the run was stopped before the action was done on this peer" }
      ]
    })
    expect(error.message).toContain("db1")
  })
})

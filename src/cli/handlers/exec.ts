// `exec`: a command on a remote peer through its rsh command, its output shown as ssh would.
import { Console, Effect } from "effect"
import * as Config from "../../config/Config.js"
import * as RemotePeer from "../../peers/RemotePeer.js"
import * as Pool from "../../pool/Pool.js"
import { render } from "../render.js"

/**
 * The options of `exec`, as its definition parses them.
 *
 * @since 1.0.0
 * @category models
 */
export interface ExecOptions {
  readonly config: string
  readonly json: boolean
  readonly peer: string
  readonly command: ReadonlyArray<string>
}

/**
 * Runs `exec`.
 *
 * @since 1.0.0
 * @category commands
 */
export const exec = (opts: ExecOptions) =>
  Effect.gen(function*() {
    const pool = yield* Config.load(opts.config)
    const peer = yield* Pool.findRemotePeer(pool, opts.peer)
    const command = opts.command.join(" ")
    const output = yield* (yield* RemotePeer.RemotePeers).executeRemoteCommand(peer, command)
    if (opts.json) {
      yield* render(true, true, { ok: true, peer: peer.name, command, ...output }, "")
    } else {
      // the remote command's own output, as ssh would show it
      if (output.stderr !== "") yield* Console.error(output.stderr.replace(/\n$/, ""))
      if (output.stdout !== "") yield* Console.log(output.stdout.replace(/\n$/, ""))
    }
  })

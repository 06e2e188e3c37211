// A TCP relay on 127.0.0.1 that delays every chunk by DELAY ms in each direction: a loopback
// ssh server seen as if across a link with a round trip of 2 × DELAY ms (bandwidth unchanged).
// Used by `npm run bench` for the `wan` workload, as a process of its own (the benchmark spawns
// its tools synchronously, so a relay in its own event loop would stand still meanwhile).
//
//   node bench/relay.mjs TARGET_PORT DELAY_MS MAX_SECONDS
//
// Prints the port it listens on, one line. Bounded: at most 64 connections at once, at most
// 8 MiB waiting in either direction of one (the sender is paused until it drains), and it stops
// by itself when its stdin closes (the benchmark that started it ended, however it ended) or
// after MAX_SECONDS.
import * as net from "node:net"

const [targetPort, delayMs, maxSeconds] = process.argv.slice(2).map(Number)
if (!Number.isInteger(targetPort) || !(delayMs >= 0) || !(maxSeconds > 0)) {
  console.error("usage: node relay.mjs TARGET_PORT DELAY_MS MAX_SECONDS")
  process.exit(2)
}
const MAX_CONNECTIONS = 64
const MAX_WAITING = 8 * 1024 * 1024

/** Forwards `from` to `to`, each chunk DELAY ms late, in order. */
const delayed = (from, to) => {
  let waiting = 0
  from.on("data", (chunk) => {
    waiting += chunk.length
    if (waiting > MAX_WAITING) from.pause()
    // same delay for every chunk, so timers fire in the order the chunks came
    setTimeout(() => {
      waiting -= chunk.length
      if (!to.destroyed) to.write(chunk)
      if (waiting <= MAX_WAITING / 2 && from.isPaused()) from.resume()
    }, delayMs)
  })
  from.on("end", () => setTimeout(() => to.end(), delayMs))
  from.on("error", () => to.destroy())
  to.on("error", () => from.destroy())
}

const server = net.createServer((client) => {
  client.setNoDelay(true)
  const upstream = net.connect({ host: "127.0.0.1", port: targetPort }, () => upstream.setNoDelay(true))
  delayed(client, upstream)
  delayed(upstream, client)
  client.on("close", () => setTimeout(() => upstream.destroy(), delayMs + 1))
  upstream.on("close", () => setTimeout(() => client.destroy(), delayMs + 1))
})
server.maxConnections = MAX_CONNECTIONS // further ones are closed at once
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`)
})
const stop = () => process.exit(0)
process.stdin.on("end", stop)
process.stdin.on("close", stop)
process.stdin.resume()
setTimeout(stop, maxSeconds * 1000).unref()

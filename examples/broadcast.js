// @ts-check
/**
 * Broadcast: every message a client sends is relayed to every connected
 * client (the sender too), and arrivals and departures are announced.
 *
 * `broadcast(connections, message)` frames the message once and writes the
 * same bytes to every open connection without waiting for any of them. A
 * client that does not keep up (its write buffer is over the high water
 * mark) is skipped rather than allowed to slow down everyone else;
 * `broadcast` returns how many were skipped.
 *
 *   node examples/broadcast.js                  # ws://127.0.0.1:8766
 *
 * Open two clients, e.g. with `npx wscat -c ws://127.0.0.1:8766` if you have
 * it, or with wavesock's `connect()` from a Node REPL, and type in either.
 */
import { broadcast, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8766);

let nextId = 1;

/**
 * Send `message` to everyone and report how many were skipped.
 * @param {string | Uint8Array} message
 */
function relay(message) {
  const skipped = broadcast(server.connections, message);
  const shown = typeof message === "string" ? message : `(${message.length} bytes of binary data)`;
  // Skipped: connections that are closing, or too far behind to take more.
  console.log(`broadcast to ${server.connections.size - skipped} client(s)${skipped ? ` (skipped ${skipped})` : ""}: ${shown}`);
}

/** @param {import("wavesock").Connection} ws */
async function handler(ws) {
  const name = `client-${nextId++}`;
  relay(`${name} joined`);
  try {
    for await (const message of ws) {
      // Text gets the sender's name in front; binary data is relayed as it came.
      relay(typeof message === "string" ? `${name}: ${message}` : message);
    }
  } finally {
    // This connection is closing: broadcast() leaves it out by itself.
    relay(`${name} left`);
  }
}

const server = await serve(handler, { host, port });

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`);

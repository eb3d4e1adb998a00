// @ts-check
/**
 * Echo server: every message a client sends comes straight back to it,
 * text as text and binary as binary.
 *
 *   node examples/echo-server.js                # ws://127.0.0.1:8765
 *   HOST=0.0.0.0 PORT=9000 node examples/echo-server.js
 *
 * Try it with the hello client: `node examples/hello-client.js`.
 */
import { serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8765);

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  const peer = `${ws.remoteAddress}:${ws.remotePort}`;
  console.log(`${peer} connected`);
  try {
    // The loop ends when the client closes the connection normally.
    for await (const message of ws) await ws.send(message);
  } finally {
    console.log(`${peer} disconnected (code ${ws.closeCode})`);
  }
}

const server = await serve(echo, { host, port });

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1); // a second Ctrl+C: don't wait any longer
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close(); // 1001 "going away" to every client, then wait for the handlers
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`);

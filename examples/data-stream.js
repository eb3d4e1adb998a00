// @ts-check
/**
 * A real-time data stream: the server pushes a reading from a (simulated)
 * greenhouse sensor to each client, as JSON, once a second.
 *
 * Each connection runs its own loop: send, wait, send again. `await
 * ws.send()` waits while the client's write buffer is full, so a client that
 * reads slowly slows down its own stream and nobody else's.
 *
 *   node examples/data-stream.js                # ws://127.0.0.1:8769
 *   INTERVAL_MS=100 node examples/data-stream.js
 *
 * A reading looks like:
 *   {"type":"reading","sensor":"greenhouse-1","seq":3,"time":"2025-01-01T12:00:03.000Z",
 *    "temperature":21.84,"humidity":47.2}
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionClosed, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8769);
const intervalMs = Number(process.env.INTERVAL_MS || 1000);

/**
 * The simulated sensor: a slow daily-like swing plus a little noise. The
 * value depends on the time only, so every client sees the same sensor.
 */
function readSensor() {
  const t = Date.now() / 1000;
  const swing = Math.sin((2 * Math.PI * t) / 120); // one "day" every two minutes
  const round = (/** @type {number} */ x, /** @type {number} */ digits) => Number(x.toFixed(digits));
  return {
    sensor: "greenhouse-1",
    temperature: round(21 + 3 * swing + (Math.random() - 0.5) * 0.2, 2),
    humidity: round(50 - 8 * swing + (Math.random() - 0.5) * 0.5, 1),
  };
}

/** @param {import("wavesock").Connection} ws */
async function stream(ws) {
  const peer = `${ws.remoteAddress}:${ws.remotePort}`;
  console.log(`${peer} subscribed`);
  // This stream only talks; still, read (and drop) what the client sends, so
  // that its messages never pile up and its close frame is seen at once.
  const reading = (async () => {
    for await (const _ of ws);
  })().catch(() => undefined);

  let seq = 0;
  try {
    while (ws.state === "open") {
      await ws.send(JSON.stringify({ type: "reading", ...readSensor(), seq: ++seq, time: new Date().toISOString() }));
      // Wait for the next reading, or stop early if the connection closes.
      await Promise.race([sleep(intervalMs, undefined, { ref: false }), ws.closed]);
    }
  } catch (err) {
    // send() throws once the connection is closed: that just ends the stream.
    if (!(err instanceof ConnectionClosed)) throw err;
  }
  await reading;
  console.log(`${peer} unsubscribed after ${seq} reading(s)`);
}

const server = await serve(stream, { host, port });

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
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port} (a reading every ${intervalMs} ms)`);

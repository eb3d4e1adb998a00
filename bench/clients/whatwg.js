// @ts-check
/**
 * A WHATWG-standard `WebSocket` client as the load generator (client rows),
 * the same workload as ./wavesock.js: by default Node's built-in one
 * (undici); with BENCH_WEBSOCKET_MODULE=<specifier>, the `WebSocket` that
 * module exports. Node 20 exposes the built-in only with
 * --experimental-websocket (the runner adds the flag when its own Node lacks
 * the global). `binaryType = "arraybuffer"`: the default, "blob", would make
 * every message a Blob to read asynchronously, which no one who wants speed
 * does.
 *
 *   node --experimental-websocket bench/clients/whatwg.js --url ws://127.0.0.1:PORT/ --conns 50 --size 64 --window 16
 */
import { Meter, makePayload, parseArgs } from "./common.js";

const args = parseArgs();
const payload = makePayload(args.size);
const meter = new Meter(args, payload);

const specifier = process.env["BENCH_WEBSOCKET_MODULE"];
/** @type {typeof WebSocket | undefined} */
const WS = specifier !== undefined ? (await import(specifier)).WebSocket : /** @type {any} */ (globalThis).WebSocket;
if (WS === undefined) {
  console.error(
    specifier !== undefined ? `${specifier} exports no WebSocket`
    : `no global WebSocket in Node ${process.version}: run with --experimental-websocket`,
  );
  process.exit(1);
}

/** @returns {Promise<WebSocket>} */
function open() {
  return new Promise((resolve, reject) => {
    const ws = new /** @type {typeof WebSocket} */ (WS)(args.url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`cannot open ${args.url}`));
  });
}

const connections = await Promise.all(Array.from({ length: args.conns }, open));

for (const ws of connections) {
  ws.onerror = () => meter.fail("error event");
  ws.onmessage = (event) => {
    meter.got(new Uint8Array(/** @type {ArrayBuffer} */ (event.data)));
    if (meter.running) ws.send(payload);
  };
  for (let i = 0; i < args.window; i++) ws.send(payload);
}

await meter.run();
process.exit(0);

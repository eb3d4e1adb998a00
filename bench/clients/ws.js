// @ts-check
/**
 * `ws`'s client as the load generator (client rows), the same workload as
 * ./wavesock.js. With WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1 it runs
 * without its native addons (its masking is then a JS loop). With
 * BENCH_WS_MODULE=<specifier> the same code runs on another implementation
 * of ws's API.
 *
 *   node bench/clients/ws.js --url ws://127.0.0.1:PORT/ --conns 50 --size 64 --window 16
 */
import { Meter, makePayload, parseArgs } from "./common.js";

// $BENCH_WS_MODULE runs this same client on another module with ws's API (e.g. "wavesock/ws").
/** @type {typeof import("ws")} */
const { WebSocket } = await import(process.env["BENCH_WS_MODULE"] ?? "ws");

const args = parseArgs();
const payload = makePayload(args.size);
const meter = new Meter(args, payload);

/** @returns {Promise<import("ws").WebSocket>} */
function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(args.url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

const connections = await Promise.all(Array.from({ length: args.conns }, open));

for (const ws of connections) {
  ws.on("error", (err) => meter.fail(String(err)));
  ws.on("message", (data) => {
    meter.got(data);
    if (meter.running) ws.send(payload);
  });
  for (let i = 0; i < args.window; i++) ws.send(payload);
}

await meter.run();
process.exit(0);

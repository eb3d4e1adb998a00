// @ts-check
/**
 * Bun's built-in WebSocket server under test (an anchor; runs under Bun, not
 * Node: `bench/.anchors/node_modules/.bin/bun bench/servers/bun.js`), the
 * same two servers as ./wavesock.js, set up as
 * /work/shared/anchors/README.md says: compression off, idle timeout off,
 * no automatic pings, limits big enough for every row. The chat room uses
 * Bun's topics (`ws.subscribe` / `server.publish`).
 *
 *   bun bench/servers/bun.js --mode echo|broadcast [--compression off|on|no-takeover] [--port 0]
 *
 * Compression: "takeover" is `{ compress: "dedicated", decompress: "dedicated" }`,
 * "no-takeover" `{ compress: "shared", decompress: "shared" }` (Bun's server is
 * uWS inside: the same two compressors as ./uws.js).
 */
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
/** @type {any} */
const Bun = /** @type {any} */ (globalThis).Bun;
if (Bun === undefined) {
  console.error("bench/servers/bun.js runs under Bun (bench/.anchors/node_modules/.bin/bun), not Node");
  process.exit(1);
}

const compress = args.compression !== null;
const LIMIT = 64 * 1024 * 1024;
const pubsub = args.mode === "broadcast";

const server = Bun.serve({
  hostname: args.host,
  port: args.port,
  /** @param {Request} req @param {any} srv */
  fetch(req, srv) {
    // Only the chat room needs the path (/pub or /sub); echo upgrades everything.
    const data = pubsub ? { pub: new URL(req.url).pathname.startsWith("/pub") } : undefined;
    if (srv.upgrade(req, { data })) return undefined;
    return new Response("WebSocket only", { status: 426 });
  },
  websocket: {
    perMessageDeflate:
      args.compression === null ? false
      : args.compression === "takeover" ? { compress: "dedicated", decompress: "dedicated" }
      : { compress: "shared", decompress: "shared" },
    maxPayloadLength: LIMIT,
    backpressureLimit: LIMIT,
    closeOnBackpressureLimit: false,
    idleTimeout: 0,
    sendPings: false,
    /** @param {any} ws */
    open(ws) {
      if (pubsub && !ws.data.pub) ws.subscribe("room");
    },
    /** @param {any} ws @param {string | Uint8Array} message */
    message(ws, message) {
      if (!pubsub) ws.send(message, compress);
      else if (ws.data.pub) server.publish("room", message, compress);
    },
  },
});

ready(server.port, { impl: "bun", version: Bun.version, mode: args.mode, compression: args.compression });

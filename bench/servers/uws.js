// @ts-check
/**
 * uWebSockets.js under test (an anchor: C++ under a V8 binding, the fastest
 * server a Node user can pick), the same two servers as ./wavesock.js, set
 * up as /work/shared/anchors/README.md says: compression off, idle timeout
 * off, no automatic pings, limits big enough for every row. The chat room
 * uses uWS's topics (`ws.subscribe` / `app.publish`), as its users would.
 * Loaded from bench/.anchors (or $BENCH_ANCHORS): `npm run bench:anchors`.
 *
 *   node bench/servers/uws.js --mode echo|broadcast [--compression off|on|no-takeover] [--port 0]
 *
 * Compression: "takeover" (our default: context takeover, 15-bit windows both
 * ways) is DEDICATED_COMPRESSOR (= _256KB: windowBits 15, memLevel 8, zlib's
 * and ours) | DEDICATED_DECOMPRESSOR (32 KiB window); "no-takeover" is
 * SHARED_COMPRESSOR | SHARED_DECOMPRESSOR (no window kept either way).
 * uWS sends uncompressed unless `send`/`publish` is asked to compress, so the
 * echo asks whenever compression is on.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
const dir = process.env["BENCH_ANCHORS"] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "..", ".anchors");
const require = createRequire(path.join(dir, "package.json"));
/** @type {any} the package ships its own types; the bench does not depend on them */
const uWS = require("@btc-vision/uwebsockets.js");
const version = String(
  JSON.parse(readFileSync(path.join(path.dirname(require.resolve("@btc-vision/uwebsockets.js")), "package.json"), "utf8")).version,
);

const compression =
  args.compression === null ? uWS.DISABLED
  : args.compression === "takeover" ? uWS.DEDICATED_COMPRESSOR | uWS.DEDICATED_DECOMPRESSOR
  : uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR;
const compress = args.compression !== null;
const LIMIT = 64 * 1024 * 1024;
const behaviour = {
  compression,
  maxPayloadLength: LIMIT,
  // send() drops a message once this much is buffered (default 64 KiB: a 1 MiB echo would be dropped)
  maxBackpressure: LIMIT,
  idleTimeout: 0,
  sendPingsAutomatically: false,
};

const app = uWS.App();
if (args.mode === "echo") {
  app.ws("/*", {
    ...behaviour,
    /** @param {any} ws @param {ArrayBuffer} message @param {boolean} isBinary */
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary, compress);
    },
  });
} else {
  app.ws("/pub", {
    ...behaviour,
    /** @param {any} _ws @param {ArrayBuffer} message @param {boolean} isBinary */
    message: (_ws, message, isBinary) => {
      app.publish("room", message, isBinary, compress);
    },
  });
  app.ws("/sub", {
    ...behaviour,
    /** @param {any} ws */
    open: (ws) => ws.subscribe("room"),
  });
}

app.listen(args.host, args.port, (/** @type {unknown} */ listenSocket) => {
  if (!listenSocket) {
    console.error(`uWS: cannot listen on ${args.host}:${args.port}`);
    process.exit(1);
  }
  ready(uWS.us_socket_local_port(listenSocket), {
    impl: "uWS",
    version,
    mode: args.mode,
    compression: args.compression,
    uwsCompression:
      args.compression === null ? "DISABLED"
      : args.compression === "takeover" ? "DEDICATED_COMPRESSOR | DEDICATED_DECOMPRESSOR"
      : "SHARED_COMPRESSOR | SHARED_DECOMPRESSOR",
  });
});

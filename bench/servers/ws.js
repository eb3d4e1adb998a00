// @ts-check
/**
 * `ws` under test, the same two servers as ./wavesock.js, written the way
 * ws's README does. Run it with WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1
 * for "ws plain"; without them ws loads `bufferutil` / `utf-8-validate`
 * when they can be required ("ws+addons"). With BENCH_WS_MODULE=<specifier>
 * the same code runs on another implementation of ws's API.
 *
 *   node bench/servers/ws.js --mode echo|broadcast [--compression off|on|no-takeover] [--port 0]
 */
import { createRequire } from "node:module";
import { parseArgs, ready } from "./control.js";

// $BENCH_WS_MODULE runs this same server on another module with ws's API (e.g. "wavesock/ws").
const wsModule = process.env["BENCH_WS_MODULE"] ?? "ws";
/** @type {typeof import("ws")} */
const { WebSocketServer } = await import(wsModule);

const args = parseArgs();
const require = createRequire(import.meta.url);

/** @param {string} name */
function loadable(name) {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}

const wss = new WebSocketServer({
  host: args.host,
  port: args.port,
  perMessageDeflate:
    args.compression === null ? false
    : args.compression === "takeover" ? true
    : { serverNoContextTakeover: true, clientNoContextTakeover: true },
  maxPayload: 64 * 1024 * 1024,
});

/** @type {Set<import("ws").WebSocket>} */
const subscribers = new Set();

wss.on("connection", (ws, req) => {
  ws.on("error", () => {});
  if (args.mode === "echo") {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  } else if ((req.url ?? "").startsWith("/pub")) {
    ws.on("message", (data, isBinary) => {
      for (const client of subscribers) {
        if (client.readyState === client.OPEN) client.send(data, { binary: isBinary });
      }
    });
  } else {
    subscribers.add(ws);
    ws.on("close", () => subscribers.delete(ws));
  }
});

wss.on("listening", () => {
  const address = wss.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  ready(port, {
    impl: wsModule,
    mode: args.mode,
    compression: args.compression,
    bufferutil: !process.env["WS_NO_BUFFER_UTIL"] && loadable("bufferutil"),
    utf8validate: !process.env["WS_NO_UTF_8_VALIDATE"] && loadable("utf-8-validate"),
  });
});

// @ts-check
/**
 * wavesock under test with the callback-style handler, `serve({ open,
 * message, close })` (the README's "Callbacks" section): the same echo and
 * chat room as ./wavesock.js, with no async function per connection and no
 * promise per message — the shape uWS's and Bun's servers have.
 *
 *   node bench/servers/wavesock-callbacks.js --mode echo|broadcast [--compression off|takeover|no-takeover] [--port 0]
 */
import { serve, broadcast } from "wavesock";
import { parseArgs, ready } from "./control.js";
import { wavesockOptions } from "./wavesock-options.js";

const args = parseArgs();

/** @type {Set<import("wavesock").Connection>} */
const subscribers = new Set();

/** @type {import("wavesock").ConnectionHandlers} */
const echo = {
  message(ws, data) {
    void ws.send(data);
  },
};

/** @type {import("wavesock").ConnectionHandlers} */
const room = {
  open(ws) {
    if (!ws.request.path.startsWith("/pub")) subscribers.add(ws);
  },
  message(ws, data) {
    if (ws.request.path.startsWith("/pub")) broadcast(subscribers, data);
  },
  close(ws) {
    subscribers.delete(ws);
  },
};

const server = await serve(args.mode === "echo" ? echo : room, wavesockOptions(args));

ready(server.port, { impl: "wavesock cb", mode: args.mode, compression: args.compression });

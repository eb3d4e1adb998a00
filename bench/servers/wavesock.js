// @ts-check
/**
 * wavesock under test: an echo server (every message sent back as received,
 * text as text, binary as binary) or a broadcast server (what a connection on
 * /pub sends goes to every connection on /sub, framed once by `broadcast`).
 * Written the way the README tells users to write them.
 *
 *   node bench/servers/wavesock.js --mode echo|broadcast [--compression off|on|no-takeover] [--port 0]
 */
import { serve, broadcast } from "wavesock";
import { parseArgs, ready } from "./control.js";
import { wavesockOptions } from "./wavesock-options.js";

const args = parseArgs();

/** @type {Set<import("wavesock").Connection>} */
const subscribers = new Set();

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  for await (const message of ws) await ws.send(message);
}

/** @param {import("wavesock").Connection} ws */
async function room(ws) {
  if (ws.request.path.startsWith("/pub")) {
    for await (const message of ws) broadcast(subscribers, message);
  } else {
    subscribers.add(ws);
    try {
      for await (const _ of ws); // subscribers only listen
    } finally {
      subscribers.delete(ws);
    }
  }
}

const server = await serve(args.mode === "echo" ? echo : room, wavesockOptions(args));

ready(server.port, { impl: "wavesock", mode: args.mode, compression: args.compression });

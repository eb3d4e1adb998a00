// @ts-check
/**
 * wavesock's topics under test: the chat room of the broadcast rows (what a
 * connection on /pub sends goes to every connection on /sub) written with the
 * topics API, as docs/pubsub.md tells users to: subscribers
 * `ws.subscribe("room")`, the publisher's messages go out with
 * `server.publish("room", message)` (framed once, written to every
 * subscriber). The same shape as uWS's and Bun's rooms (servers/uws.js,
 * servers/bun.js), which use their topics.
 *
 * With --redis URL the topics are shared with the other processes through
 * `redisPubSub` (the fanout rows, lib/fanout.js): process A's publish reaches
 * B's subscribers through redis-server, A's own after Redis hands it back.
 *
 *   node bench/servers/wavesock-topics.js --mode broadcast [--redis redis://127.0.0.1:P] [--port 0]
 *
 * Limits as in the other bench servers: 64 MiB messages, and 64 MiB waiting
 * per subscriber before the slow-subscriber policy skips one (uWS's
 * `maxBackpressure` and Bun's `backpressureLimit` are set the same).
 */
import { redisPubSub, serve } from "wavesock";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
if (args.mode !== "broadcast") throw new Error("wavesock-topics.js implements --mode broadcast only");
if (args.compression !== null) throw new Error("wavesock-topics.js runs without compression only");
const redisAt = process.argv.indexOf("--redis");
const redisUrl = redisAt >= 0 ? process.argv[redisAt + 1] : undefined;
const LIMIT = 64 * 1024 * 1024;

/** The channel prefix; lib/fanout.js counts the subscriptions to `${PREFIX}{room}` before publishing. */
const PREFIX = "bench:";
const pubsub = redisUrl === undefined ? undefined : redisPubSub({ url: redisUrl, prefix: PREFIX });

/** @type {import("wavesock").Server} */
const server = await serve(
  async (ws) => {
    if (ws.request.path.startsWith("/pub")) {
      for await (const message of ws) server.publish("room", message);
    } else {
      ws.subscribe("room");
      for await (const _ of ws); // subscribers only listen
    }
  },
  {
    host: args.host,
    port: args.port,
    compression: null,
    pingInterval: null,
    maxSize: LIMIT,
    logger: null,
    topics: { maxBackpressure: LIMIT },
    ...(pubsub === undefined ? {} : { pubsub }),
  },
);
if (pubsub !== undefined) {
  await pubsub.ready();
  // Redis going away mid-cell would make the figure meaningless: say so where the runner keeps stderr.
  pubsub.on("disconnected", (err) => console.error(`wavesock-topics: Redis disconnected: ${err.message}`));
}

ready(server.port, { impl: "wavesock topics", mode: args.mode, compression: args.compression, backplane: pubsub === undefined ? "in-process" : "redis", channel: `${PREFIX}{room}` });

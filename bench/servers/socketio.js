// @ts-check
/**
 * socket.io 4 under test (the fanout rows, lib/fanout.js): the same chat room
 * as servers/wavesock-topics.js, the socket.io way. Sockets whose handshake
 * says `role=sub` join the room "room"; an event "m" from the publisher
 * (`role=pub`) goes to the room with `io.to("room").emit("m", data)`. With
 * --redis URL the room is shared with the other processes through
 * `@socket.io/redis-adapter` (its documented set-up: a node-redis client
 * and a duplicate for subscribing).
 *
 *   node bench/servers/socketio.js --mode broadcast --redis redis://127.0.0.1:P [--port 0]
 *
 * websocket transport only (no HTTP long-polling: the generator speaks
 * engine.io's websocket framing, loadgen --eio), permessage-deflate off,
 * engine.io's own heartbeat left on (pings every 25 s, which the generator
 * answers), `maxHttpBufferSize` 64 MiB like the other servers' limits.
 */
import http from "node:http";
import { createRequire } from "node:module";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { parseArgs, ready } from "./control.js";

const args = parseArgs();
if (args.mode !== "broadcast") throw new Error("socketio.js implements --mode broadcast only");
if (args.compression !== null) throw new Error("socketio.js runs without compression only");
const redisAt = process.argv.indexOf("--redis");
const redisUrl = redisAt >= 0 ? process.argv[redisAt + 1] : undefined;

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 64 * 1024 * 1024,
});
if (redisUrl !== undefined) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (/** @type {Error} */ err) => console.error(`socketio: Redis: ${err.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}
io.on("connection", (socket) => {
  if (socket.handshake.query["role"] === "pub") {
    socket.on("m", (/** @type {unknown} */ data) => {
      io.to("room").emit("m", data);
    });
  } else {
    void socket.join("room");
  }
});
await new Promise((resolve) => httpServer.listen(args.port, args.host, () => resolve(undefined)));
const address = /** @type {import("node:net").AddressInfo} */ (httpServer.address());
const require = createRequire(import.meta.url);
const version = `socket.io ${require("socket.io/package.json").version}, @socket.io/redis-adapter ${require("@socket.io/redis-adapter/package.json").version}`;

ready(address.port, {
  impl: "socket.io",
  version,
  mode: args.mode,
  adapter: redisUrl === undefined ? "in-memory" : "@socket.io/redis-adapter",
  // the redis-adapter's own subscriptions, which lib/fanout.js counts before publishing
  channel: "socket.io-request#/#",
});

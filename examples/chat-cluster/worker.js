// @ts-check
/**
 * One worker of examples/chat-cluster: the chat room of examples/chat — the
 * same room.js, page and JSON protocol — with the room's topic carried by
 * Redis (`redisPubSub`, history in a Redis Stream) and its seats in Redis
 * (./seats.js), so that every worker serves one room:
 *
 * - a message said on any worker reaches every member on every worker, once,
 *   with an id from the Stream that means the same on every worker;
 * - a page that comes back — on this worker or another — with the id it saw
 *   last gets what it missed (`ws.resume`, 500 events, 10 minutes);
 * - names are unique in the whole room, and a page's token takes its seat back
 *   from a connection another worker still holds (that worker drops it);
 * - "online" counts everyone on every worker; the welcome says which worker
 *   serves you.
 *
 * Environment: as examples/chat/server.js (HOST, PORT, ORIGINS, MAX_MEMBERS,
 * MAX_CONNECTIONS), plus REDIS_URL and WORKER_INDEX (set by main.js) and
 * SEAT_TTL_MS (default 30 000: how long the seats of a worker that died stay
 * taken).
 */
import process from "node:process";
import { createClient } from "redis";
import { redisPubSub, serve } from "wavesock";
import { HISTORY, ROOM, chatRoom } from "../chat/room.js";
import { redisSeats } from "./seats.js";
import { positiveInteger, originsFromEnv } from "../chat/env.js";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8000);
const url = /** @type {string} */ (process.env.REDIS_URL);
const worker = Number(process.env.WORKER_INDEX || 1);
const origins = originsFromEnv();
const MAX_MEMBERS = positiveInteger("MAX_MEMBERS", 100);
const MAX_CONNECTIONS = positiveInteger("MAX_CONNECTIONS", 1000);
const SEAT_TTL_MS = positiveInteger("SEAT_TTL_MS", 30_000);

/** @param {string} line */
const log = (line) => console.log(`worker ${worker}: ${line}`);

const pubsub = redisPubSub({ url, history: HISTORY });
pubsub.on("disconnected", (err) => log(`Redis unavailable (${err.message}); this worker's members still hear each other`));
pubsub.on("connected", () => log("Redis connected"));

// Seats and the history's newest id. No offline queue: while Redis is away a
// join is refused at once ("unavailable") rather than left waiting.
const redis = createClient({ url, disableOfflineQueue: true });
redis.on("error", () => undefined); // the backplane and the seat registry report outages
await redis.connect();

/** The topic's Stream, as redisPubSub names it (docs/pubsub.md: prefix "wavesock:", `history:{topic}`). */
const STREAM = `wavesock:history:{${ROOM}}`;

/** The id of the newest room event in the Stream: one entry read, not the whole history. */
async function latestId() {
  const newest = /** @type {[string, string[]][]} */ (await redis.sendCommand(["XREVRANGE", STREAM, "+", "-", "COUNT", "1"]));
  return newest[0]?.[0] ?? null;
}

const room = chatRoom({
  pubsub,
  seats: redisSeats({ client: redis, ttl: SEAT_TTL_MS, log }),
  maxMembers: MAX_MEMBERS,
  origins,
  label: `worker ${worker}`,
  log,
  latestId,
});
const server = await serve(room.handler, { host, port, maxConnections: MAX_CONNECTIONS, ...room.options });
await room.start(server);
await pubsub.ready().catch(() => undefined);

let stopping = false;
process.on("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  await server.close(); // 1001 to every page; their seats are freed, their leaves announced
  await room.close();
  redis.destroy();
  process.exit(0);
});
process.on("SIGINT", () => undefined); // the primary decides
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
process.send?.({ listening: `http://${address}/ (WebSocket: ws://${address}/chat)` });
console.log(`worker ${worker} (pid ${process.pid}) serving ${address}`);

// @ts-check
/**
 * One worker of examples/chat-cluster: the chat room of examples/chat (same
 * page, same JSON protocol), with the room as a topic carried by Redis.
 *
 * On top of the single-process room:
 * - every chat message carries an `id` (the `topics.envelope` adds it), and
 *   a page that sends the last id it saw when it joins again —
 *   `{"type":"join","name":"ada","since":"1700000000000-0"}` — first gets
 *   what it missed (`ws.resume`), so a dropped connection loses nothing
 *   within the history (500 messages, 10 minutes);
 * - "online" counts everyone on every worker (a Redis hash, one field per worker);
 * - the welcome says which worker serves you.
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { createClient } from "redis";
import { redisPubSub, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8000);
const url = /** @type {string} */ (process.env.REDIS_URL);
const worker = Number(process.env.WORKER_INDEX || 1);
const ROOM = "chat";
const ONLINE = "wavesock-chat:online";

// The page is examples/chat's, served from there by path (not a copy).
const PAGE = new URL("../chat/", import.meta.url);
const FILES = new Map([
  ["/", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/index.html", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/chat.js", { file: "chat.js", type: "text/javascript; charset=utf-8" }],
  ["/chat.css", { file: "chat.css", type: "text/css; charset=utf-8" }],
]);
const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
};

/**
 * @param {import("wavesock").PendingConnection} connection
 * @param {import("wavesock").HttpRequest} request
 * @returns {Promise<import("wavesock").HttpResponse | undefined>}
 */
async function processRequest(connection, request) {
  const path = request.path.split("?", 1)[0] ?? "";
  if (path === "/chat") {
    const origin = request.headers["origin"];
    if (origin !== undefined && safeHost(origin) !== request.headers["host"]) return connection.respond(403, "Forbidden: cross-origin WebSocket\n");
    return undefined;
  }
  const entry = FILES.get(path);
  if (entry === undefined) return connection.respond(404, "Not Found\n");
  if (request.method !== "GET") return connection.respond(405, "Method Not Allowed\n", { allow: "GET" });
  const body = await readFile(new URL(entry.file, PAGE));
  return { status: 200, reason: "OK", headers: { "content-type": entry.type, "cache-control": "no-cache", ...SECURITY_HEADERS }, body };
}

/** @param {string} origin */
function safeHost(origin) {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------- Redis

const pubsub = redisPubSub({ url, history: { maxCount: 500, maxAge: 600_000 } });
pubsub.on("disconnected", (err) => console.log(`worker ${worker}: Redis unavailable (${err.message}); this worker's clients still hear each other`));
pubsub.on("connected", () => console.log(`worker ${worker}: Redis connected`));

const counter = createClient({ url });
counter.on("error", () => undefined); // the backplane reports outages
await counter.connect();
const field = `${worker}:${process.pid}`;
let localOnline = 0;

/** Everyone online on every worker. */
async function online() {
  try {
    const counts = await counter.hVals(ONLINE);
    return counts.reduce((sum, n) => sum + Number(n), 0);
  } catch {
    return localOnline;
  }
}

/** @param {number} delta */
async function changeOnline(delta) {
  localOnline += delta;
  await counter.hSet(ONLINE, field, localOnline).catch(() => undefined);
}

// -------------------------------------------------------------------- room

/** @param {Record<string, unknown>} fields */
async function system(fields) {
  return JSON.stringify({ type: "system", ...fields, online: await online(), time: new Date().toISOString() });
}

/**
 * The message's JSON with its id first — the envelope runs once per message
 * per worker, on every worker alike.
 * @param {string | Uint8Array} message
 * @param {{ id: string | null }} meta
 */
function envelope(message, { id }) {
  if (typeof message !== "string" || id === null) return message;
  return `{"id":${JSON.stringify(id)},${message.slice(1)}`;
}

/** @param {unknown} value @param {number} max */
function clean(value, max) {
  if (typeof value !== "string") return "";
  // eslint-disable-next-line no-control-regex
  return [...value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim()].slice(0, max).join("");
}

/** @param {string | Uint8Array} raw @returns {Record<string, unknown> | null} */
function parse(raw) {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/** @param {import("wavesock").Connection} ws */
async function chat(ws) {
  /** @type {string | null} */
  let name = null;
  await ws.send(await system({ worker }));
  try {
    for await (const raw of ws) {
      const message = parse(raw);
      if (message === null) {
        await ws.send(await system({ text: "Messages must be JSON objects." }));
      } else if (name === null) {
        const wanted = message["type"] === "join" ? clean(message["name"], 32).replace(/\s+/g, " ") : "";
        if (wanted === "") {
          await ws.send(await system({ text: "Pick a name first." }));
          continue;
        }
        name = wanted;
        await changeOnline(+1);
        const since = typeof message["since"] === "string" ? message["since"] : null;
        if (since !== null && /^\d+-\d+$/.test(since)) {
          const { replayed, complete } = await ws.resume(ROOM, since);
          const text = complete ? `Welcome back, ${name}: ${replayed} message(s) you missed.` : `Welcome back, ${name}: some messages may be missing.`;
          await ws.send(await system({ text, worker }));
        } else {
          ws.subscribe(ROOM);
          await ws.send(await system({ text: `Welcome, ${name}! Worker ${worker} serves you.`, worker }));
        }
        server.publish(ROOM, await system({ event: "join", name, text: `${name} joined` }));
      } else if (message["type"] === "message") {
        const text = clean(message["text"], 2000);
        if (text !== "") server.publish(ROOM, JSON.stringify({ type: "message", name, text, time: new Date().toISOString(), worker }));
      }
    }
  } finally {
    if (name !== null) {
      await changeOnline(-1);
      if (server.connections.size > 0 || pubsub.connected) server.publish(ROOM, await system({ event: "leave", name, text: `${name} left` }));
    }
  }
}

const server = await serve(chat, { host, port, processRequest, maxSize: 16 * 1024, pubsub, topics: { envelope } });
await pubsub.ready().catch(() => undefined);

let stopping = false;
process.on("SIGTERM", async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  await counter.hDel(ONLINE, field).catch(() => undefined);
  counter.destroy();
  process.exit(0);
});
process.on("SIGINT", () => undefined); // the primary decides
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
process.send?.({ listening: `http://${address}/ (WebSocket: ws://${address}/chat)` });
console.log(`worker ${worker} (pid ${process.pid}) serving ${address}`);

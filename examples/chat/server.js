// @ts-check
/**
 * A chat room: one port serves the web page and the WebSocket endpoint.
 *
 *   npm start                                   # builds, then runs this file
 *   node examples/chat/server.js                # http://127.0.0.1:8000/
 *   HOST=0.0.0.0 PORT=8080 node examples/chat/server.js
 *
 * Open http://127.0.0.1:8000/ in two browser windows, pick a name in each
 * and talk.
 *
 * Environment:
 *   HOST, PORT    where to listen (default 127.0.0.1:8000; PORT=0 picks a free port)
 *   ORIGINS       comma-separated origins whose pages may connect, e.g.
 *                 `https://chat.example.com` behind a proxy that rewrites `Host`.
 *                 Default: a page must come from the host it connects to.
 *   MAX_MEMBERS   most people in the room at once (default 100)
 *   MAX_CONNECTIONS  most connections at once, HTTP or WebSocket, joined or not
 *                 (default 1000); more are answered 503 and the page retries later
 *
 * HTTP, answered by `processRequest` before any WebSocket handshake:
 *   GET /, /chat.js, /chat.css  -> the page and its files (this directory)
 *   /chat, WebSocket upgrade    -> joins the room, or 403 for a page from another origin
 *   /chat, anything else        -> 403 as above, or 426 Upgrade Required. Browsers hide
 *                                  why a WebSocket handshake failed, so the page asks
 *                                  this way (a POST, which carries its Origin) and can
 *                                  tell a refusal from a server it cannot reach.
 *   anything else               -> 404
 *
 * ---------------------------------------------------------------- wire format
 * The room speaks JSON objects in text messages, one per message.
 *
 * From a client:
 *   {"type":"join","name":"ada"}                   take a seat under a name
 *   {"type":"join","name":"ada","token":"…"}       take your seat back after reconnecting
 *   {"type":"message","text":"hello"}              say something (after joining)
 *
 * From the server, to one client only (no `id`):
 *   {"type":"joined","member":"Jx3…","name":"ada","token":"…","online":2,"members":["bob"],
 *    "epoch":"q9…","lastId":41,"rejoined":false,"text":"Welcome, ada! Also here: bob.","time":"…"}
 *     `member`  your identity in the room: room events you caused carry it as `from`
 *               (names are for people; this is how a client recognises its own messages)
 *     `token`   a secret: send it with a later join to take this seat (same name, same
 *               `member`) back, even while the server still holds your old connection
 *     `name`    the name as the server tidied it
 *     `epoch`   this run of the server: ids from one run mean nothing in another
 *     `lastId`  the id of the last room event before you joined (0: none yet)
 *   {"type":"error","code":"…","text":"…"}   a request refused; the connection stays open.
 *     code: "name-empty" | "name-taken" | "room-full" | "already-joined" | "not-joined"
 *           | "not-json" | "unknown-type"; `text` says it for a person.
 *
 * From the server, to everyone in the room (room events):
 *   {"type":"message","id":42,"from":"Jx3…","name":"ada","text":"hello","time":"…"}
 *   {"type":"system","id":43,"event":"join","from":"K2a…","name":"bob","text":"bob joined","online":3,"time":"…"}
 *   {"type":"system","id":44,"event":"leave","from":"K2a…","name":"bob","text":"bob left","online":2,"time":"…"}
 *   `id`: one increasing integer sequence (from 1) for every room event in this epoch,
 *   so that a client can say which was the last one it saw. `time`: ISO 8601, UTC.
 *
 * Names are unique in the room, ignoring case. Messages are cut to 2000
 * characters and names to 32; control characters are dropped.
 *
 * Close codes from the server: 1001 going away (shutdown: reconnect later),
 * 1009 a message over 16 KiB, 4000 replaced (the same seat was taken back by
 * a newer connection: don't reconnect, or the two would take turns).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { broadcast, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8000);
const allowedOrigins = (process.env.ORIGINS || "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const MAX_MEMBERS = positiveInteger("MAX_MEMBERS", 100);
const MAX_CONNECTIONS = positiveInteger("MAX_CONNECTIONS", 1000);

/**
 * @param {string} name  an environment variable
 * @param {number} fallback  its value when unset
 */
function positiveInteger(name, fallback) {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

const MAX_NAME = 32;
const MAX_TEXT = 2000;
/** Close code (private use, RFC 6455 §7.4.2) for a connection whose seat a newer one took. */
const REPLACED = 4000;

// ------------------------------------------------------------ static files

/** The only files served, so no request path can reach anything else on disk. */
const FILES = new Map([
  ["/", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/index.html", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/chat.js", { file: "chat.js", type: "text/javascript; charset=utf-8" }],
  ["/chat.css", { file: "chat.css", type: "text/css; charset=utf-8" }],
]);

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Scripts, styles and the WebSocket only from this server; no inline code.
  "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
};

/**
 * Why a request from this `Origin` may not use the room, or null if it may.
 * Browsers let any page open a WebSocket to any host, cookies included, so
 * a server that trusts its users' browsers must check where the page came
 * from. Non-browser clients send no Origin: let them in.
 * @param {import("wavesock").HttpRequest} request
 * @returns {string | null}
 */
function originRefusal(request) {
  const origin = request.headers["origin"];
  if (origin === undefined) return null;
  if (allowedOrigins.length > 0) {
    return allowedOrigins.includes(origin) ? null : `pages from ${origin} may not join this chat (allowed: ${allowedOrigins.join(", ")})`;
  }
  let sameHost = false;
  try {
    sameHost = new URL(origin).host === request.headers["host"];
  } catch {
    // not a URL: refused below
  }
  return sameHost ? null : `pages from ${origin} may not join this chat (it only takes pages it served itself)`;
}

/**
 * @param {import("wavesock").PendingConnection} connection
 * @param {import("wavesock").HttpRequest} request
 * @returns {Promise<import("wavesock").HttpResponse | undefined>}
 */
async function processRequest(connection, request) {
  const path = request.path.split("?", 1)[0];
  if (path === "/chat") {
    const upgrade = /\bwebsocket\b/i.test(request.headers["upgrade"] ?? "");
    const refusal = originRefusal(request);
    if (refusal !== null) {
      console.log(`refused ${upgrade ? "a WebSocket" : "a request"}: ${refusal}`);
      return connection.respond(403, `Forbidden: ${refusal}\n`, SECURITY_HEADERS);
    }
    if (!upgrade) {
      // RFC 9110 §15.5.22: "The server MUST send an Upgrade header field in a 426 response".
      return connection.respond(426, "This is the chat's WebSocket endpoint: connect with a WebSocket.\n", {
        upgrade: "websocket",
        ...SECURITY_HEADERS,
      });
    }
    return undefined; // go on with the WebSocket handshake
  }
  const entry = FILES.get(path ?? "");
  if (entry === undefined) return connection.respond(404, "Not Found\n");
  if (request.method !== "GET" && request.method !== "HEAD") {
    return connection.respond(405, "Method Not Allowed\n", { allow: "GET, HEAD" });
  }
  const body = await readFile(new URL(entry.file, import.meta.url));
  /** @type {Record<string, string>} */
  const headers = { "content-type": entry.type, "cache-control": "no-cache", ...SECURITY_HEADERS };
  if (request.method === "HEAD") return { status: 200, reason: "OK", headers: { ...headers, "content-length": String(body.length) } };
  return { status: 200, reason: "OK", headers, body };
}

// -------------------------------------------------------------------- room

/**
 * A seat in the room: a name held by one connection at a time. A page that
 * reconnects takes its seat back with the token, so a connection the server
 * has not yet noticed is dead (a laptop that lost its Wi-Fi) does not keep
 * the name from its owner.
 * @typedef {object} Seat
 * @property {string} member  public identity, sent as `from`
 * @property {string} name
 * @property {string} token   secret, sent to this member only
 * @property {import("wavesock").Connection} ws  the connection that holds it now
 * @property {number} missed  room events not sent because the member was not keeping up
 * @property {boolean} announced  whether the room was told of the join (so it must be told of the leave)
 */

/** This run of the server. */
const epoch = randomBytes(6).toString("base64url");
/** The id of the last room event. */
let lastId = 0;
/** Seats by `nameKey(name)`. */
/** @type {Map<string, Seat>} */
const seats = new Map();
/** The seat each connection holds. */
/** @type {Map<import("wavesock").Connection, Seat>} */
const members = new Map();

/** Names compare equal ignoring case and Unicode normalisation. @param {string} name */
const nameKey = (name) => name.normalize("NFKC").toLowerCase();

/** @param {string} a @param {string} b */
function sameSecret(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Send a room event, stamped with the next id and the time, to every
 * member at once.
 *
 * `broadcast` frames the message once and never waits for anyone. A member
 * whose write buffer is over its high water mark (a peer that has stopped
 * reading) is left out here until it catches up, so that a slow reader
 * never holds the others back; it is logged once when it falls behind and
 * once when it catches up. Members whose connection is closing are left out
 * silently: their departure is announced as soon as their handler ends.
 * @param {Record<string, unknown>} event
 */
function toRoom(event) {
  const message = JSON.stringify({ ...event, id: ++lastId, time: new Date().toISOString() });
  /** @type {import("wavesock").Connection[]} */
  const ready = [];
  for (const [ws, seat] of members) {
    if (ws.state !== "open") continue;
    if (ws.bufferedAmount > ws.writeHighWaterMark) {
      if (seat.missed++ === 0) {
        console.log(`${seat.name} is not keeping up (${Math.round(ws.bufferedAmount / 1024)} KiB unsent): skipping them until they catch up`);
      }
      continue;
    }
    if (seat.missed > 0) {
      console.log(`${seat.name} caught up after missing ${seat.missed} message(s)`);
      seat.missed = 0;
    }
    ready.push(ws);
  }
  broadcast(ready, message);
}

/**
 * A message to this client only.
 * @param {import("wavesock").Connection} ws
 * @param {Record<string, unknown>} fields
 */
function reply(ws, fields) {
  return ws.send(JSON.stringify({ ...fields, time: new Date().toISOString() }));
}

/**
 * @param {import("wavesock").Connection} ws
 * @param {string} code
 * @param {string} text
 */
function refuse(ws, code, text) {
  return ws.send(JSON.stringify({ type: "error", code, text }));
}

/**
 * The message as an object, or null if it is not a JSON object.
 * @param {string | Uint8Array} raw
 * @returns {Record<string, unknown> | null}
 */
function parse(raw) {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * A string with control characters removed and whitespace trimmed, cut to `max` characters.
 * @param {unknown} value
 * @param {number} max
 */
function clean(value, max) {
  if (typeof value !== "string") return "";
  // eslint-disable-next-line no-control-regex
  return [...value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim()].slice(0, max).join("");
}

/**
 * Seat this connection under the name it asks for, or say why not.
 * @param {import("wavesock").Connection} ws
 * @param {Record<string, unknown>} message
 * @returns {Promise<void>}
 */
async function join(ws, message) {
  const name = clean(message["name"], MAX_NAME).replace(/\s+/g, " ");
  if (name === "") {
    await refuse(ws, "name-empty", "Pick a name first: it can't be empty.");
    return;
  }
  const key = nameKey(name);
  const held = seats.get(key);
  const token = message["token"];
  if (held !== undefined && typeof token === "string" && sameSecret(token, held.token)) {
    // The same page, back on a new connection: move the seat over and drop
    // the old connection (most often one whose peer vanished), quietly.
    const old = held.ws;
    members.delete(old);
    held.ws = ws;
    held.missed = 0;
    members.set(ws, held);
    old.fail(REPLACED, "replaced by a newer connection");
    console.log(`${held.name} is back (${members.size} online)`);
    await reply(ws, welcome(held, true));
    return;
  }
  if (held !== undefined) {
    await refuse(ws, "name-taken", `The name ${held.name} is taken: pick another one.`);
    return;
  }
  if (members.size >= MAX_MEMBERS) {
    await refuse(ws, "room-full", `The room is full (${MAX_MEMBERS} people): try again in a while.`);
    return;
  }
  /** @type {Seat} */
  const seat = { member: randomBytes(9).toString("base64url"), name, token: randomBytes(18).toString("base64url"), ws, missed: 0, announced: false };
  // Taken before anything is awaited, so that two joins cannot both get the name.
  seats.set(key, seat);
  members.set(ws, seat);
  console.log(`${name} joined (${members.size} online)`);
  await reply(ws, welcome(seat, false));
  seat.announced = true;
  toRoom({ type: "system", event: "join", from: seat.member, name, text: `${name} joined`, online: members.size });
}

/**
 * The `joined` reply.
 * @param {Seat} seat
 * @param {boolean} rejoined
 */
function welcome(seat, rejoined) {
  const others = [...members.values()].filter((s) => s !== seat).map((s) => s.name);
  const text = rejoined
    ? `Welcome back, ${seat.name}!`
    : others.length > 0
      ? `Welcome, ${seat.name}! Also here: ${others.join(", ")}.`
      : `Welcome, ${seat.name}! You are the first one here.`;
  return { type: "joined", member: seat.member, name: seat.name, token: seat.token, online: members.size, members: others, epoch, lastId, rejoined, text };
}

/** @param {import("wavesock").Connection} ws */
async function chat(ws) {
  try {
    for await (const raw of ws) {
      const message = parse(raw);
      // Looked up each time: a newer connection may have taken the seat over.
      const seat = members.get(ws);
      if (message === null) {
        await refuse(ws, "not-json", "Messages must be JSON objects.");
      } else if (message["type"] === "join") {
        if (seat === undefined) await join(ws, message);
        else await refuse(ws, "already-joined", `You are already in the room as ${seat.name}.`);
      } else if (message["type"] === "message") {
        if (seat === undefined) {
          await refuse(ws, "not-joined", "Pick a name first.");
          continue;
        }
        const text = clean(message["text"], MAX_TEXT);
        if (text === "") continue;
        console.log(`${seat.name}: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}`);
        toRoom({ type: "message", from: seat.member, name: seat.name, text });
      } else {
        await refuse(ws, "unknown-type", `Unknown message type ${JSON.stringify(message["type"])}.`);
      }
    }
  } finally {
    // Leave, unless a newer connection took the seat over.
    const seat = members.get(ws);
    if (seat !== undefined) {
      members.delete(ws);
      seats.delete(nameKey(seat.name));
      console.log(`${seat.name} left (${members.size} online)`);
      // (A connection lost before its join was announced leaves quietly too.)
      if (seat.announced) {
        toRoom({ type: "system", event: "leave", from: seat.member, name: seat.name, text: `${seat.name} left`, online: members.size });
      }
    }
  }
}

// ------------------------------------------------------------------ server

const server = await serve(chat, {
  host,
  port,
  processRequest,
  maxSize: 16 * 1024, // chat messages are short (the page's 2000 characters stay under this)
  maxConnections: MAX_CONNECTIONS,
  pingInterval: 20_000, // keepalive: notice vanished browsers within ~40 s
});

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close(); // 1001 going away: the pages will try to reconnect
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
console.log(`listening on http://${address}/ (WebSocket: ws://${address}/chat)`);

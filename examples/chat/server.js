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
 * HTTP, answered by `processRequest` before any WebSocket handshake:
 *   GET /, /chat.js, /chat.css  -> the page and its files (this directory)
 *   anything else but /chat     -> 404
 *   /chat                       -> WebSocket upgrade: joins the room
 *
 * The room speaks JSON. From the browser:
 *   {"type":"join","name":"ada"}                first, to pick a name
 *   {"type":"message","text":"hello"}           then, to talk
 * From the server, to everyone in the room:
 *   {"type":"message","name":"ada","text":"hello","time":"2025-01-01T12:00:00.000Z"}
 *   {"type":"system","event":"join","name":"ada","text":"ada joined","online":2,"time":"..."}
 *   {"type":"system","event":"leave",...}
 * and to one client only:
 *   {"type":"system","online":2,"time":"..."}  on connecting, before the join
 *   {"type":"system","text":"...","online":2,"time":"..."}  a welcome, or why a message was refused
 */
import { readFile } from "node:fs/promises";
import { broadcast, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8000);

const MAX_NAME = 32;
const MAX_TEXT = 2000;

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
 * True when a browser's `Origin` names this very server. Browsers let any
 * page open a WebSocket to any host, cookies included, so a server that
 * trusts its users' browsers must check where the page came from.
 * @param {string} origin
 * @param {string | undefined} hostHeader
 */
function sameOrigin(origin, hostHeader) {
  try {
    return new URL(origin).host === hostHeader;
  } catch {
    return false;
  }
}

/**
 * @param {import("wavesock").PendingConnection} connection
 * @param {import("wavesock").HttpRequest} request
 * @returns {Promise<import("wavesock").HttpResponse | undefined>}
 */
async function processRequest(connection, request) {
  const path = request.path.split("?", 1)[0];
  if (path === "/chat") {
    const origin = request.headers["origin"];
    // Non-browser clients send no Origin: let them in.
    if (origin !== undefined && !sameOrigin(origin, request.headers["host"])) {
      console.log(`refused a WebSocket from origin ${origin}`);
      return connection.respond(403, "Forbidden: cross-origin WebSocket\n");
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

/** The members of the room (connections that joined) and their names. */
/** @type {Map<import("wavesock").Connection, string>} */
const members = new Map();

/**
 * A system message (join, leave, welcome...) as JSON.
 * @param {Record<string, unknown>} fields
 */
function system(fields) {
  return JSON.stringify({ type: "system", ...fields, online: members.size, time: new Date().toISOString() });
}

/**
 * Send to every member at once. `broadcast` frames the message once and
 * never waits for a slow member: one that is far behind is skipped.
 * @param {string} message
 */
function toRoom(message) {
  const skipped = broadcast(members.keys(), message);
  if (skipped > 0) console.log(`skipped ${skipped} slow member(s)`);
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

/** @param {import("wavesock").Connection} ws */
async function chat(ws) {
  /** @type {string | null} */
  let name = null;
  await ws.send(system({})); // the online count, for the page to show before joining
  try {
    for await (const raw of ws) {
      const message = parse(raw);
      if (message === null) {
        await ws.send(system({ text: "Messages must be JSON objects." }));
      } else if (name === null) {
        if (message["type"] !== "join") {
          await ws.send(system({ text: "Pick a name first." }));
          continue;
        }
        const wanted = clean(message["name"], MAX_NAME).replace(/\s+/g, " ");
        if (wanted === "") {
          await ws.send(system({ text: "That name is empty." }));
          continue;
        }
        name = wanted;
        const others = [...members.values()];
        members.set(ws, name);
        console.log(`${name} joined (${members.size} online)`);
        await ws.send(
          system({ text: others.length ? `Welcome, ${name}! Also here: ${others.join(", ")}.` : `Welcome, ${name}! You are the first one here.` }),
        );
        toRoom(system({ event: "join", name, text: `${name} joined` }));
      } else if (message["type"] === "message") {
        const text = clean(message["text"], MAX_TEXT);
        if (text === "") continue;
        console.log(`${name}: ${text}`);
        toRoom(JSON.stringify({ type: "message", name, text, time: new Date().toISOString() }));
      }
    }
  } finally {
    if (name !== null) {
      members.delete(ws);
      console.log(`${name} left (${members.size} online)`);
      toRoom(system({ event: "leave", name, text: `${name} left` }));
    }
  }
}

// ------------------------------------------------------------------ server

const server = await serve(chat, {
  host,
  port,
  processRequest,
  maxSize: 16 * 1024, // chat messages are short
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

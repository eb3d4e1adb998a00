// @ts-check
/**
 * The chat's HTTP side, answered by `processRequest` before any WebSocket
 * handshake: the page's files, the `Origin` check of the room's endpoint,
 * and the plain-HTTP probe the page uses to learn why a handshake failed.
 *
 *   GET /, /chat.js, /chat.css  -> the page and its files (this directory)
 *   /chat, WebSocket upgrade    -> joins the room, or 403 for a page from another origin
 *   /chat, anything else        -> 403 as above, or 426 Upgrade Required. Browsers hide
 *                                  why a WebSocket handshake failed, so the page asks
 *                                  this way (a POST, which carries its Origin) and can
 *                                  tell a refusal from a server it cannot reach.
 *   anything else               -> 404
 *
 * Used by examples/chat/server.js and by every worker of examples/chat-cluster.
 */
import { readFile } from "node:fs/promises";

/** The room's WebSocket endpoint. */
export const ENDPOINT = "/chat";

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
 * The `processRequest` of the chat server.
 * @param {{ origins: string[], log: (line: string) => void }} options
 *   `origins`: the origins whose pages may connect (empty: a page must come
 *   from the host it connects to); `log`: where refusals are written
 * @returns {(connection: import("wavesock").PendingConnection, request: import("wavesock").HttpRequest) => Promise<import("wavesock").HttpResponse | undefined>}
 */
export function chatRequests({ origins, log }) {
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
    if (origins.length > 0) {
      return origins.includes(origin) ? null : `pages from ${origin} may not join this chat (allowed: ${origins.join(", ")})`;
    }
    let sameHost = false;
    try {
      sameHost = new URL(origin).host === request.headers["host"];
    } catch {
      // not a URL: refused below
    }
    return sameHost ? null : `pages from ${origin} may not join this chat (it only takes pages it served itself)`;
  }

  return async function processRequest(connection, request) {
    const path = request.path.split("?", 1)[0];
    if (path === ENDPOINT) {
      const upgrade = /\bwebsocket\b/i.test(request.headers["upgrade"] ?? "");
      const refusal = originRefusal(request);
      if (refusal !== null) {
        log(`refused ${upgrade ? "a WebSocket" : "a request"}: ${refusal}`);
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
  };
}

// @ts-check
/**
 * Tokens, the way browsers can send them (docs/authentication.md explains each):
 *
 *   /query           the token in the query string:  ws://…/query?token=…
 *                    (checked in processRequest: a bad token gets 401, no WebSocket)
 *   /cookie          a session cookie the page's origin set (Cookie: session=…)
 *   /first-message   the token as the first message, within 5 s; else close 1008
 *                    (nothing in the URL, so nothing in access logs)
 *
 *   TOKENS=t0ken:alice node examples/token-auth.js    # ws://127.0.0.1:8774
 *   npx wavesock "ws://127.0.0.1:8774/query?token=t0ken"
 */
import { timingSafeEqual, createHash } from "node:crypto";
import { route, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8774);
// token → user. Compared through fixed-size digests, so timing says nothing about the token.
const digest = (/** @type {string} */ s) => createHash("sha256").update(s).digest();
const tokens = (process.env.TOKENS || "t0ken:alice").split(",").map((pair) => {
  const [token, user] = pair.split(":");
  return { digest: digest(String(token)), user: String(user) };
});

/** The user a token belongs to, or undefined. @param {string | null | undefined} token */
function userOf(token) {
  if (!token) return undefined;
  const d = digest(token);
  let found;
  for (const t of tokens) if (timingSafeEqual(d, t.digest)) found = t.user;
  return found;
}

/** @param {import("wavesock").Connection} ws */
async function hello(ws) {
  await ws.send(`Hello, ${ws.data.user}!`);
  for await (const message of ws) await ws.send(`${ws.data.user}: ${message}`);
}

/**
 * The token as the first message: the handshake is accepted, the handler
 * waits for it (bounded), and closes 1008 (policy violation) if it is bad.
 * @param {import("wavesock").Connection} ws
 */
async function firstMessage(ws) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 5000, null)));
  const token = await Promise.race([ws.recv(), late]).finally(() => clearTimeout(timer));
  const user = typeof token === "string" ? userOf(token) : undefined;
  if (user === undefined) {
    await ws.close(1008, "authentication failed");
    return;
  }
  ws.data.user = user;
  await hello(ws);
}

const router = route({
  "/query": {
    handler: hello,
    processRequest: (connection, _request, { query }) => {
      const user = userOf(query.get("token"));
      if (user === undefined) return connection.respond(401, "Unauthorized: a valid ?token= is required.\n");
      connection.data.user = user;
      return undefined;
    },
  },
  "/cookie": {
    handler: hello,
    processRequest: (connection, request) => {
      const cookies = new Map(
        (request.headers["cookie"] ?? "").split(";").map((c) => /** @type {[string, string]} */ (c.trim().split("=", 2))),
      );
      const user = userOf(cookies.get("session"));
      if (user === undefined) return connection.respond(401, "Unauthorized: no valid session cookie.\n");
      connection.data.user = user;
      return undefined;
    },
  },
  "/first-message": firstMessage,
});

const server = await serve(router, { host, port });
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`);
await server.serveForever();

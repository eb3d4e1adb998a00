// @ts-check
/**
 * HTTP Basic authentication of the opening handshake with `basicAuth()`:
 * without good credentials, a client gets 401 and no WebSocket; with them,
 * the handler knows who it talks to (`ws.data.user`).
 *
 *   USERS=alice:s3cret,bob:hunter2 node examples/basic-auth.js   # ws://127.0.0.1:8773
 *   npx wavesock --header "Authorization: Basic $(printf alice:s3cret | base64)" ws://127.0.0.1:8773
 *   python3 -m websockets ws://alice:s3cret@127.0.0.1:8773/      # the URI's user:password
 *
 * Browsers cannot send this header on a WebSocket: see docs/authentication.md (and
 * examples/token-auth.js) for tokens.
 */
import { basicAuth, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8773);
// "user:password,user:password" — in real life, read a secret store, or use `check`.
const users = (process.env.USERS || "alice:s3cret").split(",").map((pair) => {
  const colon = pair.indexOf(":");
  return /** @type {[string, string]} */ ([pair.slice(0, colon), pair.slice(colon + 1)]);
});

/** @param {import("wavesock").Connection} ws */
async function greet(ws) {
  console.log(`${ws.data.user} connected`);
  await ws.send(`Hello, ${ws.data.user}!`);
  for await (const message of ws) await ws.send(`${ws.data.user} said: ${message}`);
}

const server = await serve(greet, {
  host,
  port,
  processRequest: basicAuth({ realm: "wavesock example", credentials: users }),
});
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`);
await server.serveForever();

// @ts-check
/**
 * Answering the HTTP request yourself with `processRequest`.
 *
 * `processRequest(connection, request)` sees every request before the
 * WebSocket handshake. Return an HTTP response to send it instead of
 * upgrading; return nothing to go on with the handshake. Here:
 *
 *   GET /health   -> 200 "OK" (for a load balancer or a container probe)
 *   /custom       -> the WebSocket endpoint (an echo)
 *   anything else -> 404 Not Found
 *
 *   node examples/custom-request.js             # ws://127.0.0.1:8768/custom
 *   curl -i http://127.0.0.1:8768/health
 */
import { serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8768);

/**
 * @param {import("wavesock").PendingConnection} connection
 * @param {import("wavesock").HttpRequest} request
 * @returns {import("wavesock").HttpResponse | undefined}
 */
function processRequest(connection, request) {
  // `request.path` is the request target as sent: drop the query string.
  const path = request.path.split("?", 1)[0];
  if (path === "/health" && request.method === "GET") {
    console.log(`${request.method} ${request.path} -> 200`);
    return connection.respond(200, "OK\n");
  }
  if (path !== "/custom") {
    console.log(`${request.method} ${request.path} -> 404`);
    return connection.respond(404, "Not Found\n");
  }
  console.log(`${request.method} ${request.path} -> WebSocket handshake`);
  return undefined;
}

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  for await (const message of ws) await ws.send(message);
}

const server = await serve(echo, { host, port, processRequest });

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
console.log(`listening on ws://${address} (WebSocket at ws://${address}/custom, health check at http://${address}/health)`);

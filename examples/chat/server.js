// @ts-check
/**
 * A chat room: one port serves the web page and the WebSocket endpoint.
 *
 *   npm start                                   # builds, then runs this file
 *   node examples/chat/server.js                # http://127.0.0.1:8000/
 *   HOST=0.0.0.0 PORT=8080 node examples/chat/server.js
 *
 * Open http://127.0.0.1:8000/ in two browser windows, pick a name in each
 * and talk. A window that loses its connection for a while gets what was
 * said meanwhile when it comes back.
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
 * The room itself — wire format, names, seats, resume — is examples/chat/room.js;
 * the HTTP side (the page's files, the Origin check) is examples/chat/requests.js.
 * Here it runs in one process: topics in memory (`localPubSub`, with a history
 * of the last 500 room events of the last 10 minutes, for pages that come
 * back), seats in a Map. examples/chat-cluster runs the same room on several
 * processes over Redis.
 */
import { localPubSub, serve } from "wavesock";
import { HISTORY, chatRoom } from "./room.js";
import { localSeats } from "./seats.js";
import { positiveInteger, originsFromEnv } from "./env.js";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8000);
const origins = originsFromEnv();
const MAX_MEMBERS = positiveInteger("MAX_MEMBERS", 100);
const MAX_CONNECTIONS = positiveInteger("MAX_CONNECTIONS", 1000);

const room = chatRoom({ pubsub: localPubSub({ history: HISTORY }), seats: localSeats(), maxMembers: MAX_MEMBERS, origins });
const server = await serve(room.handler, { host, port, maxConnections: MAX_CONNECTIONS, ...room.options });
await room.start(server);

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  await server.close(); // 1001 going away: the pages will try to reconnect
  await room.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
const address = `${host.includes(":") ? `[${host}]` : host}:${server.port}`;
console.log(`listening on http://${address}/ (WebSocket: ws://${address}/chat)`);

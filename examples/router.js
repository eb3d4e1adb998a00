// @ts-check
/**
 * Several endpoints on one server with `route()`: a lobby that lists the
 * rooms, one chat room per `/rooms/:room` (the room name comes from the
 * path, the nickname from the query string), and an echo. Any other path
 * is answered 404 before any upgrade. The script serves until Ctrl+C or
 * SIGTERM with `server.serveForever()`.
 *
 *   node examples/router.js          # ws://127.0.0.1:8772
 *   npx wavesock ws://127.0.0.1:8772/rooms/lobby?nick=ann
 *   npx wavesock ws://127.0.0.1:8772/             # the lobby: room counts
 */
import { broadcast, route, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8772);

/** Room name → the connections in it. @type {Map<string, Set<import("wavesock").Connection>>} */
const rooms = new Map();

/** @param {import("wavesock").Connection} ws */
async function lobby(ws) {
  const counts = Object.fromEntries([...rooms].map(([name, members]) => [name, members.size]));
  await ws.send(JSON.stringify({ rooms: counts }));
}

/**
 * @param {import("wavesock").Connection} ws
 * @param {import("wavesock").RouteMatch<{ readonly room: string }>} match
 */
async function room(ws, { params, query }) {
  const name = params.room;
  const nick = query.get("nick") || `guest-${ws.id.slice(0, 4)}`;
  let members = rooms.get(name);
  if (members === undefined) rooms.set(name, (members = new Set()));
  members.add(ws);
  console.log(`${nick} joined ${name} (${members.size} here)`);
  broadcast(members, `${nick} joined`);
  try {
    for await (const message of ws) broadcast(members, `${nick}: ${message}`);
  } finally {
    members.delete(ws);
    if (members.size === 0) rooms.delete(name);
    else broadcast(members, `${nick} left`);
    console.log(`${nick} left ${name}`);
  }
}

/** @param {import("wavesock").Connection} ws */
async function echo(ws) {
  for await (const message of ws) await ws.send(message);
}

const router = route({
  "/": lobby,
  "/rooms/:room": room,
  "/echo": echo,
});

const server = await serve(router, { host, port });
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`);
// Until Ctrl+C / SIGTERM: every client gets 1001 "going away", the handlers finish.
await server.serveForever();
console.log("server closed");

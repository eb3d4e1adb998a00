// @ts-check
/**
 * Multiplayer game state sync with an authoritative server.
 *
 * Clients never say where they are, only what they want to do: the arrow
 * keys they hold, as `{"type":"move","dx":1,"dy":0}` (each of dx, dy is -1,
 * 0 or 1; `{"dx":0,"dy":0}` stops). The server owns the positions: on every
 * tick (20 per second by default) it moves each player by its input, keeps
 * it inside the world, and broadcasts what changed to everyone at once.
 *
 * Messages from the server:
 *   {"type":"welcome","id":1,"tickRate":20,"world":{"width":800,"height":600},"players":[...]}
 *       to a new player only: its id and the full state
 *   {"type":"state","tick":42,"players":[{"id":1,"name":"ada","x":120,"y":80}],"left":[2]}
 *       to everyone, on each tick where something changed: the players that
 *       moved or joined (full entries) and the ids of those who left
 *
 *   node examples/game-sync.js                  # ws://127.0.0.1:8770/?name=ada
 *   TICK_HZ=60 SPEED=300 node examples/game-sync.js
 */
import { broadcast, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 8770);
const tickRate = Number(process.env.TICK_HZ || 20);

const world = { width: 800, height: 600 };
const speed = Number(process.env.SPEED || 200); // world units per second

/**
 * @typedef {{ id: number, name: string, x: number, y: number, dx: number, dy: number }} Player
 */

/** @type {Map<number, Player>} */
const players = new Map();
/** Ids of the players that changed, or left, since the last tick. */
const changed = new Set();
const left = new Set();
let nextId = 1;
let tick = 0;

/**
 * What the clients see of a player (its input stays on the server).
 * @param {Player} p
 */
const publicView = (p) => ({ id: p.id, name: p.name, x: p.x, y: p.y });

/** @param {number} value @param {number} max */
const clamp = (value, max) => Math.min(max, Math.max(0, value));

/** Clamp a client's input to -1, 0 or 1. @param {unknown} value */
const direction = (value) => (typeof value === "number" ? Math.sign(value) || 0 : 0);

/** One step of the simulation, then one broadcast of what changed. */
function step() {
  tick++;
  const distance = speed / tickRate;
  for (const p of players.values()) {
    if (p.dx === 0 && p.dy === 0) continue;
    // Diagonals are as fast as straight lines.
    const norm = p.dx !== 0 && p.dy !== 0 ? Math.SQRT1_2 : 1;
    const x = Math.round(clamp(p.x + p.dx * distance * norm, world.width));
    const y = Math.round(clamp(p.y + p.dy * distance * norm, world.height));
    if (x !== p.x || y !== p.y) {
      p.x = x;
      p.y = y;
      changed.add(p.id);
    }
  }
  if (changed.size === 0 && left.size === 0) return;
  const update = {
    type: "state",
    tick,
    players: [...changed].flatMap((id) => {
      const p = players.get(id);
      return p ? [publicView(p)] : [];
    }),
    left: [...left],
  };
  changed.clear();
  left.clear();
  broadcast(server.connections, JSON.stringify(update));
}

/** @param {import("wavesock").Connection} ws */
async function play(ws) {
  const query = new URLSearchParams(ws.request.path.split("?")[1] ?? "");
  const id = nextId++;
  const name = (query.get("name") ?? "").trim().slice(0, 20) || `player-${id}`;
  /** @type {Player} */
  const player = {
    id,
    name,
    x: Math.round(world.width * (0.2 + 0.6 * Math.random())),
    y: Math.round(world.height * (0.2 + 0.6 * Math.random())),
    dx: 0,
    dy: 0,
  };
  players.set(id, player);
  changed.add(id); // the others learn about the newcomer on the next tick
  console.log(`${name} joined as player ${id} (${players.size} playing)`);

  await ws.send(JSON.stringify({ type: "welcome", id, tickRate, world, players: [...players.values()].map(publicView) }));
  try {
    for await (const message of ws) {
      let input;
      try {
        input = JSON.parse(String(message));
      } catch {
        continue; // not JSON: ignore it
      }
      if (input?.type === "move") {
        // Only the latest input counts; the next tick applies it.
        player.dx = direction(input.dx);
        player.dy = direction(input.dy);
      }
    }
  } finally {
    players.delete(id);
    changed.delete(id);
    left.add(id);
    console.log(`${name} left (${players.size} playing)`);
  }
}

const server = await serve(play, { host, port, maxSize: 4096 });
const timer = setInterval(step, 1000 / tickRate);

let stopping = false;
/** @param {NodeJS.Signals} signal */
async function shutdown(signal) {
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing the server`);
  clearInterval(timer);
  await server.close();
  console.log("server closed");
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Print the address last: whoever waits for this line can now signal us safely.
console.log(`listening on ws://${host.includes(":") ? `[${host}]` : host}:${server.port} (${tickRate} ticks per second)`);

// @ts-check
/**
 * The implementations the bench compares: servers (bench/servers/*.js, one
 * process per cell, measured with the C load generator) and clients
 * (bench/clients/*.js, each the load generator itself, against the fixed C
 * echo server). One entry per column of the tables; adding an
 * implementation is one script plus one entry here (bench/README.md, "Adding
 * an implementation or a row").
 *
 * Order matters: it is the order of the columns. The ratio columns are the
 * pairs the entries' `vs` ask for, in the same order.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { anchors } from "./anchors.js";

/**
 * @typedef {"echo" | "broadcast"} Mode
 * @typedef {"server" | "client" | "fanout"} Side
 * @typedef {{
 *   name: string,
 *   side: Side,
 *   script: string,
 *   about: string,
 *   runtime?: "node" | "bun",
 *   env?: Record<string, string | undefined>,
 *   nodeArgs?: string[],
 *   modes?: Mode[],
 *   compression?: boolean,
 *   raw?: boolean,
 *   anchor?: "uws" | "bun",
 *   requires?: () => string | null,
 *   rows?: (row: import("./rows.js").Row) => boolean,
 *   vs?: string[],
 *   genArgs?: string[],
 * }} Impl
 *
 * - name: the column header, and what --cpu-prof=name,... names.
 * - script: relative to bench/; it speaks servers/control.js's protocol (a
 *   server) or clients/common.js's (a client).
 * - runtime: "node" (default: run with this Node, --expose-gc, nodeArgs) or
 *   "bun" (the anchors' Bun).
 * - env: added to (a value of undefined: removed from) the child's environment.
 * - modes: the server modes the script implements (default: echo and broadcast).
 * - compression: whether it can run the deflate rows (default true).
 * - raw: not a WebSocket server; the generator sends raw bytes (the TCP limit).
 *   Raw servers run only on rows with `tcp: true`.
 * - anchor / requires: why it cannot run here (the bench then says so and
 *   skips it): a missing anchor, or requires() returning a reason.
 * - rows: a further filter on the rows it runs on.
 * - vs: ratio columns, this implementation's figure ÷ each of these.
 * - genArgs: more load-generator arguments this implementation needs (the
 *   fanout rows: --eio for socket.io's framing, --text for the others).
 *
 * Side "fanout" (lib/fanout.js): a server script run twice, with
 * `--redis URL`, sharing a room through redis-server; it names the Redis
 * channel its processes subscribe to in its READY info (`channel`).
 */

const NO_ADDONS = { WS_NO_BUFFER_UTIL: "1", WS_NO_UTF_8_VALIDATE: "1" };
const ADDONS = { WS_NO_BUFFER_UTIL: undefined, WS_NO_UTF_8_VALIDATE: undefined };

/** @type {Impl[]} */
export const IMPLS = [
  // ------------------------------------------------------------ servers
  { name: "wavesock", side: "server", script: "servers/wavesock.js", about: "wavesock `serve()`, `for await` + `await send()`",
    vs: ["ws", "ws+addons", "uWS", "Bun"] },
  { name: "wavesock cb", side: "server", script: "servers/wavesock-callbacks.js",
    about: "wavesock `serve({ open, message, close })`: callbacks, no promise per message", vs: ["ws+addons", "uWS", "Bun"] },
  { name: "ws", side: "server", script: "servers/ws.js", env: NO_ADDONS, about: "`ws` without its native addons" },
  { name: "ws+addons", side: "server", script: "servers/ws.js", env: ADDONS, about: "`ws` with `bufferutil` and `utf-8-validate`" },
  { name: "uWS", side: "server", script: "servers/uws.js", anchor: "uws", about: "uWebSockets.js (C++ under Node), topics for the room" },
  { name: "Bun", side: "server", script: "servers/bun.js", runtime: "bun", anchor: "bun", about: "Bun.serve websockets, on Bun, topics for the room" },
  { name: "wavesock/ws", side: "server", script: "servers/ws.js", env: { BENCH_WS_MODULE: "wavesock/ws" },
    about: "the `ws` API on wavesock (`wavesock/ws`), the same server code as ws's column", vs: ["ws+addons", "uWS"] },
  { name: "Node floor", side: "server", script: "servers/net-floor.js", modes: ["echo"], compression: false, rows: (row) => row.name === "idle" || row.name === "connect",
    about: "not a library: a `net.Socket` answered with a fixed 101 and a close, the least a Node server does (idle, connect rows)" },
  { name: "TCP echo", side: "server", script: "servers/tcp.js", raw: true, modes: ["echo"], compression: false,
    about: "plain `net` echo server: the limit for a Node server here" },
  { name: "wavesock topics", side: "server", script: "servers/wavesock-topics.js", modes: ["broadcast"], compression: false,
    about: "wavesock topics: `ws.subscribe(\"room\")`, `server.publish(\"room\", m)`",
    // only on the rows that name it (topics, topics-4k): on broadcast it would repeat those cells
    rows: () => false, vs: ["uWS", "Bun", "wavesock"] },
  // ------------------------------------------------------------ fanout (two processes through redis-server)
  { name: "wavesock", side: "fanout", script: "servers/wavesock-topics.js", modes: ["broadcast"], compression: false, genArgs: ["--text"],
    about: "wavesock topics with `pubsub: redisPubSub({ url })` (node-redis)", requires: () => needs(["redis"]), vs: ["socket.io"] },
  { name: "socket.io", side: "fanout", script: "servers/socketio.js", modes: ["broadcast"], compression: false, genArgs: ["--eio"],
    about: "socket.io 4 + @socket.io/redis-adapter (node-redis): `socket.join(\"room\")`, `io.to(\"room\").emit(\"m\", data)`, websocket transport",
    requires: () => needs(["socket.io", "@socket.io/redis-adapter", "redis"]) },
  // ------------------------------------------------------------ clients
  { name: "wavesock", side: "client", script: "clients/wavesock.js", about: "wavesock `connect()`, `for await` + `await send()`",
    vs: ["ws", "ws+addons", "undici"] },
  { name: "ws", side: "client", script: "clients/ws.js", env: NO_ADDONS, about: "`ws` client without its addons" },
  { name: "ws+addons", side: "client", script: "clients/ws.js", env: ADDONS, about: "`ws` client with its addons" },
  { name: "wavesock/ws", side: "client", script: "clients/ws.js", env: { BENCH_WS_MODULE: "wavesock/ws" },
    about: "the `ws` client API on wavesock (`wavesock/ws`), the same client code as ws's column", vs: ["ws", "ws+addons"] },
  { name: "undici", side: "client", script: "clients/whatwg.js", about: "Node's built-in WebSocket (undici), binaryType arraybuffer",
    // Node 20 has the global only behind a flag; later Nodes have it by default.
    nodeArgs: typeof (/** @type {any} */ (globalThis).WebSocket) === "function" ? [] : ["--experimental-websocket"] },
  { name: "wavesock WebSocket", side: "client", script: "clients/whatwg.js", env: { BENCH_WEBSOCKET_MODULE: "wavesock" },
    about: "wavesock's standard `WebSocket` class (src/whatwg), the same script as undici's, binaryType arraybuffer", vs: ["undici"] },
];

/**
 * Why the fanout rows cannot run here: no redis-server / redis-cli on the
 * PATH, or one of the npm packages not installed (they are devDependencies).
 * @param {string[]} packages @returns {string | null}
 */
function needs(packages) {
  const key = packages.join(",");
  if (!needed.has(key)) needed.set(key, whyNot(packages));
  return /** @type {string | null} */ (needed.get(key));
}
/** @type {Map<string, string | null>} */
const needed = new Map();

/** @param {string[]} packages @returns {string | null} */
function whyNot(packages) {
  for (const bin of ["redis-server", "redis-cli"]) {
    if (spawnSync(bin, ["--version"], { stdio: "ignore" }).status !== 0) return `${bin} is not installed (Debian: apt-get install redis-server)`;
  }
  const require = createRequire(import.meta.url);
  for (const p of packages) {
    try {
      require.resolve(p);
    } catch {
      return `the npm package ${p} is not installed (npm install)`;
    }
  }
  return null;
}

/** Why `impl` cannot run on this machine, or null when it can. @param {Impl} impl */
export function unavailable(impl) {
  if (impl.anchor !== undefined) {
    const found = anchors()[impl.anchor];
    if (!found.ok) return found.why;
  }
  return impl.requires?.() ?? null;
}

/** The version an anchor reported (for the header), or "". @param {Impl} impl */
export function versionOf(impl) {
  if (impl.anchor === undefined) return "";
  const found = anchors()[impl.anchor];
  return found.ok ? found.version : "";
}

/** The Bun executable (only call when the Bun anchor is available). */
export function bunPath() {
  const found = anchors().bun;
  if (!found.ok) throw new Error(`Bun: ${found.why}`);
  return found.path;
}

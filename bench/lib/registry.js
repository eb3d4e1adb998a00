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
import { anchors } from "./anchors.js";

/**
 * @typedef {"echo" | "broadcast"} Mode
 * @typedef {"server" | "client"} Side
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
  { name: "Node floor", side: "server", script: "servers/net-floor.js", modes: ["echo"], compression: false, rows: (row) => row.name === "idle" || row.name === "connect",
    about: "not a library: a `net.Socket` answered with a fixed 101 and a close, the least a Node server does (idle, connect rows)" },
  { name: "TCP echo", side: "server", script: "servers/tcp.js", raw: true, modes: ["echo"], compression: false,
    about: "plain `net` echo server: the limit for a Node server here" },
  // ------------------------------------------------------------ clients
  { name: "wavesock", side: "client", script: "clients/wavesock.js", about: "wavesock `connect()`, `for await` + `await send()`",
    vs: ["ws", "ws+addons", "undici"] },
  { name: "ws", side: "client", script: "clients/ws.js", env: NO_ADDONS, about: "`ws` client without its addons" },
  { name: "ws+addons", side: "client", script: "clients/ws.js", env: ADDONS, about: "`ws` client with its addons" },
  { name: "undici", side: "client", script: "clients/whatwg.js", about: "Node's built-in WebSocket (undici), binaryType arraybuffer",
    // Node 20 has the global only behind a flag; later Nodes have it by default.
    nodeArgs: typeof (/** @type {any} */ (globalThis).WebSocket) === "function" ? [] : ["--experimental-websocket"] },
];

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

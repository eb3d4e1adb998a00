// @ts-check
/**
 * The rows of the matrix (/work/shared/BENCH.md): what each one runs, and
 * which implementations run it. A row's `kind` names the cell that measures
 * it (lib/cells.js: KINDS) and with it the side it measures; adding a row of
 * an existing kind is one entry here (bench/README.md).
 */
import { IMPLS } from "./registry.js";

/**
 * @typedef {"msgs" | "mb" | "latency" | "handshakes" | "deliveries" | "idle" | "deflate"} Figure
 * @typedef {"server" | "idle" | "client" | "micro" | "fanout"} Kind
 * @typedef {{
 *   name: string,
 *   what: string,
 *   figure: Figure,
 *   kind: Kind,
 *   mode?: import("./registry.js").Mode,
 *   compression?: "takeover" | "no-takeover",
 *   gen?: string[],
 *   tcp?: boolean,
 *   impls?: string[],
 * }} Row
 *
 * - mode: the servers' mode (default echo); compression: off unless given
 *   (servers/control.js says what the two settings mean).
 * - gen: the load generator's arguments (server rows: bench/loadgen/; client
 *   rows: bench/clients/common.js) less port and timing.
 * - tcp: the TCP echo server runs too (the physical limit).
 * - impls: run exactly these (by name, of the row's side) instead of every
 *   implementation that supports the row.
 */

/** @type {Row[]} */
export const ROWS = [
  { name: "echo-small", what: "50 conns, 64 B binary, 16 in flight each", figure: "msgs", kind: "server",
    gen: ["echo", "--conns", "50", "--size", "64", "--window", "16"], tcp: true },
  { name: "echo-1k", what: "50 conns, 1 KiB binary, 16 in flight each", figure: "msgs", kind: "server",
    gen: ["echo", "--conns", "50", "--size", "1024", "--window", "16"], tcp: true },
  { name: "echo-64k", what: "8 conns, 64 KiB binary, 4 in flight each", figure: "mb", kind: "server",
    gen: ["echo", "--conns", "8", "--size", "65536", "--window", "4"], tcp: true },
  { name: "echo-1m", what: "1 conn, 1 MiB binary, 2 in flight", figure: "mb", kind: "server",
    gen: ["echo", "--conns", "1", "--size", "1048576", "--window", "2"], tcp: true },
  { name: "latency", what: "1 conn, 64 B, 1 in flight", figure: "latency", kind: "server",
    gen: ["echo", "--conns", "1", "--size", "64", "--window", "1"], tcp: true },
  { name: "connect", what: "8 concurrent openers: handshake + close", figure: "handshakes", kind: "server",
    gen: ["connect", "--conns", "8"] },
  { name: "broadcast", what: "500 subscribers, 64 B, 1 publisher, 16 messages in flight", figure: "deliveries", kind: "server",
    mode: "broadcast", gen: ["broadcast", "--subs", "500", "--size", "64", "--window", "16"] },
  { name: "broadcast-4k", what: "100 subscribers, 4 KiB, 1 publisher, 16 messages in flight", figure: "deliveries", kind: "server",
    mode: "broadcast", gen: ["broadcast", "--subs", "100", "--size", "4096", "--window", "16"] },
  { name: "idle", what: "open idle connections, RSS after GC", figure: "idle", kind: "idle" },
  { name: "deflate", what: "50 conns, 1 KiB JSON-like text, permessage-deflate with context takeover (the defaults; uWS DEDICATED)",
    figure: "deflate", kind: "server", compression: "takeover",
    gen: ["echo", "--conns", "50", "--size", "1024", "--window", "16", "--text", "--deflate"] },
  { name: "deflate-notakeover", what: "the same, no context takeover either way (uWS SHARED_COMPRESSOR | SHARED_DECOMPRESSOR)",
    figure: "deflate", kind: "server", compression: "no-takeover",
    gen: ["echo", "--conns", "50", "--size", "1024", "--window", "16", "--text", "--deflate"] },
  { name: "client-small", what: "client library as generator: 50 conns, 64 B, 16 in flight", figure: "msgs", kind: "client",
    gen: ["--conns", "50", "--size", "64", "--window", "16"] },
  { name: "client-1k", what: "client library as generator: 50 conns, 1 KiB, 16 in flight", figure: "msgs", kind: "client",
    gen: ["--conns", "50", "--size", "1024", "--window", "16"] },
  { name: "client-64k", what: "client library as generator: 8 conns, 64 KiB, 4 in flight", figure: "mb", kind: "client",
    gen: ["--conns", "8", "--size", "65536", "--window", "4"] },
  { name: "client-1m", what: "client library as generator: 1 conn, 1 MiB, 2 in flight", figure: "mb", kind: "client",
    gen: ["--conns", "1", "--size", "1048576", "--window", "2"] },
  { name: "micro", what: "bench/micro.js: masking, UTF-8 validation", figure: "msgs", kind: "micro" },
  // ---- topics and pub/sub (issue 12): the broadcast rows' shapes with wavesock's topics API, beside uWS's and Bun's
  // topics (and wavesock's broadcast(), for what the topic layer costs); then the same room across two processes.
  { name: "topics", what: "topics in one process: 500 subscribers, 64 B, 1 publisher, 16 messages in flight", figure: "deliveries", kind: "server",
    mode: "broadcast", gen: ["broadcast", "--subs", "500", "--size", "64", "--window", "16"], impls: ["wavesock", "wavesock topics", "uWS", "Bun"] },
  { name: "topics-4k", what: "topics in one process: 100 subscribers, 4 KiB, 1 publisher, 16 messages in flight", figure: "deliveries", kind: "server",
    mode: "broadcast", gen: ["broadcast", "--subs", "100", "--size", "4096", "--window", "16"], impls: ["wavesock", "wavesock topics", "uWS", "Bun"] },
  { name: "fanout", what: "2 processes + redis-server: publisher on A, 500 subscribers spread over A and B, 64 B text, 64 messages in flight",
    figure: "deliveries", kind: "fanout", mode: "broadcast", gen: ["broadcast", "--subs", "500", "--size", "64", "--window", "64"] },
];

/** The side a kind of row measures. @type {Record<Kind, import("./registry.js").Side | null>} */
export const SIDE = { server: "server", idle: "server", client: "client", micro: null, fanout: "fanout" };

/**
 * The implementations that run `row`, in registry order (available or not).
 * @param {Row} row @returns {import("./registry.js").Impl[]}
 */
export function implsFor(row) {
  const side = SIDE[row.kind];
  if (side === null) return [];
  const mine = IMPLS.filter((i) => i.side === side);
  if (row.impls !== undefined) {
    const names = row.impls;
    return mine.filter((i) => names.includes(i.name));
  }
  return mine.filter((impl) => {
    if (side === "server") {
      if (impl.raw === true && row.tcp !== true) return false;
      if (!(impl.modes ?? ["echo", "broadcast"]).includes(row.mode ?? "echo")) return false;
      if (row.compression !== undefined && impl.compression === false) return false;
    }
    return impl.rows?.(row) ?? true;
  });
}

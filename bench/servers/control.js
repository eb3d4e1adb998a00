// @ts-check
/**
 * What every server under test shares: its command line, and the line
 * protocol the runner uses on stdin/stdout to read its CPU time and memory.
 *
 *   runner → server (stdin)   "stats" | "gc" | "quit"
 *   server → runner (stdout)  "READY <port> <json>" once listening,
 *                             "STATS <json>" after each "stats"/"gc"
 *
 * "gc" runs a full garbage collection first (Node: the server must run with
 * --expose-gc; Bun: Bun.gc) so that a memory figure is not the garbage of the
 * handshakes. Runs unchanged under Node and under Bun.
 *
 * --compression: "off"; "on" (= "takeover": permessage-deflate with context
 * takeover both ways and 15-bit windows, every library's default); or
 * "no-takeover" (neither side keeps its window between messages: uWS's
 * SHARED_COMPRESSOR / SHARED_DECOMPRESSOR). Each server maps these to its
 * closest setting and says which in its READY info.
 */
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";

/**
 * @typedef {null | "takeover" | "no-takeover"} Compression
 * @typedef {{ mode: "echo" | "broadcast", compression: Compression, port: number, host: string }} ServerArgs
 */

/** @returns {ServerArgs} */
export function parseArgs() {
  const argv = process.argv.slice(2);
  /** @param {string} name @param {string} fallback */
  const get = (name, fallback) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? /** @type {string} */ (argv[i + 1]) : fallback;
  };
  const mode = get("--mode", "echo");
  if (mode !== "echo" && mode !== "broadcast") throw new Error(`unknown --mode ${mode}`);
  const c = get("--compression", "off");
  if (c !== "off" && c !== "on" && c !== "takeover" && c !== "no-takeover") throw new Error(`unknown --compression ${c}`);
  return {
    mode,
    compression: c === "off" ? null : c === "no-takeover" ? "no-takeover" : "takeover",
    port: Number(get("--port", "0")),
    host: get("--host", "127.0.0.1"),
  };
}

/** The figures the runner reads: CPU microseconds, bytes, and when (ms). */
export function stats() {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    t: performance.now(),
    user: cpu.user,
    system: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    maxRss: typeof process.resourceUsage === "function" ? process.resourceUsage().maxRSS * 1024 : NaN,
  };
}

/**
 * Announce the port and answer the runner's requests until stdin closes.
 * @param {number} port
 * @param {Record<string, unknown>} info
 */
export function ready(port, info) {
  process.stdout.write(`READY ${port} ${JSON.stringify({ pid: process.pid, ...info })}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const cmd = line.trim();
    if (cmd === "gc") {
      const g = /** @type {any} */ (globalThis);
      /** @type {undefined | (() => void)} */
      const gc = typeof g.gc === "function" ? g.gc : g.Bun !== undefined ? () => g.Bun.gc(true) : undefined;
      if (gc) {
        gc();
        gc();
      }
      process.stdout.write(`STATS ${JSON.stringify({ ...stats(), gc: gc !== undefined })}\n`);
    } else if (cmd === "stats") {
      process.stdout.write(`STATS ${JSON.stringify(stats())}\n`);
    } else if (cmd === "quit") {
      process.exit(0);
    }
  });
  rl.on("close", () => process.exit(0));
}

// @ts-check
/**
 * Memory of one large message received by a wavesock server: streamed
 * (`recvStreaming`) against reassembled (`recv()`). The server runs in a
 * fresh child process (its RSS is its own); a real client — `ws` from npm —
 * sends the message from this process as fragments of 64 KiB (`send(chunk,
 * { fin: false })`), waiting for each write, as a client uploading a file
 * would.
 *
 *   npm run build && node bench/stream-memory.js                 # 1 GiB, every mode
 *   node bench/stream-memory.js --size 256 --modes stream,recv   # MiB
 *   node bench/stream-memory.js --json                           # one JSON line per mode
 *
 * Modes (what the server's handler does):
 *   stream           for await (const piece of ws.recvStreaming({ maxSize: null })) count it
 *   stream-deflate   the same with permessage-deflate: ws compresses every fragment, we inflate as we read
 *   recv             await ws.recv() with the default maxSize (1 MiB): must refuse the message (1009)
 *   recv-unlimited   await ws.recv() with maxSize: null: the message reassembled in memory
 *
 * Printed per mode: the server's RSS when ready, its peak while receiving
 * (sampled every 20 ms, and the OS's maxRSS), the growth, bytes received,
 * the time, and how the connection ended.
 */
import { fork } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import WebSocket from "ws";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
/** @param {string} name */
const value = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const MiB = 1024 * 1024;
const FRAGMENT = 64 * 1024;

// ------------------------------------------------------------- the server --

/** @param {string} mode @param {string} dist */
async function child(mode, dist) {
  /** @type {typeof import("wavesock")} */
  const wavesock = await import(dist);
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  /** @type {(r: object) => void} */
  let finish = () => undefined;
  const done = new Promise((r) => (finish = r));
  const server = await wavesock.serve(
    async (ws) => {
      const start = performance.now();
      let received = 0;
      let pieces = 0;
      let outcome = "complete";
      try {
        if (mode === "stream" || mode === "stream-deflate") {
          for await (const piece of ws.recvStreaming({ maxSize: null })) {
            received += piece.length;
            pieces++;
          }
        } else {
          const m = await ws.recv();
          received = m.length;
          pieces = 1;
        }
      } catch (err) {
        outcome = `${/** @type {Error} */ (err).name}, close code ${ws.closeCode}`;
      }
      const ms = performance.now() - start;
      if (ws.state === "open") await ws.send(`received:${received}`);
      await ws.close().catch(() => undefined);
      peak = Math.max(peak, process.memoryUsage.rss());
      finish({ received, pieces, ms, outcome, peakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024 });
    },
    {
      host: "127.0.0.1",
      port: 0,
      logger: null,
      pingInterval: null,
      compression: mode === "stream-deflate" ? "deflate" : null,
      maxSize: mode === "recv-unlimited" ? null : undefined,
    },
  );
  globalThis.gc?.();
  const readyRss = process.memoryUsage.rss();
  peak = readyRss;
  process.send?.({ port: server.port, readyRss });
  const result = await done;
  clearInterval(timer);
  process.send?.({ result: { ...result, readyRss } });
  await server.close();
  process.exit(0);
}

// ------------------------------------------------------------- the client --

/** Send `size` bytes as one message of 64 KiB fragments, each write awaited. @param {WebSocket} ws @param {number} size @param {boolean} compress */
async function upload(ws, size, compress) {
  // Text-like bytes that deflate about 3:1, different in every fragment.
  const chunk = Buffer.alloc(FRAGMENT);
  const words = Buffer.from("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor 0123456789 ");
  for (let i = 0; i < FRAGMENT; i++) chunk[i] = words[(i * 7 + (i >> 9)) % words.length];
  for (let sent = 0; sent < size; ) {
    const n = Math.min(FRAGMENT, size - sent);
    chunk.writeUInt32LE(sent >>> 0, 0);
    sent += n;
    const fin = sent === size;
    await new Promise((resolve, reject) =>
      ws.send(n === FRAGMENT ? chunk : chunk.subarray(0, n), { fin, binary: true, compress }, (err) => (err ? reject(err) : resolve(undefined))),
    );
    if (ws.readyState !== WebSocket.OPEN) return;
  }
}

/** @param {string} mode @param {number} size @param {string} dist */
async function run(mode, size, dist) {
  const proc = fork(fileURLToPath(import.meta.url), ["--child", mode, "--dist", dist], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  /** @type {any[]} */
  const messages = [];
  /** @type {(() => void)[]} */
  const wake = [];
  proc.on("message", (m) => {
    messages.push(m);
    for (const w of wake.splice(0)) w();
  });
  const next = async () => {
    while (messages.length === 0) await new Promise((r) => wake.push(() => r(undefined)));
    return messages.shift();
  };
  const { port } = await next();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: mode === "stream-deflate", maxPayload: 0 });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.on("error", () => undefined);
  await upload(ws, size, mode === "stream-deflate").catch(() => undefined);
  const { result } = await next();
  ws.terminate();
  await new Promise((r) => proc.once("exit", r));
  return { mode, size, ...result, growth: result.peakRss - result.readyRss };
}

// ------------------------------------------------------------------ main --

if (argv[0] === "--child") {
  await child(argv[1] ?? "stream", value("--dist") ?? "");
} else {
  const size = Number(value("--size") ?? 1024) * MiB;
  const modes = (value("--modes") ?? "stream,stream-deflate,recv,recv-unlimited").split(",");
  const dist = pathToFileURL(path.resolve(value("--dist") ?? path.join(here, "..", "dist", "index.js"))).href;
  const json = argv.includes("--json");
  if (!json) console.log(`One message of ${size / MiB} MiB from a ws client in 64 KiB fragments; the server's memory:\n`);
  for (const mode of modes) {
    const r = await run(mode, size, dist);
    if (json) console.log(JSON.stringify(r));
    else {
      const mb = (/** @type {number} */ n) => `${(n / MiB).toFixed(1)} MiB`;
      console.log(
        `${mode.padEnd(15)} RSS ready ${mb(r.readyRss)}, peak ${mb(r.peakRss)} (maxRSS ${mb(r.maxRss)}), growth ${mb(r.growth)}; ` +
          `received ${mb(r.received)} in ${r.pieces} piece(s), ${(r.ms / 1000).toFixed(1)} s (${(r.received / MiB / (r.ms / 1000)).toFixed(0)} MiB/s); ${r.outcome}`,
      );
    }
  }
}

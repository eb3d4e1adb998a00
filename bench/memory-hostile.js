// @ts-check
/**
 * Memory under hostile peers: how much a wavesock server commits when a peer
 * (or 3,000 of them) sends what no honest client would. Each scenario runs
 * the server in a fresh child process (so its figures are its own) and drives
 * it from this process with hand-built frames over loopback TCP.
 *
 *   npm run build && node bench/memory-hostile.js
 *   node bench/memory-hostile.js --only fragments,pings
 *   node bench/memory-hostile.js --dist /path/to/another/dist/index.js   # compare builds
 *
 * Scenarios (the figures are the server's):
 *   fragments    a 1 MiB message as 1,048,576 one-byte fragments (7.3 MiB on the wire), 1 and 4 clients
 *   pings        500,000 pings with 125-byte payloads from a client that never reads
 *   compressed   one write of permessage-deflate messages that each inflate to 1 MB (10^6 B), to a handler that never reads
 *   announce     3,000 clients each announcing a 1 MiB frame and sending 4 KiB of it
 *
 * Printed per scenario: growth of peak RSS (maxRSS), of heap + ArrayBuffers
 * (what the JS side holds or has allocated) at its peak sample, of
 * ArrayBuffers still held after a full GC, the bytes waiting in the server's
 * write buffers, and what the scenario counts.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import zlib from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
/** @param {string} name */
const value = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const MiB = 1024 * 1024;

// ------------------------------------------------------------- the server --


/**
 * The server side: serve() with a handler that never reads, and a sampler of
 * heap + ArrayBuffers (every 5 ms, and on request).
 * @param {string} scenario @param {string} dist
 */
async function child(scenario, dist) {
  /** @type {typeof import("wavesock")} */
  const ws = await import(dist);
  let peak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.heapUsed + m.arrayBuffers);
    return m;
  };
  /** @type {Set<import("wavesock").Connection>} */
  const conns = new Set();
  let received = 0;
  const server = await ws.serve(
    async (conn) => {
      conns.add(conn);
      if (scenario === "fragments") {
        // Reads: the message must be assembled and delivered.
        try {
          for await (const m of conn) {
            received++;
            await conn.send(String(typeof m === "string" ? m.length : m.length));
          }
        } catch {}
      } else {
        await conn.closed; // never reads
      }
      conns.delete(conn);
    },
    {
      host: "127.0.0.1",
      port: 0,
      logger: null,
      pingInterval: null,
      maxConnections: null,
      ...(scenario === "compressed" ? { compression: "deflate" } : { compression: null }),
    },
  );
  global.gc?.();
  const base = sample();
  const baseRss = process.resourceUsage().maxRSS * 1024;
  peak = 0;
  const timer = setInterval(sample, 5);
  process.on("message", (/** @type {any} */ msg) => {
    if (msg === "report") {
      sample();
      // What stays held (garbage collected first), beside the peak.
      global.gc?.();
      const m = process.memoryUsage();
      let buffered = 0;
      let paused = 0;
      for (const c of conns) {
        buffered += c.bufferedAmount;
        if (c.socket.isPaused()) paused++;
      }
      process.send?.({
        maxRssGrowth: process.resourceUsage().maxRSS * 1024 - baseRss,
        peakHeapGrowth: peak - (base.heapUsed + base.arrayBuffers),
        heapNow: m.heapUsed + m.arrayBuffers - (base.heapUsed + base.arrayBuffers),
        arrayBuffersNow: m.arrayBuffers - base.arrayBuffers,
        buffered,
        paused,
        conns: conns.size,
        received,
      });
    } else if (msg === "exit") {
      clearInterval(timer);
      void server.close().then(() => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref();
    }
  });
  process.send?.({ port: server.port });
}

// ---------------------------------------------------------------- the load --

/** A masked client frame. @param {number} opcode @param {Uint8Array} payload @param {{fin?: boolean, rsv?: number, announce?: number}} [o] */
function frame(opcode, payload, o = {}) {
  const len = o.announce ?? payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + ext + 4 + payload.length);
  out[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | opcode;
  out[1] = 0x80 | (len < 126 ? len : len < 65536 ? 126 : 127);
  let p = 2;
  if (ext === 2) out.writeUInt16BE(len, (p += 2) - 2);
  else if (ext === 8) out.writeBigUInt64BE(BigInt(len), (p += 8) - 8);
  const key = randomBytes(4);
  key.copy(out, p);
  p += 4;
  for (let i = 0; i < payload.length; i++) out[p + i] = /** @type {number} */ (payload[i]) ^ /** @type {number} */ (key[i & 3]);
  return out;
}

/** Connect and do the opening handshake by hand. @param {number} port @param {string} [extra] */
async function rawClient(port, extra = "") {
  const socket = net.connect({ port, host: "127.0.0.1" });
  socket.on("error", () => undefined);
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  let head = Buffer.alloc(0);
  await new Promise((resolve, reject) => {
    const onData = (/** @type {Buffer} */ d) => {
      head = Buffer.concat([head, d]);
      if (head.includes("\r\n\r\n")) {
        socket.off("data", onData);
        if (!head.toString("latin1").startsWith("HTTP/1.1 101")) reject(new Error(head.toString("latin1")));
        else resolve(undefined);
      }
    };
    socket.on("data", onData);
  });
  return socket;
}

/** Write and wait until the kernel took it. @param {net.Socket} s @param {Uint8Array} bytes */
function send(s, bytes) {
  return new Promise((resolve) => s.write(bytes, () => resolve(undefined)));
}

/**
 * @param {string} scenario @param {string} dist
 * @param {(port: number) => Promise<Record<string, unknown> & { sockets?: net.Socket[] }>} load
 */
async function run(scenario, dist, load) {
  const proc = fork(fileURLToPath(import.meta.url), ["--child", scenario, dist], { execArgv: ["--expose-gc"], stdio: "inherit" });
  /** @type {(msg: any) => void} */
  let onMessage = () => undefined;
  proc.on("message", (msg) => onMessage(msg));
  const next = () => new Promise((resolve) => (onMessage = resolve));
  const { port } = /** @type {{port: number}} */ (await next());
  const { sockets, ...extra } = await load(port);
  proc.send("report");
  const report = /** @type {Record<string, number>} */ (await next());
  for (const s of /** @type {net.Socket[]} */ (sockets ?? [])) s.destroy();
  proc.send("exit");
  await new Promise((resolve) => proc.once("exit", resolve));
  return { ...report, ...extra };
}

const mib = (/** @type {number} */ n) => `${(n / MiB).toFixed(1)} MiB`;

/** @param {number} clients */
function fragmentsLoad(clients) {
  return async (/** @type {number} */ port) => {
    // 1,048,576 frames of one byte: 7 bytes each on the wire.
    const size = MiB;
    const parts = [];
    for (let i = 0; i < size; i++) parts.push(frame(i === 0 ? 2 : 0, Buffer.of(i & 0xff), { fin: i === size - 1 }));
    const wire = Buffer.concat(parts);
    const sockets = await Promise.all(Array.from({ length: clients }, () => rawClient(port)));
    const answers = sockets.map(
      (s) =>
        new Promise((resolve) => {
          let got = Buffer.alloc(0);
          s.on("data", (d) => {
            got = Buffer.concat([got, d]);
            if (got.length >= 2 && got.length >= 2 + /** @type {number} */ (got[1])) resolve(got.subarray(2, 2 + /** @type {number} */ (got[1])).toString());
          });
          s.on("close", () => resolve("closed"));
        }),
    );
    await Promise.all(sockets.map((s) => send(s, wire)));
    const results = await Promise.race([Promise.all(answers), sleep(60_000).then(() => ["timeout"])]);
    return { answer: results.join(","), sockets };
  };
}

async function pingsLoad(/** @type {number} */ port) {
  const s = await rawClient(port);
  s.pause(); // never reads the pongs
  const payload = randomBytes(125);
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(9, payload)));
  // 500 batches of 1,000 pings; writes held back by TCP once the server stops reading.
  let written = 0;
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < 500 && Date.now() < deadline; i++) {
    if (!s.write(batch)) await Promise.race([new Promise((r) => s.once("drain", r)), sleep(2000)]);
    written += 1000;
  }
  await sleep(500);
  return { pingsWritten: written, clientStillBuffering: mib(s.writableLength), sockets: [s] };
}

async function compressedLoad(/** @type {number} */ port) {
  const s = await rawClient(port, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n");
  const deflated = zlib.deflateRawSync(Buffer.alloc(1_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const msg = frame(2, deflated.subarray(0, deflated.length - 4), { rsv: 0x40 });
  const count = Math.floor((64 * 1024) / msg.length);
  await send(s, Buffer.concat(Array.from({ length: count }, () => msg)));
  await sleep(1000);
  return { messagesInOneWrite: count, messageOnWire: `${msg.length} B`, sockets: [s] };
}

async function announceLoad(/** @type {number} */ port) {
  const sockets = [];
  const chunk = randomBytes(4096);
  for (let i = 0; i < 3000; i++) {
    const s = await rawClient(port);
    s.write(frame(2, chunk, { announce: MiB }));
    sockets.push(s);
  }
  await sleep(1000);
  return { peers: sockets.length, sockets };
}

async function main() {
  const dist = value("--dist") ?? pathToFileURL(path.join(here, "..", "dist", "index.js")).href;
  const distUrl = dist.startsWith("file:") ? dist : pathToFileURL(path.resolve(dist)).href;
  const only = value("--only")?.split(",");
  /** @type {[string, string, (port: number) => Promise<Record<string, unknown> & { sockets?: net.Socket[] }>][]} */
  const scenarios = [
    ["fragments", "1 MiB in 1-byte fragments, 1 client", fragmentsLoad(1)],
    ["fragments", "1 MiB in 1-byte fragments, 4 clients", fragmentsLoad(4)],
    ["pings", "500,000 pings (125 B) never read", pingsLoad],
    ["compressed", "one 64 KiB write of messages inflating to 1 MB, handler not reading", compressedLoad],
    ["announce", "3,000 peers announcing 1 MiB, sending 4 KiB", announceLoad],
  ];
  console.log(`server: ${distUrl}\n`);
  console.log("| scenario | peak RSS growth | peak heap+ArrayBuffers growth | ArrayBuffers held (after GC) | pong/write buffer | notes |");
  console.log("|---|---:|---:|---:|---:|---|");
  for (const [name, what, load] of scenarios) {
    if (only && !only.includes(name)) continue;
    const r = await run(name, distUrl, load);
    const notes = Object.entries(r)
      .filter(([k]) => !["maxRssGrowth", "peakHeapGrowth", "heapNow", "arrayBuffersNow", "buffered"].includes(k))
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ");
    console.log(
      `| ${what} | ${mib(Number(r.maxRssGrowth))} | ${mib(Number(r.peakHeapGrowth))} | ${mib(Number(r.arrayBuffersNow))} | ${mib(Number(r.buffered))} | ${notes} |`,
    );
  }
}

if (argv[0] === "--child") {
  await child(/** @type {string} */ (argv[1]), /** @type {string} */ (argv[2]));
} else {
  await main();
}

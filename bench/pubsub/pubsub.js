// @ts-check
/**
 * Topic fan-out benchmarks, runnable on their own (build first: `npm run build`):
 *
 *   node bench/pubsub/pubsub.js                       # every row, 3 repeats
 *   node bench/pubsub/pubsub.js --only inprocess-64 --repeats 1 --duration 2000
 *   node bench/pubsub/pubsub.js --json                # one JSON line per cell on stdout
 *
 * Rows:
 * - inprocess-64 / inprocess-4k: one server process, 500 subscribers, the
 *   server publishes 64 B / 4 KiB text messages (`server.publish`);
 * - redis-wavesock: two server processes sharing the topic through a real
 *   redis-server (`redisPubSub`), 250 subscribers on each, process A
 *   publishes 64 B messages;
 * - redis-socketio: the same with socket.io 4.8 and @socket.io/redis-adapter
 *   8.3 (`io.to(room).emit(...)`), websocket transport, perMessageDeflate off.
 *
 * Figure: deliveries/s counted by the subscribers (a separate process of raw
 * sockets that parses frame headers, cheap enough not to be the limit), and
 * the CPU the server processes (and redis-server) spent per million
 * deliveries. The publisher is closed-loop: it keeps at most `--window`
 * messages not yet delivered to every subscriber, so no subscriber is ever
 * skipped and no queue grows. Compression off everywhere.
 *
 * To plug into bench/run.js: `import { runCell, ROWS } from "./pubsub/pubsub.js"`
 * (importing runs nothing); `await runCell(row, { duration, warmup })`
 * resolves with { deliveriesPerSec, cpuPerMillion, serverCpuMs, redisCpuMs }.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const SUBSCRIBERS = 500;

/** @param {string} name @param {string} fallback */
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? /** @type {string} */ (process.argv[i + 1]) : fallback;
}


// ------------------------------------------------------------------ servers

/** A wavesock server: subscribers on /sub join "room"; the parent says "publish N". */
async function wavesockServer() {
  const { serve, redisPubSub } = await import("../../dist/index.js");
  const url = process.env["REDIS_URL"];
  const pubsub = url ? redisPubSub({ url, prefix: "bench:" }) : null;
  const server = await serve(
    async (ws) => {
      ws.subscribe("room");
      await ws.closed;
    },
    { host: "127.0.0.1", port: 0, compression: null, pingInterval: null, logger: null, pubsub, topics: { maxBackpressure: 16 * 1024 * 1024 } },
  );
  await pubsub?.ready();
  const size = Number(process.env["SIZE"] || 64);
  const payload = "x".repeat(size);
  control({ port: server.port }, (n) => {
    for (let i = 0; i < n; i++) server.publish("room", payload);
  });
}

/** A socket.io server with the Redis adapter: sockets join "room"; the parent says "publish N". */
async function socketioServer() {
  const http = await import("node:http");
  const { Server } = await import("socket.io");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ["websocket"], perMessageDeflate: false, serveClient: false });
  const pub = createClient({ url: process.env["REDIS_URL"] });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  io.on("connection", (socket) => void socket.join("room"));
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", () => resolve(undefined)));
  const size = Number(process.env["SIZE"] || 64);
  const payload = "x".repeat(size);
  control({ port: /** @type {net.AddressInfo} */ (httpServer.address()).port }, (n) => {
    for (let i = 0; i < n; i++) io.to("room").emit("m", payload);
  });
}

/**
 * Talk to the parent over IPC: announce `hello`, then publish on {publish: n},
 * report CPU on {cpu: true}.
 * @param {Record<string, unknown>} hello
 * @param {(n: number) => void} publish
 */
function control(hello, publish) {
  process.on("message", (/** @type {{ publish?: number, cpu?: boolean }} */ m) => {
    if (m.publish) publish(m.publish);
    if (m.cpu) {
      const u = process.cpuUsage();
      process.send?.({ cpuMs: (u.user + u.system) / 1000 });
    }
  });
  process.send?.(hello);
}

// --------------------------------------------------------------------- sink

/**
 * SUBSCRIBERS raw WebSocket connections spread over the given ports; counts
 * data frames (for socket.io, only event packets "42...") and reports the
 * total to the parent every `REPORT` deliveries.
 */
async function sink() {
  const ports = arg("--ports", "").split(",").map(Number);
  const path = arg("--path", "/sub");
  const sio = path.startsWith("/socket.io");
  const report = Number(arg("--report", "1000"));
  let delivered = 0;
  let reported = 0;
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  /** @param {number} i */
  const open = (i) =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ port: /** @type {number} */ (ports[i % ports.length]), host: "127.0.0.1" });
      socket.setNoDelay(true);
      socket.on("error", reject);
      let head = true;
      /** @type {Buffer} */
      let buf = Buffer.alloc(0);
      socket.on("connect", () =>
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      socket.on("data", (chunk) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        if (head) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          head = false;
          buf = buf.subarray(end + 4);
          if (!sio) resolve(undefined);
        }
        let off = 0;
        let count = 0;
        while (buf.length - off >= 2) {
          let len = /** @type {number} */ (buf[off + 1]) & 0x7f;
          let start = off + 2;
          if (len === 126) {
            if (buf.length - off < 4) break;
            len = buf.readUInt16BE(off + 2);
            start = off + 4;
          } else if (len === 127) {
            if (buf.length - off < 10) break;
            len = Number(buf.readBigUInt64BE(off + 2));
            start = off + 10;
          }
          if (buf.length < start + len) break;
          const opcode = /** @type {number} */ (buf[off]) & 0x0f;
          if (opcode === 1 || opcode === 2) {
            if (!sio) count++;
            else if (buf[start] === 0x34 && buf[start + 1] === 0x32) count++; // "42": an event
            else if (buf[start] === 0x30) socket.write(maskedText("40")); // engine.io open → join the namespace
            else if (buf[start] === 0x34 && buf[start + 1] === 0x30) resolve(undefined); // "40": connected
            else if (buf[start] === 0x32) socket.write(maskedText("3")); // ping → pong
          }
          off = start + len;
        }
        buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
        if (count > 0) {
          delivered += count;
          if (delivered - reported >= report) {
            reported = delivered;
            process.send?.({ delivered });
          }
        }
      });
    });
  for (let i = 0; i < SUBSCRIBERS; i += 50) await Promise.all(Array.from({ length: Math.min(50, SUBSCRIBERS - i) }, (_, j) => open(i + j)));
  process.send?.({ ready: true });
  process.on("message", (/** @type {{ flush?: boolean }} */ m) => {
    if (m.flush) process.send?.({ delivered });
  });
}

/** A masked client text frame (RFC 6455 §5.3: client frames are masked). @param {string} text */
function maskedText(text) {
  const payload = Buffer.from(text);
  const mask = [1, 2, 3, 4];
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  out.set(mask, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = /** @type {number} */ (payload[i]) ^ /** @type {number} */ (mask[i & 3]);
  return out;
}

// ------------------------------------------------------------------- runner

/**
 * `window`: messages in flight (published, not yet delivered to everyone) —
 * the best of 16/64/256/1024 on this machine; 4 KiB needs a small one, or
 * the subscribers' socket buffers fill and the publisher waits on them.
 * @typedef {{ kind: "wavesock" | "socketio", size: number, processes: 1 | 2, window: number }} Row
 * @type {Record<string, Row>}
 */
export const ROWS = {
  "inprocess-64": { kind: "wavesock", size: 64, processes: 1, window: 256 },
  "inprocess-4k": { kind: "wavesock", size: 4096, processes: 1, window: 16 },
  "redis-wavesock": { kind: "wavesock", size: 64, processes: 2, window: 256 },
  "redis-socketio": { kind: "socketio", size: 64, processes: 2, window: 256 },
};

/**
 * Run one cell.
 * @param {string} rowName
 * @param {{ duration: number, warmup: number, window?: number }} options
 */
export async function runCell(rowName, options) {
  const row = /** @type {Row} */ (ROWS[rowName]);
  /** @type {import("node:child_process").ChildProcess[]} */
  const children = [];
  /** @type {import("node:child_process").ChildProcess | null} */
  let redis = null;
  let redisPort = 0;
  try {
    const env = { ...process.env, SIZE: String(row.size) };
    if (row.processes === 2) {
      redisPort = await freePort();
      redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "ignore"] });
      await new Promise((resolve) => {
        let out = "";
        redis?.stdout?.setEncoding("utf8").on("data", (/** @type {string} */ s) => {
          out += s;
          if (out.includes("Ready to accept connections")) resolve(undefined);
        });
      });
      Object.assign(env, { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    }
    const servers = [];
    for (let i = 0; i < row.processes; i++) {
      const child = spawn(process.execPath, [SELF, "--role", row.kind], { env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
      children.push(child);
      servers.push(child);
    }
    const ports = await Promise.all(servers.map((c) => once(c, (m) => m.port)));
    const window = options.window ?? row.window;
    const sinkChild = spawn(
      process.execPath,
      [SELF, "--role", "sink", "--ports", ports.join(","), "--path", row.kind === "socketio" ? "/socket.io/?EIO=4&transport=websocket" : "/sub", "--report", String((window * SUBSCRIBERS) / 4)],
      { stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    children.push(sinkChild);
    await once(sinkChild, (m) => m.ready);
    await new Promise((r) => setTimeout(r, 300)); // the last SUBSCRIBEs reach Redis
    const publisher = /** @type {import("node:child_process").ChildProcess} */ (servers[0]);
    let delivered = 0;
    /** @type {(() => void) | null} */
    let wake = null;
    sinkChild.on("message", (/** @type {{ delivered?: number }} */ m) => {
      if (m.delivered !== undefined) {
        delivered = m.delivered;
        wake?.();
      }
    });
    let published = 0;
    const step = Math.max(1, Math.floor(window / 4));
    /** Publish for `ms`, closed-loop. @param {number} ms */
    const run = async (ms) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if ((published - window) * SUBSCRIBERS < delivered) {
          publisher.send({ publish: step });
          published += step;
        } else {
          await new Promise((resolve) => {
            wake = () => resolve(undefined);
            setTimeout(resolve, 50);
          });
          wake = null;
        }
      }
    };
    await run(options.warmup);
    const cpu0 = await Promise.all(servers.map((c) => cpuOf(c)));
    const redis0 = redis ? redisCpuMs(redis.pid) : 0;
    const d0 = delivered;
    const t0 = performance.now();
    await run(options.duration);
    const t1 = performance.now();
    const d1 = delivered;
    const cpu1 = await Promise.all(servers.map((c) => cpuOf(c)));
    const redis1 = redis ? redisCpuMs(redis.pid) : 0;
    const deliveries = d1 - d0;
    const serverCpuMs = cpu1.reduce((s, v, i) => s + v - /** @type {number} */ (cpu0[i]), 0);
    const redisCpu = redis1 - redis0;
    return {
      row: rowName,
      deliveriesPerSec: (deliveries / (t1 - t0)) * 1000,
      serverCpuMs,
      redisCpuMs: redisCpu,
      cpuPerMillion: ((serverCpuMs + redisCpu) / deliveries) * 1e6,
    };
  } finally {
    for (const c of children) c.kill("SIGKILL");
    redis?.kill("SIGKILL");
  }
}

/**
 * @param {import("node:child_process").ChildProcess} child
 * @param {(m: any) => unknown} pick
 * @returns {Promise<any>}
 */
function once(child, pick) {
  return new Promise((resolve, reject) => {
    const onMessage = (/** @type {any} */ m) => {
      const v = pick(m);
      if (v !== undefined && v !== false) {
        child.off("message", onMessage);
        resolve(v);
      }
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`child exited (${code})`)));
  });
}

/** @param {import("node:child_process").ChildProcess} child @returns {Promise<number>} */
function cpuOf(child) {
  const p = once(child, (m) => m.cpuMs);
  child.send({ cpu: true });
  return p;
}

/** redis-server's CPU time from /proc (utime + stime, in ms). @param {number | undefined} pid */
function redisCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100 on Linux
  } catch {
    return 0;
  }
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = /** @type {net.AddressInfo} */ (server.address()).port;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} n */
function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

async function main() {
  const only = arg("--only", Object.keys(ROWS).join(",")).split(",");
  const repeats = Number(arg("--repeats", "3"));
  const options = { duration: Number(arg("--duration", "3000")), warmup: Number(arg("--warmup", "1000")), window: process.argv.includes("--window") ? Number(arg("--window", "")) : undefined };
  const json = process.argv.includes("--json");
  if (!json) {
    console.log("| row | deliveries/s (median, min–max) | CPU ms per 10⁶ deliveries (servers + redis) |");
    console.log("|---|---:|---:|");
  }
  for (const name of only) {
    if (!(name in ROWS)) throw new Error(`unknown row ${name}; rows: ${Object.keys(ROWS).join(", ")}`);
    const cells = [];
    for (let r = 0; r < repeats; r++) {
      const cell = await runCell(name, options);
      cells.push(cell);
      if (json) console.log(JSON.stringify(cell));
      else console.error(`${name} #${r + 1}: ${fmt(cell.deliveriesPerSec)} deliveries/s, ${cell.cpuPerMillion.toFixed(0)} CPU ms per 10^6 (servers ${cell.serverCpuMs.toFixed(0)} ms, redis ${cell.redisCpuMs.toFixed(0)} ms)`);
    }
    const rates = cells.map((c) => c.deliveriesPerSec).sort((a, b) => a - b);
    const cpus = cells.map((c) => c.cpuPerMillion).sort((a, b) => a - b);
    const mid = Math.floor(rates.length / 2);
    if (!json) {
      console.log(`| ${name} | ${fmt(/** @type {number} */ (rates[mid]))} (${fmt(/** @type {number} */ (rates[0]))}–${fmt(/** @type {number} */ (rates.at(-1)))}) | ${/** @type {number} */ (cpus[mid]).toFixed(0)} |`);
    }
  }
  process.exit(0);
}

// Dispatch last (everything above is initialised by now), and only when run
// as a script: bench/run.js may import runCell from this module.
if (process.argv[1] === SELF) {
  const role = arg("--role", "main");
  if (role === "wavesock") await wavesockServer();
  else if (role === "socketio") await socketioServer();
  else if (role === "sink") await sink();
  else await main();
}

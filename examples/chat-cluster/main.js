// @ts-check
/**
 * The chat room as N worker processes sharing one room over Redis: one
 * command starts everything.
 *
 *   node examples/chat-cluster/main.js                  # http://127.0.0.1:8000/, 2 workers
 *   WORKERS=4 PORT=8080 node examples/chat-cluster/main.js
 *   REDIS_URL=redis://10.0.0.5:6379 node examples/chat-cluster/main.js
 *
 * Without REDIS_URL, a redis-server of its own is started on a free loopback
 * port (no persistence) and stopped on exit; with it, that Redis is used.
 * The workers are node:cluster workers sharing the port: each new connection
 * goes to one of them. Each runs the chat room of examples/chat (room.js,
 * the same page) with its topic over `redisPubSub` and its seats in Redis
 * (worker.js, seats.js): a message said on any worker reaches everyone in the
 * room on every worker, names are unique in the whole room, and a page that
 * loses its connection gets what it missed when it comes back, on whichever
 * worker. Open the page in two windows: they are likely served by different
 * workers (the welcome says which).
 */
import cluster from "node:cluster";
import { spawn } from "node:child_process";
import * as net from "node:net";

const WORKERS = Number(process.env.WORKERS || 2);

if (cluster.isPrimary) {
  /** @type {import("node:child_process").ChildProcess | null} */
  let redis = null;
  let url = process.env.REDIS_URL;
  if (!url) {
    const port = await freePort();
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    redis.on("error", (err) => {
      console.error(`could not start redis-server (${err.message}): install it (apt-get install redis-server) or set REDIS_URL`);
      process.exit(1);
    });
    await new Promise((resolve) => {
      let out = "";
      redis?.stdout?.setEncoding("utf8").on("data", (/** @type {string} */ s) => {
        out += s;
        if (out.includes("Ready to accept connections")) resolve(undefined);
      });
    });
    url = `redis://127.0.0.1:${port}`;
    console.log(`started redis-server on ${url}`);
  }

  let listening = 0;
  let stopping = false;
  for (let i = 0; i < WORKERS; i++) {
    const worker = cluster.fork({ REDIS_URL: url, WORKER_INDEX: String(i + 1) });
    worker.on("message", (/** @type {{ listening?: string }} */ message) => {
      // Print the address once every worker listens: whoever waits for this line can connect.
      if (message.listening && ++listening === WORKERS) console.log(`listening on ${message.listening} (${WORKERS} workers)`);
    });
  }
  cluster.on("exit", (worker, code) => {
    if (!stopping) console.log(`worker ${worker.process.pid} exited (${code}); the others go on`);
    if (Object.keys(cluster.workers ?? {}).length === 0) {
      redis?.kill("SIGTERM");
      process.exit(0);
    }
  });
  /** @param {NodeJS.Signals} signal */
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing the workers`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
} else {
  await import("./worker.js");
}

/** A port the kernel just gave out on 127.0.0.1. */
function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(address.port));
    });
  });
}

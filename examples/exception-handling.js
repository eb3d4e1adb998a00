// @ts-check
/**
 * Telling a normal close from an abnormal one.
 *
 * Once a connection is closed, `recv()` and `send()` throw a
 * `ConnectionClosed`. It comes in two kinds:
 *
 * - `ConnectionClosedOK`: both sides exchanged close frames with 1000
 *   (normal closure) or 1001 (going away). Nothing went wrong.
 * - `ConnectionClosedError`: anything else: the peer closed with an error
 *   code (1011 internal error, 1008 policy violation, ...), or the TCP
 *   connection dropped without a close frame (reported as 1006).
 *
 * This script starts a small server with one route per situation, connects
 * to each route as a client and prints what the client saw, then exits.
 *
 *   node examples/exception-handling.js         # PORT defaults to 0: any free port
 */
import { ConnectionClosed, ConnectionClosedOK, connect, serve } from "wavesock";

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 0);

// ---------------------------------------------------------------- the server

/** How the "/listen" route saw its client leave (the client part prints it). */
let reportServerSide = (/** @type {string} */ _line) => {};

/** @type {Record<string, (ws: import("wavesock").Connection) => Promise<void>>} */
const routes = {
  // Says hello, then closes normally with a reason.
  async "/goodbye"(ws) {
    await ws.send("welcome");
    await ws.close(1000, "goodbye");
  },
  // The handler fails: the server closes the connection with 1011.
  async "/crash"(ws) {
    await ws.send("about to crash");
    throw new Error("the database is on fire");
  },
  // The application refuses the client with its own close code.
  async "/policy"(ws) {
    await ws.close(1008, "you are not on the list");
  },
  // The TCP connection is reset: no close frame at all.
  async "/reset"(ws) {
    await ws.send("about to vanish");
    setTimeout(() => ws.socket.resetAndDestroy(), 50);
    await ws.closed;
  },
  // Waits for the client to leave and reports how it left.
  async "/listen"(ws) {
    try {
      for (;;) await ws.recv();
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) throw err;
      reportServerSide(describe(err));
    }
  },
};

const server = await serve(
  async (ws) => {
    const route = routes[ws.request.path];
    if (route) await route(ws);
    else await ws.close(1008, "unknown path");
  },
  {
    host,
    port,
    // Handler failures are logged here (the default logger is console.error, with a stack trace).
    logger: { error: (what, err) => console.log(`    (server log: ${what} ${err instanceof Error ? err.message : err})`) },
  },
);
const base = `ws://${host.includes(":") ? `[${host}]` : host}:${server.port}`;

// The demo takes a fraction of a second, but Ctrl+C should still end it cleanly.
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.on(signal, () => {
    console.log(`${signal}: closing the server`);
    void server.close().then(() => process.exit(130));
  });
}
console.log(`listening on ${base}`);

// ---------------------------------------------------------------- the client

/**
 * One line about a closed connection: which class, code and reason.
 * @param {ConnectionClosed} err
 */
function describe(err) {
  const kind = err instanceof ConnectionClosedOK ? "ConnectionClosedOK" : "ConnectionClosedError";
  return `${kind} closeCode=${err.closeCode} closeReason=${JSON.stringify(err.closeReason)}`;
}

/**
 * Connect to `path`, print every message until the connection closes, then
 * print how it closed.
 * @param {string} path
 */
async function visit(path) {
  const ws = await connect(base + path);
  try {
    for (;;) console.log(`    received ${JSON.stringify(await ws.recv())}`);
  } catch (err) {
    // Only closed-connection errors are expected here; let anything else crash the script.
    if (!(err instanceof ConnectionClosed)) throw err;
    if (err instanceof ConnectionClosedOK) console.log(`    normal close: ${describe(err)}`);
    else console.log(`    abnormal close: ${describe(err)}`);
  }
}

console.log("1. the server closes normally");
await visit("/goodbye");

console.log("2. the server's handler throws");
await visit("/crash");

console.log("3. the server closes with an application error code");
await visit("/policy");

console.log("4. the TCP connection is reset");
await visit("/reset");

console.log("5. the client closes, then tries to send");
{
  const serverSaw = new Promise((resolve) => (reportServerSide = resolve));
  const ws = await connect(base + "/listen");
  await ws.close(1000, "done here");
  console.log(`    the server saw: ${await serverSaw}`);
  try {
    await ws.send("too late");
  } catch (err) {
    if (!(err instanceof ConnectionClosed)) throw err;
    console.log(`    send() after close: ${describe(err)}`);
  }
}

console.log("6. `for await` ends quietly on a normal close, and throws on an abnormal one");
for (const path of ["/goodbye", "/crash"]) {
  const ws = await connect(base + path);
  try {
    for await (const message of ws) console.log(`    ${path}: received ${JSON.stringify(message)}`);
    console.log(`    ${path}: the loop ended (code ${ws.closeCode})`);
  } catch (err) {
    if (!(err instanceof ConnectionClosed)) throw err;
    console.log(`    ${path}: the loop threw ${describe(err)}`);
  }
}

await server.close();
console.log("done");

/**
 * The server every standard-client scenario talks to — the same one for
 * Chromium's page, for our classes and for Node's built-in client — a
 * wavesock server whose request path says what the connection does. It also
 * serves the page Chromium runs the scenarios from, and the scenario
 * modules themselves (scenarios.js and what it imports), so that the
 * browser runs the very same code.
 *
 *   /echo                 echo every message (text as text); permessage-deflate as negotiated
 *   /close?code=C&reason=R close at once with C and R
 *   /close-empty          close at once with an empty close frame (the client sees 1005)
 *   /burst                three text frames "a" "b" "c" in one TCP write, then echo
 *   /drop                 drop the TCP connection 50 ms after opening, without a close frame
 *   /bad-utf8             a text message "a", then a text frame of invalid UTF-8
 *   /msgs-close           "one", binary [1, 2, 3], then close with 4001 "done"
 *   /ping                 ping with "hi", wait for the pong, send "pong:hi", then echo
 *   /count?n=N            send "0".."N-1", then echo
 *   /hold                 keep the connection open until the client closes it
 *   /reject               answer the handshake with 403
 * Subprotocols: the server chooses among "chat.v2", "chat.v1" (its order).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serve, type Connection, type Server } from "../../src/index.js";

/** The scenario modules the page imports, by path. */
const MODULES = new Set(["/scenarios.js", "/scenario-helpers.js", "/websocket-scenarios.js", "/stream-scenarios.js"]);
const HERE = fileURLToPath(new URL(".", import.meta.url));

const PAGE = `<!doctype html><meta charset="utf-8"><title>standard WebSocket scenarios</title>`;

/** A started scenario server: `base` is its ws:// URL without a path; `closedUrl` a port nothing listens on. */
export interface ScenarioServer {
  server: Server;
  base: string;
  http: string;
  /** Every connection the server has had, in order. */
  conns: Connection[];
  close(): Promise<void>;
}

async function behave(ws: Connection): Promise<void> {
  const url = new URL(ws.request.path, "http://x");
  const q = url.searchParams;
  switch (url.pathname) {
    case "/close":
      await ws.close(Number(q.get("code") ?? 1000), q.get("reason") ?? "");
      return;
    case "/close-empty":
      ws.core.sendClose();
      ws.afterInput();
      await ws.closed;
      return;
    case "/burst":
      // Unmasked server frames, written raw so that they share one TCP segment.
      ws.socket.write(Buffer.from([0x81, 1, 0x61, 0x81, 1, 0x62, 0x81, 1, 0x63]));
      break;
    case "/drop":
      setTimeout(() => ws.abort(), 50);
      await ws.closed;
      return;
    case "/bad-utf8":
      ws.socket.write(Buffer.from([0x81, 1, 0x61, 0x81, 2, 0xc3, 0x28]));
      await ws.closed;
      return;
    case "/msgs-close":
      await ws.send("one");
      await ws.send(new Uint8Array([1, 2, 3]));
      await ws.close(4001, "done");
      return;
    case "/ping":
      await ws.ping("hi");
      await ws.send("pong:hi");
      break;
    case "/count":
      for (let i = 0; i < Number(q.get("n") ?? 0); i++) await ws.send(String(i));
      break;
    case "/hold":
      await ws.closed;
      return;
  }
  for await (const m of ws) await ws.send(m);
}

/** Start the scenario server on 127.0.0.1. */
export async function startScenarioServer(): Promise<ScenarioServer> {
  const conns: Connection[] = [];
  const server = await serve(
    async (ws) => {
      conns.push(ws);
      await behave(ws);
    },
    {
      host: "127.0.0.1",
      port: 0,
      logger: null,
      pingInterval: null,
      maxSize: 16 * 1024 * 1024,
      subprotocols: ["chat.v2", "chat.v1"],
      processRequest: (conn, req) => {
        if (req.headers["upgrade"] === undefined) {
          if (MODULES.has(req.path)) return conn.respond(200, readFileSync(HERE + req.path.slice(1), "utf8"), { "content-type": "text/javascript; charset=utf-8" });
          return conn.respond(200, PAGE, { "content-type": "text/html; charset=utf-8" });
        }
        if (req.path.startsWith("/reject")) return conn.respond(403, "no\n");
        return undefined;
      },
    },
  );
  return {
    server,
    conns,
    base: `ws://127.0.0.1:${server.port}`,
    http: `http://127.0.0.1:${server.port}`,
    close: () => server.close(),
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const net = await import("node:net");
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

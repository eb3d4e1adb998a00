/**
 * route() over real sockets: each path served by its handler with its
 * params and query; other paths answered 404 without an upgrade (raw bytes:
 * no 101, nothing after the answer); processRequest composition (the
 * server's, then the router's, then the route's); attach() sharing an HTTP
 * server with another endpoint and with a real `ws` endpoint; a Python
 * `websockets` client on a routed path.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, WebSocket as WsClient } from "ws";
import { attach, connect, route, serve, type Connection, type Server } from "../../src/index.js";
import { RawPeer } from "../node/helpers.js";

const servers: Server[] = [];
const httpServers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(httpServers.splice(0).map((h) => new Promise((r) => h.close(r))));
});

const quiet = { host: "127.0.0.1", logger: null };

/** Send a handshake for `path` and read everything the server says until it closes. */
async function refused(port: number, path: string): Promise<{ status: string; raw: string }> {
  const peer = await RawPeer.connect(port);
  peer.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const raw = (await peer.readToEnd()).toString("latin1");
  return { status: raw.slice(0, raw.indexOf("\r\n")), raw };
}

/** A handler that reports what the router gave it, then waits for the close. */
function reporter(name: string) {
  return async (ws: Connection, match: { params: Readonly<Record<string, string>>; query: URLSearchParams; pattern: string; path: string }) => {
    await ws.send(JSON.stringify({ name, pattern: match.pattern, params: match.params, query: [...match.query], path: match.path, data: ws.data }));
    await ws.closed;
  };
}

async function report(url: string): Promise<Record<string, unknown>> {
  const ws = await connect(url);
  try {
    return JSON.parse((await ws.recv()) as string) as Record<string, unknown>;
  } finally {
    await ws.close();
  }
}

describe("route() with serve()", () => {
  it("serves each path with its handler, giving it the decoded params and the query", async () => {
    const router = route({ "/": reporter("home"), "/rooms/:room": reporter("room"), "/files/*": reporter("files") });
    const server = await serve(router, quiet);
    servers.push(server);
    const base = `ws://127.0.0.1:${server.port}`;
    expect(await report(`${base}/`)).toMatchObject({ name: "home", params: {}, query: [] });
    expect(await report(`${base}/rooms/caf%C3%A9?nick=ann&nick=bob`)).toMatchObject({
      name: "room",
      pattern: "/rooms/:room",
      params: { room: "café" },
      query: [["nick", "ann"], ["nick", "bob"]],
      path: "/rooms/caf%C3%A9",
    });
    expect(await report(`${base}/files/a/b.txt`)).toMatchObject({ name: "files", params: { "*": "a/b.txt" } });
  });

  it("answers 404 to a path no route takes, without upgrading and without running a handler", async () => {
    let ran = 0;
    const server = await serve(route({ "/chat": () => void ran++ }), quiet);
    servers.push(server);
    for (const path of ["/nope", "/chat/", "/Chat", "/chat/x"]) {
      const { status, raw } = await refused(server.port, path);
      expect(status, path).toBe("HTTP/1.1 404 Not Found");
      expect(raw).not.toContain("101");
      expect(raw).not.toMatch(/sec-websocket-accept/i);
    }
    expect(ran).toBe(0);
    expect(server.connections.size).toBe(0);
    // And a wavesock client sees an InvalidStatus with the 404.
    const err = await connect(`ws://127.0.0.1:${server.port}/nope`).catch((e: unknown) => e);
    expect((err as { response?: { status: number } }).response?.status).toBe(404);
  });

  it("answers 400 to a path with malformed percent-encoding", async () => {
    const server = await serve(route({ "/rooms/:room": reporter("room") }), quiet);
    servers.push(server);
    expect((await refused(server.port, "/rooms/%zz")).status).toBe("HTTP/1.1 400 Bad Request");
    expect((await refused(server.port, "/rooms/%ff")).status).toBe("HTTP/1.1 400 Bad Request");
  });

  it("the server's processRequest runs first (for every path), then the router, then the route's own", async () => {
    const calls: string[] = [];
    const router = route({
      "/rooms/:room": {
        handler: reporter("room"),
        processRequest: (conn, request, match) => {
          calls.push(`route ${match.params.room} ${request.path}`);
          if (match.params.room === "secret") return conn.respond(403, "Forbidden\n");
          conn.data["room"] = match.params.room.toUpperCase();
          return undefined;
        },
      },
      "/open": reporter("open"),
    });
    const server = await serve(router, {
      ...quiet,
      processRequest: (conn, request) => {
        calls.push(`server ${request.path}`);
        if (request.path === "/healthz") return conn.respond(200, "OK\n");
        if (request.headers["x-block"] === "1") return conn.respond(429, "Slow down\n");
        return undefined;
      },
    });
    servers.push(server);
    const base = `ws://127.0.0.1:${server.port}`;

    // A health check on a path no route has: the server's hook answers before the router's 404.
    expect((await refused(server.port, "/healthz")).status).toBe("HTTP/1.1 200 OK");
    // The route's hook refuses one room, and leaves data for the handler in another.
    expect((await refused(server.port, "/rooms/secret")).status).toBe("HTTP/1.1 403 Forbidden");
    expect(await report(`${base}/rooms/lobby`)).toMatchObject({ params: { room: "lobby" }, data: { room: "LOBBY" } });
    // A refusal by the server's hook: the route's hook never runs.
    const blocked = await connect(`${base}/rooms/x`, { headers: { "x-block": "1" } }).catch((e: unknown) => e);
    expect((blocked as { response?: { status: number } }).response?.status).toBe(429);
    // No route: the server's hook ran, the router answered 404.
    expect((await refused(server.port, "/elsewhere")).status).toBe("HTTP/1.1 404 Not Found");
    expect(calls).toEqual([
      "server /healthz",
      "server /rooms/secret",
      "route secret /rooms/secret",
      "server /rooms/lobby",
      "route lobby /rooms/lobby",
      "server /rooms/x",
      "server /elsewhere",
    ]);
  });

  it("a route's processRequest that throws answers 500 and is logged; the server goes on", async () => {
    const lines: string[] = [];
    const router = route({
      "/bad": { handler: reporter("bad"), processRequest: () => Promise.reject(new Error("database down")) },
      "/good": reporter("good"),
    });
    const server = await serve(router, { host: "127.0.0.1", logger: { error: (...a: unknown[]) => void lines.push(a.map(String).join(" ")) } });
    servers.push(server);
    const { status, raw } = await refused(server.port, "/bad");
    expect(status).toBe("HTTP/1.1 500 Internal Server Error");
    expect(raw).not.toContain("database down");
    expect(lines.join("\n")).toContain("database down");
    expect(await report(`ws://127.0.0.1:${server.port}/good`)).toMatchObject({ name: "good" });
  });

  it("a router wrapped in another function (no routing hook) fails the connection 1011 on a path it has no route for", async () => {
    const lines: string[] = [];
    const router = route({ "/a": reporter("a") });
    const server = await serve((ws) => router(ws), { host: "127.0.0.1", logger: { error: (...a: unknown[]) => void lines.push(a.map(String).join(" ")) } });
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}/b`);
    await ws.closed;
    expect(ws.closeCode).toBe(1011);
    expect(lines.join("\n")).toContain("pass the router itself to serve()");
  });

  it("a Python websockets client reaches a routed path with its params", async () => {
    const server = await serve(route({ "/echo/:word": async (ws, { params }) => ws.send(`${params.word}:${await ws.recv()}`) }), quiet);
    servers.push(server);
    const script = [
      "import asyncio, sys, websockets",
      "async def main():",
      "    async with websockets.connect(sys.argv[1]) as ws:",
      "        await ws.send('hi')",
      "        print(await ws.recv())",
      "asyncio.run(main())",
    ].join("\n");
    const out = await new Promise<string>((resolve, reject) =>
      execFile("/usr/bin/python3", ["-c", script, `ws://127.0.0.1:${server.port}/echo/na%C3%AFve`], { timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(out.trim()).toBe("naïve:hi");
  });
});

describe("route() with attach()", () => {
  async function listen(h: http.Server): Promise<number> {
    httpServers.push(h);
    await new Promise<void>((r) => h.listen(0, "127.0.0.1", r));
    return (h.address() as AddressInfo).port;
  }

  it("takes the paths it has routes for and leaves the others to another endpoint and to a ws endpoint", async () => {
    const httpServer = http.createServer((_req, res) => res.end("page"));
    servers.push(attach(httpServer, route({ "/rooms/:room": reporter("room") }), { logger: null }));
    servers.push(attach(httpServer, (ws) => reporter("feed")(ws, { params: {}, query: new URLSearchParams(), pattern: "", path: "/feed" }), { path: "/feed", logger: null }));
    const legacy = new WebSocketServer({ noServer: true });
    legacy.on("connection", (ws) => ws.send("legacy"));
    httpServer.on("upgrade", (req, socket, head) => {
      if (req.url === "/legacy") legacy.handleUpgrade(req, socket, head, (ws) => legacy.emit("connection", ws, req));
    });
    const port = await listen(httpServer);
    const base = `ws://127.0.0.1:${port}`;

    expect(await report(`${base}/rooms/r1`)).toMatchObject({ name: "room", params: { room: "r1" } });
    expect(await report(`${base}/feed`)).toMatchObject({ name: "feed" });
    const fromWs = await connect(`${base}/legacy`);
    expect(await fromWs.recv()).toBe("legacy");
    await fromWs.close();
    // A ws client on a routed path: a real peer of ours, through the router.
    const wsClient = new WsClient(`${base}/rooms/from-ws`);
    const text = await new Promise<string>((resolve, reject) => {
      wsClient.once("message", (d) => resolve(String(d)));
      wsClient.once("error", reject);
    });
    expect(JSON.parse(text)).toMatchObject({ params: { room: "from-ws" } });
    wsClient.close();
    legacy.close();
  });

  it("a path no endpoint takes is answered 404 once, and plain HTTP stays with the HTTP server", async () => {
    const httpServer = http.createServer((_req, res) => res.end("page"));
    servers.push(attach(httpServer, route({ "/rooms/:room": reporter("room") }), { logger: null }));
    const port = await listen(httpServer);
    const { status, raw } = await refused(port, "/nope");
    expect(status).toBe("HTTP/1.1 404 Not Found");
    expect(raw.match(/HTTP\/1\.1/g)).toHaveLength(1);
    const page = await fetch(`http://127.0.0.1:${port}/rooms/x`).then((r) => r.text());
    expect(page).toBe("page");
  });
});

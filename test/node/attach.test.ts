/**
 * attach() shares an HTTP server: with other wavesock endpoints (each with
 * its path), with a real `ws` noServer endpoint (what dev servers do for hot
 * reload), and with the noServer pattern of our own (attach(null) +
 * handleUpgrade). A request is answered by exactly one endpoint, and refused
 * (404) exactly once when nobody takes it. The raw bytes are read to prove
 * that nothing is written after a 101.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket as WsClient, WebSocketServer } from "ws";
import { attach, connect, type Connection, type Server } from "../../src/index.js";
import { RawPeer, clientFrame, sleep } from "./helpers.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => server.closeAllConnections());
  return (server.address() as AddressInfo).port;
}

/** An echo handler that tags its replies, so each endpoint can be told apart. */
function tagged(tag: string, seen: string[]) {
  return async (ws: Connection) => {
    seen.push(`${tag}:${ws.request.path}`);
    for await (const m of ws) await ws.send(`${tag}:${String(m)}`);
  };
}

function track(server: Server): Server {
  cleanups.push(() => server.close());
  return server;
}

/** Open a raw WebSocket on `path`, echo one message, close; return every byte received. */
async function rawSession(port: number, path: string): Promise<{ head: string; all: string }> {
  const peer = await RawPeer.connect(port);
  const head = await peer.handshake(path);
  let all = head;
  if (head.startsWith("HTTP/1.1 101")) {
    peer.write(clientFrame(0x1, "ping?"));
    const frame = await peer.readFrame();
    all += `<frame ${frame.opcode} ${frame.payload.toString()}>`;
    peer.write(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
    const close = await peer.readFrame();
    all += `<frame ${close.opcode}>`;
  }
  all += (await peer.readToEnd(10_000)).toString("latin1");
  peer.destroy();
  return { head, all };
}

function statusLines(bytes: string): number {
  return bytes.split("HTTP/1.1 ").length - 1;
}

describe("two wavesock endpoints on one HTTP server", () => {
  it("/a and /b each get their own connections; nothing is written after a 101", async () => {
    const httpServer = http.createServer((_req, res) => res.end("plain http\n"));
    const seen: string[] = [];
    track(attach(httpServer, tagged("a", seen), { path: "/a", logger: null }));
    track(attach(httpServer, tagged("b", seen), { path: "/b", logger: null }));
    const port = await listen(httpServer);
    expect(httpServer.listenerCount("upgrade")).toBe(1);

    const a = await rawSession(port, "/a");
    const b = await rawSession(port, "/b?x=1");
    expect(a.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(a.all).toContain("<frame 1 a:ping?>");
    expect(b.all).toContain("<frame 1 b:ping?>");
    expect(statusLines(a.all)).toBe(1);
    expect(statusLines(b.all)).toBe(1);
    expect(a.all).not.toContain("404");
    expect(seen).toEqual(["a:/a", "b:/b?x=1"]);

    // Our own client, and plain HTTP still served by the HTTP server.
    const ws = await connect(`ws://127.0.0.1:${port}/b`);
    await ws.send("hi");
    expect(await ws.recv()).toBe("b:hi");
    await ws.close();
    const body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(body).toBe("plain http\n");
  });

  it("path is exact: the query is ignored, a trailing slash or another case is another path", async () => {
    const httpServer = http.createServer();
    const seen: string[] = [];
    track(attach(httpServer, tagged("chat", seen), { path: "/chat", logger: null }));
    const port = await listen(httpServer);
    expect((await rawSession(port, "/chat?room=1")).head).toMatch(/^HTTP\/1\.1 101/);
    expect((await rawSession(port, "/chat/")).head).toMatch(/^HTTP\/1\.1 404/);
    expect((await rawSession(port, "/Chat")).head).toMatch(/^HTTP\/1\.1 404/);
  });

  it("shouldHandle decides after path; the first endpoint that takes a request answers it", async () => {
    const httpServer = http.createServer();
    const seen: string[] = [];
    track(attach(httpServer, tagged("v2", seen), { logger: null, shouldHandle: (req) => req.headers["sec-websocket-protocol"] === "v2" }));
    track(attach(httpServer, tagged("any", seen), { logger: null }));
    const port = await listen(httpServer);
    const v2 = await connect(`ws://127.0.0.1:${port}/x`, { subprotocols: ["v2"] });
    const other = await connect(`ws://127.0.0.1:${port}/x`);
    await v2.close();
    await other.close();
    expect(seen).toEqual(["v2:/x", "any:/x"]);
  });
});

describe("next to a real ws noServer endpoint", () => {
  for (const order of ["ws listener first", "wavesock first"] as const) {
    it(`ws on /hmr and wavesock on /chat both work from real clients (${order})`, async () => {
      const httpServer = http.createServer();
      const hmr = new WebSocketServer({ noServer: true });
      hmr.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(`hmr:${data.toString()}`, { binary: isBinary })));
      cleanups.push(() => new Promise((r) => hmr.close(r)));
      const wsListener = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (req.url === "/hmr") hmr.handleUpgrade(req, socket, head, (client) => hmr.emit("connection", client, req));
      };
      const seen: string[] = [];
      if (order === "ws listener first") httpServer.on("upgrade", wsListener);
      track(attach(httpServer, tagged("chat", seen), { path: "/chat", logger: null }));
      if (order === "wavesock first") httpServer.on("upgrade", wsListener);
      const port = await listen(httpServer);

      // A ws client on /hmr: its connection is not touched by wavesock.
      const hmrClient = new WsClient(`ws://127.0.0.1:${port}/hmr`);
      await new Promise((resolve, reject) => hmrClient.once("open", resolve).once("error", reject));
      const reply = new Promise<string>((r) => hmrClient.once("message", (d) => r(d.toString())));
      hmrClient.send("reload");
      expect(await reply).toBe("hmr:reload");
      // Raw bytes on /hmr: one status line, the 101, and nothing after it but frames.
      const raw = await rawSession(port, "/hmr");
      expect(raw.head).toMatch(/^HTTP\/1\.1 101/);
      expect(statusLines(raw.all)).toBe(1);
      await sleep(50);
      expect(hmrClient.readyState).toBe(WsClient.OPEN);

      // A wavesock client and a ws client on /chat.
      const ours = await connect(`ws://127.0.0.1:${port}/chat`);
      await ours.send("hello");
      expect(await ours.recv()).toBe("chat:hello");
      await ours.close();
      const theirs = new WsClient(`ws://127.0.0.1:${port}/chat`);
      await new Promise((resolve, reject) => theirs.once("open", resolve).once("error", reject));
      const chatReply = new Promise<string>((r) => theirs.once("message", (d) => r(d.toString())));
      theirs.send("hey");
      expect(await chatReply).toBe("chat:hey");
      theirs.close();
      hmrClient.close();
      expect(seen).toEqual(["chat:/chat", "chat:/chat"]);
    });
  }
});

describe("a request that no listener takes is refused exactly once", () => {
  it("with only wavesock listening: 404 at once, one status line, then the socket ends", async () => {
    const httpServer = http.createServer();
    track(attach(httpServer, tagged("a", []), { path: "/a", logger: null }));
    track(attach(httpServer, tagged("b", []), { path: "/b", logger: null }));
    const port = await listen(httpServer);
    const started = Date.now();
    const { all } = await rawSession(port, "/unknown");
    expect(all).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
    expect(statusLines(all)).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("with another listener that ignores it: refused once the endpoints' openTimeout has passed", async () => {
    const httpServer = http.createServer();
    httpServer.on("upgrade", () => undefined); // a listener that takes nothing
    track(attach(httpServer, tagged("a", []), { path: "/a", logger: null, openTimeout: 300 }));
    const port = await listen(httpServer);
    const started = Date.now();
    const { all } = await rawSession(port, "/unknown");
    expect(all).toMatch(/^HTTP\/1\.1 404 /);
    expect(statusLines(all)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("another listener that takes the socket asynchronously (within openTimeout) is left alone", async () => {
    const httpServer = http.createServer();
    const hmr = new WebSocketServer({ noServer: true });
    hmr.on("connection", (socket) => socket.on("message", (d) => socket.send(`late:${d.toString()}`)));
    cleanups.push(() => new Promise((r) => hmr.close(r)));
    httpServer.on("upgrade", (req, socket, head) => {
      // An auth check that takes a while before ws takes the socket.
      if (req.url === "/slow") setTimeout(() => hmr.handleUpgrade(req, socket, head, (c) => hmr.emit("connection", c, req)), 150);
    });
    track(attach(httpServer, tagged("a", []), { path: "/a", logger: null, openTimeout: 2000 }));
    const port = await listen(httpServer);
    const raw = await rawSession(port, "/slow");
    expect(raw.head).toMatch(/^HTTP\/1\.1 101/);
    expect(raw.all).toContain("<frame 1 late:ping?>");
    expect(statusLines(raw.all)).toBe(1);
  });
});

describe("the noServer pattern: attach(null) + handleUpgrade", () => {
  it("routes upgrades the application chooses; shouldHandle() tells which", async () => {
    const seen: string[] = [];
    const chat = track(attach(null, tagged("chat", seen), { path: "/chat", logger: null }));
    expect(chat.server).toBe(null);
    expect(() => chat.port).toThrow(/does not listen/);
    const httpServer = http.createServer();
    httpServer.on("upgrade", (req, socket, head) => {
      if (chat.shouldHandle(req)) chat.handleUpgrade(req, socket as import("node:net").Socket, head);
      else socket.destroy();
    });
    const port = await listen(httpServer);
    const ws = await connect(`ws://127.0.0.1:${port}/chat?x=1`);
    await ws.send("hi");
    expect(await ws.recv()).toBe("chat:hi");
    await ws.close();
    expect(seen).toEqual(["chat:/chat?x=1"]);
  });

  it("handleUpgrade answers 404 to a request its path does not take", async () => {
    const chat = track(attach(null, tagged("chat", []), { path: "/chat", logger: null }));
    const httpServer = http.createServer();
    httpServer.on("upgrade", (req, socket, head) => chat.handleUpgrade(req, socket as import("node:net").Socket, head));
    const port = await listen(httpServer);
    const { all } = await rawSession(port, "/other");
    expect(all).toMatch(/^HTTP\/1\.1 404 /);
    expect(statusLines(all)).toBe(1);
  });
});

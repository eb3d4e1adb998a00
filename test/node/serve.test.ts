import * as http from "node:http";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosed,
  ConnectionClosedError,
  ConnectionClosedOK,
  InvalidHandshake,
  InvalidStatus,
  InvalidURI,
  attach,
  broadcast,
  connect,
  serve,
  type Connection,
  type Server,
} from "../../src/index.js";
import { RawPeer, clientFrame, selfSignedCert, sleep, until } from "./helpers.js";

const servers: Server[] = [];
const quiet = { logger: null };

async function echoServer(options: Parameters<typeof serve>[1] = {}): Promise<Server> {
  const server = await serve(
    async (ws) => {
      for await (const m of ws) await ws.send(m);
    },
    { host: "127.0.0.1", port: 0, ...quiet, ...options },
  );
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe("serve + connect: messages", () => {
  it("echoes text as strings and binary as bytes, in order", async () => {
    const server = await echoServer();
    const ws = await connect(`ws://127.0.0.1:${server.port}/path?q=1`);
    await ws.send("Hello, World!");
    await ws.send(new Uint8Array([1, 2, 3]));
    expect(await ws.recv()).toBe("Hello, World!");
    expect(Array.from((await ws.recv()) as Uint8Array)).toEqual([1, 2, 3]);
    expect(ws.request.path).toBe("/path?q=1");
    expect(ws.response.status).toBe(101);
    await ws.close();
    expect(ws.closeCode).toBe(1000);
  });

  it("sends iterables and async iterables as one fragmented message", async () => {
    const seen: unknown[] = [];
    const server = await serve(
      async (ws) => {
        for await (const m of ws) seen.push(m);
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await ws.send(["fr", "ag", "ment"]);
    async function* parts() {
      yield new Uint8Array([1]);
      await sleep(5);
      yield new Uint8Array([2, 3]);
    }
    await ws.send(parts());
    await ws.close();
    await until(() => seen.length === 2);
    expect(seen[0]).toBe("fragment");
    expect(Array.from(seen[1] as Uint8Array)).toEqual([1, 2, 3]);
  });

  it("exposes the server's connections and broadcasts to them, framing once", async () => {
    const server = await serve(async (ws) => void (await ws.closed), { host: "127.0.0.1", ...quiet });
    servers.push(server);
    const clients = await Promise.all([1, 2, 3].map(() => connect(`ws://127.0.0.1:${server.port}`, { compression: null })));
    await until(() => server.connections.size === 3);
    expect(broadcast(server.connections, "hello all")).toBe(0);
    for (const c of clients) expect(await c.recv()).toBe("hello all");
    await Promise.all(clients.map((c) => c.close()));
  });

  it("ping resolves with the round-trip time", async () => {
    const server = await echoServer();
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    const rtt = await ws.ping();
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(5000);
    expect(ws.latency).toBe(rtt);
    await ws.close();
  });

  it("disposes like Python's `async with`: Symbol.asyncDispose closes connection and server", async () => {
    const server = await echoServer();
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await ws[Symbol.asyncDispose]();
    expect(ws.state).toBe("closed");
    expect(ws.closeCode).toBe(1000);
    const port = server.port;
    await server[Symbol.asyncDispose]();
    await expect(connect(`ws://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("works over IPv6 loopback", async () => {
    const server = await echoServer({ host: "::1" });
    const ws = await connect(`ws://[::1]:${server.port}/`);
    await ws.send("six");
    expect(await ws.recv()).toBe("six");
    expect(ws.remoteAddress).toBe("::1");
    await ws.close();
  });

  it("works over TLS (wss://) with a self-signed certificate", async () => {
    const { key, cert } = selfSignedCert();
    const server = await echoServer({ tls: { key, cert } });
    const ws = await connect(`wss://localhost:${server.port}/`, { tls: { ca: cert } });
    await ws.send("secure");
    expect(await ws.recv()).toBe("secure");
    await ws.close();
    await expect(connect(`wss://localhost:${server.port}/`)).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it("attaches to an existing node:http server and shares its port", async () => {
    const httpServer = http.createServer((_req, res) => res.end("plain http"));
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
    const wss = attach(httpServer, async (ws) => {
      for await (const m of ws) await ws.send(`echo:${m}`);
    }, quiet);
    const port = (httpServer.address() as { port: number }).port;
    const ws = await connect(`ws://127.0.0.1:${port}/ws`);
    await ws.send("x");
    expect(await ws.recv()).toBe("echo:x");
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe("plain http");
    await ws.close();
    await wss.close();
    await new Promise((r) => httpServer.close(r));
  });
});

describe("serve + connect: closing", () => {
  it("a normal close ends the handler's iteration with 1000 both ways", async () => {
    let serverSide: Connection | null = null;
    let iterationEnded = false;
    const server = await serve(
      async (ws) => {
        serverSide = ws;
        for await (const _ of ws);
        iterationEnded = true;
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await ws.close(1000, "bye");
    await until(() => iterationEnded);
    expect(serverSide!.closeCode).toBe(1000);
    expect(serverSide!.closeReason).toBe("bye");
    await expect(ws.recv()).rejects.toBeInstanceOf(ConnectionClosedOK);
    await expect(ws.send("late")).rejects.toBeInstanceOf(ConnectionClosed);
  });

  it("server.close() sends 1001 to every client and waits for the handlers", async () => {
    let handlersDone = 0;
    const server = await serve(
      async (ws) => {
        try {
          for await (const _ of ws);
        } finally {
          handlersDone++;
        }
      },
      { host: "127.0.0.1", ...quiet },
    );
    const a = await connect(`ws://127.0.0.1:${server.port}`);
    const b = await connect(`ws://127.0.0.1:${server.port}`);
    await until(() => server.connections.size === 2);
    const port = server.port;
    await server.close();
    expect(handlersDone).toBe(2);
    for (const c of [a, b]) {
      await expect(c.recv()).rejects.toBeInstanceOf(ConnectionClosedOK);
      expect(c.closeCode).toBe(1001);
    }
    await expect(connect(`ws://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("a handler that throws closes its connection with 1011 and the server keeps serving", async () => {
    const errors: unknown[] = [];
    const server = await serve(
      async (ws) => {
        const m = await ws.recv();
        if (m === "boom") throw new Error("handler failure");
        await ws.send("fine");
      },
      { host: "127.0.0.1", logger: { error: (...args: unknown[]) => errors.push(args) } },
    );
    servers.push(server);
    const bad = await connect(`ws://127.0.0.1:${server.port}`);
    await bad.send("boom");
    const err = await bad.recv().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).closeCode).toBe(1011);
    expect(errors).toHaveLength(1);
    const good = await connect(`ws://127.0.0.1:${server.port}`);
    await good.send("hi");
    expect(await good.recv()).toBe("fine");
    await good.close();
  });

  it("a reset socket gives the handler ConnectionClosedError with 1006", async () => {
    let err: unknown = null;
    const server = await serve(
      async (ws) => {
        try {
          await ws.recv();
        } catch (e) {
          err = e;
        }
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    expect(await peer.handshake()).toMatch(/^HTTP\/1\.1 101/);
    peer.socket.resetAndDestroy();
    await until(() => err !== null);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).closeCode).toBe(1006);
  });

  it("an oversized message fails the connection with 1009", async () => {
    const server = await echoServer({ maxSize: 1000 });
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { compression: null });
    await ws.send(new Uint8Array(1001));
    const err = await ws.recv().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).closeCode).toBe(1009);
  });

  it("keepalive: a peer that never answers pings is failed with 1011", async () => {
    let err: unknown = null;
    const server = await serve(
      async (ws) => {
        try {
          await ws.recv();
        } catch (e) {
          err = e;
        }
      },
      { host: "127.0.0.1", pingInterval: 50, pingTimeout: 100, closeTimeout: 200, ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const ping = await peer.readFrame();
    expect(ping.opcode).toBe(9);
    const close = await peer.readFrame();
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1011);
    await until(() => err !== null);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    peer.destroy();
  });

  it("keepalive pings answered keep the connection open and measure latency", async () => {
    const server = await echoServer({ pingInterval: 30, pingTimeout: 1000 });
    const ws = await connect(`ws://127.0.0.1:${server.port}`);
    await sleep(200);
    const [conn] = [...server.connections];
    expect(conn!.state).toBe("open");
    expect(conn!.latency).toBeGreaterThan(0);
    await ws.close();
  });
});

describe("serve: the opening handshake", () => {
  it("processRequest can answer without upgrading (404, health check)", async () => {
    const server = await echoServer({
      processRequest: (conn, req) => {
        if (req.path === "/health") return conn.respond(200, "OK\n");
        if (req.path !== "/custom") return conn.respond(404, "Not Found\n");
        return undefined;
      },
    });
    const err = await connect(`ws://127.0.0.1:${server.port}/other`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(404);
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("OK\n");
    const ws = await connect(`ws://127.0.0.1:${server.port}/custom`);
    await ws.send("ok");
    expect(await ws.recv()).toBe("ok");
    await ws.close();
  });

  it("origins: an origin not on the list gets 403", async () => {
    const server = await echoServer({ origins: ["https://good.example"] });
    const bad = await connect(`ws://127.0.0.1:${server.port}`, { origin: "https://evil.example" }).catch((e: unknown) => e);
    expect((bad as InvalidStatus).response.status).toBe(403);
    const good = await connect(`ws://127.0.0.1:${server.port}`, { origin: "https://good.example" });
    await good.close();
  });

  it("subprotocols: the server picks its preferred one among the client's offers", async () => {
    const server = await echoServer({ subprotocols: ["chat.v2", "chat.v1"] });
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { subprotocols: ["chat.v1", "chat.v2"] });
    expect(ws.subprotocol).toBe("chat.v2");
    await ws.close();
    const none = await connect(`ws://127.0.0.1:${server.port}`, { subprotocols: ["other"] });
    expect(none.subprotocol).toBeNull();
    await none.close();
  });

  it("a broken handshake gets an HTTP error, not a crash", async () => {
    const server = await echoServer();
    const peer = await RawPeer.connect(server.port);
    peer.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
    expect(await peer.readHead()).toMatch(/^HTTP\/1\.1 400/);
    const peer2 = await RawPeer.connect(server.port);
    peer2.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    const head = await peer2.readHead();
    expect(head).toMatch(/^HTTP\/1\.1 426/);
    expect(head.toLowerCase()).toContain("sec-websocket-version: 13");
  });

  it("a frame sent in the same packet as the request is not lost", async () => {
    const server = await echoServer({ compression: null });
    const peer = await RawPeer.connect(server.port);
    peer.write(
      Buffer.concat([
        Buffer.from(
          "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
        clientFrame(1, "early"),
      ]),
    );
    await peer.readHead();
    const frame = await peer.readFrame();
    expect(frame.payload.toString()).toBe("early");
    peer.destroy();
  });

  it("a slow or silent client is dropped after openTimeout", async () => {
    const server = await echoServer({ openTimeout: 100 });
    const peer = await RawPeer.connect(server.port);
    peer.write("GET / HTTP/1.1\r\n");
    await peer.closed;
    expect(peer.socket.destroyed).toBe(true);
  });

  it("connect: a server that accepts TCP but never answers times out (openTimeout)", async () => {
    const silent = net.createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const started = Date.now();
    const err = await connect(`ws://127.0.0.1:${port}`, { openTimeout: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidHandshake);
    expect((err as InvalidHandshake).code).toBe("WS_ERR_OPEN_TIMEOUT");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    silent.close();
  });

  it("connect: options.signal aborts the opening (rejects with its reason, the socket is dropped) and does nothing once open", async () => {
    const sockets: net.Socket[] = [];
    let dropped = 0;
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => dropped++);
      socket.resume();
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    const ac = new AbortController();
    const pending = connect(`ws://127.0.0.1:${port}`, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => sockets.length === 1);
    ac.abort();
    const err = await pending;
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("AbortError");
    await until(() => dropped === 1);
    // Already aborted: rejects at once with the reason given, opens nothing.
    const reason = new Error("gave up");
    await expect(connect(`ws://127.0.0.1:${port}`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(sockets.length).toBe(1);
    silent.close();
    // Once connected the signal is let go of: aborting it later closes nothing.
    const server = await echoServer();
    const later = new AbortController();
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { signal: later.signal });
    later.abort();
    await ws.send("still open");
    expect(await ws.recv()).toBe("still open");
    await ws.close();
    await expect(connect(`ws://127.0.0.1:${server.port}`, { signal: "soon" as never })).rejects.toThrow(
      /connect\(\): options.signal must be an AbortSignal/,
    );
  });

  it("connect: a peer that is not a WebSocket server gives a typed error, not a crash", async () => {
    const liar = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"));
    });
    const garbage = net.createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    });
    const hangup = net.createServer((socket) => socket.destroy());
    for (const [srv, code] of [
      [liar, "WS_ERR_INVALID_ACCEPT"],
      [garbage, "WS_ERR_INVALID_HTTP"],
      [hangup, null],
    ] as const) {
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
      const port = (srv.address() as net.AddressInfo).port;
      const err = await connect(`ws://127.0.0.1:${port}`).catch((e: unknown) => e);
      if (code === null) expect(err).toBeInstanceOf(Error);
      else {
        expect(err).toBeInstanceOf(InvalidHandshake);
        expect((err as InvalidHandshake).code).toBe(code);
      }
      srv.close();
    }
  });

  it("connect refuses bad URIs with InvalidURI", async () => {
    await expect(connect("http://127.0.0.1/")).rejects.toBeInstanceOf(InvalidURI);
    await expect(connect("ws://127.0.0.1/#frag")).rejects.toBeInstanceOf(InvalidURI);
  });
});

describe("backpressure", () => {
  it("a flooding peer makes the server stop reading once maxQueue messages wait", async () => {
    let conn: Connection | null = null;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const server = await serve(
      async (ws) => {
        conn = ws;
        await released;
        let n = 0;
        for await (const _ of ws) if (++n === 2000) break;
      },
      { host: "127.0.0.1", maxQueue: 8, ...quiet },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}`, { compression: null });
    const payload = new Uint8Array(16 * 1024);
    const sending = (async () => {
      for (let i = 0; i < 2000; i++) await ws.send(payload);
    })();
    try {
      // maxQueue messages queued, then READ_AHEAD bytes held raw, then the socket stops being read.
      await until(() => conn !== null && conn.socket.isPaused(), 10_000);
      // The sender is held back by TCP: far fewer than 2000 × 16 KiB went through.
      await until(() => ws.bufferedAmount > 0, 10_000);
    } finally {
      release();
    }
    await sending;
    await ws.close();
  });

  it("send waits while the peer does not read, and the write buffer stays bounded", async () => {
    const server = await serve(
      async (ws) => {
        for (let i = 0; i < 400; i++) await ws.send(new Uint8Array(64 * 1024));
      },
      { host: "127.0.0.1", writeHighWaterMark: 256 * 1024, ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.socket.pause();
    await sleep(300);
    const [conn] = [...server.connections];
    // 400 × 64 KiB = 25 MiB were offered; at most the high mark plus one message is buffered.
    expect(conn!.bufferedAmount).toBeLessThanOrEqual(256 * 1024 + 64 * 1024 + 16);
    peer.destroy();
  });

  it("broadcast skips a connection whose buffer is over the high water mark", async () => {
    const server = await serve(async (ws) => void (await ws.closed), {
      host: "127.0.0.1",
      writeHighWaterMark: 1024,
      compression: null,
      ...quiet,
    });
    servers.push(server);
    const slow = await RawPeer.connect(server.port);
    await slow.handshake();
    slow.socket.pause();
    const fast = await connect(`ws://127.0.0.1:${server.port}`, { compression: null });
    await until(() => server.connections.size === 2);
    const big = new Uint8Array(512 * 1024);
    let skipped = 0;
    for (let i = 0; i < 40 && skipped === 0; i++) {
      skipped = broadcast(server.connections, big);
      await fast.recv();
      await sleep(5);
    }
    expect(skipped).toBe(1);
    slow.destroy();
    await fast.close();
  });
});

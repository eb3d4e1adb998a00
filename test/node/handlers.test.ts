/**
 * The callback-style handler, `serve({ open, message, close })`
 * (src/node/handlers.ts), over real loopback sockets, against our client,
 * raw peers and `ws`.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { attach, connect, serve, type Connection, type Server } from "../../src/index.js";
import { RawPeer, clientFrame, sleep, until } from "./helpers.js";

const quiet = { logger: null, pingInterval: null } as const;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe("serve({ open, message, close })", () => {
  it("echoes; open comes first, close once with the peer's code and reason", async () => {
    const calls: string[] = [];
    const server = await serve(
      {
        open: (ws) => calls.push(`open ${ws.request.path}`),
        message: (ws, data) => {
          calls.push(`message ${typeof data === "string" ? data : `${data.length} bytes`}`);
          void ws.send(data);
        },
        close: (_ws, code, reason) => calls.push(`close ${code} ${reason}`),
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const client = await connect(`ws://127.0.0.1:${server.port}/room`, quiet);
    await client.send("hello");
    expect(await client.recv()).toBe("hello");
    await client.send(new Uint8Array([1, 2, 3]));
    expect(Array.from((await client.recv()) as Uint8Array)).toEqual([1, 2, 3]);
    await client.close(4000, "bye");
    await until(() => calls.length === 4);
    expect(calls).toEqual(["open /room", "message hello", "message 3 bytes", "close 4000 bye"]);
    expect(server.connections.size).toBe(0);
  });

  it("messages that came with the handshake are delivered after open, in order", async () => {
    const got: string[] = [];
    const server = await serve(
      { open: () => got.push("open"), message: (_ws, data) => void got.push(String(data)) },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    peer.write(
      Buffer.concat([
        Buffer.from(
          `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
        ...Array.from({ length: 30 }, (_, i) => clientFrame(1, `m${i}`)),
      ]),
    );
    await until(() => got.length === 31);
    expect(got).toEqual(["open", ...Array.from({ length: 30 }, (_, i) => `m${i}`)]);
    peer.destroy();
  });

  it("a message callback that returns a promise holds the next messages until it settles", async () => {
    let active = 0;
    let most = 0;
    const order: number[] = [];
    const server = await serve(
      {
        message: async (ws, data) => {
          active++;
          most = Math.max(most, active);
          await sleep(2);
          order.push(Number(data));
          active--;
          await ws.send(String(data));
        },
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const client = await connect(`ws://127.0.0.1:${server.port}`, quiet);
    for (let i = 0; i < 50; i++) void client.send(String(i));
    for (let i = 0; i < 50; i++) expect(await client.recv()).toBe(String(i));
    expect(most).toBe(1);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await client.close();
  });

  it("a message callback that never settles stops the socket being read once the held input passes its bound", async () => {
    let conn: Connection | null = null;
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const server = await serve(
      {
        open: (ws) => (conn = ws),
        message: () => held,
      },
      { host: "127.0.0.1", ...quiet, compression: null },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    const frame = clientFrame(2, new Uint8Array(1000));
    for (let i = 0; i < 2000; i++) peer.write(frame); // 2 MB
    await until(() => conn !== null && conn.socket.isPaused(), 10_000);
    // What is decoded and queued stays bounded meanwhile (the queue, then raw input up to the read-ahead bound).
    expect(conn!.core.backlogBytes).toBeLessThan(2_000_000);
    peer.destroy();
    // (Like an async handler that never returns, a message that never settles holds the close: release it.)
    release();
  });

  it("a callback that throws is logged and fails the connection with 1011 'internal error'; the server goes on", async () => {
    const logged: unknown[][] = [];
    const closes: number[] = [];
    const server = await serve(
      {
        message: (ws, data) => {
          if (data === "boom") throw new Error("secret detail");
          void ws.send(data);
        },
        close: (_ws, code) => closes.push(code),
      },
      { host: "127.0.0.1", pingInterval: null, logger: { error: (...args: unknown[]) => logged.push(args) } },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(clientFrame(1, "boom"));
    const close = await peer.readFrame();
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1011);
    expect(close.payload.subarray(2).toString()).toBe("internal error");
    peer.write(clientFrame(8, close.payload.subarray(0, 2)));
    await until(() => closes.length === 1);
    expect(closes).toEqual([1011]);
    expect(String((logged[0]![1] as Error).message)).toBe("secret detail");
    // Another connection is served as usual.
    const client = await connect(`ws://127.0.0.1:${server.port}`, quiet);
    await client.send("fine");
    expect(await client.recv()).toBe("fine");
    await client.close();
    peer.destroy();
  });

  it("server.close() closes every connection with 1001, runs close, and resolves after", async () => {
    const closes: number[] = [];
    const server = await serve({ message: () => undefined, close: (_ws, code) => closes.push(code) }, { host: "127.0.0.1", ...quiet });
    const clients = await Promise.all([0, 1, 2].map(() => connect(`ws://127.0.0.1:${server.port}`, quiet)));
    await until(() => server.connections.size === 3);
    await server.close();
    expect(closes).toEqual([1001, 1001, 1001]);
    for (const c of clients) await c.closed;
    expect(clients.map((c) => c.closeCode)).toEqual([1001, 1001, 1001]);
  });

  it("works with attach() and with a ws client", async () => {
    const http = await import("node:http");
    const httpServer = http.createServer();
    const server = attach(httpServer, { message: (ws, data) => void ws.send(data) }, quiet);
    servers.push(server);
    await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
    const port = (httpServer.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("via ws"));
      ws.on("message", (d) => resolve(String(d)));
      ws.on("error", reject);
    });
    expect(echoed).toBe("via ws");
    ws.close();
    await new Promise((r) => ws.on("close", r));
    await server.close();
    await new Promise((r) => httpServer.close(r));
  });

  it("refuses callbacks that are not functions, naming the one", async () => {
    await expect(serve({ message: 1 } as never)).rejects.toThrow(/handler\.message must be a function/);
    await expect(serve({ message: () => undefined, close: "x" } as never)).rejects.toThrow(/handler\.close must be a function/);
    await expect(serve({ open: () => undefined } as never)).rejects.toThrow(/handler\.message must be a function/);
    expect(() => attach(null, { message: null } as never)).toThrow(TypeError);
  });
});

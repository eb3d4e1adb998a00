/**
 * A real dependent of `ws`: socket.io's server with `wsEngine` set to
 * wavesock/ws's `WebSocketServer`, and socket.io-client (over WebSocket
 * only, so every packet crosses our server) exchanging events: rooms,
 * acknowledgements, binary payloads, broadcasts, disconnects.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io, type Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "../../src/ws/index.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function start() {
  const httpServer = http.createServer();
  const ioServer = new Server(httpServer, { wsEngine: WebSocketServer, transports: ["websocket"] });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise<void>((r) => ioServer.close(() => r())));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const connect = (query: Record<string, string> = {}) => {
    const s = io(url, { transports: ["websocket"], query, forceNew: true, reconnection: false });
    closers.push(() => void s.close());
    return new Promise<Socket>((resolve, reject) => {
      s.once("connect", () => resolve(s));
      s.once("connect_error", reject);
    });
  };
  return { ioServer, connect };
}

describe("socket.io on wavesock/ws (wsEngine)", () => {
  it("connects over WebSocket and exchanges events with acknowledgements", async () => {
    const { ioServer, connect } = await start();
    ioServer.on("connection", (socket) => {
      expect(socket.conn.transport.name).toBe("websocket");
      socket.on("add", (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
      socket.on("ask", async (ack: (v: unknown) => void) => ack(await socket.emitWithAck("question", "ping?")));
    });
    const client = await connect();
    expect(client.io.engine.transport.name).toBe("websocket");
    expect(await client.emitWithAck("add", 2, 3)).toBe(5);
    client.on("question", (q: string, ack: (v: string) => void) => ack(`${q} pong!`));
    expect(await client.emitWithAck("ask")).toBe("ping? pong!");
  });

  it("binary payloads both ways, inside objects", async () => {
    const { ioServer, connect } = await start();
    ioServer.on("connection", (socket) => {
      socket.on("blob", (payload: { name: string; data: Buffer }, ack: (v: unknown) => void) => {
        ack({ name: payload.name, reversed: Buffer.from(payload.data).reverse(), size: payload.data.length });
      });
    });
    const client = await connect();
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i & 0xff));
    const reply = (await client.emitWithAck("blob", { name: "bytes", data })) as { name: string; reversed: ArrayBuffer | Buffer; size: number };
    expect(reply.name).toBe("bytes");
    expect(reply.size).toBe(70_000);
    expect(Buffer.compare(Buffer.from(reply.reversed as ArrayBuffer), Buffer.from(data).reverse())).toBe(0);
  });

  it("rooms: a broadcast to a room reaches its members only; disconnect is seen by the server", async () => {
    const { ioServer, connect } = await start();
    const left: string[] = [];
    ioServer.on("connection", (socket) => {
      const room = socket.handshake.query["room"] as string;
      void socket.join(room);
      socket.on("shout", (text: string) => ioServer.to(room).emit("heard", `${room}:${text}`));
      socket.on("disconnect", (reason) => left.push(reason));
    });
    const [a1, a2, b1] = await Promise.all([connect({ room: "a" }), connect({ room: "a" }), connect({ room: "b" })]);
    const heard: string[] = [];
    for (const [name, s] of [["a1", a1], ["a2", a2], ["b1", b1]] as const) s.on("heard", (m: string) => heard.push(`${name}<-${m}`));
    const bothA = Promise.all([new Promise((r) => a1.once("heard", r)), new Promise((r) => a2.once("heard", r))]);
    a1.emit("shout", "hi");
    await bothA;
    const onlyB = new Promise((r) => b1.once("heard", r));
    b1.emit("shout", "yo");
    await onlyB;
    expect(heard.sort()).toEqual(["a1<-a:hi", "a2<-a:hi", "b1<-b:yo"]);
    b1.close();
    while (left.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(left).toEqual(["client namespace disconnect"]);
  });
});

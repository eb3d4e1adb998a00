/**
 * The event (listener) mode of a Connection — how the `ws`-compatible and
 * standard WebSocket facades receive — over real loopback sockets: messages
 * handed over in order as decoded, backpressure through pauseMessages (the
 * socket stops being read, nothing is lost), ping/pong forwarded, `closed`
 * after the last message, recv() refused.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidState, connect, serve, type Connection, type Server } from "../../src/index.js";
import type { ConnectionListener, Data } from "../../src/node/connection-types.js";
import { until } from "./helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function pair(handler: (ws: Connection) => Promise<void> = async (ws) => void (await ws.closed)) {
  let serverSide: Connection | undefined;
  const server = await serve(
    async (ws) => {
      serverSide = ws;
      await handler(ws);
    },
    { host: "127.0.0.1", pingInterval: null, compression: null, logger: null },
  );
  servers.push(server);
  const client = await connect(`ws://127.0.0.1:${server.port}/`, { pingInterval: null, compression: null });
  await until(() => serverSide !== undefined);
  return { client, server: serverSide! };
}

class Recorder implements ConnectionListener {
  readonly events: string[] = [];
  readonly messages: Data[] = [];
  onMessage: ((data: Data) => void) | null = null;
  message(data: Data): void {
    this.messages.push(data);
    this.events.push(`message:${typeof data === "string" ? data : `<${data.length} bytes>`}`);
    this.onMessage?.(data);
  }
  ping(data: Uint8Array): void {
    this.events.push(`ping:${Buffer.from(data).toString()}`);
  }
  pong(data: Uint8Array): void {
    this.events.push(`pong:${Buffer.from(data).toString()}`);
  }
  closed(): void {
    this.events.push("closed");
  }
}

describe("Connection.listen (event mode)", () => {
  it("hands over queued messages first, then each message as it arrives, in order; recv() is refused", async () => {
    const { client, server } = await pair();
    await client.send("before-1");
    await client.send("before-2");
    await until(() => server.bufferedAmount === 0);
    await new Promise((r) => setTimeout(r, 50));
    const rec = new Recorder();
    server.listen(rec);
    expect(rec.messages).toEqual(["before-1", "before-2"]);
    for (let i = 0; i < 100; i++) await client.send(i % 2 ? `t${i}` : new Uint8Array([i]));
    await until(() => rec.messages.length === 102);
    expect(rec.messages.slice(2, 5).map((m) => (typeof m === "string" ? m : [...m]))).toEqual([[0], "t1", [2]]);
    await expect(server.recv()).rejects.toBeInstanceOf(InvalidState);
    expect(() => server.listen(new Recorder())).toThrow(InvalidState);
    await client.close();
  });

  it("forwards pings and pongs, and calls closed once, after the last message", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(rec);
    await client.ping("hello");
    await server.ping("back");
    await client.send("last");
    await client.close(4000, "bye");
    await until(() => rec.events.includes("closed"));
    expect(rec.events).toEqual(["ping:hello", "pong:back", "message:last", "closed"]);
    expect(server.closeCode).toBe(4000);
  });

  it("pauseMessages holds messages (the socket stops being read past the read-ahead bound) and loses none", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(rec);
    rec.onMessage = () => server.pauseMessages(true);
    const payload = new Uint8Array(32 * 1024);
    const total = 200; // 6.4 MiB: far beyond what is read ahead while paused
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        payload[0] = i & 0xff;
        await client.send(payload);
      }
    })();
    await until(() => rec.messages.length === 1);
    // Paused: the client's writes back up (TCP holds it back) instead of the server buffering 6 MiB.
    await until(() => server.socket.isPaused());
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.messages.length).toBeLessThan(total);
    expect(server.socket.isPaused()).toBe(true);
    rec.onMessage = null;
    server.pauseMessages(false);
    await sending;
    await until(() => rec.messages.length === total);
    expect(rec.messages.map((m) => (m as Uint8Array)[0])).toEqual(Array.from({ length: total }, (_, i) => i & 0xff));
    await client.close();
  });

  it("a connection closed while paused gives the held messages, then closed, on resume", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(rec);
    server.pauseMessages(true);
    for (let i = 0; i < 40; i++) await client.send(`m${i}`);
    await client.close();
    await server.closed;
    expect(rec.events).toEqual([]);
    server.pauseMessages(false);
    expect(rec.messages).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    expect(rec.events.at(-1)).toBe("closed");
  });
});

describe("Connection event mode: closing and sendNow", () => {
  it("closing comes after every message sent before the peer's close frame, then closed", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    const closing = () => rec.events.push(`closing:${server.closeFrames.rcvd?.code}`);
    server.listen(Object.assign(rec, { closing }));
    // Messages and the close frame in one TCP write: the core parses them together.
    client.socket.cork();
    for (let i = 0; i < 5; i++) void client.send(`m${i}`);
    void client.close(4001, "bye");
    client.socket.uncork();
    await until(() => rec.events.includes("closed"));
    expect(rec.events).toEqual(["message:m0", "message:m1", "message:m2", "message:m3", "message:m4", "closing:4001", "closed"]);
  });

  it("closing waits, in order, while the listener is paused, and comes for a close frame that arrived before listen()", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(Object.assign(rec, { closing: () => rec.events.push("closing") }));
    server.pauseMessages(true);
    for (let i = 0; i < 3; i++) await client.send(`p${i}`);
    await client.close();
    await server.closed;
    expect(rec.events).toEqual([]);
    server.pauseMessages(false);
    expect(rec.events).toEqual(["message:p0", "message:p1", "message:p2", "closing", "closed"]);

    const second = await pair();
    await second.client.send("early");
    await second.client.close();
    await second.server.closed;
    const late = new Recorder();
    second.server.listen(Object.assign(late, { closing: () => late.events.push("closing") }));
    expect(late.events).toEqual(["message:early", "closing", "closed"]);
  });

  it("no closing when the connection ends without a close frame", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(Object.assign(rec, { closing: () => rec.events.push("closing") }));
    await client.send("x");
    await until(() => rec.messages.length === 1);
    client.abort();
    await until(() => rec.events.includes("closed"));
    expect(rec.events).toEqual(["message:x", "closed"]);
  });

  it("sendNow writes at once, in order; whenWritten calls back once what was written left the write buffer", async () => {
    const { client, server } = await pair();
    const rec = new Recorder();
    server.listen(rec);
    const written: string[] = [];
    client.sendNow("one");
    client.whenWritten((err) => written.push(`one:${err ? "error" : "ok"}`));
    client.sendNow(new Uint8Array([1, 2, 3]));
    client.sendNow("three");
    client.whenWritten((err) => written.push(`three:${err ? "error" : "ok"}`));
    // Nothing is written before the end of this turn (the writes are corked).
    expect(written).toEqual([]);
    await until(() => rec.messages.length === 3);
    expect(rec.events).toEqual(["message:one", "message:<3 bytes>", "message:three"]);
    await until(() => written.length === 2);
    expect(written).toEqual(["one:ok", "three:ok"]);
    await client.close();
    expect(() => client.sendNow("late")).toThrow(InvalidState);
    const late: (Error | null)[] = [];
    client.whenWritten((err) => late.push(err));
    await until(() => late.length === 1);
    expect(late[0]).toBeInstanceOf(Error);
  });

  it("whenWritten gets an error for bytes a destroyed socket never sent", async () => {
    const { client, server } = await pair();
    server.listen(new Recorder());
    server.pauseMessages(true);
    const results: (Error | null | undefined)[] = [];
    // Far more than the socket buffers take while the peer does not read.
    const big = new Uint8Array(8 * 1024 * 1024);
    for (let i = 0; i < 4; i++) {
      client.sendNow(big);
      client.whenWritten((err) => results.push(err));
    }
    await until(() => client.socket.writableLength > 0 && server.socket.isPaused());
    client.abort();
    await until(() => results.length === 4);
    // 32 MiB can't have left while the peer read at most READ_AHEAD: the last one at least was never sent.
    expect(results.at(-1)).toBeInstanceOf(Error);
    await client.closed;
  });
});

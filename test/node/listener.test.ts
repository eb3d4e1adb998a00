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

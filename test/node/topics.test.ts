import { afterEach, describe, expect, it, vi } from "vitest";
import { PerMessageDeflate } from "../../src/extensions/permessage-deflate.js";
import {
  InvalidState,
  connect,
  localPubSub,
  serve,
  type Connection,
  type Data,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { RawPeer, clientFrame, sleep, until } from "./helpers.js";

const servers: Server[] = [];
const clients: Connection[] = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const p of peers.splice(0)) p.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: ServerOptions = {}): Promise<Server> {
  const server = await serve(async (ws) => void (await ws.closed), { host: "127.0.0.1", logger: null, ...options });
  servers.push(server);
  return server;
}

/** A client and its connection on the server side. */
async function join(server: Server, options: Parameters<typeof connect>[1] = {}): Promise<{ client: Connection; conn: Connection }> {
  const client = await connect(`ws://127.0.0.1:${server.port}`, options);
  clients.push(client);
  const port = client.socket.localPort;
  let conn: Connection | undefined;
  await until(() => (conn = [...server.connections].find((c) => c.remotePort === port)) !== undefined);
  return { client, conn: conn! };
}

/** A received binary message as a plain array (a string stays a string). */
function bytes(m: Data): number[] | string {
  return typeof m === "string" ? m : [...m];
}

async function recvN(ws: Connection, n: number): Promise<Data[]> {
  const out: Data[] = [];
  for (let i = 0; i < n; i++) out.push(await ws.recv());
  return out;
}

describe("topics in one process", () => {
  it("subscribe, unsubscribe, isSubscribed, topics and subscriberCount", async () => {
    const server = await start();
    const a = await join(server);
    const b = await join(server);
    expect(a.conn.subscribe("room")).toBe(true);
    expect(a.conn.subscribe("room")).toBe(false);
    expect(a.conn.subscribe("news")).toBe(true);
    expect(b.conn.subscribe("room")).toBe(true);
    expect(a.conn.isSubscribed("room")).toBe(true);
    expect(a.conn.isSubscribed("other")).toBe(false);
    expect(a.conn.topics.sort()).toEqual(["news", "room"]);
    expect(server.subscriberCount("room")).toBe(2);
    expect(server.subscriberCount("news")).toBe(1);
    expect(server.subscriberCount("nobody")).toBe(0);
    expect(a.conn.unsubscribe("room")).toBe(true);
    expect(a.conn.unsubscribe("room")).toBe(false);
    expect(a.conn.topics).toEqual(["news"]);
    expect(server.subscriberCount("room")).toBe(1);
  });

  it("server.publish reaches every subscriber and only them, text and binary preserved", async () => {
    const server = await start();
    const subs = await Promise.all([join(server), join(server), join(server)]);
    const outsider = await join(server);
    for (const s of subs) s.conn.subscribe("room");
    server.publish("room", "hello");
    server.publish("room", new Uint8Array([0, 1, 2, 255]));
    server.publish("room", new Uint8Array([9, 8]).buffer);
    for (const s of subs) {
      expect(await s.client.recv()).toBe("hello");
      expect(bytes(await s.client.recv())).toEqual([0, 1, 2, 255]);
      expect(bytes(await s.client.recv())).toEqual([9, 8]);
    }
    // The outsider got nothing: the next thing it hears is its own echo test.
    server.publish("elsewhere", "not for the room");
    outsider.conn.subscribe("solo");
    server.publish("solo", "only you");
    expect(await outsider.client.recv()).toBe("only you");
  });

  it("ws.publish reaches every subscriber but the sender, in each publisher's order", async () => {
    const server = await start();
    const members = await Promise.all([join(server), join(server), join(server), join(server)]);
    for (const m of members) m.conn.subscribe("room");
    const N = 200;
    for (let i = 0; i < N; i++) {
      members[0]!.conn.publish("room", `a${i}`);
      members[1]!.conn.publish("room", Buffer.from(`b${i}`));
    }
    const got0 = await recvN(members[0]!.client, N);
    expect(got0.map((m) => (typeof m === "string" ? m : `binary ${Buffer.from(m).toString()}`))).toEqual(
      Array.from({ length: N }, (_, i) => `binary b${i}`),
    );
    const got1 = await recvN(members[1]!.client, N);
    expect(got1).toEqual(Array.from({ length: N }, (_, i) => `a${i}`));
    for (const m of members.slice(2)) {
      const got = await recvN(m.client, 2 * N);
      const a = got.filter((x) => typeof x === "string");
      const b = got.filter((x) => typeof x !== "string").map((x) => Buffer.from(x as Uint8Array).toString());
      expect(a).toEqual(Array.from({ length: N }, (_, i) => `a${i}`));
      expect(b).toEqual(Array.from({ length: N }, (_, i) => `b${i}`));
    }
  });

  it("subscriptions end when the connection closes", async () => {
    const server = await start();
    const a = await join(server);
    const b = await join(server);
    a.conn.subscribe("room");
    a.conn.subscribe("news");
    b.conn.subscribe("room");
    await a.client.close();
    await a.conn.closed;
    expect(server.subscriberCount("room")).toBe(1);
    expect(server.subscriberCount("news")).toBe(0);
    expect(a.conn.topics).toEqual([]);
    expect(() => a.conn.subscribe("room")).toThrow(InvalidState);
    server.publish("room", "still here");
    expect(await b.client.recv()).toBe("still here");
  });

  it("compresses a publish once for every subscriber (server_no_context_takeover)", async () => {
    const server = await start({ compression: { serverNoContextTakeover: true } });
    const subs = await Promise.all(Array.from({ length: 5 }, () => join(server)));
    for (const s of subs) s.conn.subscribe("room");
    const message = JSON.stringify({ type: "tick", values: Array.from({ length: 50 }, (_, i) => ({ i, name: `sensor-${i}` })) });
    const encode = vi.spyOn(PerMessageDeflate.prototype, "encode");
    server.publish("room", message);
    for (const s of subs) expect(await s.client.recv()).toBe(message);
    expect(encode).toHaveBeenCalledTimes(1);
    server.publish("room", message, { compress: false });
    for (const s of subs) expect(await s.client.recv()).toBe(message);
    expect(encode).toHaveBeenCalledTimes(1);
  });

  it("skips a subscriber that does not read, counts it, and keeps its buffer bounded", async () => {
    const limit = 256 * 1024;
    const server = await start({ compression: null, topics: { maxBackpressure: limit } });
    const fast = await join(server);
    fast.conn.subscribe("feed");
    const peer = await RawPeer.connect(server.port);
    peers.push(peer);
    await peer.handshake();
    peer.socket.pause(); // never reads again
    await until(() => server.connections.size === 2);
    const slow = [...server.connections].find((c) => c !== fast.conn)!;
    slow.subscribe("feed");
    const N = 400; // 25 MiB: far more than the kernel's socket buffers
    const size = 64 * 1024;
    let maxBuffered = 0;
    for (let i = 0; i < N; i++) {
      // A fresh buffer each time: published bytes are written as they are, not copied.
      const chunk = new Uint8Array(size).fill(7);
      chunk[0] = i & 0xff;
      server.publish("feed", chunk);
      maxBuffered = Math.max(maxBuffered, slow.bufferedAmount);
      // The fast one reads every message (the slow one never does).
      expect(((await fast.client.recv()) as Uint8Array)[0]).toBe(i & 0xff);
    }
    expect(server.topicStats.skipped).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(limit + size + 64);
    expect(slow.state).toBe("open");
  });

  it("closes a subscriber over its limit with 1013 under closeOnBackpressureLimit", async () => {
    const server = await start({ compression: null, topics: { maxBackpressure: 64 * 1024, closeOnBackpressureLimit: true } });
    const peer = await RawPeer.connect(server.port);
    peers.push(peer);
    await peer.handshake();
    peer.socket.pause();
    await until(() => server.connections.size === 1);
    const slow = [...server.connections][0]!;
    slow.subscribe("feed");
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 400 && slow.state === "open"; i++) server.publish("feed", chunk);
    expect(slow.state).not.toBe("open");
    expect(slow.closeFrames.sent?.code).toBe(1013);
    expect(server.topicStats.closed).toBe(1);
    peer.destroy();
    await slow.closed;
    expect(server.subscriberCount("feed")).toBe(0);
  });

  it("refuses bad arguments with TypeError naming what was wrong", async () => {
    const server = await start();
    const { conn, client } = await join(server);
    const any = conn as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => any["subscribe"]!(42)).toThrow(/topic must be a non-empty string.*42/);
    expect(() => any["subscribe"]!("")).toThrow(TypeError);
    expect(() => conn.subscribe("x".repeat(1025))).toThrow(TypeError);
    expect(() => any["unsubscribe"]!(null)).toThrow(TypeError);
    expect(() => any["isSubscribed"]!({})).toThrow(TypeError);
    expect(() => any["publish"]!("room", 42)).toThrow(/message must be a string, a Uint8Array or an ArrayBuffer, got 42/);
    expect(() => any["publish"]!("room", { text: "hi" })).toThrow(TypeError);
    expect(() => any["publish"]!(Symbol.iterator, "hi")).toThrow(TypeError);
    const srv = server as unknown as Record<string, (...args: unknown[]) => unknown>;
    expect(() => srv["publish"]!("room", "hi", "fast")).toThrow(/publish options must be an object/);
    expect(() => srv["publish"]!("room", "hi", { compress: "yes" })).toThrow(/compress must be a boolean/);
    expect(() => srv["subscriberCount"]!(7)).toThrow(TypeError);
    await expect(conn.resume("room", "yesterday")).rejects.toThrow(TypeError);
    // The default backplane keeps no history.
    await expect(conn.resume("room", null)).rejects.toThrow(InvalidState);
    // Topics belong to servers.
    expect(() => client.subscribe("room")).toThrow(InvalidState);
    expect(client.topics).toEqual([]);
    // Bad options: the server does not start.
    await expect(serve(() => undefined, { port: 0, pubsub: {} as never })).rejects.toThrow(/pubsub must be a backplane.*start\(\)/);
    await expect(serve(() => undefined, { port: 0, topics: { maxBackpressure: -1 } })).rejects.toThrow(/topics.maxBackpressure/);
    await expect(serve(() => undefined, { port: 0, topics: { envelope: "json" as never } })).rejects.toThrow(/topics.envelope must be a function/);
    await expect(serve(() => undefined, { port: 0, topics: { closeOnBackpressureLimit: 1 as never } })).rejects.toThrow(TypeError);
    expect(() => localPubSub({ history: { maxCount: 0 } })).toThrow(/maxCount must be a positive integer/);
    expect(() => localPubSub({ history: { maxAge: -5 } })).toThrow(/maxAge/);
    // A backplane serves one server.
    const shared = localPubSub();
    await start({ pubsub: shared });
    await expect(serve(() => undefined, { port: 0, pubsub: shared })).rejects.toThrow(/already used/);
  });

  it("a message from a peer still reaches the handler while topics run (topics do not touch reading)", async () => {
    const server = await serve(
      async (ws) => {
        ws.subscribe("chat");
        for await (const m of ws) ws.publish("chat", m);
      },
      { host: "127.0.0.1", logger: null },
    );
    servers.push(server);
    const a = await connect(`ws://127.0.0.1:${server.port}`);
    const b = await connect(`ws://127.0.0.1:${server.port}`);
    clients.push(a, b);
    await until(() => server.subscriberCount("chat") === 2);
    await a.send("hi b");
    expect(await b.recv()).toBe("hi b");
    // A raw peer's masked binary frame, relayed as binary.
    const raw = await RawPeer.connect(server.port);
    peers.push(raw);
    await raw.handshake();
    await until(() => server.subscriberCount("chat") === 3);
    raw.write(clientFrame(0x2, new Uint8Array([1, 2, 3])));
    expect(bytes(await a.recv())).toEqual([1, 2, 3]);
    expect(bytes(await b.recv())).toEqual([1, 2, 3]);
  });
});

describe("resume in one process (localPubSub history)", () => {
  const envelope = (message: Data, { id }: { id: string | null }) => JSON.stringify({ id, text: message });

  it("a client that comes back with the last id it saw gets what it missed, then the live messages, each once", async () => {
    const server = await start({ pubsub: localPubSub({ history: { maxCount: 100, maxAge: 60_000 } }), topics: { envelope } });
    const stayer = await join(server);
    stayer.conn.subscribe("room");
    const leaver = await join(server);
    leaver.conn.subscribe("room");
    for (let i = 0; i < 5; i++) server.publish("room", `m${i}`);
    const seen = (await recvN(leaver.client, 5)).map((m) => JSON.parse(m as string) as { id: string; text: string });
    expect(seen.map((m) => m.text)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    await leaver.client.close();
    for (let i = 5; i < 10; i++) server.publish("room", `m${i}`);
    const back = await join(server);
    const result = await back.conn.resume("room", seen[4]!.id);
    expect(result).toEqual({ replayed: 5, complete: true });
    server.publish("room", "m10");
    const got = (await recvN(back.client, 6)).map((m) => (JSON.parse(m as string) as { text: string }).text);
    expect(got).toEqual(["m5", "m6", "m7", "m8", "m9", "m10"]);
    expect(back.conn.isSubscribed("room")).toBe(true);
    const ids = (await recvN(stayer.client, 11)).map((m) => (JSON.parse(m as string) as { id: string }).id);
    expect(new Set(ids).size).toBe(11);
  });

  it("says when the history no longer reaches back to the id (count bound, age bound)", async () => {
    const server = await start({ pubsub: localPubSub({ history: { maxCount: 3, maxAge: 150 } }), topics: { envelope } });
    const a = await join(server);
    a.conn.subscribe("room");
    server.publish("room", "first");
    const first = JSON.parse((await a.client.recv()) as string) as { id: string };
    for (let i = 0; i < 5; i++) server.publish("room", `n${i}`);
    await recvN(a.client, 5);
    const b = await join(server);
    // Count: only the last 3 are kept, and "first" is gone.
    expect(await b.conn.resume("room", first.id)).toEqual({ replayed: 3, complete: false });
    expect((await recvN(b.client, 3)).map((m) => (JSON.parse(m as string) as { text: string }).text)).toEqual(["n2", "n3", "n4"]);
    // Age: after maxAge, nothing is replayed.
    await sleep(300);
    const c = await join(server);
    expect(await c.conn.resume("room", first.id)).toEqual({ replayed: 0, complete: false });
  });
});

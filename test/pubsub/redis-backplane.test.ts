/**
 * The Redis backplane against a real redis-server: two servers in this
 * process, each with its own backplane (its own Redis connections), as two
 * instances would be.
 */
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  connect,
  redisPubSub,
  serve,
  type Connection,
  type Data,
  type RedisPubSub,
  type RedisPubSubOptions,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { until } from "../node/helpers.js";
import { RedisServer, haveRedis } from "./redis.js";

let redis: RedisServer;
const servers: Server[] = [];
const clients: Connection[] = [];

beforeAll(async () => {
  if (haveRedis) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

let prefixes = 0;

/** An instance: a server whose handler subscribes every client to `room` (or resumes it, given ?since=). */
async function instance(
  backplane: Partial<RedisPubSubOptions> = {},
  options: ServerOptions = {},
): Promise<{ server: Server; pubsub: RedisPubSub }> {
  const pubsub = redisPubSub({ url: redis.url, ...backplane });
  const server = await serve(
    async (ws) => {
      const since = new URL(ws.request.path, "ws://x").searchParams.get("since");
      if (since !== null) await ws.send(JSON.stringify({ resumed: await ws.resume("room", since === "" ? null : since) }));
      else ws.subscribe("room");
      for await (const m of ws) ws.publish("room", m);
    },
    { host: "127.0.0.1", logger: null, pubsub, ...options },
  );
  servers.push(server);
  await pubsub.ready();
  return { server, pubsub };
}

async function client(server: Server, path = "/"): Promise<Connection> {
  const ws = await connect(`ws://127.0.0.1:${server.port}${path}`);
  clients.push(ws);
  return ws;
}

function show(m: Data): string {
  return typeof m === "string" ? m : `bin:${Buffer.from(m).toString("hex")}`;
}

const d = haveRedis ? describe : describe.skip;

d("Redis backplane: two instances in one process", () => {
  it("carries text and binary between instances, each once, excluding only the sender", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const a1 = await client(a.server);
    const a2 = await client(a.server);
    const b1 = await client(b.server);
    await until(() => a.server.subscriberCount("room") === 2 && b.server.subscriberCount("room") === 1);
    await until(() => a.pubsub.connected && b.pubsub.connected);
    // Both instances' subscriptions are in Redis before anyone publishes.
    await expect.poll(() => redis.numsub([`${prefix}{room}`])).toEqual({ [`${prefix}{room}`]: 2 });
    await a1.send("from a1");
    await b1.send(new Uint8Array([0, 255, 1]));
    b.server.publish("room", "from the server b");
    const heard = async (ws: Connection, n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(show(await ws.recv()));
      return out.sort();
    };
    expect(await heard(a1, 2)).toEqual(["bin:00ff01", "from the server b"]);
    expect(await heard(a2, 3)).toEqual(["bin:00ff01", "from a1", "from the server b"]);
    expect(await heard(b1, 2)).toEqual(["from a1", "from the server b"]);
    // Nothing twice: the next message everyone hears is the marker.
    a.server.publish("room", "marker");
    for (const ws of [a1, a2, b1]) expect(await ws.recv()).toBe("marker");
    expect(a.pubsub.stats.localOnly + b.pubsub.stats.localOnly).toBe(0);
  });

  it("keeps each publisher's order across instances", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const pubA = await client(a.server);
    const pubB = await client(b.server);
    const listenA = await client(a.server);
    const listenB = await client(b.server);
    await expect.poll(() => redis.numsub([`${prefix}{room}`])).toEqual({ [`${prefix}{room}`]: 2 });
    const N = 300;
    // The publishers hear each other: let them read, so that they can close quickly.
    for (const ws of [pubA, pubB]) void (async () => { for await (const _ of ws); })().catch(() => undefined);
    for (let i = 0; i < N; i++) {
      void pubA.send(`a${i}`);
      void pubB.send(new Uint8Array([i >> 8, i & 0xff]));
    }
    for (const ws of [listenA, listenB]) {
      const texts: string[] = [];
      const bins: number[] = [];
      while (texts.length + bins.length < 2 * N) {
        const m = await ws.recv();
        if (typeof m === "string") texts.push(m);
        else bins.push((m[0]! << 8) | m[1]!);
      }
      expect(texts).toEqual(Array.from({ length: N }, (_, i) => `a${i}`));
      expect(bins).toEqual(Array.from({ length: N }, (_, i) => i));
    }
  });

  it("subscribes to a channel only while there are local subscribers (PUBSUB CHANNELS / NUMSUB)", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await instance({ prefix });
    const b = await instance({ prefix });
    const channel = `${prefix}{room}`;
    const mine = async () => (await redis.channels()).filter((c) => c.startsWith(prefix));
    expect(await mine()).toEqual([]);
    const a1 = await client(a.server);
    const a2 = await client(a.server);
    await expect.poll(() => redis.numsub([channel])).toEqual({ [channel]: 1 }); // one per instance, not per client
    const b1 = await client(b.server);
    await expect.poll(() => redis.numsub([channel])).toEqual({ [channel]: 2 });
    expect(await mine()).toEqual([channel]);
    await a1.close();
    await until(() => a.server.subscriberCount("room") === 1);
    expect(await redis.numsub([channel])).toEqual({ [channel]: 2 }); // a2 still listens on a
    await a2.close();
    await expect.poll(() => redis.numsub([channel])).toEqual({ [channel]: 1 });
    await b1.close();
    await expect.poll(() => redis.numsub([channel])).toEqual({ [channel]: 0 });
    expect(await mine()).toEqual([]);
  });

  it("uses sharded pub/sub (SSUBSCRIBE / SPUBLISH) when asked", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await instance({ prefix, sharded: true });
    const b = await instance({ prefix, sharded: true });
    const a1 = await client(a.server);
    const b1 = await client(b.server);
    const channel = `${prefix}{room}`;
    await expect.poll(() => redis.numsub([channel], true)).toEqual({ [channel]: 2 });
    expect((await redis.channels()).filter((c) => c.startsWith(prefix))).toEqual([]); // not classic channels
    expect((await redis.channels(true)).filter((c) => c.startsWith(prefix))).toEqual([channel]);
    await a1.send(new Uint8Array([1, 2, 3]));
    expect(show(await b1.recv())).toBe("bin:010203");
    await b1.send("text over a shard channel");
    expect(await a1.recv()).toBe("text over a shard channel");
    await a1.close();
    await b1.close();
    await expect.poll(() => redis.channels(true).then((c) => c.filter((x) => x.startsWith(prefix)))).toEqual([]);
  });

  it("resumes a client on another instance from the Stream history: what it missed, each once, then live", async () => {
    const prefix = `t${++prefixes}:`;
    const history = { maxCount: 100, maxAge: 60_000 };
    const envelope = (m: Data, { id }: { id: string | null }) => JSON.stringify({ id, text: m });
    const a = await instance({ prefix, history }, { topics: { envelope } });
    const b = await instance({ prefix, history }, { topics: { envelope } });
    const stayer = await client(b.server);
    const leaver = await client(a.server);
    await expect.poll(() => redis.numsub([`${prefix}{room}`])).toEqual({ [`${prefix}{room}`]: 2 });
    const texts = async (ws: Connection, n: number) => {
      const out: { id: string; text: string }[] = [];
      for (let i = 0; i < n; i++) out.push(JSON.parse((await ws.recv()) as string));
      return out;
    };
    for (let i = 0; i < 3; i++) b.server.publish("room", `m${i}`);
    const seen = await texts(leaver, 3);
    expect(seen.map((m) => m.text)).toEqual(["m0", "m1", "m2"]);
    expect(seen.every((m) => /^\d+-\d+$/.test(m.id))).toBe(true);
    await leaver.close();
    for (let i = 3; i < 7; i++) a.server.publish("room", `m${i}`); // published on a, which the leaver left
    await texts(stayer, 7);
    const back = await client(b.server, `/?since=${seen[2]!.id}`);
    // The history comes first (m3..m6, published on the other instance while it was away), then resume's result.
    expect((await texts(back, 4)).map((m) => m.text)).toEqual(["m3", "m4", "m5", "m6"]);
    expect(JSON.parse((await back.recv()) as string)).toEqual({ resumed: { replayed: 4, complete: true } });
    a.server.publish("room", "m7");
    expect((await texts(back, 1)).map((m) => m.text)).toEqual(["m7"]);
    // A client that never saw anything gets the whole history kept.
    const fresh = await client(a.server, "/?since=");
    const all = await texts(fresh, 8);
    expect(all.map((m) => m.text)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    expect(JSON.parse((await fresh.recv()) as string)).toEqual({ resumed: { replayed: 8, complete: false } });
    // Ids are the Stream's: the same message has the same id everywhere.
    expect(new Set(all.map((m) => m.id)).size).toBe(8);
    expect(all.slice(0, 3).map((m) => m.id)).toEqual(seen.map((m) => m.id));
  });

  it("works with the application's own client, and leaves it open", async () => {
    const prefix = `t${++prefixes}:`;
    const own = createClient({ url: redis.url });
    own.on("error", () => undefined);
    await own.connect();
    try {
      const pubsub = redisPubSub({ client: own, prefix });
      const server = await serve(async (ws) => {
        ws.subscribe("room");
        await ws.closed;
      }, { host: "127.0.0.1", logger: null, pubsub });
      servers.push(server);
      await pubsub.ready();
      const other = await instance({ prefix });
      const ws = await client(server);
      await expect.poll(() => redis.numsub([`${prefix}{room}`])).toEqual({ [`${prefix}{room}`]: 1 });
      other.server.publish("room", "hello from the other instance");
      expect(await ws.recv()).toBe("hello from the other instance");
      await ws.close();
      await server.close();
      servers.splice(servers.indexOf(server), 1);
      expect(own.isReady).toBe(true);
      expect(await own.ping()).toBe("PONG");
    } finally {
      own.destroy();
    }
  });

  it("refuses bad options with TypeError", () => {
    expect(() => redisPubSub({} as never)).toThrow(/needs a client .* or a url/);
    expect(() => redisPubSub({ url: "http://127.0.0.1" })).toThrow(/redis:\/\//);
    expect(() => redisPubSub({ url: redis.url, prefix: "a{b" })).toThrow(/prefix/);
    expect(() => redisPubSub({ url: redis.url, sharded: "yes" as never })).toThrow(/sharded must be a boolean/);
    expect(() => redisPubSub({ url: redis.url, history: { maxCount: 1.5 } })).toThrow(/maxCount/);
    expect(() => redisPubSub({ url: redis.url, echoTimeout: 0 })).toThrow(/echoTimeout/);
    expect(() => redisPubSub({ client: {} as never })).toThrow(/node-redis client/);
    expect(() => redisPubSub(null as never)).toThrow(TypeError);
  });
});

d("Redis backplane: Redis goes away and comes back", () => {
  it("serves local subscribers while Redis is down, tells the application, restores subscriptions", async () => {
    const prefix = `t${++prefixes}:`;
    const a = await instance({ prefix, history: true }, { topics: { envelope: (m, { id }) => JSON.stringify({ id, m }) } });
    const b = await instance({ prefix, history: true }, { topics: { envelope: (m, { id }) => JSON.stringify({ id, m }) } });
    const events: string[] = [];
    const dropped: string[] = [];
    a.pubsub.on("disconnected", () => events.push("a down"));
    a.pubsub.on("connected", () => events.push("a up"));
    a.pubsub.on("dropped", (topic, reason) => dropped.push(`${topic}:${reason}`));
    const a1 = await client(a.server);
    const a2 = await client(a.server);
    const b1 = await client(b.server);
    const channel = `${prefix}{room}`;
    await expect.poll(() => redis.numsub([channel])).toEqual({ [channel]: 2 });
    const next = async (ws: Connection) => JSON.parse((await ws.recv()) as string) as { id: string | null; m: string };

    await a1.send("before");
    for (const ws of [a2, b1]) expect((await next(ws)).m).toBe("before");

    await redis.kill("SIGKILL");
    await until(() => !a.pubsub.connected && !b.pubsub.connected, 10_000);
    expect(events).toEqual(["a down"]);
    // a's clients still hear each other (without ids: not in any history); b hears nothing.
    await a1.send("during");
    const during = await next(a2);
    expect(during).toEqual({ id: null, m: "during" });
    expect(dropped).toEqual(["room:disconnected"]);

    await redis.run();
    await until(() => a.pubsub.connected && b.pubsub.connected, 20_000);
    expect(events).toEqual(["a down", "a up"]);
    await expect.poll(() => redis.numsub([channel]), { timeout: 10_000 }).toEqual({ [channel]: 2 });
    await a1.send("after");
    expect((await next(a2)).m).toBe("after");
    // b never got "during": the next thing it hears is "after" (at-most-once while Redis was down).
    const afterOnB = await next(b1);
    expect(afterOnB.m).toBe("after");
    expect(afterOnB.id).toMatch(/^\d+-\d+$/);
  });
});

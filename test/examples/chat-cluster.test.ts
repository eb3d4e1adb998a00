/**
 * examples/chat-cluster: the chat room of examples/chat (the same room.js) on
 * worker processes sharing the room over a real redis-server that main.js
 * starts. The workers are found by the `server` of the `joined` reply.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { RedisServer, haveRedis } from "../pubsub/redis.js";
import { Example, closeQuietly, killAll, recvJSONUntil, withTimeout } from "./helpers.js";

/** Any message from the chat server (the wire format is at the top of examples/chat/room.js). */
interface RoomMessage {
  type: "message" | "system" | "joined" | "resumed" | "error";
  id?: string;
  from?: string;
  member?: string;
  token?: string;
  name?: string;
  text?: string;
  code?: string;
  event?: "join" | "leave";
  online?: number;
  members?: string[];
  lastId?: string | null;
  rejoined?: boolean;
  server?: string;
  replayed?: number;
  complete?: boolean;
}

const clients: Connection[] = [];
let running: Example | null = null;
let redis: RedisServer | null = null;
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  // SIGTERM first, even after a failure: the primary stops the redis-server it started (SIGKILL would orphan it).
  await running?.stop("SIGTERM").catch(() => undefined);
  running = null;
  await killAll();
  await redis?.stop();
  redis = null;
});

/** Start the cluster; its port. */
async function cluster(env: Record<string, string> = {}): Promise<{ example: Example; port: number }> {
  const example = (running = Example.start("chat-cluster/main.js", { WORKERS: "2", ...env }));
  const port = Number((await example.waitFor(/listening on \w+:\/\/\S+?:(\d+)/, 30_000))[1]);
  if (env["REDIS_URL"] === undefined) expect(example.stdout).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
  return { example, port };
}

async function open(port: number): Promise<Connection> {
  const ws = await connect(`ws://127.0.0.1:${port}/chat`);
  clients.push(ws);
  return ws;
}

async function recvJSON(ws: Connection): Promise<RoomMessage> {
  return JSON.parse((await withTimeout(ws.recv(), 10_000, "timed out waiting for a message")) as string) as RoomMessage;
}

const next = (ws: Connection, accept: (m: RoomMessage) => boolean) => recvJSONUntil<RoomMessage>(ws, accept);

/** Send a join; the reply. */
async function joinAs(ws: Connection, fields: Record<string, unknown>): Promise<RoomMessage> {
  await ws.send(JSON.stringify({ type: "join", ...fields }));
  return recvJSON(ws);
}

/**
 * A connection joined with `fields` on a worker other than `not` (the primary
 * spreads connections over the workers: try until one lands elsewhere).
 * `retry` runs after a join that landed on `not`, before the next attempt.
 */
async function joinedElsewhere(
  port: number,
  not: string | null,
  fields: () => Record<string, unknown>,
  retry: (ws: Connection, joined: RoomMessage) => Promise<void> = (ws) => ws.close(),
): Promise<{ ws: Connection; joined: RoomMessage }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ws = await open(port);
    const joined = await joinAs(ws, fields());
    expect(joined.type, JSON.stringify(joined)).toBe("joined");
    expect(joined.server).toMatch(/^worker \d$/);
    if (joined.server !== not) return { ws, joined };
    await retry(ws, joined);
  }
  throw new Error(`every connection landed on ${not}`);
}

/** Say `texts` as `ws`, and wait until `listener` heard the last one; what it heard of them. */
async function sayAll(ws: Connection, listener: Connection, texts: string[]): Promise<RoomMessage[]> {
  for (const text of texts) await ws.send(JSON.stringify({ type: "message", text }));
  const heard: RoomMessage[] = [];
  await next(listener, (m) => {
    if (m.type === "message" && texts.includes(m.text!)) heard.push(m);
    return m.text === texts.at(-1);
  });
  return heard;
}

const d = haveRedis ? describe : describe.skip;

d("examples/chat-cluster: the chat room as worker processes over Redis", () => {
  it("members on different workers are one room: messages with Stream ids, one count, names unique across workers", async () => {
    const { example, port } = await cluster();
    const ada = await joinedElsewhere(port, null, () => ({ name: "ada" }));
    expect(ada.joined).toMatchObject({ online: 1, members: [], text: `Welcome, ada! You are the first one here. You are on ${ada.joined.server}.` });
    await next(ada.ws, (m) => m.event === "join" && m.name === "ada");
    let n = 0;
    const grace = await joinedElsewhere(port, ada.joined.server!, () => ({ name: `grace${++n}` }));
    const graceName = grace.joined.name!;
    expect(grace.joined).toMatchObject({ online: 2, members: ["ada"] });
    // The join of a member on the other worker reaches ada, with the room's count.
    expect(await next(ada.ws, (m) => m.event === "join" && m.name === graceName)).toMatchObject({ from: grace.joined.member, online: 2 });

    await ada.ws.send(JSON.stringify({ type: "message", text: `hello from ${ada.joined.server}` }));
    const heard = await next(grace.ws, (m) => m.type === "message");
    expect(heard).toMatchObject({ name: "ada", from: ada.joined.member, text: `hello from ${ada.joined.server}` });
    expect(heard.id).toMatch(/^\d+-\d+$/);
    // Both workers put the same id on it: it is the Stream's.
    expect(await next(ada.ws, (m) => m.type === "message")).toMatchObject({ id: heard.id });

    // "ada" is taken on the other worker too, ignoring case: a connection refused the name
    // joins under another one to say which worker it is on.
    let refusedElsewhere = false;
    for (let attempt = 0; attempt < 20 && !refusedElsewhere; attempt++) {
      const ws = await open(port);
      expect(await joinAs(ws, { name: " ADA " })).toEqual({ type: "error", code: "name-taken", text: "The name ada is taken: pick another one." });
      refusedElsewhere = (await joinAs(ws, { name: `probe${attempt}` })).server !== ada.joined.server;
      await ws.close();
    }
    expect(refusedElsewhere).toBe(true);
    const again = await open(port);

    // ada leaves: the name is free again everywhere, and the room is told.
    await ada.ws.close();
    expect(await next(grace.ws, (m) => m.event === "leave" && m.name === "ada")).toMatchObject({ from: ada.joined.member });
    await example.waitFor(/worker \d: ada left/);
    expect((await joinAs(again, { name: "Ada" })).type).toBe("joined");
    expect((await example.stop("SIGTERM")).code).toBe(0);
  }, 90_000);

  it("a member that comes back on the other worker takes its seat back from the old connection there and gets exactly what it missed", async () => {
    const { example, port } = await cluster();
    const grace = await joinedElsewhere(port, null, () => ({ name: "grace" }));
    let n = 0;
    const ada = await joinedElsewhere(port, grace.joined.server!, () => ({ name: `ada${++n}` }));
    await next(grace.ws, (m) => m.event === "join" && m.from === ada.joined.member);
    const [seen] = await sayAll(ada.ws, grace.ws, ["seen by grace"]);

    // grace's connection goes quiet (her worker still holds it); ada says three things.
    const missed = await sayAll(ada.ws, ada.ws, ["one", "two", "three"]);

    // grace comes back with her token and the id she saw last, on ada's worker, not her old one.
    let current = grace.ws;
    const back = await joinedElsewhere(
      port,
      grace.joined.server!,
      () => ({ name: "grace", token: grace.joined.token, since: seen!.id }),
      // Back on the same worker: a valid take-back too (the older connection is dropped); go on from this one.
      async (ws) => {
        await current.closed;
        current = ws;
      },
    );
    expect(back.joined).toMatchObject({ rejoined: true, member: grace.joined.member, name: "grace", lastId: seen!.id });
    const before: RoomMessage[] = [];
    const resumed = await next(back.ws, (m) => {
      if (m.type !== "resumed") before.push(m);
      return m.type === "resumed";
    });
    expect(before).toEqual(missed);
    expect(resumed).toMatchObject({ replayed: 3, complete: true });
    // The worker that held her old connection dropped it: 4000, replaced.
    await withTimeout(current.closed, 10_000, "the old connection was not dropped");
    expect(current.closeCode).toBe(4000);
    expect(current.closeReason).toBe("replaced by a newer connection");
    await example.waitFor(new RegExp(`${back.joined.server}: grace is back \\(2 online\\)`));

    // Then live; the room saw no leave or join of grace's.
    const [now] = await sayAll(ada.ws, back.ws, ["four"]);
    expect(now).toMatchObject({ text: "four" });
    await back.ws.send(JSON.stringify({ type: "message", text: "I'm back" }));
    const fromGrace = await next(ada.ws, (m) => m.name === "grace");
    expect(fromGrace).toMatchObject({ type: "message", from: grace.joined.member, text: "I'm back" });
    expect(example.stdout).not.toMatch(/grace left/);
    expect((await example.stop("SIGTERM")).code).toBe(0);
  }, 90_000);

  it("a worker that dies: its members' seats are freed after SEAT_TTL_MS and the room is told they left; the others go on", async () => {
    const { example, port } = await cluster({ SEAT_TTL_MS: "1500" });
    const ada = await joinedElsewhere(port, null, () => ({ name: "ada" }));
    let n = 0;
    const bob = await joinedElsewhere(port, ada.joined.server!, () => ({ name: `bob${++n}` }));
    const bobName = bob.joined.name!;
    await next(ada.ws, (m) => m.event === "join" && m.name === bobName);
    const index = /^worker (\d)$/.exec(bob.joined.server!)![1];
    const pid = Number(new RegExp(`worker ${index} \\(pid (\\d+)\\)`).exec(example.stdout)![1]);
    process.kill(pid, "SIGKILL");

    const left = await recvJSONUntil<RoomMessage>(ada.ws, (m) => m.event === "leave", 20_000);
    expect(left).toMatchObject({ name: bobName, from: bob.joined.member, online: 1 });
    await example.waitFor(new RegExp(`${ada.joined.server}: ${bobName} left \\(their server went away; 1 online\\)`));
    expect(example.stdout).toMatch(/worker \d+ exited/);
    // The name is free, and the surviving worker serves everyone.
    const again = await open(port);
    expect(await joinAs(again, { name: bobName })).toMatchObject({ type: "joined", server: ada.joined.server, online: 2 });
    expect((await example.stop("SIGTERM")).code).toBe(0);
  }, 90_000);

  it("Redis restarted without persistence: joins are refused while it is away, the seats come back, and the room talks again", async () => {
    redis = await RedisServer.start();
    const { example, port } = await cluster({ REDIS_URL: redis.url, SEAT_TTL_MS: "1500" });
    const connected = () => example.stdout.match(/Redis connected/g)?.length ?? 0;
    await expect.poll(connected, { timeout: 10_000 }).toBe(2);
    const ada = await joinedElsewhere(port, null, () => ({ name: "ada" }));
    let n = 0;
    const bob = await joinedElsewhere(port, ada.joined.server!, () => ({ name: `bob${++n}` }));
    await next(ada.ws, (m) => m.event === "join" && m.from === bob.joined.member);

    await redis.kill("SIGKILL");
    const carl = await open(port);
    expect(await joinAs(carl, { name: "carl" })).toEqual({ type: "error", code: "unavailable", text: "The room can't seat anyone right now: try again in a moment." });
    // Members on one worker still hear each other meanwhile; no one is dropped.
    await ada.ws.send(JSON.stringify({ type: "message", text: "anyone?" }));
    expect(await next(ada.ws, (m) => m.type === "message")).toMatchObject({ text: "anyone?" });
    expect(ada.ws.state).toBe("open");
    expect(bob.ws.state).toBe("open");

    await redis.run(); // same port, empty
    await expect.poll(connected, { timeout: 20_000 }).toBe(4);
    // Each worker puts its seats back at its next beat.
    await expect
      .poll(async () => (await redis!.command<string[]>(["HKEYS", "wavesock-chat:seats"])).map(String).sort(), { timeout: 10_000 })
      .toEqual(["ada", bob.joined.name!].sort());
    const other = await open(port);
    expect(await joinAs(other, { name: "Ada" })).toMatchObject({ type: "error", code: "name-taken" });
    expect(await joinAs(carl, { name: "carl" })).toMatchObject({ type: "joined", online: 3 });
    await bob.ws.send(JSON.stringify({ type: "message", text: "back across workers" }));
    expect(await next(ada.ws, (m) => m.type === "message" && m.name === bob.joined.name)).toMatchObject({ text: "back across workers" });
    expect((await example.stop("SIGTERM")).code).toBe(0);
  }, 90_000);
});

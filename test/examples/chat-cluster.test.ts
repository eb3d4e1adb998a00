import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { haveRedis } from "../pubsub/redis.js";
import { Example, closeQuietly, killAll, recvJSONUntil } from "./helpers.js";

interface RoomMessage {
  type: "message" | "system";
  id?: string;
  name?: string;
  text?: string;
  event?: "join" | "leave";
  online?: number;
  worker?: number;
}

const clients: Connection[] = [];
let running: Example | null = null;
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  // SIGTERM first, even after a failure: the primary stops the redis-server it started (SIGKILL would orphan it).
  await running?.stop("SIGTERM").catch(() => undefined);
  running = null;
  await killAll();
});

/** A page's connection: returns it with the worker that serves it. */
async function open(port: number): Promise<{ ws: Connection; worker: number }> {
  const ws = await connect(`ws://127.0.0.1:${port}/chat`);
  clients.push(ws);
  const hello = JSON.parse((await ws.recv()) as string) as RoomMessage;
  expect(hello.type).toBe("system");
  return { ws, worker: hello.worker! };
}

const d = haveRedis ? describe : describe.skip;

d("examples/chat-cluster: the chat room as worker processes over Redis", () => {
  it("two clients on different workers hear each other; one that drops and comes back with its last id gets what it missed", async () => {
    const example = (running = Example.start("chat-cluster/main.js", { WORKERS: "2" }));
    const port = Number((await example.waitFor(/listening on \w+:\/\/\S+?:(\d+)/, 30_000))[1]);
    expect(example.stdout).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    // The primary hands connections to the workers in turn: open until two workers are seen.
    const first = await open(port);
    let second = await open(port);
    for (let i = 0; i < 20 && second.worker === first.worker; i++) second = await open(port);
    expect(second.worker).not.toBe(first.worker);

    await first.ws.send(JSON.stringify({ type: "join", name: "ada" }));
    await recvJSONUntil<RoomMessage>(first.ws, (m) => m.event === "join" && m.name === "ada");
    await second.ws.send(JSON.stringify({ type: "join", name: "grace" }));
    await recvJSONUntil<RoomMessage>(first.ws, (m) => m.event === "join" && m.name === "grace");

    await first.ws.send(JSON.stringify({ type: "message", text: "hello from worker " + first.worker }));
    const heard = await recvJSONUntil<RoomMessage>(second.ws, (m) => m.type === "message");
    expect(heard).toMatchObject({ name: "ada", text: `hello from worker ${first.worker}`, worker: first.worker });
    expect(heard.id).toMatch(/^\d+-\d+$/);
    await second.ws.send(JSON.stringify({ type: "message", text: "hi ada" }));
    expect(await recvJSONUntil<RoomMessage>(first.ws, (m) => m.type === "message" && m.name === "grace")).toMatchObject({ text: "hi ada" });
    const lastSeen = (await recvJSONUntil<RoomMessage>(second.ws, (m) => m.type === "message" && m.name === "grace")).id!;

    // grace drops; ada says two things; grace comes back (on whichever worker) with the last id she saw.
    await second.ws.close();
    await first.ws.send(JSON.stringify({ type: "message", text: "are you there?" }));
    await first.ws.send(JSON.stringify({ type: "message", text: "you missed this" }));
    await recvJSONUntil<RoomMessage>(first.ws, (m) => m.text === "you missed this");
    const back = await open(port);
    await back.ws.send(JSON.stringify({ type: "join", name: "grace", since: lastSeen }));
    const missed: string[] = [];
    const welcome = await recvJSONUntil<RoomMessage>(back.ws, (m) => {
      if (m.type === "message") missed.push(m.text!);
      return m.type === "system" && (m.text ?? "").startsWith("Welcome back");
    });
    expect(missed).toEqual(["are you there?", "you missed this"]);
    expect(welcome.text).toBe("Welcome back, grace: 3 message(s) you missed."); // her own "left" notice, and the two
    expect((await example.stop("SIGTERM")).code).toBe(0);
  }, 90_000);
});

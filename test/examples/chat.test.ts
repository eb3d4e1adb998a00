import { afterEach, describe, expect, it } from "vitest";
import { InvalidStatus, connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll, recvJSONUntil } from "./helpers.js";

interface RoomMessage {
  type: "message" | "system";
  name?: string;
  text?: string;
  event?: "join" | "leave";
  online?: number;
  time: string;
}

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

async function member(port: number, name?: string): Promise<Connection> {
  const ws = await connect(`ws://127.0.0.1:${port}/chat`);
  clients.push(ws);
  const hello = JSON.parse((await ws.recv()) as string) as RoomMessage;
  expect(hello).toMatchObject({ type: "system" });
  expect(typeof hello.online).toBe("number");
  if (name !== undefined) {
    await ws.send(JSON.stringify({ type: "join", name }));
    await recvJSONUntil<RoomMessage>(ws, (m) => m.event === "join" && m.name === name.trim());
  }
  return ws;
}

const next = (ws: Connection, accept: (m: RoomMessage) => boolean) => recvJSONUntil<RoomMessage>(ws, accept);

describe("examples/chat/server.js: the web page", () => {
  it("serves the page and its files on one port, and 404 for anything else", async () => {
    const { example, port } = await Example.server("chat/server.js");
    expect(example.stdout).toContain(`listening on http://127.0.0.1:${port}/ (WebSocket: ws://127.0.0.1:${port}/chat)`);
    const base = `http://127.0.0.1:${port}`;

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).toContain('<ol id="messages"');
    expect(html).toContain('<script type="module" src="/chat.js">');

    for (const [path, type] of [
      ["/index.html", "text/html; charset=utf-8"],
      ["/chat.js", "text/javascript; charset=utf-8"],
      ["/chat.css", "text/css; charset=utf-8"],
      ["/?utm=x", "text/html; charset=utf-8"],
    ]) {
      const res = await fetch(base + path!);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe(type);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }

    const head = await fetch(`${base}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(Buffer.byteLength(html));

    for (const path of ["/missing", "/server.js", "/../package.json", "/favicon.ico"]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
    const post = await fetch(`${base}/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    await post.arrayBuffer();

    // A WebSocket anywhere but /chat is refused.
    const err = await connect(`ws://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
  });

  it("refuses a WebSocket opened by a page from another origin", async () => {
    const { port } = await Example.server("chat/server.js");
    const err = await connect(`ws://127.0.0.1:${port}/chat`, { origin: "http://evil.example" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(403);
    const ws = await connect(`ws://127.0.0.1:${port}/chat`, { origin: `http://127.0.0.1:${port}` });
    clients.push(ws);
    expect(JSON.parse((await ws.recv()) as string)).toMatchObject({ type: "system", online: 0 });
  });
});

describe("examples/chat/server.js: the room", () => {
  it("joins, broadcasts messages, counts who is online and announces departures", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const alice = await member(port);

    // Nothing is said before a name is chosen.
    await alice.send(JSON.stringify({ type: "message", text: "anyone?" }));
    expect((await next(alice, () => true)).text).toBe("Pick a name first.");
    await alice.send("not json");
    expect((await next(alice, () => true)).text).toBe("Messages must be JSON objects.");

    await alice.send(JSON.stringify({ type: "join", name: "  alice " }));
    expect(await next(alice, () => true)).toMatchObject({ type: "system", text: "Welcome, alice! You are the first one here.", online: 1 });
    expect(await next(alice, () => true)).toMatchObject({ type: "system", event: "join", name: "alice", text: "alice joined", online: 1 });

    const bob = await member(port);
    await bob.send(JSON.stringify({ type: "join", name: "bob\u0007" }));
    expect((await next(bob, () => true)).text).toBe("Welcome, bob! Also here: alice.");
    expect(await next(alice, () => true)).toMatchObject({ event: "join", name: "bob", online: 2 });

    await bob.send(JSON.stringify({ type: "message", text: "hi alice" }));
    for (const ws of [alice, bob]) {
      const m = await next(ws, (m) => m.type === "message");
      expect(m).toMatchObject({ type: "message", name: "bob", text: "hi alice" });
      expect(Number.isNaN(Date.parse(m.time))).toBe(false);
    }
    await example.waitFor(/bob: hi alice/);

    // Empty messages are dropped; long ones are cut.
    await alice.send(JSON.stringify({ type: "message", text: "   " }));
    await alice.send(JSON.stringify({ type: "message", text: "x".repeat(5000) }));
    expect((await next(bob, (m) => m.type === "message")).text).toHaveLength(2000);

    await alice.close();
    expect(await next(bob, () => true)).toMatchObject({ type: "system", event: "leave", name: "alice", text: "alice left", online: 1 });
    await example.waitFor(/alice left \(1 online\)/);

    expect(await example.stop()).toEqual({ code: 0, signal: null });
    expect(bob.closeCode).toBe(1001);
  });
});

/**
 * Observability over real sockets: the node:diagnostics_channel events
 * (handshake answered, refused, malformed, unanswered; open; close with the
 * codes both ways and who started; ping/pong both ways; errors from a
 * handler, a peer's protocol violation, a keepalive timeout, a hook) and the
 * server's counters (`server.stats()`).
 */
import * as dc from "node:diagnostics_channel";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ProtocolError,
  broadcast,
  connect,
  diagnosticChannels,
  serve,
  type CloseDiagnostic,
  type ErrorDiagnostic,
  type HandshakeDiagnostic,
  type OpenDiagnostic,
  type PingDiagnostic,
  type Server,
} from "../../src/index.js";
import { RawPeer, until } from "./helpers.js";

type Seen = { channel: keyof typeof diagnosticChannels; event: unknown };
let seen: Seen[] = [];
const listeners = Object.entries(diagnosticChannels).map(([key, name]) => {
  const fn = (event: unknown) => void seen.push({ channel: key as keyof typeof diagnosticChannels, event });
  return { name, fn };
});
beforeEach(() => {
  seen = [];
  for (const { name, fn } of listeners) dc.subscribe(name, fn);
});
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const { name, fn } of listeners) dc.unsubscribe(name, fn);
});

function events<T>(channel: keyof typeof diagnosticChannels): T[] {
  return seen.filter((s) => s.channel === channel).map((s) => s.event as T);
}

async function start(handler: Parameters<typeof serve>[0], options: Parameters<typeof serve>[1] = {}): Promise<Server> {
  const server = await serve(handler, { host: "127.0.0.1", logger: null, ...options });
  servers.push(server);
  return server;
}

describe("diagnostics channels", () => {
  it("names its channels wavesock:…", () => {
    expect(diagnosticChannels).toEqual({
      handshake: "wavesock:server:handshake",
      open: "wavesock:connection:open",
      close: "wavesock:connection:close",
      ping: "wavesock:connection:ping",
      pong: "wavesock:connection:pong",
      error: "wavesock:connection:error",
    });
  });

  it("handshake: answered 101 (with the connection), refused 404, malformed 400, unanswered (timeout)", async () => {
    const server = await start(async (ws) => void (await ws.closed), { path: "/chat", openTimeout: 300 });
    const ok = await connect(`ws://127.0.0.1:${server.port}/chat?x=1`);
    await connect(`ws://127.0.0.1:${server.port}/other`).catch(() => undefined);
    const bad = await RawPeer.connect(server.port);
    bad.write("NONSENSE\r\n\r\n");
    await bad.readToEnd();
    const silent = await RawPeer.connect(server.port);
    await silent.closed;
    await until(() => events<HandshakeDiagnostic>("handshake").length === 4);
    const [accepted, refused, malformed, unanswered] = events<HandshakeDiagnostic>("handshake");
    expect(accepted).toMatchObject({ server, status: 101, request: { path: "/chat?x=1" } });
    expect(accepted!.response?.headers["sec-websocket-accept"]).toBeTypeOf("string");
    expect(accepted!.connection).toBe([...server.connections][0]);
    expect(accepted!.duration).toBeGreaterThanOrEqual(0);
    expect(refused).toMatchObject({ status: 404, request: { path: "/other" }, connection: null });
    expect(malformed).toMatchObject({ status: 400, request: null });
    expect(unanswered).toMatchObject({ status: null, response: null, request: null });
    expect(unanswered!.duration).toBeGreaterThanOrEqual(250);
    await ok.close();
  });

  it("open and close on both sides: codes both ways, who started, how long", async () => {
    const server = await start(async (ws) => void (await ws.closed));
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    await until(() => events<OpenDiagnostic>("open").length === 2);
    const opens = events<OpenDiagnostic>("open");
    expect(opens.map((o) => o.role).sort()).toEqual(["client", "server"]);
    expect(opens.find((o) => o.role === "client")!.connection).toBe(ws);
    // On the server side, the handshake's end comes first, then the opening.
    const order = seen.filter((e) => e.channel === "handshake" || (e.channel === "open" && (e.event as OpenDiagnostic).role === "server")).map((e) => e.channel);
    expect(order).toEqual(["handshake", "open"]);

    await ws.close(4001, "bye");
    await until(() => events<CloseDiagnostic>("close").length === 2);
    const closes = events<CloseDiagnostic>("close");
    const client = closes.find((c) => c.role === "client")!;
    const serverSide = closes.find((c) => c.role === "server")!;
    expect(client).toMatchObject({ connection: ws, code: 4001, reason: "bye", initiator: "local", sent: { code: 4001, reason: "bye" }, received: { code: 4001 }, error: null });
    expect(serverSide).toMatchObject({ code: 4001, initiator: "remote", received: { code: 4001, reason: "bye" }, sent: { code: 4001 } });
    expect(serverSide.duration).toBeGreaterThanOrEqual(0);

    // The server going away: it starts, with 1001.
    const ws2 = await connect(`ws://127.0.0.1:${server.port}/`);
    seen = [];
    await server.close();
    await ws2.closed;
    await until(() => events<CloseDiagnostic>("close").length === 2);
    expect(events<CloseDiagnostic>("close").find((c) => c.role === "server")).toMatchObject({ code: 1001, initiator: "local" });
    expect(events<CloseDiagnostic>("close").find((c) => c.role === "client")).toMatchObject({ code: 1001, initiator: "remote" });
  });

  it("a TCP connection that just ends: 1006, nobody started a closing handshake", async () => {
    const server = await start(async (ws) => void (await ws.closed));
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.destroy();
    await until(() => events<CloseDiagnostic>("close").length === 1);
    expect(events<CloseDiagnostic>("close")[0]).toMatchObject({ role: "server", code: 1006, initiator: null, sent: null, received: null });
  });

  it("ping and pong, each way", async () => {
    const server = await start(async (ws) => void (await ws.closed));
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    await ws.ping("hey");
    await ws.pong("beat");
    await until(() => events<PingDiagnostic>("pong").length === 3);
    const pings = events<PingDiagnostic>("ping").map((p) => `${p.connection === ws ? "client" : "server"} ${p.direction} ${Buffer.from(p.data).toString()}`);
    const pongs = events<PingDiagnostic>("pong").map((p) => `${p.connection === ws ? "client" : "server"} ${p.direction} ${Buffer.from(p.data).toString()}`);
    expect(pings.sort()).toEqual(["client out hey", "server in hey"]);
    // The automatic answer to a ping is not published as sent (the core may coalesce answers).
    expect(pongs.sort()).toEqual(["client in hey", "client out beat", "server in beat"]);
    await ws.close();
  });

  it("errors: a handler that throws, a peer's protocol violation, a keepalive timeout, a processRequest that throws", async () => {
    const boom = new Error("boom");
    const server = await start(
      async (ws) => {
        if ((await ws.recv()) === "throw") throw boom;
        await ws.closed;
      },
      {
        pingInterval: 100,
        pingTimeout: 100,
        processRequest: (_c, request) => {
          if (request.path === "/hook") throw new Error("hook failed");
        },
      },
    );
    const ws = await connect(`ws://127.0.0.1:${server.port}/`, { pingInterval: null });
    await ws.send("throw");
    await ws.closed;

    // An unmasked frame from a client: 1002.
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await peer.readToEnd();

    await connect(`ws://127.0.0.1:${server.port}/hook`).catch(() => undefined);

    // A peer that never answers pings (a raw socket): 1011 after pingInterval + pingTimeout.
    const mute = await RawPeer.connect(server.port);
    await mute.handshake();
    await mute.readToEnd(10_000);

    await until(() => events<ErrorDiagnostic>("error").length >= 4, 10_000);
    const errors = events<ErrorDiagnostic>("error");
    const by = (source: string) => errors.filter((e) => e.source === source);
    expect(by("handler")).toHaveLength(1);
    expect(by("handler")[0]!.error).toBe(boom);
    expect(by("handler")[0]!.connection).not.toBeNull();
    expect(by("protocol")).toHaveLength(1);
    expect(by("protocol")[0]!.error).toBeInstanceOf(ProtocolError);
    expect((by("protocol")[0]!.error as ProtocolError).closeCode).toBe(1002);
    expect(by("processRequest")).toHaveLength(1);
    expect(by("processRequest")[0]).toMatchObject({ connection: null, error: { message: "hook failed" } });
    expect(by("keepalive")).toHaveLength(1);
    expect((by("keepalive")[0]!.error as ProtocolError).closeCode).toBe(1011);
    // The violation also shows on the close event.
    expect(events<CloseDiagnostic>("close").find((c) => c.code === 1002)?.error).toBe(by("protocol")[0]!.error);
  });
});

describe("server.stats()", () => {
  it("counts connections, handshakes by status, messages and bytes both ways, and closes by code", async () => {
    const server = await start(
      async (ws) => {
        for await (const m of ws) await ws.send(m);
      },
      { path: "/echo" },
    );
    expect(server.stats()).toEqual({
      connections: 0,
      connectionsOpened: 0,
      handshakes: { accepted: 0, refused: {}, unanswered: 0 },
      messagesIn: 0,
      messagesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      closes: {},
    });
    const a = await connect(`ws://127.0.0.1:${server.port}/echo`);
    const b = await connect(`ws://127.0.0.1:${server.port}/echo`);
    await connect(`ws://127.0.0.1:${server.port}/nope`).catch(() => undefined);
    for (let i = 0; i < 5; i++) {
      await a.send(`message ${i}`);
      await a.recv();
    }
    await b.send(crypto.getRandomValues(new Uint8Array(1000))); // random: compression cannot shrink it
    await b.recv();
    let stats = server.stats();
    expect(stats).toMatchObject({ connections: 2, connectionsOpened: 2, handshakes: { accepted: 2, refused: { 404: 1 }, unanswered: 0 }, messagesIn: 6, messagesOut: 6 });
    expect(stats.bytesIn).toBeGreaterThan(1000 + 5 * 9);
    expect(stats.bytesOut).toBeGreaterThan(1000 + 5 * 9);

    // broadcast() and publish() count as sent, on every connection reached.
    broadcast(server.connections, "to all");
    for (const conn of server.connections) conn.subscribe("news");
    server.publish("news", "extra");
    for (const ws of [a, b]) {
      expect(await ws.recv()).toBe("to all");
      expect(await ws.recv()).toBe("extra");
    }
    expect(server.stats().messagesOut).toBe(10);

    await a.close(1000);
    await b.close(4002, "done");
    await until(() => server.connections.size === 0);
    stats = server.stats();
    // Totals survive the connections they came from.
    expect(stats).toMatchObject({ connections: 0, connectionsOpened: 2, messagesIn: 6, messagesOut: 10, closes: { 1000: 1, 4002: 1 } });
    expect(stats.bytesIn).toBeGreaterThan(1000);
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
  });

  // Before the fix, the 503'd socket was never read, its FIN never seen: close() waited forever.
  it("counts a handshake that got no answer, and a 503 when full (and close() still finishes)", async () => {
    const server = await start(async (ws) => void (await ws.closed), { openTimeout: 200, maxConnections: 1 });
    const silent = await RawPeer.connect(server.port);
    const full = await connect(`ws://127.0.0.1:${server.port}/`).catch((e: unknown) => e);
    expect((full as { response?: { status: number } }).response?.status).toBe(503);
    await silent.closed;
    await until(() => server.stats().handshakes.unanswered === 1);
    expect(server.stats().handshakes).toEqual({ accepted: 0, refused: { 503: 1 }, unanswered: 1 });
  });
});

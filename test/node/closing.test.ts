/**
 * Closing with unread messages, and a peer that leaves while messages wait
 * (issue 9, defect 1), over real loopback sockets. The handlers here do not
 * read: their queue is full (maxQueue 16 by default) and the core holds the
 * rest; a close must still complete in about one round trip, and every
 * message received before it must still be readable.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionClosedError, ConnectionClosedOK, connect, serve, type Connection, type Server } from "../../src/index.js";
import { assertBuilt } from "../examples/helpers.js";
import { RawPeer, clientFrame, until } from "./helpers.js";

const servers: Server[] = [];
const quiet = { logger: null, pingInterval: null, compression: null } as const;
/** Long enough that waiting for it is obvious; the closes below must take a small fraction of it. */
const CLOSE_TIMEOUT = 6000;
const PROMPT_MS = 2000;
const COUNT = 40;
const kib = (i: number) => `${i}:`.padEnd(1024, "x");
const expected = Array.from({ length: COUNT }, (_, i) => kib(i));
/** Bytes of the 40 messages on the wire, client to server (masked, 16-bit length). */
const WIRE = COUNT * (1024 + 8);

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(handler: (ws: Connection) => Promise<void>, options: Parameters<typeof serve>[1] = {}): Promise<Server> {
  const server = await serve(handler, { host: "127.0.0.1", closeTimeout: CLOSE_TIMEOUT, ...quiet, ...options });
  servers.push(server);
  return server;
}

/** Everything left to read, then the error that ended it. */
async function readAll(ws: Connection): Promise<{ messages: unknown[]; end: unknown }> {
  const messages: unknown[] = [];
  for (;;) {
    try {
      messages.push(await ws.recv());
    } catch (end) {
      return { messages, end };
    }
  }
}

/** The 40 messages have reached the server connection (or, on the old code, its reading stopped). */
const arrived = (ws: Connection) => until(() => ws.socket.bytesRead >= WIRE || ws.socket.isPaused(), 5000);

describe("closing with unread messages completes in about one round trip", () => {
  it("a server handler that has not read 40 × 1 KiB calls ws.close(): 1000 both ways, then reads them all", async () => {
    let outcome: { ms: number; code: number | undefined; rest: Awaited<ReturnType<typeof readAll>> } | null = null;
    const server = await start(async (ws) => {
      await arrived(ws);
      const t0 = performance.now();
      await ws.close();
      const ms = performance.now() - t0;
      outcome = { ms, code: ws.closeCode, rest: await readAll(ws) };
    });
    const client = await connect(`ws://127.0.0.1:${server.port}`, { ...quiet, closeTimeout: CLOSE_TIMEOUT });
    for (const m of expected) await client.send(m);
    await until(() => outcome !== null, CLOSE_TIMEOUT + 3000);
    expect(outcome!.ms).toBeLessThan(PROMPT_MS);
    expect(outcome!.code).toBe(1000);
    // Every message received before the close, in order, then a normal end.
    expect(outcome!.rest.messages).toEqual(expected);
    expect(outcome!.rest.end).toBeInstanceOf(ConnectionClosedOK);
    await client.closed;
    expect(client.closeCode).toBe(1000);
  });

  it("the client's close() with 40 unread messages from the server: prompt, 1000, messages still readable", async () => {
    const server = await start(async (ws) => {
      await ws.recv(); // so that the messages come after the handshake, not with it
      for (const m of expected) await ws.send(m);
      await ws.closed;
    });
    const client = await connect(`ws://127.0.0.1:${server.port}`, { ...quiet, closeTimeout: CLOSE_TIMEOUT });
    await client.send("go");
    // Server frames: unmasked, 4-byte header.
    await until(() => client.socket.bytesRead >= COUNT * 1028 || client.socket.isPaused(), 5000);
    const t0 = performance.now();
    await client.close();
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS);
    expect(client.closeCode).toBe(1000);
    const rest = await readAll(client);
    expect(rest.messages).toEqual(expected);
    expect(rest.end).toBeInstanceOf(ConnectionClosedOK);
  });

  it("server.close() with handlers that have not read: prompt, the clients see 1001", async () => {
    let serverSide: Connection | null = null;
    const server = await serve(
      async (ws) => {
        serverSide = ws;
        await ws.closed;
      },
      { host: "127.0.0.1", closeTimeout: CLOSE_TIMEOUT, ...quiet },
    );
    const client = await connect(`ws://127.0.0.1:${server.port}`, { ...quiet, closeTimeout: CLOSE_TIMEOUT });
    for (const m of expected) await client.send(m);
    await until(() => serverSide !== null);
    await arrived(serverSide!);
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS);
    await client.closed;
    expect(client.closeCode).toBe(1001);
    expect(serverSide!.closeCode).toBe(1001);
  });
});

describe("a peer that leaves while messages wait is noticed at once", () => {
  it("a client that sends 40 × 1 KiB then closes leaves server.connections promptly (no keepalive); its messages stay readable", async () => {
    let rest: Awaited<ReturnType<typeof readAll>> | null = null;
    let serverSide: Connection | null = null;
    const server = await start(async (ws) => {
      serverSide = ws;
      await ws.closed; // reads only once the connection is gone
      rest = await readAll(ws);
    });
    const client = await connect(`ws://127.0.0.1:${server.port}`, { ...quiet, closeTimeout: CLOSE_TIMEOUT });
    for (const m of expected) await client.send(m);
    await until(() => serverSide !== null);
    // The close must come in a later read than the messages.
    await arrived(serverSide!);
    const t0 = performance.now();
    await client.close(1000, "bye");
    expect(performance.now() - t0).toBeLessThan(PROMPT_MS);
    expect(client.closeCode).toBe(1000);
    await until(() => server.connections.size === 0, PROMPT_MS);
    await until(() => rest !== null);
    expect(rest!.messages).toEqual(expected);
    expect(rest!.end).toBeInstanceOf(ConnectionClosedOK);
    expect((rest!.end as ConnectionClosedOK).rcvd).toEqual({ code: 1000, reason: "bye" });
  });

  it("a client that sends 40 × 1 KiB then just ends its TCP connection leaves promptly; its messages stay readable, then 1006", async () => {
    let rest: Awaited<ReturnType<typeof readAll>> | null = null;
    let serverSide: Connection | null = null;
    const server = await start(async (ws) => {
      serverSide = ws;
      await ws.closed;
      rest = await readAll(ws);
    });
    const peer = await RawPeer.connect(server.port);
    expect(await peer.handshake()).toMatch(/^HTTP\/1\.1 101/);
    peer.write(Buffer.concat(expected.map((m) => clientFrame(1, m))));
    await until(() => serverSide !== null);
    await arrived(serverSide!);
    // More data in a later read, then the FIN (a paused socket with data
    // buffered never reports the FIN: what the old code did).
    const more = Array.from({ length: 10 }, (_, i) => kib(COUNT + i));
    peer.write(Buffer.concat(more.map((m) => clientFrame(1, m))));
    peer.socket.end();
    await until(() => server.connections.size === 0, PROMPT_MS);
    await until(() => rest !== null);
    expect(rest!.messages).toEqual([...expected, ...more]);
    expect(rest!.end).toBeInstanceOf(ConnectionClosedError);
    expect((rest!.end as ConnectionClosedError).closeCode).toBe(1006);
    peer.destroy();
  });

  it("a close frame behind unread messages is answered at once, even before the handler reads", async () => {
    let serverSide: Connection | null = null;
    const server = await start(async (ws) => {
      serverSide = ws;
      await ws.closed;
    });
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(Buffer.concat(expected.map((m) => clientFrame(1, m))));
    await until(() => serverSide !== null);
    await arrived(serverSide!);
    peer.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    const echo = await peer.readFrame();
    expect(echo.opcode).toBe(8);
    expect(echo.payload.readUInt16BE(0)).toBe(1000);
    // §7.1.1: the server then closes the TCP connection.
    await peer.readToEnd(PROMPT_MS);
    await until(() => server.connections.size === 0, PROMPT_MS);
    peer.destroy();
  });

  it("a peer that floods data before answering our close: the reply is still seen at once, data past the read-ahead is discarded", async () => {
    let result: { ms: number; code: number | undefined; skipped: number; rest: Awaited<ReturnType<typeof readAll>> } | null = null;
    const server = await start(async (ws) => {
      await arrived(ws);
      const t0 = performance.now();
      await ws.close(1000);
      const ms = performance.now() - t0;
      result = { ms, code: ws.closeCode, skipped: ws.core.skippedFrames, rest: await readAll(ws) };
    });
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.write(Buffer.concat(expected.map((m) => clientFrame(1, m))));
    const close = await peer.readFrame();
    expect(close.opcode).toBe(8);
    // 400 KiB of data after it saw our close (more than READ_AHEAD), then its answer.
    const flood = Array.from({ length: 400 }, (_, i) => `flood ${i}:`.padEnd(1024, "y"));
    peer.write(Buffer.concat([...flood.map((m) => clientFrame(1, m)), clientFrame(8, close.payload)]));
    await until(() => result !== null, CLOSE_TIMEOUT + 3000);
    expect(result!.ms).toBeLessThan(PROMPT_MS);
    expect(result!.code).toBe(1000);
    // What was received before the bound is delivered, in order; the rest was skipped undecoded.
    const all = [...expected, ...flood];
    expect(result!.rest.messages).toEqual(all.slice(0, result!.rest.messages.length));
    expect(result!.rest.messages.length).toBeGreaterThanOrEqual(COUNT);
    expect(result!.skipped).toBeGreaterThan(0);
    expect(result!.rest.messages.length + result!.skipped).toBeLessThanOrEqual(all.length);
    peer.destroy();
  });
});

describe("keepalive while the handler is slow to read", () => {
  it("pongs behind unread messages are still seen: the connection is not failed for a keepalive timeout", async () => {
    let serverSide: Connection | null = null;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const server = await start(
      async (ws) => {
        serverSide = ws;
        await released; // slow: reads nothing for a while
        await readAll(ws);
      },
      { pingInterval: 100, pingTimeout: 400 },
    );
    const client = await connect(`ws://127.0.0.1:${server.port}`, { ...quiet });
    for (const m of expected) await client.send(m);
    await until(() => serverSide !== null);
    await arrived(serverSide!);
    // Several keepalive rounds (every 100 ms, 400 ms to answer), each pong
    // arriving behind the unread messages.
    await new Promise((r) => setTimeout(r, 1500));
    expect(serverSide!.state).toBe("open");
    expect(serverSide!.latency).toBeGreaterThan(0);
    expect(client.state).toBe("open");
    release();
    await client.close();
    expect(client.closeCode).toBe(1000);
  });
});

describe("server.close() keeps the process alive until it is done", () => {
  it("a script ending with top-level `await server.close(); console.log('after')` prints 'after' and exits 0", async () => {
    assertBuilt();
    const script = fileURLToPath(new URL("./fixtures/close-at-exit.mjs", import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await until(() => /port \d+/.test(out), 10_000);
    const port = Number(/port (\d+)/.exec(out)![1]);
    // A client that sends 40 messages nobody reads, and answers the server's close.
    const client = await connect(`ws://127.0.0.1:${port}`, { ...quiet });
    for (const m of expected) await client.send(m);
    const code = await exited;
    expect(out).toContain("after");
    expect(code).toBe(0);
    await client.closed;
    expect(client.closeCode).toBe(1001);
  });
});

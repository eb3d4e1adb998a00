/**
 * wavesock's WebSocketStream over real loopback sockets, for what the
 * Chromium scenarios cannot show: backpressure both ways (a reader that does
 * not read stops the socket being read; writes wait while the socket's
 * buffer is full), messages received before a failure read before the
 * error, no unhandled rejection for a program that ignores `closed`, the
 * Node extras and `maxQueue`, and piping.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketStream, WebSocketStreamError, serve, type Connection, type Server, type ServerOptions } from "../../src/index.js";
import { until } from "../node/helpers.js";
import { withTimeout } from "../interop/collect.js";

const servers: Server[] = [];
const streams: WebSocketStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handler: (ws: Connection) => Promise<void>, options: ServerOptions = {}) {
  const conns: Connection[] = [];
  const s = await serve(
    async (ws) => {
      conns.push(ws);
      await handler(ws);
    },
    { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, compression: null, ...options },
  );
  servers.push(s);
  return { conns, url: `ws://127.0.0.1:${s.port}/` };
}

function stream(url: string, options: ConstructorParameters<typeof WebSocketStream>[1] = {}): WebSocketStream {
  const wss = new WebSocketStream(url, { pingInterval: null, compression: null, ...options });
  streams.push(wss);
  return wss;
}

describe("WebSocketStream backpressure", () => {
  it("a reader that does not read stops the socket being read: the server's sends wait; nothing is lost", async () => {
    const total = 400;
    let sent = 0;
    const { conns, url } = await server(async (ws) => {
      for (let i = 0; i < total; i++) {
        // A fresh buffer each time: the socket may still hold the last one.
        const payload = new Uint8Array(32 * 1024);
        payload[0] = i & 0xff;
        await ws.send(payload);
        sent++;
      }
      await ws.closed;
    });
    const wss = stream(url);
    const { readable } = await withTimeout(wss.opened, "opened");
    // 12.5 MiB offered; the client holds maxQueue messages plus what it reads ahead.
    await until(() => sent > 0 && conns[0]!.socket.writableLength > 0);
    await new Promise((r) => setTimeout(r, 300));
    const stalledAt = sent;
    expect(stalledAt).toBeLessThan(total);
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toBe(stalledAt);
    const firsts: number[] = [];
    const reader = readable.getReader();
    while (firsts.length < total) {
      const { value } = await withTimeout(reader.read(), `message ${firsts.length}`);
      firsts.push(new Uint8Array(value as ArrayBuffer)[0]!);
    }
    expect(firsts).toEqual(Array.from({ length: total }, (_, i) => i & 0xff));
    expect(sent).toBe(total);
  });

  it("maxQueue sets how many messages the readable holds", async () => {
    const { url } = await server(async (ws) => {
      for (let i = 0; i < 10; i++) await ws.send(String(i));
      await ws.closed;
    });
    const wss = stream(url, { maxQueue: 3 });
    const { readable } = await wss.opened;
    const reader = readable.getReader();
    const got: unknown[] = [];
    for (let i = 0; i < 10; i++) got.push((await reader.read()).value);
    expect(got).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    expect(() => new WebSocketStream(url, { maxQueue: 0 })).toThrow(/options\.maxQueue must be an integer ≥ 1/);
  });

  it("writes wait while the socket's write buffer is full, and resolve as the peer reads", async () => {
    let release: (() => void) | null = null;
    const received: number[] = [];
    const { url } = await server(async (ws) => {
      await new Promise<void>((r) => (release = r));
      for await (const m of ws) received.push((m as Uint8Array).length);
    });
    const wss = stream(url);
    const { writable } = await wss.opened;
    const writer = writable.getWriter();
    let resolved = 0;
    const chunk = new Uint8Array(256 * 1024);
    // 16 MiB, queued in the stream: they cannot all be written while the server does not read.
    const writes = Array.from({ length: 64 }, () => writer.write(chunk).then(() => void resolved++));
    expect(writer.desiredSize).toBeLessThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(resolved).toBeGreaterThan(0);
    expect(resolved).toBeLessThan(writes.length);
    release!();
    await withTimeout(Promise.all(writes), "the writes", 15_000);
    await until(() => received.length === writes.length, 15_000);
  });

  it("pipes: a source piped into the writable, the echo read back in order", async () => {
    const { url } = await server(async (ws) => {
      for await (const m of ws) await ws.send(m);
    });
    const wss = stream(url);
    const { readable, writable } = await wss.opened;
    const n = 2000;
    const source = new ReadableStream<string>({
      start(c) {
        for (let i = 0; i < n; i++) c.enqueue(`m${i}`);
        c.close();
      },
    });
    const piping = source.pipeTo(writable, { preventClose: true });
    const reader = readable.getReader();
    const got: unknown[] = [];
    while (got.length < n) got.push((await withTimeout(reader.read(), "an echo")).value);
    await piping;
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    wss.close({ closeCode: 1000, reason: "piped" });
    expect(await wss.closed).toEqual({ closeCode: 1000, reason: "piped" });
  });
});

describe("WebSocketStream failures", () => {
  it("messages received before a failure are read before the error (WebSocketStreamError, 1006)", async () => {
    const { url } = await server(async (ws) => {
      for (let i = 0; i < 5; i++) await ws.send(`m${i}`);
      await new Promise((resolve) => setImmediate(resolve)); // the frames are written at the end of the turn: the raw bytes go after them
      ws.socket.write(Buffer.from([0x81, 2, 0xc3, 0x28]));
      await ws.closed;
    });
    const wss = stream(url);
    const { readable } = await wss.opened;
    const err = await wss.closed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebSocketStreamError);
    expect(err).toBeInstanceOf(DOMException);
    expect((err as WebSocketStreamError).closeCode).toBe(1006);
    expect((err as WebSocketStreamError).message).toMatch(/invalid UTF-8/i);
    const reader = readable.getReader();
    const got: unknown[] = [];
    for (let i = 0; i < 5; i++) got.push((await reader.read()).value);
    expect(got).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    await expect(reader.read()).rejects.toBe(err);
  });

  it("a program that never looks at opened or closed does not get an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { conns, url } = await server(async (ws) => void (await ws.closed));
      const dropped = new WebSocketStream(url);
      const refused = new WebSocketStream("ws://127.0.0.1:9/");
      const { readable } = await dropped.opened;
      void readable;
      conns[0]!.abort();
      await expect(dropped.closed).rejects.toMatchObject({ closeCode: 1006 });
      await expect(refused.opened).rejects.toMatchObject({ name: "WebSocketError", closeCode: null });
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("the opening fails with the cause in the message; the Node extras are checked", async () => {
    const refused = new WebSocketStream("ws://127.0.0.1:9/");
    const err = (await refused.opened.catch((e: unknown) => e)) as WebSocketStreamError;
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(() => new WebSocketStream("ws://127.0.0.1:9/", { maxSise: 1 } as never)).toThrow(/new WebSocketStream\(\): unknown option maxSise \(did you mean maxSize\?\)/);
    expect(() => new WebSocketStream("ws://127.0.0.1:9/", { protocols: "chat" as never })).toThrow(TypeError);
    expect(() => new WebSocketStream("ws://127.0.0.1:9/", 5 as never)).toThrow(TypeError);
  });

  it("the writer's close() resolves only once the connection is closed", async () => {
    let serverSawClose = false;
    const { conns, url } = await server(async (ws) => {
      for await (const m of ws) void m;
      serverSawClose = true;
    });
    const wss = stream(url);
    const { writable } = await wss.opened;
    await writable.getWriter().close();
    expect(serverSawClose || conns[0]!.closeFrames.rcvd !== null).toBe(true);
    expect(await wss.closed).toEqual({ closeCode: 1005, reason: "" });
  });

  it("Node extras reach the connection: headers and maxSize", async () => {
    const { conns, url } = await server(async (ws) => {
      await ws.send(new Uint8Array(2000));
      await ws.closed;
    });
    const wss = stream(url, { headers: { "X-Stream": "1" }, maxSize: 1000 });
    await wss.opened;
    expect(conns[0]!.request.headers["x-stream"]).toBe("1");
    const err = (await wss.closed.catch((e: unknown) => e)) as WebSocketStreamError;
    expect(err.closeCode).toBe(1006);
    expect(err.message).toMatch(/too big|over the limit/);
  });
});

/**
 * Interop with npm `ws` (v8), over real loopback sockets, both directions:
 * wavesock server ↔ ws client, and ws server ↔ wavesock client.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosed,
  ConnectionClosedError,
  connect,
  serve,
  type CompressionOption,
  type Connection,
  type ConnectOptions,
  type Handler,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import {
  Cleanup,
  Inbox,
  WsPeer,
  WsServer,
  deflateWorkload,
  echoDeflateWorkload,
  expectBytes,
  expectText,
  jsonLikeText,
  multiByteText,
  parseExtensions,
  patternBytes,
  patternText,
  payloadBytes,
  until,
  withTimeout,
  wsEcho,
} from "./collect.js";
import type { ClientOptions as WsClientOptions, ServerOptions as WsServerOptions } from "ws";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MiB = 1024 * 1024;
/** Sizes around every frame-length boundary (7-bit, 16-bit, 64-bit lengths) and a large one. */
const SIZES = [0, 1, 125, 126, 65535, 65536, MiB];

/** Start a wavesock server on loopback; server-side connections are pushed to `conns`. */
async function ourServer(
  handler: Handler,
  options: ServerOptions = {},
): Promise<{ server: Server; conns: Inbox<Connection>; url: (path?: string) => string }> {
  const conns = new Inbox<Connection>("server-side connection");
  const server = await serve(
    async (ws) => {
      conns.push(ws);
      await handler(ws);
    },
    { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, ...options },
  );
  cleanup.add(() => server.close());
  const host = server.address.address.includes(":") ? `[${server.address.address}]` : server.address.address;
  return { server, conns, url: (path = "/") => `ws://${host}:${server.port}${path}` };
}

const echo: Handler = async (ws) => {
  for await (const m of ws) await ws.send(m);
};

/** A ws client to `url`, terminated after the test. */
async function wsClient(url: string, protocols: string[] = [], options: WsClientOptions = {}): Promise<WsPeer> {
  const peer = await WsPeer.connect(url, protocols, options);
  cleanup.add(() => peer.terminate());
  return peer;
}

/** A ws server on loopback (echo by default), closed after the test. */
async function wsServer(
  options: WsServerOptions = {},
  onConnection: ((peer: WsPeer) => void) | null = wsEcho,
): Promise<WsServer> {
  const server = await WsServer.start(options, onConnection ?? undefined);
  cleanup.add(() => server.close());
  return server;
}

/** A wavesock client, closed (or dropped) after the test. */
async function ourClient(url: string, options: ConnectOptions = {}): Promise<Connection> {
  const conn = await withTimeout(connect(url, { pingInterval: null, ...options }), `wavesock client to open ${url}`);
  cleanup.add(async () => {
    conn.abort();
    await conn.closed;
  });
  return conn;
}

const recv = (conn: Connection, what = "a message") => withTimeout(conn.recv(), `wavesock to receive ${what}`);

const MODES: { name: string; ours: CompressionOption; ws: boolean }[] = [
  { name: "compression off", ours: null, ws: false },
  { name: "permessage-deflate", ours: "deflate", ws: true },
];

// ====================================================== wavesock server, ws client

describe.each(MODES)("wavesock server ↔ ws client ($name)", (mode) => {
  const serverOptions = { compression: mode.ours };
  const clientOptions = { perMessageDeflate: mode.ws };

  it("echoes text and binary of every frame-length boundary size, up to 1 MiB", async () => {
    const { url } = await ourServer(echo, serverOptions);
    const ws = await wsClient(url(), [], clientOptions);
    for (const n of SIZES) {
      const text = patternText(n);
      await ws.send(text);
      const gotText = await ws.nextText();
      expect(gotText.length).toBe(n);
      expect(gotText === text).toBe(true);

      const bytes = patternBytes(n);
      await ws.send(bytes, { binary: true });
      const gotBytes = await ws.nextBinary();
      expect(gotBytes.length).toBe(n);
      expect(gotBytes.equals(bytes)).toBe(true);
    }
    expect((await ws.close(1000)).code).toBe(1000);
  });

  it("echoes multi-byte UTF-8 text (2-, 3- and 4-byte characters, across 64 KiB)", async () => {
    const { url } = await ourServer(echo, serverOptions);
    const ws = await wsClient(url(), [], clientOptions);
    for (const text of ["é", "€", "𝄞", "😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
      await ws.send(text);
      expect((await ws.nextText()) === text).toBe(true);
    }
    await ws.close();
  });

  it("receives ws's fragmented messages (send with fin: false, then fin: true) whole", async () => {
    const { url, conns } = await ourServer(async (ws) => void (await ws.closed), serverOptions);
    const ws = await wsClient(url(), [], clientOptions);
    const conn = await conns.next();

    await ws.send("fr", { fin: false });
    await ws.send("ag", { fin: false });
    // A ping between fragments is answered at once (§5.4: control frames may be interleaved).
    ws.ws.ping("mid-message");
    expect((await ws.pongs.next()).toString()).toBe("mid-message");
    await ws.send("ment", { fin: true });
    expect(await recv(conn)).toBe("fragment");

    await ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
    await ws.send(Buffer.from([]), { binary: true, fin: false });
    await ws.send(Buffer.from([3]), { binary: true, fin: true });
    expectBytes(await recv(conn), Buffer.from([1, 2, 3]));

    // A text message split in the middle of multi-byte characters.
    const utf8 = Buffer.from("é€𝄞", "utf8"); // 2 + 3 + 4 bytes
    await ws.send(utf8.subarray(0, 1), { binary: false, fin: false });
    await ws.send(utf8.subarray(1, 4), { binary: false, fin: false });
    await ws.send(utf8.subarray(4), { binary: false, fin: true });
    expect(await recv(conn)).toBe("é€𝄞");

    // Large fragments: 3 × 200 KB of JSON-like text.
    const big = jsonLikeText(600_000);
    const third = Math.ceil(big.length / 3);
    await ws.send(big.slice(0, third), { fin: false });
    await ws.send(big.slice(third, 2 * third), { fin: false });
    await ws.send(big.slice(2 * third), { fin: true });
    expectText(await recv(conn, "a 600 KB fragmented message"), big);
    await ws.close();
  });

  it("echoes a burst of 1000 messages sent without waiting, in order", async () => {
    const { url } = await ourServer(echo, serverOptions);
    const ws = await wsClient(url(), [], clientOptions);
    const sent = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? Buffer.from(jsonLikeText(1500, i + 1)) : `${i}:${jsonLikeText(200 + (i % 50) * 30, i + 1)}`));
    for (const m of sent) ws.ws.send(m, { binary: typeof m !== "string" });
    for (let i = 0; i < sent.length; i++) {
      const got = await ws.messages.next();
      const want = sent[i]!;
      expect(got.isBinary).toBe(typeof want !== "string");
      expect(got.data.equals(typeof want === "string" ? Buffer.from(want) : want)).toBe(true);
    }
    await ws.close();
  });

  it("sends fragmented messages (iterable and async iterable) that ws receives whole", async () => {
    const { url, conns } = await ourServer(async (ws) => void (await ws.closed), serverOptions);
    const ws = await wsClient(url(), [], clientOptions);
    const conn = await conns.next();

    await conn.send(["fr", "ag", "ment"]);
    expect(await ws.nextText()).toBe("fragment");

    // Our ping goes out between our own fragments, and ws's pong comes back before the message ends.
    let pinged = false;
    async function* withPing() {
      yield "be";
      await withTimeout(conn.ping("mid-message"), "our mid-message ping to resolve");
      pinged = true;
      yield "fore";
    }
    await conn.send(withPing());
    expect(pinged).toBe(true);
    expect((await ws.pings.next()).toString()).toBe("mid-message");
    expect(await ws.nextText()).toBe("before");

    await conn.send([new Uint8Array([1]), new Uint8Array([]), new Uint8Array([2, 3])]);
    expect([...(await ws.nextBinary())]).toEqual([1, 2, 3]);

    const utf8 = Buffer.from("𝄞€", "utf8");
    await conn.send(["é", utf8.subarray(0, 2), utf8.subarray(2)]); // continuation bytes split mid-character
    expect(await ws.nextText()).toBe("é𝄞€");

    const big = jsonLikeText(300_000, 7);
    async function* pieces() {
      for (let i = 0; i < big.length; i += 50_000) {
        await Promise.resolve();
        yield big.slice(i, i + 50_000);
      }
    }
    await conn.send(pieces());
    expect((await ws.nextText()) === big).toBe(true);
    await ws.close();
  });
});

describe("wavesock server ↔ ws client", () => {
  it("answers ws's ping with the same payload; our ping() resolves on ws's pong", async () => {
    const { url, conns } = await ourServer(echo);
    const ws = await wsClient(url());
    const conn = await conns.next();

    ws.ws.ping("are you there?");
    expect((await ws.pongs.next()).toString()).toBe("are you there?");
    ws.ws.ping();
    expect((await ws.pongs.next()).length).toBe(0);

    const rtt = await withTimeout(conn.ping("wavesock ping"), "our ping to resolve");
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect((await ws.pings.next()).toString()).toBe("wavesock ping");
    await withTimeout(conn.ping(), "our ping without data to resolve");
    expect((await ws.pings.next()).length).toBe(4);

    // Messages still flow after the control frames.
    await ws.send("still here");
    expect(await ws.nextText()).toBe("still here");
    await ws.close();
  });

  it("ws closes with 1000 and a reason: we see them, and echo them", async () => {
    const { url, conns } = await ourServer(echo);
    const ws = await wsClient(url());
    const conn = await conns.next();
    const closed = await ws.close(1000, "bye now");
    expect(closed).toEqual({ code: 1000, reason: "bye now" });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeCode).toBe(1000);
    expect(conn.closeReason).toBe("bye now");
  });

  it("ws closes with an application code (4000 range) and a UTF-8 reason", async () => {
    const { url, conns } = await ourServer(echo);
    const ws = await wsClient(url());
    const conn = await conns.next();
    const closed = await ws.close(4123, "fin de séance ✓");
    expect(closed).toEqual({ code: 4123, reason: "fin de séance ✓" });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeCode).toBe(4123);
    expect(conn.closeReason).toBe("fin de séance ✓");
    await expect(conn.recv()).rejects.toBeInstanceOf(ConnectionClosed);
  });

  it("ws closes without a code: 1005 (no status) on both sides", async () => {
    const { url, conns } = await ourServer(echo);
    const ws = await wsClient(url());
    const conn = await conns.next();
    expect(await ws.close()).toEqual({ code: 1005, reason: "" });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeCode).toBe(1005);
  });

  it("ws drops the TCP connection without a close frame: 1006, and the handler's iteration throws", async () => {
    let iterationError: unknown = null;
    const { url, conns } = await ourServer(async (ws) => {
      try {
        for await (const m of ws) await ws.send(m);
      } catch (err) {
        iterationError = err;
      }
    });
    const ws = await wsClient(url());
    const conn = await conns.next();
    await ws.send("before");
    expect(await ws.nextText()).toBe("before");
    ws.ws.terminate();
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeCode).toBe(1006);
    await until(() => iterationError !== null, "the handler to see the error");
    expect(iterationError).toBeInstanceOf(ConnectionClosedError);
  });

  it("the server closes with a code and reason; ws's 'close' event carries them", async () => {
    const { url, conns } = await ourServer(async (ws) => {
      await ws.recv();
      await ws.close(4001, "server says bye");
    });
    const ws = await wsClient(url());
    const conn = await conns.next();
    await ws.send("go");
    expect(await withTimeout(ws.closed, "ws 'close'")).toEqual({ code: 4001, reason: "server says bye" });
    await withTimeout(conn.closed, "server connection to close");
    // The peer echoed our close frame.
    expect(conn.closeCode).toBe(4001);
    expect(conn.closeReason).toBe("server says bye");
  });

  it("control frames at their size limits: 125-byte pings, 123-byte close reasons, both ways", async () => {
    const reason = `${"é".repeat(61)}a`; // 123 bytes of UTF-8: 2-byte code + reason = 125
    expect(Buffer.byteLength(reason)).toBe(123);
    const { url, conns } = await ourServer(echo);
    const a = await wsClient(url());
    const ca = await conns.next();
    a.ws.ping(patternBytes(125));
    expect((await a.pongs.next()).equals(patternBytes(125))).toBe(true);
    await withTimeout(ca.ping(patternBytes(125)), "our 125-byte ping to resolve");
    expect((await a.pings.next()).length).toBe(125);
    expect(await a.close(4000, reason)).toEqual({ code: 4000, reason });
    await withTimeout(ca.closed, "server connection to close");
    expect(ca.closeReason).toBe(reason);

    const b = await wsClient(url());
    const cb = await conns.next();
    await withTimeout(cb.close(4000, reason), "our close");
    expect(await withTimeout(b.closed, "ws 'close'")).toEqual({ code: 4000, reason });
  });

  it("a handler that returns closes with 1000; server.close() sends 1001 going away", async () => {
    const { url } = await ourServer(async (ws) => {
      if ((await ws.recv()) === "leave") return;
      await ws.closed;
    });
    const a = await wsClient(url());
    await a.send("leave");
    expect((await withTimeout(a.closed, "ws 'close'")).code).toBe(1000);

    const { server, url: url2 } = await ourServer(async (ws) => void (await ws.closed));
    const b = await wsClient(url2());
    await withTimeout(server.close(), "server.close()");
    expect((await withTimeout(b.closed, "ws 'close'")).code).toBe(1001);
  });

  it("negotiates a subprotocol (server's preference among ws's offers), or none", async () => {
    const { url, conns } = await ourServer(echo, { subprotocols: ["chat.v2", "chat.v1"] });
    const ws = await wsClient(url(), ["chat.v1", "chat.v2", "other"]);
    expect(ws.ws.protocol).toBe("chat.v2");
    expect((await conns.next()).subprotocol).toBe("chat.v2");
    await ws.close();

    const ws2 = await wsClient(url(), ["chat.v1"]);
    expect(ws2.ws.protocol).toBe("chat.v1");
    expect((await conns.next()).subprotocol).toBe("chat.v1");
    await ws2.close();

    // No common subprotocol: we answer without one (RFC 6455 §4.2.2 allows it, as Python
    // websockets does); ws's client then refuses the connection itself ("Server sent no subprotocol").
    await expect(wsClient(url(), ["unknown"])).rejects.toThrow(/no subprotocol/i);
    expect((await conns.next()).subprotocol).toBeNull();
  });

  it("fails with 1009 when ws sends a message over maxSize; a message at the limit passes", async () => {
    const { url, conns } = await ourServer(echo, { maxSize: 1000 });
    const ws = await wsClient(url(), [], { perMessageDeflate: false });
    const conn = await conns.next();
    await ws.send(patternBytes(1000), { binary: true });
    expect((await ws.nextBinary()).length).toBe(1000);
    await ws.send(patternBytes(1001), { binary: true });
    const closed = await withTimeout(ws.closed, "ws 'close'");
    expect(closed.code).toBe(1009);
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeFrames.sent?.code).toBe(1009);
  });

  it("fails with 1009 when a fragmented or compressed ws message grows over maxSize", async () => {
    const { url } = await ourServer(echo, { maxSize: 10_000 });
    const a = await wsClient(url(), [], { perMessageDeflate: false });
    await a.send(patternText(6000), { fin: false });
    await a.send(patternText(6000), { fin: true });
    expect((await withTimeout(a.closed, "ws 'close'")).code).toBe(1009);

    // 20 KB of one repeated byte compresses to a few dozen bytes: the limit is on the inflated size.
    const b = await wsClient(url(), [], { perMessageDeflate: true });
    await b.send("a".repeat(20_000));
    expect((await withTimeout(b.closed, "ws 'close'")).code).toBe(1009);
  });

  it("works over IPv6 loopback ([::1])", async () => {
    const { url, conns } = await ourServer(echo, { host: "::1" });
    const ws = await wsClient(url("/six"));
    await ws.send("over six");
    expect(await ws.nextText()).toBe("over six");
    const conn = await conns.next();
    expect(conn.remoteAddress).toBe("::1");
    expect(conn.request.path).toBe("/six");
    await ws.close();
  });
});

// ====================================================== ws server, wavesock client

describe.each(MODES)("ws server ↔ wavesock client ($name)", (mode) => {
  const serverOptions = { perMessageDeflate: mode.ws };
  const clientOptions: ConnectOptions = { compression: mode.ours, maxSize: 2 * MiB };

  it("echoes text and binary of every frame-length boundary size, up to 1 MiB", async () => {
    const server = await wsServer(serverOptions);
    const conn = await ourClient(server.url(), clientOptions);
    for (const n of SIZES) {
      const text = patternText(n);
      await conn.send(text);
      expectText(await recv(conn, `${n} characters`), text);
      const bytes = patternBytes(n);
      await conn.send(bytes);
      expectBytes(await recv(conn, `${n} bytes`), bytes);
    }
    await withTimeout(conn.close(), "close");
    expect(conn.closeCode).toBe(1000);
  });

  it("echoes multi-byte UTF-8 text (2-, 3- and 4-byte characters, across 64 KiB)", async () => {
    const server = await wsServer(serverOptions);
    const conn = await ourClient(server.url(), clientOptions);
    for (const text of ["é", "€", "𝄞", "😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
      await conn.send(text);
      expectText(await recv(conn), text);
    }
    await conn.close();
  });

  it("sends fragmented messages that ws receives whole", async () => {
    const server = await wsServer(serverOptions, null);
    const conn = await ourClient(server.url(), clientOptions);
    const peer = await server.peers.next();

    await conn.send(["fr", "ag", "ment"]);
    expect(await peer.nextText()).toBe("fragment");
    await conn.send([new Uint8Array([9]), new Uint8Array([8, 7])]);
    expect([...(await peer.nextBinary())]).toEqual([9, 8, 7]);
    const utf8 = Buffer.from("€𝄞", "utf8");
    await conn.send(["ж", utf8.subarray(0, 1), utf8.subarray(1, 5), utf8.subarray(5)]);
    expect(await peer.nextText()).toBe("ж€𝄞");
    const big = jsonLikeText(250_000, 3);
    async function* pieces() {
      for (let i = 0; i < big.length; i += 40_000) yield big.slice(i, i + 40_000);
    }
    await conn.send(pieces());
    expect((await peer.nextText()) === big).toBe(true);
    await conn.close();
  });

  it("a burst of 1000 messages sent without waiting comes back in order", async () => {
    const server = await wsServer(serverOptions);
    const conn = await ourClient(server.url(), clientOptions);
    const sent = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? Buffer.from(jsonLikeText(1500, i + 1)) : `${i}:${jsonLikeText(200 + (i % 50) * 30, i + 1)}`));
    const sending = Promise.all(sent.map((m) => conn.send(m)));
    for (let i = 0; i < sent.length; i++) {
      const want = sent[i]!;
      if (typeof want === "string") expectText(await recv(conn, `message ${i}`), want);
      else expectBytes(await recv(conn, `message ${i}`), want);
    }
    await withTimeout(sending, "every send to resolve");
    await conn.close();
  });

  it("receives ws's fragmented messages whole", async () => {
    const server = await wsServer(serverOptions, null);
    const conn = await ourClient(server.url(), clientOptions);
    const peer = await server.peers.next();

    await peer.send("fr", { fin: false });
    await peer.send("ag", { fin: false });
    await peer.send("ment", { fin: true });
    expect(await recv(conn)).toBe("fragment");
    await peer.send(Buffer.from([4]), { binary: true, fin: false });
    await peer.send(Buffer.from([5, 6]), { binary: true, fin: true });
    expectBytes(await recv(conn), Buffer.from([4, 5, 6]));
    const utf8 = Buffer.from("𝄞é", "utf8");
    await peer.send(utf8.subarray(0, 3), { binary: false, fin: false });
    await peer.send(utf8.subarray(3), { binary: false, fin: true });
    expect(await recv(conn)).toBe("𝄞é");
    const big = jsonLikeText(400_000, 5);
    await peer.send(big.slice(0, 200_000), { fin: false });
    await peer.send(big.slice(200_000), { fin: true });
    expectText(await recv(conn, "a 400 KB fragmented message"), big);
    await conn.close();
  });
});

describe("ws server ↔ wavesock client", () => {
  it("pings both ways: our ping() resolves on ws's pong; ws's ping is answered", async () => {
    const server = await wsServer({}, null);
    const conn = await ourClient(server.url());
    const peer = await server.peers.next();

    const rtt = await withTimeout(conn.ping("client ping"), "our ping to resolve");
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(conn.latency).toBe(rtt);
    expect((await peer.pings.next()).toString()).toBe("client ping");

    peer.ws.ping(Buffer.from([0, 1, 2, 255]));
    expect([...(await peer.pongs.next())]).toEqual([0, 1, 2, 255]);
    await conn.close();
  });

  it("our client closes with 1000 / 4000-range codes and reasons; ws's 'close' event carries them", async () => {
    const server = await wsServer({}, null);
    const a = await ourClient(server.url());
    const pa = await server.peers.next();
    await withTimeout(a.close(1000, "done here"), "close");
    expect(await withTimeout(pa.closed, "ws server 'close'")).toEqual({ code: 1000, reason: "done here" });
    expect(a.closeCode).toBe(1000);
    expect(a.closeReason).toBe("done here");

    const b = await ourClient(server.url());
    const pb = await server.peers.next();
    await withTimeout(b.close(4999, "app ünïcode"), "close");
    expect(await withTimeout(pb.closed, "ws server 'close'")).toEqual({ code: 4999, reason: "app ünïcode" });
    expect(b.closeCode).toBe(4999);
    expect(b.closeReason).toBe("app ünïcode");
  });

  it("the ws server closes with a code and reason: closeCode/closeReason and recv() report them", async () => {
    const server = await wsServer({}, null);
    const conn = await ourClient(server.url());
    const peer = await server.peers.next();
    await peer.send("last words");
    peer.ws.close(4002, "server going");
    expect(await recv(conn)).toBe("last words");
    const err = await withTimeout(conn.recv().then(() => null, (e: unknown) => e), "recv to reject");
    expect(err).toBeInstanceOf(ConnectionClosed);
    await withTimeout(conn.closed, "client connection to close");
    expect(conn.closeCode).toBe(4002);
    expect(conn.closeReason).toBe("server going");
    expect(await withTimeout(peer.closed, "ws 'close'")).toEqual({ code: 4002, reason: "server going" });
  });

  it("negotiates the subprotocol the ws server picks (handleProtocols)", async () => {
    const server = await wsServer({
      handleProtocols: (offered: Set<string>) => (offered.has("graphql-ws") ? "graphql-ws" : false),
    });
    const conn = await ourClient(server.url(), { subprotocols: ["v9", "graphql-ws"] });
    expect(conn.subprotocol).toBe("graphql-ws");
    expect(conn.response.headers["sec-websocket-protocol"]).toBe("graphql-ws");
    await conn.send("x");
    expect(await recv(conn)).toBe("x");
    await conn.close();

    const none = await ourClient(server.url(), { subprotocols: ["v9"] });
    expect(none.subprotocol).toBeNull();
    await none.close();
  });

  it("fails with 1009 when the ws server sends a message over our maxSize", async () => {
    const server = await wsServer({ perMessageDeflate: false }, null);
    const conn = await ourClient(server.url(), { maxSize: 4096, compression: null });
    const peer = await server.peers.next();
    await peer.send(patternBytes(4096), { binary: true });
    expect(((await recv(conn)) as Uint8Array).length).toBe(4096);
    await peer.send(patternBytes(4097), { binary: true });
    expect((await withTimeout(peer.closed, "ws server 'close'")).code).toBe(1009);
    await withTimeout(conn.closed, "client connection to close");
    expect(conn.closeFrames.sent?.code).toBe(1009);
    await expect(conn.recv()).rejects.toBeInstanceOf(ConnectionClosed);
  });

  it("works over IPv6 loopback ([::1])", async () => {
    const server = await wsServer({ host: "::1" });
    const conn = await ourClient(server.url("/v6"));
    await conn.send("over six");
    expect(await recv(conn)).toBe("over six");
    expect(conn.remoteAddress).toBe("::1");
    await conn.close();
  });
});

// ====================================================== permessage-deflate

/**
 * Context takeover and window configurations. `ws` is ws's perMessageDeflate
 * option, `ours` our `compression` option (used by our server and by our
 * client); `expect` lists parameters that must appear in the negotiated
 * Sec-WebSocket-Extensions (`true` for a parameter without a value).
 */
const DEFLATE_CASES: {
  name: string;
  ws: true | Record<string, unknown>;
  ours: CompressionOption;
  expect: Record<string, string | true>;
}[] = [
  { name: "context takeover (defaults)", ws: true, ours: "deflate", expect: {} },
  {
    name: "no context takeover, asked by ws",
    ws: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    ours: "deflate",
    expect: { server_no_context_takeover: true, client_no_context_takeover: true },
  },
  {
    name: "no context takeover, asked by wavesock",
    ws: true,
    ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
    expect: { server_no_context_takeover: true, client_no_context_takeover: true },
  },
  {
    name: "server context takeover only",
    ws: true,
    ours: { clientNoContextTakeover: true },
    expect: { client_no_context_takeover: true },
  },
  {
    name: "10-bit windows, asked by ws",
    ws: { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    ours: "deflate",
    expect: { server_max_window_bits: "10", client_max_window_bits: "10" },
  },
  {
    // zlib cannot deflate with a 256-byte window (it uses 512): both ends rely on never emitting distances over 250.
    name: "8-bit windows, asked by ws",
    ws: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    ours: "deflate",
    expect: { server_max_window_bits: "8", client_max_window_bits: "8" },
  },
  {
    name: "8-bit windows, asked by wavesock",
    ws: true,
    ours: { serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    expect: { server_max_window_bits: "8", client_max_window_bits: "8" },
  },
  {
    name: "10-bit windows, asked by wavesock",
    ws: true,
    ours: { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    expect: { server_max_window_bits: "10", client_max_window_bits: "10" },
  },
];

describe.each(DEFLATE_CASES)("permessage-deflate with ws: $name", (cfg) => {
  it("wavesock server ↔ ws client: negotiated, messages round-trip, compressed on the wire", async () => {
    const { url, conns } = await ourServer(echo, { compression: cfg.ours, maxSize: 2 * MiB });
    const ws = await wsClient(url(), [], { perMessageDeflate: cfg.ws });
    const conn = await conns.next();
    expect(ws.ws.extensions).toContain("permessage-deflate");
    const negotiated = parseExtensions(conn.response.headers["sec-websocket-extensions"]);
    expect(negotiated.map((e) => e.name)).toEqual(["permessage-deflate"]);
    expect(negotiated[0]!.params).toMatchObject(cfg.expect);

    const work = deflateWorkload();
    for (const m of work) {
      if (typeof m === "string") {
        await ws.send(m);
        expect((await ws.nextText()) === m).toBe(true);
      } else {
        await ws.send(m, { binary: true });
        expect((await ws.nextBinary()).equals(m)).toBe(true);
      }
    }
    // An uncompressed message between compressed ones (RSV1 off) must not disturb context takeover.
    const small = jsonLikeText(3000, 12);
    await ws.send(small, { compress: false });
    expect((await ws.nextText()) === small).toBe(true);
    await ws.send(small);
    expect((await ws.nextText()) === small).toBe(true);

    // Fragmented and compressed (ws deflates each fragment into one stream).
    const big = jsonLikeText(120_000, 9);
    await ws.send(big.slice(0, 60_000), { fin: false });
    await ws.send(big.slice(60_000), { fin: true });
    expect((await ws.nextText()) === big).toBe(true);

    // Both directions were compressed: far fewer bytes than the payloads crossed the socket.
    const total = payloadBytes(work) + big.length;
    expect(conn.socket.bytesRead).toBeLessThan(total / 2);
    expect(conn.socket.bytesWritten).toBeLessThan(total / 2);
    await ws.close();
  });

  it("ws server ↔ wavesock client: negotiated, messages round-trip, compressed on the wire", async () => {
    const server = await wsServer({ perMessageDeflate: cfg.ws }, null);
    const conn = await ourClient(server.url(), { compression: cfg.ours, maxSize: 2 * MiB });
    const peer = await server.peers.next();
    wsEcho(peer);
    expect(peer.ws.extensions).toContain("permessage-deflate");
    const negotiated = parseExtensions(conn.response.headers["sec-websocket-extensions"]);
    expect(negotiated.map((e) => e.name)).toEqual(["permessage-deflate"]);
    expect(negotiated[0]!.params).toMatchObject(cfg.expect);

    await echoDeflateWorkload(conn);
    await conn.close();
  });
});

describe("permessage-deflate with ws: declined", () => {
  it("compression off on our side: ws's offer is declined and messages go uncompressed", async () => {
    const { url, conns } = await ourServer(echo, { compression: null });
    const ws = await wsClient(url(), [], { perMessageDeflate: true });
    const conn = await conns.next();
    expect(ws.ws.extensions).toBe("");
    expect(conn.response.headers["sec-websocket-extensions"]).toBeUndefined();
    const text = jsonLikeText(50_000);
    await ws.send(text);
    expect((await ws.nextText()) === text).toBe(true);
    expect(conn.socket.bytesRead).toBeGreaterThan(text.length);
    await ws.close();
  });

  it("ws server without compression: our offer is declined and messages go uncompressed", async () => {
    const server = await wsServer({ perMessageDeflate: false });
    const conn = await ourClient(server.url(), { compression: "deflate" });
    expect(conn.response.headers["sec-websocket-extensions"]).toBeUndefined();
    const text = jsonLikeText(50_000);
    await conn.send(text);
    expectText(await recv(conn), text);
    expect(conn.socket.bytesWritten).toBeGreaterThan(text.length);
    await conn.close();
  });
});

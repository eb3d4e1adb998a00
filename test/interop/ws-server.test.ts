/**
 * Interop with npm `ws` (v8) over real loopback sockets: a wavesock server
 * and a ws client (echo at every frame-length boundary, fragments, bursts,
 * pings, closes, subprotocols, maxSize, IPv6). The other direction is in
 * ws-client.test.ts, permessage-deflate configurations in ws-deflate.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionClosed, ConnectionClosedError } from "../../src/index.js";
import {
  Cleanup,
  expectBytes,
  expectText,
  jsonLikeText,
  multiByteText,
  patternBytes,
  patternText,
  until,
  withTimeout,
} from "./collect.js";
import { MODES, SIZES, echo, recv, wsInteropPeers } from "./ws-peers.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const { ourServer, wsClient } = wsInteropPeers(cleanup);

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

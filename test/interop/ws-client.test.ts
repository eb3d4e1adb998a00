/**
 * Interop with npm `ws` (v8) over real loopback sockets: a ws server and a
 * wavesock client (echo at every frame-length boundary, fragments, bursts,
 * pings, closes, subprotocols, maxSize, IPv6). The other direction is in
 * ws-server.test.ts, permessage-deflate configurations in ws-deflate.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionClosed, type ConnectOptions } from "../../src/index.js";
import {
  Cleanup,
  expectBytes,
  expectText,
  jsonLikeText,
  multiByteText,
  patternBytes,
  patternText,
  withTimeout,
} from "./collect.js";
import { MODES, MiB, SIZES, recv, wsInteropPeers } from "./ws-peers.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const { ourClient, wsServer } = wsInteropPeers(cleanup);

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

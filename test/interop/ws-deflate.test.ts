/**
 * permessage-deflate (RFC 7692) interop with npm `ws` (v8) over real
 * loopback sockets, both directions: context takeover and window-size
 * configurations asked by either side, and an offer declined by either side.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CompressionOption } from "../../src/index.js";
import {
  Cleanup,
  deflateWorkload,
  echoDeflateWorkload,
  expectText,
  jsonLikeText,
  parseExtensions,
  payloadBytes,
  wsEcho,
} from "./collect.js";
import { MiB, echo, recv, wsInteropPeers } from "./ws-peers.js";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const { ourClient, ourServer, wsClient, wsServer } = wsInteropPeers(cleanup);

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

/**
 * Interop with Node's built-in WebSocket client (undici's, the WHATWG API),
 * against a wavesock server over loopback. On Node 20 the global sits behind
 * `--experimental-websocket`, so the client runs in a child process
 * (node/peer.mjs) driven by JSON lines on stdin. It has no server side and
 * exposes no ping, no fragmentation and no compression options: undici offers
 * `permessage-deflate; client_max_window_bits` on its own.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { serve, type CompressionOption, type Connection, type ServerOptions } from "../../src/index.js";
import {
  Cleanup,
  Inbox,
  JsonLinesChild,
  expectSummary,
  jsonLikeText,
  multiByteText,
  parseExtensions,
  patternBytes,
  patternText,
  runs,
  scriptedEcho,
  withTimeout,
} from "./collect.js";

const PEER = join(dirname(fileURLToPath(import.meta.url)), "node", "peer.mjs");
const PROBE = "process.exit(typeof WebSocket === 'function' ? 0 : 1)";

/** The node flags that give a global WebSocket (none needed from Node 22), or null. */
const nodeFlags: string[] | null = [["--experimental-websocket"], []].find((flags) => runs(process.execPath, [...flags, "-e", PROBE])) ?? null;
const suite = nodeFlags ? describe : describe.skip;
const SKIPPED = nodeFlags ? "" : ` — SKIPPED: ${process.execPath} has no global WebSocket, even with --experimental-websocket`;

const MiB = 1024 * 1024;
const SIZES = [0, 1, 125, 126, 65535, 65536, MiB];

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Line = Record<string, unknown>;

async function ourServer(options: ServerOptions = {}) {
  const conns = new Inbox<Connection>("server-side connection");
  const server = await serve(
    async (ws) => {
      conns.push(ws);
      await scriptedEcho(ws);
    },
    { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, ...options },
  );
  cleanup.add(() => server.close());
  return { server, conns, url: (p = "/") => `ws://127.0.0.1:${server.port}${p}` };
}

/** One Node client process for the file (one connection at a time, a new one per test). */
let child: JsonLinesChild | null = null;
afterAll(() => child?.stop());

/** The Node WebSocket client, for one test: `call` throws on an error reply; the connection is dropped after the test. */
function nodeClient() {
  const c = (child ??= JsonLinesChild.spawn(process.execPath, [...(nodeFlags ?? []), "--no-warnings", PEER]));
  cleanup.add(() => c.call({ op: "abort" }));
  return async (command: Line, ms?: number) => {
    const reply = await c.call(command, ms);
    if (reply.error !== undefined) throw new Error(`Node WebSocket client: ${String(reply.error)}: ${String(reply.message)}; stderr: ${c.errorOutput}`);
    return reply;
  };
}

const MODES: { name: string; ours: CompressionOption; negotiated: boolean }[] = [
  { name: "compression off on our side", ours: null, negotiated: false },
  { name: "permessage-deflate (undici's offer, our default)", ours: "deflate", negotiated: true },
];

suite(`wavesock server ↔ Node's WebSocket client (undici)${SKIPPED}`, () => {
  describe.each(MODES)("$name", (mode) => {
    it("negotiates as configured and echoes text and binary up to 1 MiB", async () => {
      const { url, conns } = await ourServer({ compression: mode.ours });
      const call = nodeClient();
      const open = await call({ op: "connect", url: url("/echo") });
      const conn = await conns.next();
      // What undici offered, as we received it.
      expect(parseExtensions(conn.request.headers["sec-websocket-extensions"]).map((e) => e.name)).toContain("permessage-deflate");
      const answered = conn.response.headers["sec-websocket-extensions"];
      if (mode.negotiated) {
        expect(parseExtensions(answered).map((e) => e.name)).toEqual(["permessage-deflate"]);
        expect(String(open.extensions)).toContain("permessage-deflate");
      } else {
        expect(answered).toBeUndefined();
        expect(open.extensions).toBe("");
      }
      for (const n of SIZES) {
        await call({ op: "send", gen: { kind: "text", size: n } });
        expectSummary(await call({ op: "recv" }), patternText(n));
        await call({ op: "send", gen: { kind: "binary", size: n } });
        expectSummary(await call({ op: "recv" }), patternBytes(n));
      }
      expect(await call({ op: "close", code: 1000 })).toMatchObject({ closed: true, code: 1000, wasClean: true });
      await withTimeout(conn.closed, "server connection to close");
      expect(conn.closeCode).toBe(1000);
    });

    it("echoes multi-byte UTF-8 text; receives our fragmented messages whole", async () => {
      const { url } = await ourServer({ compression: mode.ours });
      const call = nodeClient();
      await call({ op: "connect", url: url() });
      for (const text of ["é", "€", "𝄞", "😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
        await call({ op: "send", text });
        expectSummary(await call({ op: "recv" }), text);
      }
      await call({ op: "send", text: "cmd:fragments" });
      expect(await call({ op: "recv" })).toMatchObject({ type: "text", text: "fragment" });
      expect(await call({ op: "recv" })).toMatchObject({ type: "binary", b64: "AQID" });
      expect(await call({ op: "recv" })).toMatchObject({ type: "text", text: "é€𝄞" });
      expectSummary(await call({ op: "recv" }), patternText(300_000));
      await call({ op: "close" });
    });

    it("round-trips 200 KB JSON-like messages (compressed by us when negotiated)", async () => {
      const { url, conns } = await ourServer({ compression: mode.ours, maxSize: 2 * MiB });
      const call = nodeClient();
      await call({ op: "connect", url: url() });
      const conn = await conns.next();
      const small = jsonLikeText(2000, 11);
      const work = [jsonLikeText(200_000, 1), jsonLikeText(200_000, 2), small, small, `${small}!`, jsonLikeText(200_000, 1)];
      for (const m of work) {
        await call({ op: "send", text: m });
        expectSummary(await call({ op: "recv" }), m);
      }
      const total = work.reduce((n, m) => n + m.length, 0);
      if (mode.negotiated) expect(conn.socket.bytesWritten).toBeLessThan(total / 2);
      else expect(conn.socket.bytesWritten).toBeGreaterThan(total);
      await call({ op: "close" });
    });
  });

  it("our ping() resolves on undici's automatic pong", async () => {
    const { url } = await ourServer();
    const call = nodeClient();
    await call({ op: "connect", url: url() });
    await call({ op: "send", text: "cmd:ping:are you there" });
    expect(await call({ op: "recv" })).toMatchObject({ text: "pinged:are you there" });
    await call({ op: "close" });
  });

  it("undici closes with 1000 / 4000-range codes and reasons; we see them and echo them", async () => {
    const { url, conns } = await ourServer();
    for (const [code, reason] of [
      [1000, "bye now"],
      [4321, "fin de séance ✓"],
    ] as const) {
      const call = nodeClient();
      await call({ op: "connect", url: url() });
      const conn = await conns.next();
      expect(await call({ op: "close", code, reason })).toEqual({ closed: true, code, reason, wasClean: true });
      await withTimeout(conn.closed, "server connection to close");
      expect([conn.closeCode, conn.closeReason]).toEqual([code, reason]);
    }
  });

  it("the server closes with a code and reason; undici's close event carries them", async () => {
    const { url, conns } = await ourServer();
    const call = nodeClient();
    await call({ op: "connect", url: url() });
    const conn = await conns.next();
    await call({ op: "send", text: "cmd:close:4001:server says bye ✓" });
    expect(await call({ op: "wait_closed" })).toEqual({ closed: true, code: 4001, reason: "server says bye ✓", wasClean: true });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeFrames.sent).toEqual({ code: 4001, reason: "server says bye ✓" });
    // undici echoes the code without the reason (ws and Python echo both); closeCode/closeReason are what we received.
    expect([conn.closeCode, conn.closeReason]).toEqual([4001, ""]);
  });

  it("negotiates a subprotocol (our preference among undici's offers), or none", async () => {
    const { url, conns } = await ourServer({ subprotocols: ["chat.v2", "chat.v1"] });
    const call = nodeClient();
    expect(await call({ op: "connect", url: url(), protocols: ["chat.v1", "x", "chat.v2"] })).toMatchObject({ protocol: "chat.v2" });
    expect((await conns.next()).subprotocol).toBe("chat.v2");
    await call({ op: "close" });

    // No common subprotocol: we answer without one (RFC 6455 §4.2.2 allows it); undici then
    // fails the connection itself ("Server did not respond with sent protocols"), as ws does.
    const call2 = nodeClient();
    await expect(call2({ op: "connect", url: url(), protocols: ["x"] })).rejects.toThrow(/protocol/i);
    expect((await conns.next()).subprotocol).toBeNull();
  });

  it("fails with 1009 when undici sends a message over our maxSize", async () => {
    const { url, conns } = await ourServer({ maxSize: 1000 });
    const call = nodeClient();
    await call({ op: "connect", url: url() });
    const conn = await conns.next();
    await call({ op: "send", gen: { kind: "binary", size: 1000 } });
    expect(await call({ op: "recv" })).toMatchObject({ type: "binary", length: 1000 });
    await call({ op: "send", gen: { kind: "binary", size: 1001 } });
    expect(await call({ op: "recv" })).toMatchObject({ closed: true, code: 1009 });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeFrames.sent?.code).toBe(1009);
  });
});

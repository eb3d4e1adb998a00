/**
 * Streaming messages and compressed fragments with peers nobody here wrote,
 * over real loopback sockets, both ways:
 * - `ws` (npm) and Python `websockets` 10.4 send compressed fragmented
 *   messages (each compresses every fragment with a sync flush) that
 *   wavesock reads with `recvStreaming()` — as pieces, never reassembled —
 *   and with `recv()`;
 * - headless Chromium sends compressed messages our server reads as streams
 *   and receives the echoes we send as compressed fragments;
 * - wavesock sends fragmented messages (async iterables, Node `Readable`s,
 *   web `ReadableStream`s) compressed — RFC 7692 §6.1, RSV1 on the first
 *   frame — which `ws` and Python decompress, with and without context
 *   takeover, and the bytes on the wire show that they were compressed.
 */
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect, serve, type CompressionOption, type Connection, type Handler, type ServerOptions } from "../../src/index.js";
import { Cleanup, Inbox, JsonLinesChild, WsPeer, WsServer, expectSummary, jsonLikeText, runs, withTimeout, wsEcho } from "./collect.js";
import type { ClientOptions as WsClientOptions, ServerOptions as WsServerOptions } from "ws";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const KiB = 1024;

/** What a wavesock reader got for one message read as a stream. */
interface Streamed {
  type: "text" | "binary" | null;
  pieces: number;
  data: string | Buffer;
}

/** Read the next message with recvStreaming (no size limit), counting its pieces. */
async function readStreamed(conn: Connection): Promise<Streamed> {
  const stream = conn.recvStreaming({ maxSize: null });
  const parts: (string | Uint8Array)[] = [];
  for await (const piece of stream) parts.push(piece);
  const data = stream.type === "text" ? (parts as string[]).join("") : Buffer.concat(parts as Uint8Array[]);
  return { type: stream.type, pieces: parts.length, data };
}

/**
 * A server handler: the first message is read with recv() and tells how to
 * read the rest ("stream" or "whole"); every message is echoed as fragments
 * (an async iterable of its pieces, or of 16 KiB slices), and a summary line
 * `count:<pieces>` follows each.
 */
const streamingEcho: Handler = async (ws) => {
  const mode = await ws.recv();
  for (;;) {
    let m: Streamed;
    try {
      if (mode === "stream") m = await readStreamed(ws);
      else {
        const whole = await ws.recv();
        m = { type: typeof whole === "string" ? "text" : "binary", pieces: 1, data: typeof whole === "string" ? whole : Buffer.from(whole) };
      }
    } catch {
      return;
    }
    const slices: (string | Buffer)[] = [];
    for (let i = 0; i < m.data.length; i += 16 * KiB) slices.push(m.data.slice(i, i + 16 * KiB) as string | Buffer);
    await ws.send(
      (async function* () {
        yield* slices.length > 0 ? slices : [m.data];
      })(),
    );
    await ws.send(`count:${m.pieces}`);
  }
};

async function ourServer(options: ServerOptions = {}) {
  const conns = new Inbox<Connection>("server-side connection");
  const server = await serve(
    async (ws) => {
      conns.push(ws);
      await streamingEcho(ws);
    },
    { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, maxSize: null, ...options },
  );
  cleanup.add(() => server.close());
  return { conns, url: `ws://127.0.0.1:${server.port}/` };
}

async function ourClient(url: string, compression: CompressionOption): Promise<Connection> {
  const conn = await withTimeout(connect(url, { pingInterval: null, compression, maxSize: null }), `connect ${url}`);
  cleanup.add(async () => {
    conn.abort();
    await conn.closed;
  });
  return conn;
}

/** Messages big enough to come in many pieces, compressible, text split mid-character. */
const bigText = jsonLikeText(600_000, 5) + "é€𝄞".repeat(10_000);
const bigBinary = Buffer.from(jsonLikeText(400_000, 6));
const fragmentsOf = (data: string | Buffer, size: number): (string | Buffer)[] => {
  const out: (string | Buffer)[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.slice(i, i + size) as string | Buffer);
  return out;
};

const TAKEOVER: { name: string; ws: WsClientOptions["perMessageDeflate"]; server: ServerOptions["compression"] }[] = [
  { name: "context takeover", ws: true, server: "deflate" },
  { name: "no context takeover", ws: { serverNoContextTakeover: true, clientNoContextTakeover: true }, server: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
];

describe.each(TAKEOVER)("ws ↔ wavesock, compressed fragments, $name", (mode) => {
  it("ws client's compressed fragmented messages: read as a stream of many pieces (or whole), echoed as compressed fragments ws decompresses", async () => {
    const { url, conns } = await ourServer({ compression: mode.server });
    for (const read of ["stream", "whole"]) {
      const ws = await WsPeer.connect(url, [], { perMessageDeflate: mode.ws });
      cleanup.add(() => ws.terminate());
      expect(ws.ws.extensions).toContain("permessage-deflate");
      const conn = await conns.next();
      await ws.send(read);
      for (const message of [bigText, bigBinary, "small", bigText]) {
        const frags = fragmentsOf(message, 64 * KiB);
        const before = conn.socket.bytesWritten;
        // ws compresses each fragment of a message whose first is over its threshold (1 KiB).
        for (let i = 0; i < frags.length; i++) await ws.send(frags[i]!, { fin: i === frags.length - 1, binary: typeof message !== "string", compress: true });
        const echo = await ws.messages.next();
        expect(echo.isBinary).toBe(typeof message !== "string");
        expect(echo.data.equals(Buffer.from(message))).toBe(true);
        const count = Number((await ws.nextText()).slice("count:".length));
        if (read === "stream" && message.length > 100_000) expect(count).toBeGreaterThan(3);
        if (read === "whole") expect(count).toBe(1);
        // What we echoed in fragments went out compressed.
        if (message.length > 100_000) expect(conn.socket.bytesWritten - before).toBeLessThan(Buffer.byteLength(message) / 3);
      }
      // What ws sent crossed the wire compressed too.
      expect(conn.socket.bytesRead).toBeLessThan((2 * Buffer.byteLength(bigText) + bigBinary.length) / 3);
      await ws.close(1000);
    }
  });

  it("wavesock client sends a Node Readable, a web ReadableStream and an async iterable compressed; ws echoes; read back as a stream", async () => {
    const wsOptions: WsServerOptions = {
      perMessageDeflate: mode.ws === true ? true : { serverNoContextTakeover: true, clientNoContextTakeover: true },
    };
    const server = await WsServer.start(wsOptions, wsEcho);
    cleanup.add(() => server.close());
    const conn = await ourClient(server.url(), mode.server === "deflate" ? "deflate" : { serverNoContextTakeover: true, clientNoContextTakeover: true });
    const ext = conn.response.headers["sec-websocket-extensions"] ?? "";
    expect(ext).toContain("permessage-deflate");
    if (mode.ws !== true) expect(ext).toContain("client_no_context_takeover");

    const sources: [string, () => AsyncIterable<unknown> | Iterable<unknown>, string | Buffer][] = [
      ["Readable", () => Readable.from(fragmentsOf(bigBinary, 10_000)), bigBinary],
      [
        "ReadableStream",
        () => {
          const parts = fragmentsOf(Buffer.from(bigText), 30_000).map((b) => new Uint8Array(b as Buffer));
          return new ReadableStream<Uint8Array>({
            pull(c) {
              const p = parts.shift();
              if (p === undefined) c.close();
              else c.enqueue(p);
            },
          });
        },
        Buffer.from(bigText),
      ],
      ["async iterable of strings", () => (async function* () { yield* fragmentsOf(bigText, 7_000); })(), bigText],
    ];
    for (const [name, source, expected] of sources) {
      const before = conn.socket.bytesWritten;
      await conn.send(source() as AsyncIterable<Uint8Array>);
      expect(conn.socket.bytesWritten - before, `${name} went out compressed`).toBeLessThan(Buffer.byteLength(expected) / 3);
      const got = await readStreamed(conn);
      expect(got.pieces, name).toBeGreaterThan(1);
      if (typeof expected === "string") {
        expect(got.type).toBe("text");
        expect(got.data === expected).toBe(true);
      } else {
        // A ReadableStream of bytes makes a binary message.
        expect(got.type).toBe("binary");
        expect(Buffer.from(got.data as Buffer).equals(expected)).toBe(true);
      }
    }
  });
});

// ------------------------------------------------------------------ Python

const PYTHON = "/usr/bin/python3";
const HERE = join(dirname(fileURLToPath(import.meta.url)), "python");
const hasWebsockets = runs(PYTHON, ["-c", "import websockets"]);
const suite = hasWebsockets ? describe : describe.skip;
const SKIPPED = hasWebsockets ? "" : " — SKIPPED: `/usr/bin/python3 -c 'import websockets'` failed (install python3-websockets)";

type Line = Record<string, unknown>;
const msg = (m: string | Uint8Array) => (typeof m === "string" ? { text: m } : { b64: Buffer.from(m).toString("base64") });

suite(`Python websockets ↔ wavesock, compressed fragments${SKIPPED}`, () => {
  let client: JsonLinesChild;
  let servers: JsonLinesChild;
  let ports: Record<string, number>;
  beforeAll(async () => {
    client = JsonLinesChild.spawn(PYTHON, [join(HERE, "client.py")], { PYTHONDONTWRITEBYTECODE: "1" });
    servers = JsonLinesChild.spawn(PYTHON, [join(HERE, "server.py")], { PYTHONDONTWRITEBYTECODE: "1" });
    ports = (await servers.waitFor((l) => l.event === "listening", "the Python servers to listen", 15_000)).ports as Record<string, number>;
  });
  afterAll(() => {
    client?.stop();
    servers?.stop();
  });
  const call = async (command: Line, ms?: number) => {
    const reply = await client.call(command, ms);
    if (reply.error !== undefined) throw new Error(`Python client: ${String(reply.error)}: ${String(reply.message)}`);
    return reply;
  };

  for (const compression of ["deflate", "nct"]) {
    it(`Python client (${compression}) sends compressed fragments: read as a stream, echoed as compressed fragments Python decompresses`, async () => {
      const { url, conns } = await ourServer();
      cleanup.add(() => client.call({ op: "abort" }));
      const open = await call({ op: "connect", uri: url, compression, max_size: null });
      expect((open.extensions as Line[]).map((e) => e.name)).toEqual(["permessage-deflate"]);
      const conn = await conns.next();
      if (compression === "nct") expect(conn.response.headers["sec-websocket-extensions"]).toContain("client_no_context_takeover");
      await call({ op: "send", text: "stream" });
      for (const message of [bigText, bigBinary, bigText]) {
        const before = conn.socket.bytesWritten;
        await call({ op: "send_fragments", async: true, parts: fragmentsOf(message, 64 * KiB).map(msg) }, 20_000);
        expectSummary(await call({ op: "recv" }, 20_000), typeof message === "string" ? message : new Uint8Array(message));
        expect(conn.socket.bytesWritten - before).toBeLessThan(Buffer.byteLength(message) / 3);
        const count = await call({ op: "recv" });
        expect(Number(String(count.text).slice("count:".length))).toBeGreaterThan(3);
      }
      expect(conn.socket.bytesRead).toBeLessThan((2 * Buffer.byteLength(bigText) + bigBinary.length) / 3);
      await call({ op: "close" });
    });

    it(`wavesock client ↔ Python server (${compression}): our compressed fragments echoed; Python's fragmented sends read as streams`, async () => {
      const url = `ws://127.0.0.1:${ports[compression]}/s-${compression}?fragments=1`;
      const conn = await ourClient(url, "deflate");
      expect(conn.response.headers["sec-websocket-extensions"]).toContain("permessage-deflate");
      // Python's own fragmented sends first (compressed per fragment by Python).
      expect((await readStreamed(conn)).data).toBe("fragment");
      expect([...((await readStreamed(conn)).data as Buffer)]).toEqual([1, 2, 3]);
      expect((await readStreamed(conn)).data).toBe("é€𝄞");
      const big = await readStreamed(conn);
      expect(big.type).toBe("text");
      expect((big.data as string).length).toBe(300_000);
      for (const message of [bigText, bigBinary]) {
        const before = conn.socket.bytesWritten;
        await conn.send(Readable.from(fragmentsOf(message, 20_000)));
        expect(conn.socket.bytesWritten - before).toBeLessThan(Buffer.byteLength(message) / 3);
        const echo = await readStreamed(conn);
        expect(echo.pieces).toBeGreaterThan(1);
        expect(Buffer.from(echo.data as string).equals(Buffer.from(message))).toBe(true);
      }
      await conn.close();
    });
  }
});


// ---------------------------------------------------------------- Chromium

const CHROMIUM = "/usr/bin/chromium";
const PAGE = `<!doctype html><meta charset="utf-8"><script>
window.open_ = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  window.ws = ws; window.inbox = []; window.waiters = [];
  ws.onmessage = (e) => { const w = window.waiters.shift(); if (w) w(e.data); else window.inbox.push(e.data); };
  ws.onopen = () => resolve(ws.extensions);
  ws.onerror = () => reject(new Error("websocket error"));
});
window.next = () => window.inbox.length ? Promise.resolve(window.inbox.shift()) : new Promise((r) => window.waiters.push(r));
</script>`;

describe.skipIf(!existsSync(CHROMIUM))("Chromium ↔ wavesock: its compressed messages read as streams, ours sent as compressed fragments", () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });
  for (const compression of ["deflate", { serverNoContextTakeover: true, clientNoContextTakeover: true }] as const) {
    it(`echo through recvStreaming and fragmented sends (${compression === "deflate" ? "context takeover" : "no context takeover"})`, async () => {
      const conns = new Inbox<Connection>("server-side connection");
      const server = await serve(
        async (ws) => {
          conns.push(ws);
          await streamingEcho(ws);
        },
        {
          host: "127.0.0.1",
          logger: null,
          maxSize: null,
          compression,
          processRequest: (conn, req) => (req.headers["upgrade"] ? undefined : conn.respond(200, PAGE, { "content-type": "text/html; charset=utf-8" })),
        },
      );
      cleanup.add(() => server.close());
      browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
      const context = await browser.newContext();
      cleanup.add(() => context.close());
      const page = await context.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      const extensions = await page.evaluate((url) => (globalThis as unknown as { open_(u: string): Promise<string> }).open_(url), `ws://127.0.0.1:${server.port}/`);
      expect(extensions).toContain("permessage-deflate");
      const conn = await conns.next();
      const roundTrip = (m: string) =>
        page.evaluate(async (t) => {
          const w = globalThis as unknown as { ws: { send(d: unknown): void }; next(): Promise<string> };
          w.ws.send(t);
          return [await w.next(), await w.next()];
        }, m);
      await page.evaluate(() => (globalThis as unknown as { ws: { send(d: string): void } }).ws.send("stream"));
      const big = jsonLikeText(300_000, 8) + "é€😀".repeat(5000);
      for (const m of [big, "small", big]) {
        const before = conn.socket.bytesWritten;
        const [echo, count] = await roundTrip(m);
        expect(echo === m).toBe(true);
        if (m.length > 1000) {
          // Read in pieces as it was inflated; echoed in 16 KiB fragments, compressed.
          expect(Number(count!.slice("count:".length))).toBeGreaterThan(3);
          expect(conn.socket.bytesWritten - before).toBeLessThan(Buffer.byteLength(m) / 3);
        }
      }
    });
  }
});

/**
 * Interop with Python `websockets` 10.4 (Debian's python3-websockets, legacy
 * asyncio API), over real loopback sockets, both directions:
 * - Python servers (python/server.py) ↔ wavesock client;
 * - wavesock server ↔ Python client (python/client.py, driven by JSON lines on stdin).
 *
 * Runs /usr/bin/python3 (not whatever `python3` is first on PATH): that is the
 * interpreter the Debian package installs the module for.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionClosed,
  connect,
  serve,
  type CompressionOption,
  type Connection,
  type ConnectOptions,
  type Handler,
  type ServerOptions,
} from "../../src/index.js";
import {
  Cleanup,
  Inbox,
  JsonLinesChild,
  deflateWorkload,
  echoDeflateWorkload,
  expectBytes,
  expectSummary,
  expectText,
  jsonLikeText,
  multiByteText,
  parseExtensions,
  patternBytes,
  patternText,
  payloadBytes,
  runs,
  scriptedEcho,
  withTimeout,
} from "./collect.js";

const PYTHON = "/usr/bin/python3";
const HERE = join(dirname(fileURLToPath(import.meta.url)), "python");
const hasWebsockets = runs(PYTHON, ["-c", "import websockets"]);
const suite = hasWebsockets ? describe : describe.skip;
const SKIPPED = hasWebsockets
  ? ""
  : " — SKIPPED: `/usr/bin/python3 -c 'import websockets'` failed (install the Debian package python3-websockets)";

const MiB = 1024 * 1024;
const SIZES = [0, 1, 125, 126, 65535, 65536, MiB];

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

type Line = Record<string, unknown>;

const recv = (conn: Connection, what = "a message") => withTimeout(conn.recv(), `wavesock to receive ${what}`);

/** `s` cut into pieces of `n` characters (the last one shorter). */
function chunks(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

/** A command field carrying a message to the Python client. */
const msg = (m: string | Uint8Array) => (typeof m === "string" ? { text: m } : { b64: Buffer.from(m).toString("base64") });

// ====================================================== Python servers, wavesock client

suite(`Python websockets server ↔ wavesock client${SKIPPED}`, () => {
  let py: JsonLinesChild;
  let ports: Record<string, number>;
  let seq = 0;
  /** A fresh path per connection, so the server's open/closed lines can be told apart. */
  const path = (query = "") => `/c${++seq}${query ? `?${query}` : ""}`;

  beforeAll(async () => {
    py = JsonLinesChild.spawn(PYTHON, [join(HERE, "server.py")], { PYTHONDONTWRITEBYTECODE: "1" });
    const listening = await py.waitFor((l) => l.event === "listening", "the Python servers to listen", 15_000);
    ports = listening.ports as Record<string, number>;
  });
  afterAll(() => py?.stop());

  const opened = (p: string) => py.waitFor((l) => l.event === "open" && l.path === p, `Python to see ${p} open`);
  const closedOn = (p: string) => py.waitFor((l) => l.event === "closed" && l.path === p, `Python to see ${p} closed`);

  async function client(server: string, p: string, options: ConnectOptions = {}): Promise<Connection> {
    const conn = await withTimeout(connect(`ws://127.0.0.1:${ports[server]}${p}`, { pingInterval: null, ...options }), "connect");
    cleanup.add(async () => {
      conn.abort();
      await conn.closed;
    });
    return conn;
  }

  const MODES: { name: string; server: string; ours: CompressionOption; negotiated: boolean }[] = [
    { name: "permessage-deflate (both defaults)", server: "deflate", ours: "deflate", negotiated: true },
    { name: "compression off on the Python side", server: "plain", ours: "deflate", negotiated: false },
    { name: "compression off on our side", server: "deflate", ours: null, negotiated: false },
  ];

  describe.each(MODES)("$name", (mode) => {
    it("negotiates as configured and echoes text and binary up to 1 MiB", async () => {
      const p = path();
      const conn = await client(mode.server, p, { compression: mode.ours });
      const open = await opened(p);
      const header = conn.response.headers["sec-websocket-extensions"];
      if (mode.negotiated) {
        expect(parseExtensions(header).map((e) => e.name)).toEqual(["permessage-deflate"]);
        expect((open.extensions as Line[]).map((e) => e.name)).toEqual(["permessage-deflate"]);
      } else {
        expect(header).toBeUndefined();
        expect(open.extensions).toEqual([]);
      }
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
      expect((await closedOn(p)).code).toBe(1000);
    });

    it("echoes multi-byte UTF-8 text and fragmented messages both ways", async () => {
      const p = path("fragments=1");
      const conn = await client(mode.server, p, { compression: mode.ours });
      // Python's fragmented sends (a list, an async generator) arrive whole.
      expect(await recv(conn)).toBe("fragment");
      expectBytes(await recv(conn), Buffer.from([1, 2, 3]));
      expect(await recv(conn)).toBe("é€𝄞");
      expectText(await recv(conn, "300 KB in 3 fragments"), patternText(300_000));

      for (const text of ["é", "€", "𝄞", "😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
        await conn.send(text);
        expectText(await recv(conn), text);
      }
      // Ours, echoed whole by Python (which would refuse a bad continuation).
      await conn.send(["fr", "ag", "ment"]);
      expect(await recv(conn)).toBe("fragment");
      const utf8 = Buffer.from("€𝄞", "utf8");
      await conn.send(["ж", utf8.subarray(0, 2), utf8.subarray(2, 6), utf8.subarray(6)]);
      expect(await recv(conn)).toBe("ж€𝄞");
      const big = jsonLikeText(250_000, 3);
      async function* pieces() {
        for (let i = 0; i < big.length; i += 40_000) yield big.slice(i, i + 40_000);
      }
      await conn.send(pieces());
      expectText(await recv(conn), big);
      await conn.send([new Uint8Array([7]), new Uint8Array(0), new Uint8Array([8, 9])]);
      expectBytes(await recv(conn), Buffer.from([7, 8, 9]));
      await conn.close();
    });
  });

  it("pings both ways: Python's ping gets our pong; our ping() resolves on Python's pong", async () => {
    const p = path("ping=hello%20python");
    const conn = await client("deflate", p);
    expect(await recv(conn)).toBe("pong:hello python");
    const rtt = await withTimeout(conn.ping("from wavesock"), "our ping to resolve");
    expect(rtt).toBeGreaterThanOrEqual(0);
    await withTimeout(conn.ping(), "our ping without data to resolve");
    await conn.send("after pings");
    expect(await recv(conn)).toBe("after pings");
    await conn.close();
  });

  it("our client closes with 1000 / 4000-range codes and reasons; Python sees them", async () => {
    const p1 = path();
    const a = await client("deflate", p1);
    await withTimeout(a.close(1000, "bye now"), "close");
    expect(await closedOn(p1)).toMatchObject({ code: 1000, reason: "bye now" });
    expect([a.closeCode, a.closeReason]).toEqual([1000, "bye now"]);

    const p2 = path();
    const b = await client("deflate", p2);
    await withTimeout(b.close(4321, "fin de séance ✓"), "close");
    expect(await closedOn(p2)).toMatchObject({ code: 4321, reason: "fin de séance ✓" });
    expect([b.closeCode, b.closeReason]).toEqual([4321, "fin de séance ✓"]);
  });

  it("Python closes with a code and reason: closeCode/closeReason and recv() report them", async () => {
    const p = path(`close=4001&reason=${encodeURIComponent("server says bye ✓")}`);
    const conn = await client("deflate", p);
    await expect(withTimeout(conn.recv().then(() => "message", (e: unknown) => e), "recv to reject")).resolves.toBeInstanceOf(ConnectionClosed);
    await withTimeout(conn.closed, "connection to close");
    expect(conn.closeCode).toBe(4001);
    expect(conn.closeReason).toBe("server says bye ✓");
    expect(await closedOn(p)).toMatchObject({ code: 4001, reason: "server says bye ✓" });
  });

  it("negotiates a subprotocol Python supports, and none when there is no common one", async () => {
    const p = path();
    const conn = await client("deflate", p, { subprotocols: ["nope", "chat.v1"] });
    expect(conn.subprotocol).toBe("chat.v1");
    expect((await opened(p)).subprotocol).toBe("chat.v1");
    await conn.close();

    const p2 = path();
    const none = await client("deflate", p2, { subprotocols: ["nope"] });
    expect(none.subprotocol).toBeNull();
    expect((await opened(p2)).subprotocol).toBeNull();
    await none.send("still works");
    expect(await recv(none)).toBe("still works");
    await none.close();
  });

  it("1009 both ways: Python refuses a message over its max_size; we refuse one over our maxSize", async () => {
    const p = path();
    const conn = await client("small", p, { compression: null });
    await conn.send(patternBytes(1000));
    expect(((await recv(conn)) as Uint8Array).length).toBe(1000);
    await conn.send(patternBytes(1001));
    await withTimeout(conn.closed, "connection to close");
    expect(conn.closeCode).toBe(1009);

    const p2 = path("send=5000");
    const ours = await client("plain", p2, { maxSize: 4096 });
    await expect(withTimeout(ours.recv().then(() => "message", (e: unknown) => e), "recv to reject")).resolves.toBeInstanceOf(ConnectionClosed);
    await withTimeout(ours.closed, "connection to close");
    expect(ours.closeFrames.sent?.code).toBe(1009);
    expect((await closedOn(p2)).code).toBe(1009);
  });

  const DEFLATE_CASES: { name: string; server: string; ours: CompressionOption; python: Line; ourParams: string[] }[] = [
    {
      name: "context takeover (Python's defaults, 12-bit windows)",
      server: "deflate",
      ours: "deflate",
      python: { remote_no_context_takeover: false, local_no_context_takeover: false },
      ourParams: [],
    },
    {
      name: "no context takeover, required by the Python server",
      server: "nct",
      ours: "deflate",
      python: { remote_no_context_takeover: true, local_no_context_takeover: true },
      ourParams: ["server_no_context_takeover", "client_no_context_takeover"],
    },
    {
      name: "no context takeover, asked by wavesock",
      server: "deflate",
      ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
      python: { remote_no_context_takeover: true, local_no_context_takeover: true },
      ourParams: ["server_no_context_takeover", "client_no_context_takeover"],
    },
  ];

  describe.each(DEFLATE_CASES)("permessage-deflate: $name", (cfg) => {
    it("negotiated as configured on both sides; messages round-trip compressed", async () => {
      const p = path();
      const conn = await client(cfg.server, p, { compression: cfg.ours, maxSize: 2 * MiB });
      const negotiated = parseExtensions(conn.response.headers["sec-websocket-extensions"]);
      expect(negotiated.map((e) => e.name)).toEqual(["permessage-deflate"]);
      for (const k of cfg.ourParams) expect(negotiated[0]!.params).toHaveProperty(k);
      const pyExt = (await opened(p)).extensions as Line[];
      expect(pyExt).toHaveLength(1);
      expect(pyExt[0]).toMatchObject({ name: "permessage-deflate", ...cfg.python });

      await echoDeflateWorkload(conn);
      await conn.close();
    });
  });
});

// ====================================================== wavesock server, Python client

suite(`wavesock server ↔ Python websockets client${SKIPPED}`, () => {
  /** A server running `scriptedEcho`; server-side connections are pushed to `conns`. */
  async function ourServer(options: ServerOptions = {}) {
    const conns = new Inbox<Connection>("server-side connection");
    const handler: Handler = async (ws) => {
      conns.push(ws);
      await scriptedEcho(ws);
    };
    const server = await serve(handler, { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, ...options });
    cleanup.add(() => server.close());
    return { server, conns, url: (p = "/") => `ws://127.0.0.1:${server.port}${p}` };
  }

  /** One Python client process for the suite: one connection at a time, a new one per test. */
  let child: JsonLinesChild;
  beforeAll(() => {
    child = JsonLinesChild.spawn(PYTHON, [join(HERE, "client.py")], { PYTHONDONTWRITEBYTECODE: "1" });
  });
  afterAll(() => child?.stop());

  /** The Python client, for one test: `call` throws on an error reply; the connection is dropped after the test. */
  async function pyClient() {
    cleanup.add(() => child.call({ op: "abort" }));
    const call = async (command: Line, ms?: number) => {
      const reply = await child.call(command, ms);
      if (reply.error !== undefined) throw new Error(`Python client: ${String(reply.error)}: ${String(reply.message)}`);
      return reply;
    };
    return { child, call };
  }

  const MODES: { name: string; ours: CompressionOption; python: string | null; negotiated: boolean }[] = [
    { name: "permessage-deflate (both defaults)", ours: "deflate", python: "deflate", negotiated: true },
    { name: "compression off on the Python side", ours: "deflate", python: null, negotiated: false },
    { name: "compression off on our side", ours: null, python: "deflate", negotiated: false },
  ];

  describe.each(MODES)("$name", (mode) => {
    it("negotiates as configured and echoes text and binary up to 1 MiB", async () => {
      const { url, conns } = await ourServer({ compression: mode.ours });
      const py = await pyClient();
      const open = await py.call({ op: "connect", uri: url(), compression: mode.python });
      const conn = await conns.next();
      const header = conn.response.headers["sec-websocket-extensions"];
      if (mode.negotiated) {
        expect(parseExtensions(header).map((e) => e.name)).toEqual(["permessage-deflate"]);
        expect((open.extensions as Line[]).map((e) => e.name)).toEqual(["permessage-deflate"]);
      } else {
        expect(header).toBeUndefined();
        expect(open.extensions).toEqual([]);
      }
      for (const n of SIZES) {
        await py.call({ op: "send", gen: { kind: "text", size: n } });
        expectSummary(await py.call({ op: "recv" }), patternText(n));
        await py.call({ op: "send", gen: { kind: "binary", size: n } });
        expectSummary(await py.call({ op: "recv" }), patternBytes(n));
      }
      expect(await py.call({ op: "close", code: 1000 })).toMatchObject({ closed: true, code: 1000 });
      await withTimeout(conn.closed, "server connection to close");
      expect(conn.closeCode).toBe(1000);
    });

    it("echoes multi-byte UTF-8 text and fragmented messages both ways", async () => {
      const { url, conns } = await ourServer({ compression: mode.ours });
      const py = await pyClient();
      await py.call({ op: "connect", uri: url(), compression: mode.python });
      await conns.next();
      for (const text of ["é", "€", "𝄞", "😀 héllo wörld ∑ 日本語", multiByteText(70_000)]) {
        await py.call({ op: "send", text });
        expectSummary(await py.call({ op: "recv" }), text);
      }
      // Python's fragmented sends: a list, then an async generator; echoed whole.
      await py.call({ op: "send_fragments", parts: [{ text: "fr" }, { text: "ag" }, { text: "ment" }] });
      expect(await py.call({ op: "recv" })).toMatchObject({ type: "text", text: "fragment" });
      await py.call({ op: "send_fragments", async: true, parts: [{ b64: "AQ==" }, { b64: "" }, { b64: "AgM=" }] });
      expect(await py.call({ op: "recv" })).toMatchObject({ type: "binary", b64: "AQID" });
      const big = jsonLikeText(250_000, 3);
      await py.call({ op: "send_fragments", async: true, parts: chunks(big, 50_000).map((text) => ({ text })) });
      expectSummary(await py.call({ op: "recv" }), big);

      // Ours, received whole by Python.
      await py.call({ op: "send", text: "cmd:fragments" });
      expect(await py.call({ op: "recv" })).toMatchObject({ type: "text", text: "fragment" });
      expect(await py.call({ op: "recv" })).toMatchObject({ type: "binary", b64: "AQID" });
      expect(await py.call({ op: "recv" })).toMatchObject({ type: "text", text: "é€𝄞" });
      expectSummary(await py.call({ op: "recv" }), patternText(300_000));
      await py.call({ op: "close" });
    });
  });

  it("pings both ways: our ping() resolves on Python's pong; Python's ping gets our pong", async () => {
    const { url } = await ourServer();
    const py = await pyClient();
    await py.call({ op: "connect", uri: url() });
    await py.call({ op: "send", text: "cmd:ping:from wavesock" });
    expect(await py.call({ op: "recv" })).toMatchObject({ text: "pinged:from wavesock" });
    const pong = await py.call({ op: "ping", data: "from python" });
    expect(pong.ok).toBe(true);
    await py.call({ op: "send", text: "after pings" });
    expect(await py.call({ op: "recv" })).toMatchObject({ text: "after pings" });
    await py.call({ op: "close" });
  });

  it("Python closes with 1000 / 4000-range codes and reasons; we see them and echo them", async () => {
    const { url, conns } = await ourServer();
    for (const [code, reason] of [
      [1000, "bye now"],
      [4321, "fin de séance ✓"],
    ] as const) {
      const py = await pyClient();
      await py.call({ op: "connect", uri: url() });
      const conn = await conns.next();
      expect(await py.call({ op: "close", code, reason })).toEqual({ closed: true, code, reason });
      await withTimeout(conn.closed, "server connection to close");
      expect([conn.closeCode, conn.closeReason]).toEqual([code, reason]);
    }
  });

  it("the server closes with a code and reason; Python reports them", async () => {
    const { url, conns } = await ourServer();
    const py = await pyClient();
    await py.call({ op: "connect", uri: url() });
    const conn = await conns.next();
    await py.call({ op: "send", text: "cmd:close:4001:server says bye ✓" });
    expect(await py.call({ op: "recv" })).toEqual({ closed: true, code: 4001, reason: "server says bye ✓" });
    await withTimeout(conn.closed, "server connection to close");
    expect([conn.closeCode, conn.closeReason]).toEqual([4001, "server says bye ✓"]);
  });

  it("negotiates a subprotocol (our preference among Python's offers), or none", async () => {
    const { url, conns } = await ourServer({ subprotocols: ["chat.v2", "chat.v1"] });
    const py = await pyClient();
    expect(await py.call({ op: "connect", uri: url(), subprotocols: ["chat.v1", "x"] })).toMatchObject({ subprotocol: "chat.v1" });
    expect((await conns.next()).subprotocol).toBe("chat.v1");
    await py.call({ op: "close" });

    const py2 = await pyClient();
    expect(await py2.call({ op: "connect", uri: url(), subprotocols: ["x"] })).toMatchObject({ subprotocol: null });
    expect((await conns.next()).subprotocol).toBeNull();
    await py2.call({ op: "close" });
  });

  it("fails with 1009 when Python sends a message over our maxSize", async () => {
    const { url, conns } = await ourServer({ maxSize: 1000, compression: null });
    const py = await pyClient();
    await py.call({ op: "connect", uri: url() });
    const conn = await conns.next();
    await py.call({ op: "send", gen: { kind: "binary", size: 1000 } });
    expect(await py.call({ op: "recv" })).toMatchObject({ type: "binary", length: 1000 });
    await py.call({ op: "send", gen: { kind: "binary", size: 1001 } });
    expect(await py.call({ op: "recv" })).toMatchObject({ closed: true, code: 1009 });
    await withTimeout(conn.closed, "server connection to close");
    expect(conn.closeFrames.sent?.code).toBe(1009);
  });

  const DEFLATE_CASES: { name: string; ours: CompressionOption; python: string; pyView: Line; ourParams: string[] }[] = [
    {
      name: "context takeover (defaults)",
      ours: "deflate",
      python: "deflate",
      pyView: { remote_no_context_takeover: false, local_no_context_takeover: false },
      ourParams: [],
    },
    {
      name: "no context takeover, asked by the Python client",
      ours: "deflate",
      python: "nct",
      pyView: { remote_no_context_takeover: true, local_no_context_takeover: true },
      ourParams: ["server_no_context_takeover", "client_no_context_takeover"],
    },
    {
      name: "no context takeover, required by wavesock",
      ours: { serverNoContextTakeover: true, clientNoContextTakeover: true },
      python: "deflate",
      pyView: { remote_no_context_takeover: true, local_no_context_takeover: true },
      ourParams: ["server_no_context_takeover", "client_no_context_takeover"],
    },
  ];

  describe.each(DEFLATE_CASES)("permessage-deflate: $name", (cfg) => {
    it("negotiated as configured on both sides; messages round-trip compressed", async () => {
      const { url, conns } = await ourServer({ compression: cfg.ours, maxSize: 2 * MiB });
      const py = await pyClient();
      const open = await py.call({ op: "connect", uri: url(), compression: cfg.python, max_size: 2 * MiB });
      const conn = await conns.next();
      const negotiated = parseExtensions(conn.response.headers["sec-websocket-extensions"]);
      expect(negotiated.map((e) => e.name)).toEqual(["permessage-deflate"]);
      for (const k of cfg.ourParams) expect(negotiated[0]!.params).toHaveProperty(k);
      const pyExt = open.extensions as Line[];
      expect(pyExt).toHaveLength(1);
      expect(pyExt[0]).toMatchObject({ name: "permessage-deflate", ...cfg.pyView });

      const work = deflateWorkload();
      for (const m of work) {
        await py.call({ op: "send", ...msg(m) });
        expectSummary(await py.call({ op: "recv" }), m);
      }
      const total = payloadBytes(work);
      expect(conn.socket.bytesRead).toBeLessThan(total / 2);
      expect(conn.socket.bytesWritten).toBeLessThan(total / 2);
      await py.call({ op: "close" });
    });
  });
});

/**
 * wavesock's standard WebSocket over real loopback sockets, member by member,
 * for what the cross-engine scenarios (chromium.test.ts, undici.test.ts)
 * cannot show: the Node extras and their checks, the cause carried by error
 * events, bufferedAmount against a peer that does not read, CLOSING on the
 * peer's close frame, Blob failures, TLS, and the wavesock limits.
 */
import { execFile } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  CloseEvent,
  ErrorEvent,
  InvalidHandshake,
  InvalidStatus,
  PayloadTooBig,
  ProtocolError,
  WebSocket,
  serve,
  type Connection,
  type Server,
  type ServerOptions,
} from "../../src/index.js";
import { acceptKey } from "../../src/handshake/server.js";
import { selfSignedCert, until } from "../node/helpers.js";
import { withTimeout } from "../interop/collect.js";

const servers: Server[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A wavesock server; `conns` are the server sides, in order. */
async function server(handler: (ws: Connection) => Promise<void> = echo, options: ServerOptions = {}) {
  const conns: Connection[] = [];
  const s = await serve(
    async (ws) => {
      conns.push(ws);
      await handler(ws);
    },
    { host: "127.0.0.1", port: 0, logger: null, pingInterval: null, ...options },
  );
  servers.push(s);
  return { server: s, conns, url: (p = "/") => `${options.tls ? "wss" : "ws"}://127.0.0.1:${s.port}${p}` };
}

async function echo(ws: Connection): Promise<void> {
  for await (const m of ws) await ws.send(m);
}

/**
 * A raw TCP server that answers the opening handshake with a 101 (plus
 * `headers`), writes `then`, and leaves the connection open.
 */
async function rawServer(headers: string, then?: Buffer) {
  const peers: net.Socket[] = [];
  const raw = net.createServer((socket) => {
    peers.push(socket);
    socket.on("error", () => undefined);
    socket.once("data", (head) => {
      const key = /sec-websocket-key: *(\S+)/i.exec(head.toString())![1]!;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n${headers}\r\n`);
      if (then !== undefined) socket.write(then);
    });
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  return {
    peers,
    url: `ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/`,
    close: () => {
      for (const p of peers) p.destroy();
      raw.close();
    },
  };
}

function open(...args: ConstructorParameters<typeof WebSocket>): WebSocket {
  const ws = new WebSocket(...args);
  sockets.push(ws);
  return ws;
}

function next<T extends Event>(ws: WebSocket, type: string): Promise<T> {
  return withTimeout(new Promise<T>((resolve) => ws.addEventListener(type, (e) => resolve(e as T), { once: true })), `a ${type} event`);
}

/** Every event type in order, and the error and close events. */
function watch(ws: WebSocket) {
  const seen: string[] = [];
  let error: ErrorEvent | null = null;
  for (const t of ["open", "message", "error", "close"]) {
    ws.addEventListener(t, (e) => {
      seen.push(t);
      if (t === "error") error = e as ErrorEvent;
    });
  }
  const closed = next<CloseEvent>(ws, "close");
  return { seen, closed, error: () => error };
}

describe("the Node extras (third argument)", () => {
  it("headers, origin and userAgent reach the server; compression null offers no extension", async () => {
    const { conns, url } = await server();
    const ws = open(url("/h"), [], { headers: { "X-Token": "abc", Cookie: "a=b" }, origin: "https://app.example", userAgent: "wavesock-test/1", compression: null });
    await next(ws, "open");
    const h = conns[0]!.request.headers;
    expect([h["x-token"], h["cookie"], h["origin"], h["user-agent"], h["sec-websocket-extensions"]]).toEqual(["abc", "a=b", "https://app.example", "wavesock-test/1", undefined]);
    expect(ws.extensions).toBe("");
  });

  it("the dictionary form of Node's built-in client: new WebSocket(url, { protocols, headers })", async () => {
    const { conns, url } = await server(echo, { subprotocols: ["chat.v1"] });
    const ws = open(url(), { protocols: "chat.v1", headers: { "X-From": "init" } });
    await next(ws, "open");
    expect(ws.protocol).toBe("chat.v1");
    expect(conns[0]!.request.headers["x-from"]).toBe("init");
    expect(() => new WebSocket(url(), { protocols: ["a", "a"] })).toThrow(expect.objectContaining({ name: "SyntaxError" }));
  });

  it("are checked: unknown names (with hints), wrong types, names of other libraries", () => {
    const u = "ws://127.0.0.1:9/";
    const cases: [unknown, RegExp, "TypeError" | "RangeError"][] = [
      [{ maxSise: 10 }, /unknown option maxSise \(did you mean maxSize\?\)/, "TypeError"],
      [{ maxSize: -1 }, /options\.maxSize must be an integer ≥ 0, or null for no limit; got -1/, "RangeError"],
      [{ perMessageDeflate: false }, /unknown option perMessageDeflate \(did you mean compression\?\)/, "TypeError"],
      [{ subprotocols: ["x"] }, /subprotocols \(pass them as the protocols argument\)/, "TypeError"],
      [{ writeHighWaterMark: 10 }, /send\(\) never waits: watch bufferedAmount/, "TypeError"],
      [{ maxQueue: 1 }, /a WebSocket hands every message over as an event/, "TypeError"],
      [{ headers: { Upgrade: "h2c" } }, /options\.headers may not set Upgrade/, "TypeError"],
      [{ tls: "yes" }, /options\.tls must be TLS options/, "TypeError"],
      [{ openTimeout: 0 }, /options\.openTimeout must be a number of milliseconds > 0/, "RangeError"],
      ["fast", /options must be an object/, "TypeError"],
    ];
    for (const [options, message, type] of cases) {
      let err: unknown;
      try {
        new WebSocket(u, [], options as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(options)).toBeInstanceOf(type === "TypeError" ? TypeError : RangeError);
      expect((err as Error).message).toMatch(message);
      expect((err as { code?: string }).code).toBe("WS_ERR_INVALID_OPTION");
      expect((err as Error).message).toMatch(/^new WebSocket\(\): /);
    }
    expect(() => new WebSocket(u, { dispatcher: {} } as never)).toThrow(/undici's dispatcher has no equivalent/);
    expect(() => new WebSocket(u, { signal: AbortSignal.abort() } as never)).toThrow(/unknown option signal/);
  });

  it("tls: wss:// with the server's certificate as ca; an untrusted certificate is an error event", async () => {
    const { key, cert } = selfSignedCert();
    const { url } = await server(echo, { tls: { key, cert } });
    const ws = open(url("/secure"), [], { tls: { ca: cert } });
    await next(ws, "open");
    ws.send("over TLS");
    expect((await next<MessageEvent>(ws, "message")).data).toBe("over TLS");
    expect(ws.url).toMatch(/^wss:/);
    const untrusted = open(url("/secure"));
    const w = watch(untrusted);
    await w.closed;
    expect(w.seen).toEqual(["error", "close"]);
    expect((w.error()!.error as { code?: string }).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it("maxSize: a bigger message fails the connection (error with PayloadTooBig, close 1006); maxSize null takes it", async () => {
    const big = new Uint8Array(2 * 1024 * 1024);
    const { url } = await server(async (ws) => {
      await ws.send(big);
      await ws.closed;
    }, { maxSize: null });
    const limited = open(url());
    const w = watch(limited);
    const event = await w.closed;
    expect(w.seen).toEqual(["open", "error", "close"]);
    expect(w.error()!.error).toBeInstanceOf(PayloadTooBig);
    expect([event.code, event.wasClean]).toEqual([1006, false]);
    const unlimited = open(url(), [], { maxSize: null });
    unlimited.binaryType = "arraybuffer";
    const message = await next<MessageEvent>(unlimited, "message");
    expect((message.data as ArrayBuffer).byteLength).toBe(big.length);
  });

  it("openTimeout: a server that never answers gives error (WS_ERR_OPEN_TIMEOUT) and close 1006", async () => {
    const silent = net.createServer((s) => s.on("error", () => undefined));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const ws = open(`ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, [], { openTimeout: 100 });
      const w = watch(ws);
      const event = await w.closed;
      expect(w.seen).toEqual(["error", "close"]);
      expect((w.error()!.error as InvalidHandshake).code).toBe("WS_ERR_OPEN_TIMEOUT");
      expect(event.code).toBe(1006);
    } finally {
      silent.close();
    }
  });

  it("pingInterval: keepalive pings reach the server (off with null)", async () => {
    const pings: number[] = [];
    const { url } = await server(async (ws) => {
      ws.listen({ message: () => undefined, ping: () => pings.push(Date.now()) });
      await ws.closed;
    });
    const ws = open(url(), [], { pingInterval: 20 });
    await next(ws, "open");
    await until(() => pings.length >= 2);
    ws.close();
  });
});

describe("error events carry the cause", () => {
  it("refused, 403, invalid UTF-8, a subprotocol not offered", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const refused = watch(open(`ws://127.0.0.1:${port}/`));
    await refused.closed;
    expect((refused.error()!.error as { code?: string }).code).toBe("ECONNREFUSED");
    expect(refused.error()!.message).toMatch(/ECONNREFUSED/);

    const { url } = await server(
      async (ws) => {
        if (ws.request.path === "/bad") ws.socket.write(Buffer.from([0x81, 2, 0xc3, 0x28]));
        await ws.closed;
      },
      {
        processRequest: (conn, req) => (req.path === "/403" ? conn.respond(403, "go away\n") : undefined),
      },
    );
    const rejected = watch(open(url("/403")));
    await rejected.closed;
    expect(rejected.error()!.error).toBeInstanceOf(InvalidStatus);
    expect((rejected.error()!.error as InvalidStatus).response.status).toBe(403);

    const bad = watch(open(url("/bad")));
    const event = await bad.closed;
    expect(bad.error()!.error).toBeInstanceOf(ProtocolError);
    expect((bad.error()!.error as ProtocolError).code).toBe("WS_ERR_INVALID_UTF8");
    expect(bad.error()).toBeInstanceOf(ErrorEvent);
    expect(event).toBeInstanceOf(CloseEvent);

  });

  it("a server that chooses a subprotocol not offered: error (WS_ERR_INVALID_SUBPROTOCOL), close 1006", async () => {
    const raw = await rawServer("Sec-WebSocket-Protocol: y\r\n");
    try {
      const wrong = watch(open(raw.url, ["x"]));
      const event = await wrong.closed;
      expect((wrong.error()!.error as InvalidHandshake).code).toBe("WS_ERR_INVALID_SUBPROTOCOL");
      expect(event.code).toBe(1006);
    } finally {
      raw.close();
    }
  });
});

describe("bufferedAmount", () => {
  it("grows while the peer does not read, is back to 0 once everything is transmitted", async () => {
    let release: (() => void) | null = null;
    const { url } = await server(async (ws) => {
      ws.listen({ message: () => undefined });
      ws.pauseMessages(true);
      await new Promise<void>((r) => (release = r));
      ws.pauseMessages(false);
      await ws.closed;
    });
    const ws = open(url(), [], { compression: null });
    await next(ws, "open");
    const chunk = new Uint8Array(1024 * 1024);
    ws.send(chunk);
    ws.send(chunk);
    expect(ws.bufferedAmount).toBe(2 * chunk.length);
    // One write per turn of the event loop (what is sent in one turn goes out in one writev).
    for (let i = 2; i < 16; i++) {
      await new Promise((r) => setImmediate(r));
      ws.send(chunk);
    }
    // What the kernel took leaves the count; the rest waits while the server does not read.
    await until(() => ws.bufferedAmount < 16 * chunk.length);
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    release!();
    await until(() => ws.bufferedAmount === 0, 15_000);
  });

  it("keeps what was never transmitted when the connection drops, and counts sends after it", async () => {
    const { conns, url } = await server(async (ws) => {
      ws.listen({ message: () => undefined });
      ws.pauseMessages(true);
      await ws.closed;
    });
    const ws = open(url(), [], { compression: null });
    await next(ws, "open");
    for (let i = 0; i < 16; i++) ws.send(new Uint8Array(1024 * 1024));
    await until(() => conns.length === 1 && conns[0]!.socket.isPaused());
    const w = watch(ws);
    conns[0]!.abort();
    await w.closed;
    const left = ws.bufferedAmount;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(16 * 1024 * 1024);
    ws.send("four");
    expect(ws.bufferedAmount).toBe(left + 4);
  });
});

describe("the closing handshake", () => {
  it("the peer's close frame turns readyState CLOSING, after the messages before it; then close when TCP ends", async () => {
    // A message and a close frame, then TCP stays open until we say.
    const raw = await rawServer("", Buffer.from([0x81, 2, 0x68, 0x69, 0x88, 0x04, 0x0f, 0xa0, 0x6f, 0x6b]));
    try {
      const ws = open(raw.url, [], { compression: null, pingInterval: null });
      const states: number[] = [];
      ws.onmessage = () => states.push(ws.readyState);
      await until(() => ws.readyState === WebSocket.CLOSING);
      expect(states).toEqual([WebSocket.OPEN]);
      ws.send("ignored");
      ws.close(4999); // CLOSING: does nothing
      const closed = next<CloseEvent>(ws, "close");
      raw.peers[0]!.end();
      const event = await closed;
      expect([event.code, event.reason, event.wasClean]).toEqual([4000, "ok", true]);
    } finally {
      raw.close();
    }
  });

  it("close() sends the code and reason; the server sees them", async () => {
    const { conns, url } = await server();
    const ws = open(url());
    await next(ws, "open");
    ws.close(3333, "périod");
    const event = await next<CloseEvent>(ws, "close");
    expect([event.code, event.reason, event.wasClean]).toEqual([3333, "périod", true]);
    await conns[0]!.closed;
    expect(conns[0]!.closeFrames.rcvd).toEqual({ code: 3333, reason: "périod" });
  });

  it("a Blob that cannot be read fails the connection (1011 to the server), after the messages before it", async () => {
    const { conns, url } = await server(async (ws) => {
      for await (const m of ws) void m;
    });
    const ws = open(url());
    await next(ws, "open");
    class Unreadable extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        return Promise.reject(new Error("gone"));
      }
    }
    ws.send("before");
    ws.send(new Unreadable(["x"]));
    ws.send("after");
    const w = watch(ws);
    await w.closed;
    expect(w.seen).toEqual(["error", "close"]);
    await conns[0]!.closed;
    expect(conns[0]!.closeFrames.rcvd?.code).toBe(1011);
  });
});

describe("the rest of the interface", () => {
  it("binaryType arraybuffer gives each message its own ArrayBuffer, exactly its bytes", async () => {
    const { url } = await server(async (ws) => {
      // Two messages in one TCP segment: views into one chunk on our side.
      await ws.send(new Uint8Array([1, 2, 3]));
      await ws.send(new Uint8Array([4, 5]));
      await ws.closed;
    });
    const ws = open(url());
    ws.binaryType = "arraybuffer";
    const got: ArrayBuffer[] = [];
    ws.onmessage = (e) => got.push(e.data as ArrayBuffer);
    await until(() => got.length === 2);
    expect(got.map((b) => [b.byteLength, ...new Uint8Array(b)])).toEqual([
      [3, 1, 2, 3],
      [2, 4, 5],
    ]);
    expect(got[0]!.byteLength).toBe(3);
  });

  it("events are not trusted (not the user agent's); a handler that throws is an uncaught exception, the listeners after it still run", async () => {
    const { url } = await server();
    const ws = open(url());
    const event = await next(ws, "open");
    expect(event.isTrusted).toBe(false);
    // In a child process: the uncaught exception is the script's to catch (dist/, built by npm test).
    const script = fileURLToPath(new URL("./fixtures/throwing-handler.mjs", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ caught: ["handler failed"], got: ["first", "listener", "second", "listener"] });
  });

  it("send() refuses a view on a SharedArrayBuffer (Web IDL BufferSource) and takes everything else", async () => {
    const { url } = await server();
    const ws = open(url());
    await next(ws, "open");
    expect(() => ws.send(new Uint8Array(new SharedArrayBuffer(4)))).toThrow(TypeError);
    expect(ws.bufferedAmount).toBe(0);
    ws.send(Buffer.from("a buffer"));
    expect((await next<MessageEvent>(ws, "message")).data).toBeInstanceOf(Blob);
  });

  it("the constants are read-only on the class and its prototype; the on… attributes are accessors", () => {
    for (const [name, value] of Object.entries({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })) {
      for (const target of [WebSocket, WebSocket.prototype]) {
        expect(Object.getOwnPropertyDescriptor(target, name)).toEqual({ value, writable: false, enumerable: true, configurable: false });
      }
    }
    for (const name of ["onopen", "onmessage", "onerror", "onclose", "url", "readyState", "bufferedAmount", "extensions", "protocol", "binaryType"]) {
      expect(typeof Object.getOwnPropertyDescriptor(WebSocket.prototype, name)?.get, name).toBe("function");
    }
    expect(new WebSocket("ws://127.0.0.1:9/").toString()).toBe("[object WebSocket]");
  });

  it("CloseEvent and ErrorEvent can be made by hand, as in browsers", () => {
    const c = new CloseEvent("close", { code: 4000 + 65536, reason: "r", wasClean: true });
    expect([c.type, c.code, c.reason, c.wasClean, c instanceof Event]).toEqual(["close", 4000, "r", true, true]);
    expect([new CloseEvent("x").code, new CloseEvent("x").reason, new CloseEvent("x").wasClean]).toEqual([0, "", false]);
    const cause = new Error("boom");
    const e = new ErrorEvent("error", { message: "m", error: cause });
    expect([e.message, e.error, String(e)]).toEqual(["m", cause, "[object ErrorEvent]"]);
  });
});

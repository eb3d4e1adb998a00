/**
 * What processRequest / processResponse return can never crash the server:
 * sensible forms are completed (reason phrase, headers, UTF-8 string bodies,
 * Content-Length), anything that cannot be sent is answered 500 and logged
 * once per distinct mistake, and a header injection never reaches the wire.
 * Every test reads the raw bytes the server wrote.
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidStatus, connect, respond, serve, type HttpRequest, type HttpResponse, type Server, type ServerOptions } from "../../src/index.js";
import { RawPeer } from "./helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const HANDSHAKE =
  "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/** Send a handshake request and return every byte the server wrote until it closed. */
async function exchange(server: Server, path = "/"): Promise<Buffer> {
  const peer = await RawPeer.connect(server.port);
  peer.write(`GET ${path} HTTP/1.1\r\n${HANDSHAKE}\r\n`);
  const bytes = await peer.readToEnd(10_000);
  peer.destroy();
  return bytes;
}

function parse(bytes: Buffer): { statusLine: string; headers: Map<string, string[]>; body: Buffer } {
  const end = bytes.indexOf("\r\n\r\n");
  expect(end).toBeGreaterThan(0);
  const lines = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { statusLine: lines[0]!, headers, body: bytes.subarray(end + 4) };
}

interface Logged {
  lines: string[];
  logger: { error: (...args: unknown[]) => void };
}
function logSink(): Logged {
  const lines: string[] = [];
  return { lines, logger: { error: (...args: unknown[]) => void lines.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ")) } };
}

async function server(options: ServerOptions): Promise<Server> {
  const s = await serve(async (ws) => {
    for await (const m of ws) await ws.send(m);
  }, { host: "127.0.0.1", ...options });
  servers.push(s);
  return s;
}

/** The server still upgrades and echoes after whatever the test did. */
async function stillServes(s: Server, path = "/ok"): Promise<void> {
  const ws = await connect(`ws://127.0.0.1:${s.port}${path}`);
  await ws.send("alive");
  expect(await ws.recv()).toBe("alive");
  await ws.close();
}

/** processRequest answers `answer` on any path but /ok. */
function answering(answer: (request: HttpRequest) => unknown, log: Logged): ServerOptions {
  return {
    logger: log.logger,
    processRequest: (_conn, request) => (request.path === "/ok" ? undefined : (answer(request) as HttpResponse)),
  };
}

describe("processRequest answers: sensible forms are completed", () => {
  it("{ status: 200 } gets its reason phrase, Content-Length: 0 and Connection: close", async () => {
    const log = logSink();
    const s = await server(answering(() => ({ status: 200 }), log));
    const { statusLine, headers, body } = parse(await exchange(s));
    expect(statusLine).toBe("HTTP/1.1 200 OK");
    expect(headers.get("content-length")).toEqual(["0"]);
    expect(headers.get("connection")).toEqual(["close"]);
    expect(body.length).toBe(0);
    expect(log.lines).toEqual([]);
    await stillServes(s);
  });

  it("a string body is sent as UTF-8 (not NULs), with its byte length", async () => {
    const log = logSink();
    const s = await server(answering(() => ({ status: 403, reason: "Nope", headers: { "X-Why": "because", "Content-Length": "999" }, body: "héllo ✓" }), log));
    const { statusLine, headers, body } = parse(await exchange(s));
    expect(statusLine).toBe("HTTP/1.1 403 Nope");
    expect(body.toString("utf8")).toBe("héllo ✓");
    expect(headers.get("content-length")).toEqual([String(Buffer.byteLength("héllo ✓"))]);
    expect(headers.get("x-why")).toEqual(["because"]);
    expect(log.lines).toEqual([]);
  });

  it("a Content-Length without a body (a HEAD answer) is kept; with a body it is the body's", async () => {
    const s = await server(answering((r) => (r.path === "/head" ? { status: 200, headers: { "Content-Length": "1416" } } : { status: 200, headers: { "content-length": "5" }, body: "ab" }), logSink()));
    const head = parse(await exchange(s, "/head"));
    expect(head.headers.get("content-length")).toEqual(["1416"]);
    expect(head.body.length).toBe(0);
    const get = parse(await exchange(s, "/get"));
    expect(get.headers.get("content-length")).toEqual(["2"]);
    expect(get.body.toString()).toBe("ab");
  });

  it("bytes bodies: Buffer, Uint8Array, ArrayBuffer, DataView", async () => {
    const log = logSink();
    const bodies: unknown[] = [
      Buffer.from("buf"),
      new Uint8Array([0x75, 0x38]),
      new Uint8Array([0x61, 0x62]).buffer,
      new DataView(new Uint8Array([0, 0x64, 0x76, 0]).buffer, 1, 2),
    ];
    let i = 0;
    const s = await server(answering(() => ({ status: 200, body: bodies[i++] }), log));
    const got: string[] = [];
    for (let k = 0; k < bodies.length; k++) got.push(parse(await exchange(s)).body.toString("latin1"));
    expect(got).toEqual(["buf", "u8", "ab", "dv"]);
    expect(log.lines).toEqual([]);
  });

  it("respond() builds a plain-text answer; header values may be numbers", async () => {
    const s = await server({
      logger: null,
      processRequest: (conn) => conn.respond(429, "slow down\n", { "Retry-After": 30 }),
    });
    const { statusLine, headers, body } = parse(await exchange(s));
    expect(statusLine).toBe("HTTP/1.1 429 Too Many Requests");
    expect(headers.get("retry-after")).toEqual(["30"]);
    expect(headers.get("content-type")).toEqual(["text/plain; charset=utf-8"]);
    expect(body.toString()).toBe("slow down\n");
  });
});

describe("processRequest answers that cannot be sent: 500, logged once, the server goes on", () => {
  const cases: [string, (request: HttpRequest) => unknown, string][] = [
    ["a header value with CR/LF", () => ({ status: 200, headers: { "X-User": "a\r\nSet-Cookie: admin=1" } }), 'value for header "x-user" with CR, LF'],
    ["a header value with a lone LF", () => ({ status: 200, headers: { "X-User": "a\nInjected: 1" } }), "header injection"],
    ["a header value with NUL", () => ({ status: 200, headers: { "X-User": "a\0b" } }), "NUL"],
    ["a header name with a space", () => ({ status: 200, headers: { "X User": "a" } }), "header name that is not an HTTP token"],
    ["a header name with CR/LF", () => ({ status: 200, headers: { "X\r\nInjected": "a" } }), "header name"],
    ["respond(99, ...)", () => respond(99, "x"), "status must be an integer from 200 to 599"],
    ["respond(101, ...)", () => respond(101, "x"), "only the handshake sends a 101"],
    ["{ status: 101 }", () => ({ status: 101 }), "only the WebSocket handshake answers 101"],
    ["{ status: 100 }", () => ({ status: 100 }), "a 1xx is not a final response"],
    ["{ status: 99 }", () => ({ status: 99 }), "status that is not an integer from 100 to 599"],
    ["{ status: '200' }", () => ({ status: "200" }), "status that is not an integer"],
    ["a reason with CR/LF", () => ({ status: 200, reason: "OK\r\nX: y" }), "reason phrase with CR, LF"],
    ["an object body", () => ({ status: 200, body: { json: true } }), "body that is not a string or bytes"],
    ["a body on a 204", () => ({ status: 204, body: "x" }), "a 204 response cannot have"],
    ["a Content-Length that is not a number", () => ({ status: 200, headers: { "Content-Length": "12, 13" } }), '"content-length" that is not a number'],
    ["transfer-encoding", () => ({ status: 200, headers: { "Transfer-Encoding": "chunked" } }), "transfer-encoding"],
    ["the same header twice", () => ({ status: 200, headers: { "X-A": "1", "x-a": "2" } }), "twice"],
    ["a string", () => "Not Found", "is not a response object"],
    ["false", () => false, "is not a response object"],
  ];
  for (const [what, answer, logText] of cases) {
    it(`${what} → 500, never written, logged once`, async () => {
      const log = logSink();
      const s = await server(answering(answer, log));
      for (let i = 0; i < 2; i++) {
        const bytes = await exchange(s, `/bad${i}`);
        const { statusLine, headers } = parse(bytes);
        expect(statusLine).toBe("HTTP/1.1 500 Internal Server Error");
        expect(bytes.toString("latin1")).not.toMatch(/Set-Cookie|Injected|admin=1|X: y/i);
        expect(headers.has("x-user")).toBe(false);
      }
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toContain(logText);
      await stillServes(s);
    });
  }

  it("distinct mistakes are each logged once", async () => {
    const log = logSink();
    const s = await server(answering((request) => (request.path === "/a" ? { status: 99 } : { status: 200, headers: { "X A": "1" } }), log));
    for (const path of ["/a", "/b", "/a", "/b"]) expect(parse(await exchange(s, path)).statusLine).toContain(" 500 ");
    expect(log.lines).toHaveLength(2);
  });

  it("a processRequest that throws is a 500, logged each time (it is an exception, not a bad answer)", async () => {
    const log = logSink();
    const s = await server(answering(() => {
      throw new Error("database down");
    }, log));
    expect(parse(await exchange(s)).statusLine).toContain(" 500 ");
    expect(log.lines.join("\n")).toContain("database down");
    expect(parse(await exchange(s)).body.toString()).not.toContain("database down");
    await stillServes(s);
  });
});

describe("processResponse", () => {
  it("may add headers to the 101", async () => {
    const s = await server({ logger: null, processResponse: (_c, _r, response) => void (response.headers["x-served-by"] = "test") });
    const ws = await connect(`ws://127.0.0.1:${s.port}`);
    expect(ws.response.headers["x-served-by"]).toBe("test");
    await ws.close();
  });

  it("a header injection edited into the 101 in place is a 500, not a crash", async () => {
    const log = logSink();
    const s = await server({
      logger: log.logger,
      processResponse: (_c, request, response) => {
        if (request.path !== "/ok") response.headers["x-trace"] = "1\r\nSet-Cookie: admin=1";
      },
    });
    const bytes = await exchange(s);
    expect(parse(bytes).statusLine).toBe("HTTP/1.1 500 Internal Server Error");
    expect(bytes.toString("latin1")).not.toContain("Set-Cookie");
    expect(log.lines).toHaveLength(1);
    await stillServes(s);
  });

  it("may not change what the handshake negotiated, nor turn a refusal into a 101", async () => {
    const log = logSink();
    const s = await server({
      logger: log.logger,
      processRequest: (conn, request) => (request.path === "/refused" ? conn.respond(403, "no\n") : undefined),
      processResponse: (_c, request, response) => {
        if (request.path === "/accept") return { ...response, headers: { ...response.headers, "sec-websocket-accept": "forged" } };
        if (request.path === "/refused") return { status: 101, headers: {} };
        return undefined;
      },
    });
    expect(parse(await exchange(s, "/accept")).statusLine).toContain(" 500 ");
    expect(parse(await exchange(s, "/refused")).statusLine).toContain(" 500 ");
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toContain('"sec-websocket-accept"');
    expect(log.lines[1]).toContain("turned a refusal into a 101");
    await stillServes(s);
  });

  it("may refuse by returning another response instead of the 101", async () => {
    const s = await server({ logger: null, processResponse: () => ({ status: 401, headers: { "www-authenticate": 'Basic realm="x"' }, body: "who?" }) });
    const err = await connect(`ws://127.0.0.1:${s.port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(401);
    expect((err as InvalidStatus).response.headers["www-authenticate"]).toBe('Basic realm="x"');
  });
});

describe("respond() called directly", () => {
  it("throws typed errors for what it cannot build", () => {
    expect(() => respond(99, "x")).toThrow(RangeError);
    expect(() => respond(600, "x")).toThrow(/from 200 to 599/);
    expect(() => respond("404" as never, "x")).toThrow(TypeError);
    expect(() => respond(404, "x", { "X-A": "a\r\nb" })).toThrow(TypeError);
    expect(() => respond(404, 5 as never)).toThrow(/text must be a string/);
    try {
      respond(99, "x");
    } catch (err) {
      expect((err as { code?: string }).code).toBe("WS_ERR_INVALID_ARGUMENT");
    }
    expect(respond(404).body?.length).toBe(0);
  });
});

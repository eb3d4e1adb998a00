import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { InvalidHandshake } from "../../src/errors.js";
import {
  RequestHeadParser,
  ResponseHeadParser,
  reasonPhrase,
  requestFromNode,
  serializeRequest,
  serializeResponse,
} from "../../src/handshake/http.js";
import type { HttpRequest, HttpResponse } from "../../src/handshake/http.js";
import { refusal } from "./refusal.js";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");


const parseRequest = (s: string, limits = {}) => new RequestHeadParser(limits).push(bytes(s));
const parseResponse = (s: string, limits = {}) => new ResponseHeadParser(limits).push(bytes(s));

describe("RequestHeadParser", () => {
  it("parses a request head with lower-case names, trimmed values and joined repeats", () => {
    const req = parseRequest(
      "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nX-Thing:  a \t\r\nx-thing: b\r\nEmpty:\r\n\r\n",
    );
    expect(req).toEqual({
      method: "GET",
      path: "/chat?room=1",
      version: "1.1",
      headers: { host: "example.com", "x-thing": "a, b", empty: "" },
    });
  });

  it("hands over the bytes after the head as rest, without the head", () => {
    const parser = new RequestHeadParser();
    const frame = [0x81, 0x85, 1, 2, 3, 4, 0x49, 0x67, 0x6f, 0x68, 0x6e];
    const chunk = new Uint8Array([...bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ...frame]);
    expect(parser.push(chunk)).not.toBeNull();
    expect([...parser.rest]).toEqual(frame);
  });

  it("has an empty rest before and after a head with nothing behind it", () => {
    const parser = new RequestHeadParser();
    expect(parser.push(bytes("GET / HTTP/1.1\r\n"))).toBeNull();
    expect(parser.rest.length).toBe(0);
    expect(parser.push(bytes("Host: a\r\n\r\n"))).not.toBeNull();
    expect(parser.rest.length).toBe(0);
  });

  it("appends chunks pushed after the head to rest and returns the same head", () => {
    const parser = new RequestHeadParser();
    const head = parser.push(bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\nab"));
    expect(parser.push(bytes("cd"))).toBe(head);
    expect(text(parser.rest)).toBe("abcd");
  });

  it("finds CRLF CRLF split across chunks inside the terminator", () => {
    const parser = new RequestHeadParser();
    expect(parser.push(bytes("GET / HTTP/1.1\r\nHost: a\r"))).toBeNull();
    expect(parser.push(bytes("\n\r"))).toBeNull();
    expect(parser.push(bytes("\nxyz"))?.headers).toEqual({ host: "a" });
    expect(text(parser.rest)).toBe("xyz");
  });

  it("treats __proto__ and constructor as ordinary header names", () => {
    const req = parseRequest("GET / HTTP/1.1\r\n__proto__: x\r\nconstructor: y\r\n\r\n")!;
    expect(req.headers["__proto__"]).toBe("x");
    expect(req.headers["constructor"]).toBe("y");
    expect(Object.keys(req.headers)).toEqual(["__proto__", "constructor"]);
  });

  it("accepts obs-text (bytes 0x80-0xFF) in values, decoded as latin1", () => {
    expect(parseRequest("GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n")!.headers["x"]).toBe("caf\xe9");
  });

  it.each([
    ["a request line without target", "GET HTTP/1.1\r\n\r\n"],
    ["a request line with an extra space", "GET  / HTTP/1.1\r\n\r\n"],
    ["a request line with a trailing space", "GET / HTTP/1.1 \r\n\r\n"],
    ["a method that is not a token", "G(T / HTTP/1.1\r\n\r\n"],
    ["a control character in the target", "GET /\x01 HTTP/1.1\r\n\r\n"],
    ["a non-ASCII target", "GET /\xe9 HTTP/1.1\r\n\r\n"],
    ["a malformed version", "GET / HTTP/1.1x\r\n\r\n"],
    ["a lower-case version", "GET / http/1.1\r\n\r\n"],
    ["an empty request line", "\r\n\r\n"],
    ["a header line without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n"],
    ["whitespace before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
    ["an empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n"],
    ["a header name that is not a token", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"],
    ["obsolete line folding", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"],
    ["a NUL in a value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n"],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"],
    ["a DEL in a value", "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n"],
    ["a bare LF ending a line", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
    ["bare LFs ending the head", "GET / HTTP/1.1\n\n"],
  ])("refuses %s with 400", (_, head) => {
    const err = refusal(() => parseRequest(head));
    expect(err.status).toBe(400);
    expect(err.code).toBe("WS_ERR_INVALID_HTTP");
  });

  it("names obsolete line folding in its refusal (RFC 7230 §3.2.4)", () => {
    for (const fold of [" ", "\t"]) {
      const err = refusal(() => parseRequest(`GET / HTTP/1.1\r\nX: a\r\n${fold}b: c\r\n\r\n`));
      expect(err.message).toMatch(/folding/);
    }
  });

  it("refuses a bare LF as soon as it arrives, without waiting for the head to end", () => {
    const parser = new RequestHeadParser();
    expect(parser.push(bytes("GET / HTTP/1.1\r"))).toBeNull();
    expect(refusal(() => parser.push(bytes("\nHost: a\n"))).status).toBe(400);
  });

  it.each(["1.0", "2.0", "0.9"])("refuses HTTP/%s with 505", (version) => {
    const err = refusal(() => parseRequest(`GET / HTTP/${version}\r\nHost: a\r\n\r\n`));
    expect(err.status).toBe(505);
    expect(err.code).toBe("WS_ERR_UNSUPPORTED_HTTP_VERSION");
  });

  it("accepts a head of exactly maxHeadSize bytes", () => {
    const base = "GET / HTTP/1.1\r\nX: \r\n\r\n";
    const head = base.replace("X: ", "X: " + "a".repeat(64 - base.length));
    expect(head.length).toBe(64);
    expect(parseRequest(head, { maxHeadSize: 64 })).not.toBeNull();
    expect(refusal(() => parseRequest(head.replace("X: ", "X: a"), { maxHeadSize: 64 })).status).toBe(431);
  });

  it("refuses with 431 as soon as the limit is crossed, across chunks", () => {
    const parser = new RequestHeadParser({ maxHeadSize: 64 });
    expect(parser.push(bytes("GET / HTTP/1.1\r\nX: "))).toBeNull();
    expect(parser.push(bytes("a".repeat(63 - 19)))).toBeNull();
    const err = refusal(() => parser.push(bytes("a")));
    expect(err.status).toBe(431);
    expect(err.code).toBe("WS_ERR_HEAD_TOO_LARGE");
  });

  it("refuses one huge chunk without a head end with 431, however big", () => {
    const err = refusal(() => new RequestHeadParser().push(new Uint8Array(1 << 20).fill(0x61)));
    expect(err.status).toBe(431);
  });

  it("does not count the bytes after the head against maxHeadSize", () => {
    const parser = new RequestHeadParser({ maxHeadSize: 64 });
    const chunk = new Uint8Array([...bytes("GET / HTTP/1.1\r\n\r\n"), ...new Uint8Array(1000)]);
    expect(parser.push(chunk)).not.toBeNull();
    expect(parser.rest.length).toBe(1000);
  });

  it("refuses more than maxHeaders headers with 431", () => {
    const head = (n: number) => `GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(n)}\r\n`;
    expect(parseRequest(head(100))!.headers["x"]!.split(", ")).toHaveLength(100);
    const err = refusal(() => parseRequest(head(101)));
    expect(err.status).toBe(431);
    expect(err.code).toBe("WS_ERR_TOO_MANY_HEADERS");
    expect(refusal(() => parseRequest(head(4), { maxHeaders: 3 })).status).toBe(431);
  });

  it("throws the same error again after a failure", () => {
    const parser = new RequestHeadParser();
    const first = refusal(() => parser.push(bytes("BAD\r\n\r\n")));
    expect(refusal(() => parser.push(bytes("GET / HTTP/1.1\r\n\r\n")))).toBe(first);
  });
});

describe("ResponseHeadParser", () => {
  it("parses a 101 response head", () => {
    const res = parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    expect(res).toEqual({
      status: 101,
      reason: "Switching Protocols",
      headers: { upgrade: "websocket", connection: "Upgrade" },
    });
  });

  it.each([
    ["HTTP/1.1 101\r\n\r\n", ""],
    ["HTTP/1.1 404 \r\n\r\n", ""],
    ["HTTP/1.1 200 All is\tfine\r\n\r\n", "All is\tfine"],
  ])("reads the reason phrase of %j", (head, reason) => {
    expect(parseResponse(head)!.reason).toBe(reason);
  });

  it.each([
    ["a two-digit status", "HTTP/1.1 10 X\r\n\r\n"],
    ["a four-digit status", "HTTP/1.1 1010 X\r\n\r\n"],
    ["a status below 100", "HTTP/1.1 099 X\r\n\r\n"],
    ["a non-numeric status", "HTTP/1.1 1a1 X\r\n\r\n"],
    ["no status", "HTTP/1.1\r\n\r\n"],
    ["a control character in the reason", "HTTP/1.1 101 a\x01\r\n\r\n"],
    ["a malformed version", "HTTP/11 101 X\r\n\r\n"],
    ["a bad header line", "HTTP/1.1 101 X\r\nUpgrade websocket\r\n\r\n"],
  ])("refuses %s with 400", (_, head) => {
    expect(refusal(() => parseResponse(head)).status).toBe(400);
  });

  it("refuses an HTTP/1.0 response", () => {
    expect(refusal(() => parseResponse("HTTP/1.0 101 X\r\n\r\n")).code).toBe("WS_ERR_UNSUPPORTED_HTTP_VERSION");
  });

  it("hands over the server's first frame as rest", () => {
    const parser = new ResponseHeadParser();
    parser.push(new Uint8Array([...bytes("HTTP/1.1 101 OK\r\n\r\n"), 0x81, 0x00]));
    expect([...parser.rest]).toEqual([0x81, 0x00]);
  });
});

describe("serializeRequest / serializeResponse", () => {
  it("writes a request head with headers in order and names as given", () => {
    const out = serializeRequest("GET", "/a?b", [
      ["Host", "x"],
      ["X-A", "1"],
    ]);
    expect(text(out)).toBe("GET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n");
  });

  it("writes a response with the RFC spelling of handshake names and a Content-Length for the body", () => {
    const res: HttpResponse = {
      status: 400,
      reason: "Bad Request",
      headers: { "sec-websocket-version": "13", "x-custom": "y", "content-length": "999" },
      body: bytes("nope\n"),
    };
    expect(text(serializeResponse(res))).toBe(
      "HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\nx-custom: y\r\nContent-Length: 5\r\n\r\nnope\n",
    );
  });

  it("writes no Content-Length without a body", () => {
    const out = text(serializeResponse({ status: 101, reason: "Switching Protocols", headers: { upgrade: "websocket" } }));
    expect(out).toBe("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  });

  it.each([
    ["a CRLF in a value", () => serializeRequest("GET", "/", [["X", "a\r\nEvil: 1"]])],
    ["a name that is not a token", () => serializeRequest("GET", "/", [["X Y", "a"]])],
    ["a space in the target", () => serializeRequest("GET", "/a b", [])],
    ["a method that is not a token", () => serializeRequest("G T", "/", [])],
    ["a character above U+00FF", () => serializeRequest("GET", "/", [["X", "\u20ac"]])],
    ["a CRLF in a response value", () => serializeResponse({ status: 200, reason: "OK", headers: { x: "\n" } })],
    ["a status out of range", () => serializeResponse({ status: 42, reason: "", headers: {} })],
    ["a CR in the reason", () => serializeResponse({ status: 200, reason: "O\rK", headers: {} })],
  ])("throws TypeError on %s", (_, fn) => {
    expect(fn).toThrow(TypeError);
  });

  it("round-trips a response with a body through ResponseHeadParser", () => {
    const parser = new ResponseHeadParser();
    const res = parser.push(serializeResponse({ status: 403, reason: "Forbidden", headers: { a: "b" }, body: bytes("no") }));
    expect(res).toEqual({ status: 403, reason: "Forbidden", headers: { a: "b", "content-length": "2" } });
    expect(text(parser.rest)).toBe("no");
  });

  it("knows the reason phrases it answers with", () => {
    expect(reasonPhrase(426)).toBe("Upgrade Required");
    expect(reasonPhrase(431)).toBe("Request Header Fields Too Large");
    expect(reasonPhrase(799)).toBe("");
  });
});

describe("requestFromNode", () => {
  it("rebuilds headers from rawHeaders, joining repeats that Node's headers object drops", () => {
    const incoming = {
      method: "GET",
      url: "/chat",
      httpVersion: "1.1",
      // Node keeps only the first Host in `headers`.
      headers: { host: "a.example", upgrade: "websocket" },
      rawHeaders: ["Host", "a.example", "Upgrade", "websocket", "HOST", "b.example"],
    };
    expect(requestFromNode(incoming)).toEqual({
      method: "GET",
      path: "/chat",
      version: "1.1",
      headers: { host: "a.example, b.example", upgrade: "websocket" },
    });
  });

  it("falls back to headers, joining array values", () => {
    const req = requestFromNode({ method: "GET", url: "/", httpVersion: "1.0", headers: { "X-A": ["1", "2"], b: "3", c: undefined } });
    expect(req.headers).toEqual({ "x-a": "1, 2", b: "3" });
    expect(req.version).toBe("1.0");
  });

  it("maps missing fields to empty strings", () => {
    expect(requestFromNode({ headers: {} })).toEqual({ method: "", path: "", version: "", headers: {} });
  });
});

// ---------------------------------------------------------------------------
// Properties

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,12}$/);
// field-value without leading or trailing whitespace (the parser trims OWS).
const valueArb = fc.stringMatching(/^([!-~\x80-\xff]([ \t!-~\x80-\xff]{0,16}[!-~\x80-\xff])?)?$/);
const headersArb = fc.array(fc.tuple(tokenArb, valueArb), { maxLength: 8 });
const restArb = fc.uint8Array({ maxLength: 40 });

/** What the parser must return for these header lines. */
function joined(headers: [string, string][]): Record<string, string> {
  // Same pitfall as in the parser: a plain object would see `constructor`.
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    out[key] = Object.hasOwn(out, key) ? `${out[key]}, ${value}` : value;
  }
  return out;
}

/** Split `data` at the given cut points (taken modulo its length). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    chunks.push(data.subarray(start, p));
    start = p;
  }
  return chunks;
}

/** Push every chunk; return the head and everything after it. */
function feed<T>(parser: { push(c: Uint8Array): T | null; rest: Uint8Array }, chunks: Uint8Array[]) {
  let head: T | null = null;
  for (const chunk of chunks) head = parser.push(chunk) ?? head;
  return { head, rest: [...parser.rest] };
}

describe("head parsing properties", () => {
  const requestArb = fc.record({
    method: tokenArb,
    path: fc.stringMatching(/^\/[!-~]{0,20}$/),
    headers: headersArb,
    rest: restArb,
  });

  it("parses a request the same however it is split, and yields the same rest", () => {
    fc.assert(
      fc.property(requestArb, fc.array(fc.nat(), { maxLength: 10 }), ({ method, path, headers, rest }, cuts) => {
        const data = new Uint8Array([...serializeRequest(method, path, headers), ...rest]);
        const expected: HttpRequest = { method, path, version: "1.1", headers: joined(headers) };
        const whole = feed(new RequestHeadParser(), [data]);
        expect(whole).toEqual({ head: expected, rest: [...rest] });
        expect(feed(new RequestHeadParser(), split(data, cuts))).toEqual(whole);
        const bytewise = [...data].map((b) => new Uint8Array([b]));
        expect(feed(new RequestHeadParser(), bytewise)).toEqual(whole);
      }),
    );
  });

  it("parses a response the same however it is split, and yields the same rest", () => {
    const responseArb = fc.record({
      status: fc.integer({ min: 100, max: 999 }),
      reason: valueArb,
      headers: headersArb,
      rest: restArb,
    });
    fc.assert(
      fc.property(responseArb, fc.array(fc.nat(), { maxLength: 10 }), ({ status, reason, headers, rest }, cuts) => {
        const head = `HTTP/1.1 ${status} ${reason}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`;
        const data = new Uint8Array([...bytes(head), ...rest]);
        const whole = feed(new ResponseHeadParser(), [data]);
        expect(whole).toEqual({ head: { status, reason, headers: joined(headers) }, rest: [...rest] });
        expect(feed(new ResponseHeadParser(), split(data, cuts))).toEqual(whole);
        const bytewise = [...data].map((b) => new Uint8Array([b]));
        expect(feed(new ResponseHeadParser(), bytewise)).toEqual(whole);
      }),
    );
  });

  /** Feed `data` whole and byte by byte: each run parses or throws InvalidHandshake, and both agree. */
  function parsesOrRefuses(make: () => { push(c: Uint8Array): unknown }, data: Uint8Array): void {
    const run = (chunks: Uint8Array[]) => {
      const parser = make();
      try {
        let out: unknown = null;
        for (const chunk of chunks) out = parser.push(chunk) ?? out;
        return out === null ? "need more" : "parsed";
      } catch (err) {
        if (!(err instanceof InvalidHandshake)) throw err;
        return err.status;
      }
    };
    const whole = run([data]);
    expect(run([...data].map((b) => new Uint8Array([b])))).toBe(whole);
  }

  // Bytes that look like a head often enough to reach the header parser.
  const headishArb = fc.array(
    fc.oneof(
      fc.constantFrom("GET", "HTTP/1.1", "HTTP/1.0", " ", ":", "\r\n", "\r", "\n", "\t", "/", "Host", "a", "101", "\x00", "\xff"),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 30 },
  ).map((parts) => bytes(parts.join("")));

  const garbageArb = fc.oneof(fc.uint8Array({ maxLength: 200 }), headishArb);
  const limitsArb = fc.record({ maxHeadSize: fc.integer({ min: 1, max: 120 }), maxHeaders: fc.integer({ min: 0, max: 5 }) });

  it("never throws anything but InvalidHandshake out of RequestHeadParser", () => {
    fc.assert(
      fc.property(garbageArb, limitsArb, (data, limits) => {
        parsesOrRefuses(() => new RequestHeadParser(limits), data);
        parsesOrRefuses(() => new RequestHeadParser(), data);
        parsesOrRefuses(() => new RequestHeadParser(), new Uint8Array([...bytes("GET / HTTP/1.1\r\n"), ...data]));
      }),
      { numRuns: 500 },
    );
  });

  it("never throws anything but InvalidHandshake out of ResponseHeadParser", () => {
    fc.assert(
      fc.property(garbageArb, limitsArb, (data, limits) => {
        parsesOrRefuses(() => new ResponseHeadParser(limits), data);
        parsesOrRefuses(() => new ResponseHeadParser(), data);
        parsesOrRefuses(() => new ResponseHeadParser(), new Uint8Array([...bytes("HTTP/1.1 101 OK\r\n"), ...data]));
      }),
      { numRuns: 500 },
    );
  });

  it("refuses or accepts a mutated valid request consistently, never crashing", () => {
    fc.assert(
      fc.property(
        requestArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        ({ method, path, headers }, edits) => {
          const data = new Uint8Array(serializeRequest(method, path, headers));
          for (const [at, byte] of edits) data[at % data.length] = byte;
          parsesOrRefuses(() => new RequestHeadParser(), data);
        },
      ),
      { numRuns: 500 },
    );
  });
});

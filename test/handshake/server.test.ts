import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { InvalidHandshake } from "../../src/errors.js";
import type { ExtensionParam, MessageExtension, ServerExtensionFactory } from "../../src/extensions/types.js";
import { RequestHeadParser, requestFromNode, serializeResponse } from "../../src/handshake/http.js";
import type { HttpRequest } from "../../src/handshake/http.js";
import {
  WEBSOCKET_GUID,
  acceptKey,
  acceptRequest,
  rejectResponse,
  responseForError,
} from "../../src/handshake/server.js";
import type { ServerHandshakeOptions } from "../../src/handshake/server.js";
import { refusal } from "./refusal.js";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

// RFC 6455 §1.2: the client's handshake.
const RFC_REQUEST =
  "GET /chat HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n";

function parse(head: string): HttpRequest {
  return new RequestHeadParser().push(Buffer.from(head, "latin1"))!;
}

/** The RFC request with headers replaced (`null` removes one). */
function request(changes: Record<string, string | null> = {}, method = "GET", version = "1.1"): HttpRequest {
  const req = parse(RFC_REQUEST);
  const headers: Record<string, string> = { ...req.headers };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return { method, path: req.path, version, headers };
}


function fakeExtension(name: string, params: ExtensionParam[] = []): MessageExtension & { params: ExtensionParam[] } {
  return {
    name,
    params,
    rsvBits: 0x40,
    decode: (p) => p,
    shouldEncode: () => false,
    encode: (p) => p,
    stateless: true,
    sharingKey: name,
  };
}

/** Accepts an offer only when it has an `ok` parameter; answers with `ok` and the offer's `v`. */
function pickyFactory(name: string, calls: { params: ExtensionParam[]; already: string[] }[] = []): ServerExtensionFactory {
  return {
    name,
    accept(params, alreadyAccepted) {
      calls.push({ params, already: alreadyAccepted.map((e) => e.name) });
      if (params.some(([k]) => k === "bad")) throw new InvalidHandshake("bad offer", { code: "WS_ERR_EXTENSION_NEGOTIATION" });
      if (!params.some(([k]) => k === "ok")) return null;
      const response: ExtensionParam[] = [["ok", null], ...params.filter(([k]) => k === "v")];
      return { response, extension: fakeExtension(name, params) };
    },
  };
}

describe("acceptKey", () => {
  it("computes the RFC 6455 §1.3 example", () => {
    expect(WEBSOCKET_GUID).toBe("258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    expect(acceptKey("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});

describe("acceptRequest", () => {
  it("answers the RFC 6455 example with its 101", () => {
    const result = acceptRequest(request(), { subprotocols: ["chat"] });
    expect(result.subprotocol).toBe("chat");
    expect(result.extensions).toEqual([]);
    expect(text(serializeResponse(result.response))).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\n\r\n",
    );
  });

  it("accepts header values in any case and within longer lists", () => {
    const result = acceptRequest(request({ upgrade: "WebSocket", connection: "keep-alive, UPGRADE" }));
    expect(result.response.status).toBe(101);
  });

  it("refuses a method other than GET with 405 and Allow: GET", () => {
    const err = refusal(() => acceptRequest(request({}, "POST")));
    expect([err.status, err.code, err.headers]).toEqual([405, "WS_ERR_INVALID_METHOD", { allow: "GET" }]);
  });

  it("refuses HTTP/1.0 with 505", () => {
    const err = refusal(() => acceptRequest(request({}, "GET", "1.0")));
    expect([err.status, err.code]).toEqual([505, "WS_ERR_UNSUPPORTED_HTTP_VERSION"]);
  });

  it.each<[string, Record<string, string | null>, string]>([
    ["a missing Host", { host: null }, "WS_ERR_INVALID_HOST"],
    ["a repeated Host", { host: "a.example, b.example" }, "WS_ERR_INVALID_HOST"],
    ["a missing Upgrade", { upgrade: null }, "WS_ERR_INVALID_UPGRADE"],
    ["an Upgrade without websocket", { upgrade: "h2c" }, "WS_ERR_INVALID_UPGRADE"],
    ["an Upgrade with a near miss", { upgrade: "websockets" }, "WS_ERR_INVALID_UPGRADE"],
    ["a missing Connection", { connection: null }, "WS_ERR_INVALID_CONNECTION"],
    ["a Connection without upgrade", { connection: "keep-alive" }, "WS_ERR_INVALID_CONNECTION"],
    ["a missing key", { "sec-websocket-key": null }, "WS_ERR_INVALID_KEY"],
    ["a key of 15 bytes", { "sec-websocket-key": "AAAAAAAAAAAAAAAAAAAA" }, "WS_ERR_INVALID_KEY"],
    ["a key of 17 bytes", { "sec-websocket-key": "AAAAAAAAAAAAAAAAAAAAAAA=" }, "WS_ERR_INVALID_KEY"],
    ["a key that is not base64", { "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ!=" }, "WS_ERR_INVALID_KEY"],
    ["a key with a bad character", { "sec-websocket-key": "dGhlIHNhbXBsZSBub2-jZQ==" }, "WS_ERR_INVALID_KEY"],
    ["a repeated key", { "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==" }, "WS_ERR_INVALID_KEY"],
    ["a malformed Sec-WebSocket-Protocol", { "sec-websocket-protocol": "chat, c h a t" }, "WS_ERR_INVALID_SUBPROTOCOL"],
    ["a malformed Sec-WebSocket-Extensions", { "sec-websocket-extensions": "x; =" }, "WS_ERR_INVALID_EXTENSION"],
  ])("refuses %s with 400", (_, changes, code) => {
    const err = refusal(() => acceptRequest(request(changes), { extensions: [pickyFactory("x")] }));
    expect([err.status, err.code]).toEqual([400, code]);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it.each<[string, string | null]>([
    ["a missing version", null],
    ["version 8", "8"],
    ["a repeated version", "13, 13"],
  ])("refuses %s with 426 and Sec-WebSocket-Version: 13", (_, version) => {
    const err = refusal(() => acceptRequest(request({ "sec-websocket-version": version })));
    expect([err.status, err.code, err.headers]).toEqual([426, "WS_ERR_UNSUPPORTED_VERSION", { "sec-websocket-version": "13" }]);
  });

  it("refuses a request whose duplicate Host only shows in rawHeaders (node:http)", () => {
    const req = requestFromNode({
      method: "GET",
      url: "/",
      httpVersion: "1.1",
      headers: {},
      rawHeaders: [
        ...["Host", "a", "Host", "b", "Upgrade", "websocket", "Connection", "Upgrade"],
        ...["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"],
      ],
    });
    expect(refusal(() => acceptRequest(req)).code).toBe("WS_ERR_INVALID_HOST");
    (req.headers as Record<string, string>)["host"] = "a";
    expect(acceptRequest(req).response.status).toBe(101);
  });

  describe("origins", () => {
    const origins = ["https://good.example", null];
    it("allows a listed origin and, with a null entry, no origin", () => {
      expect(acceptRequest(request({ origin: "https://good.example" }), { origins }).response.status).toBe(101);
      expect(acceptRequest(request({ origin: null }), { origins }).response.status).toBe(101);
    });
    it("refuses an unlisted origin with 403", () => {
      const err = refusal(() => acceptRequest(request({ origin: "https://evil.example" }), { origins }));
      expect([err.status, err.code]).toEqual([403, "WS_ERR_ORIGIN_FORBIDDEN"]);
    });
    it("refuses a missing origin with 403 when null is not listed", () => {
      const err = refusal(() => acceptRequest(request({ origin: null }), { origins: ["https://good.example"] }));
      expect([err.status, err.code]).toEqual([403, "WS_ERR_ORIGIN_FORBIDDEN"]);
    });
    it("refuses a repeated origin with 400", () => {
      const err = refusal(() => acceptRequest(request({ origin: "https://good.example, https://good.example" }), { origins }));
      expect(err.status).toBe(400);
    });
    it("allows every origin when origins is null or absent", () => {
      expect(acceptRequest(request({ origin: "https://any.example" }), { origins: null }).response.status).toBe(101);
      expect(acceptRequest(request({ origin: "https://any.example" })).response.status).toBe(101);
    });
  });

  describe("subprotocols", () => {
    const offered = (value: string | null, options: ServerHandshakeOptions) =>
      acceptRequest(request({ "sec-websocket-protocol": value }), options);

    it("selects the server's most preferred subprotocol among those offered", () => {
      const result = offered("a, b, c", { subprotocols: ["x", "c", "b"] });
      expect(result.subprotocol).toBe("c");
      expect(result.response.headers["sec-websocket-protocol"]).toBe("c");
    });

    it("selects none, and sends no header, when nothing matches or nothing is offered", () => {
      for (const [value, supported] of [["a", ["b"]], [null, ["b"]], ["a", null]] as const) {
        const result = offered(value, { subprotocols: supported });
        expect(result.subprotocol).toBeNull();
        expect("sec-websocket-protocol" in result.response.headers).toBe(false);
      }
    });

    it("lets selectSubprotocol decide, seeing the offers and the request", () => {
      const seen: string[][] = [];
      const result = offered("a, b", {
        subprotocols: ["a"],
        selectSubprotocol: (list, req) => {
          seen.push(list);
          return req.path === "/chat" ? "b" : null;
        },
      });
      expect(seen).toEqual([["a", "b"]]);
      expect(result.subprotocol).toBe("b");
    });

    it("refuses with 500 when selectSubprotocol returns one the client did not offer", () => {
      const err = refusal(() => offered("a", { selectSubprotocol: () => "z" }));
      expect([err.status, err.code]).toEqual([500, "WS_ERR_SUBPROTOCOL_SELECTION"]);
    });
  });

  describe("extensions", () => {
    it("tries offers in order, accepts the first acceptable one per extension, ignores unknown ones", () => {
      const calls: { params: ExtensionParam[]; already: string[] }[] = [];
      const result = acceptRequest(
        request({ "sec-websocket-extensions": "x-a; v=1, unknown; ok, x-a; ok; v=2, x-b; ok, x-a; ok; v=3" }),
        { extensions: [pickyFactory("x-a", calls), pickyFactory("x-b", calls)] },
      );
      expect(result.extensions.map((e) => [e.name, (e as ReturnType<typeof fakeExtension>).params])).toEqual([
        ["x-a", [["ok", null], ["v", "2"]]],
        ["x-b", [["ok", null]]],
      ]);
      // The declined first offer and the accepted second were tried; the third x-a offer was not.
      expect(calls).toEqual([
        { params: [["v", "1"]], already: [] },
        { params: [["ok", null], ["v", "2"]], already: [] },
        { params: [["ok", null]], already: ["x-a"] },
      ]);
      expect(result.response.headers["sec-websocket-extensions"]).toBe("x-a; ok; v=2, x-b; ok");
    });

    it("sends no header when no offer is accepted", () => {
      const result = acceptRequest(request({ "sec-websocket-extensions": "x-a; v=1" }), { extensions: [pickyFactory("x-a")] });
      expect(result.extensions).toEqual([]);
      expect("sec-websocket-extensions" in result.response.headers).toBe(false);
    });

    it("propagates a factory's refusal of a malformed offer", () => {
      const err = refusal(() => acceptRequest(request({ "sec-websocket-extensions": "x-a; bad" }), { extensions: [pickyFactory("x-a")] }));
      expect(err.code).toBe("WS_ERR_EXTENSION_NEGOTIATION");
    });

    it("does not parse the header when the server supports no extension", () => {
      expect(acceptRequest(request({ "sec-websocket-extensions": "x; =" })).response.status).toBe(101);
    });
  });

  it("adds extra headers without letting them replace the handshake's", () => {
    const result = acceptRequest(request(), { headers: { Server: "wavesock", Upgrade: "nope", "Sec-WebSocket-Accept": "x" } });
    expect(result.response.headers).toEqual({
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      server: "wavesock",
    });
  });
});

describe("rejectResponse / responseForError", () => {
  it("builds a short plain-text response that closes the connection", () => {
    const res = rejectResponse(404, "no such path\n", { "X-Trace": "1" });
    expect(text(serializeResponse(res))).toBe(
      "HTTP/1.1 404 Not Found\r\n" +
        "x-trace: 1\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Connection: close\r\n" +
        "Content-Length: 13\r\n\r\n" +
        "no such path\n",
    );
  });

  it("carries an error's status, message and headers", () => {
    const err = refusal(() => acceptRequest(request({ "sec-websocket-version": "8" })));
    const res = responseForError(err);
    expect(res.status).toBe(426);
    expect(res.reason).toBe("Upgrade Required");
    expect(res.headers["sec-websocket-version"]).toBe("13");
    expect(Buffer.from(res.body!).toString()).toBe(`${err.message}\n`);
  });

  it("encodes the body as UTF-8, verbatim", () => {
    expect([...rejectResponse(400, "é").body!]).toEqual([0xc3, 0xa9]);
  });

  it("keeps a content type given by the caller (a page served by processRequest)", () => {
    const res = rejectResponse(200, "<p>hi</p>", { "Content-Type": "text/html" });
    expect(res.headers["content-type"]).toBe("text/html");
  });
});

describe("module boundaries", () => {
  it("keeps src/handshake free of I/O modules and timers", () => {
    const dir = new URL("../../src/handshake/", import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    expect(files).toContain("server.ts");
    const forbidden = /^(node:)?(net|tls|http|https|http2|dgram|timers)(\/.*)?$/;
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), "utf8");
      const specifiers = [...source.matchAll(/\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]);
      for (const spec of specifiers) expect(forbidden.test(spec!), `${file} imports ${spec}`).toBe(false);
      expect(/\b(setTimeout|setInterval|setImmediate)\s*\(/.test(source), `${file} uses a timer`).toBe(false);
    }
  });
});

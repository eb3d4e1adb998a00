import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { InvalidHandshake, InvalidStatus } from "../../src/errors.js";
import type { ClientExtensionFactory, ExtensionParam, MessageExtension, ServerExtensionFactory } from "../../src/extensions/types.js";
import { ClientHandshake, DEFAULT_USER_AGENT } from "../../src/handshake/client.js";
import type { ClientHandshakeOptions } from "../../src/handshake/client.js";
import { RequestHeadParser, serializeResponse } from "../../src/handshake/http.js";
import { acceptKey, acceptRequest, rejectResponse } from "../../src/handshake/server.js";
import { parseURI } from "../../src/handshake/uri.js";
import { refusal } from "./refusal.js";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

// RFC 6455 §1.3: the nonce "the sample nonce" encodes to this key.
const SAMPLE_NONCE = () => new Uint8Array(Buffer.from("the sample nonce"));
const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

function handshake(options: Partial<ClientHandshakeOptions> = {}): ClientHandshake {
  return new ClientHandshake({ uri: parseURI("ws://server.example.com/chat"), keySource: SAMPLE_NONCE, ...options });
}

function fakeExtension(name: string, params: ExtensionParam[]): MessageExtension & { params: ExtensionParam[] } {
  return { name, params, rsvBits: 0x40, decode: (p) => p, shouldEncode: () => false, encode: (p) => p, stateless: true, sharingKey: name };
}

/** Offers `x-fake; level=1` then bare `x-fake`; refuses a response with `bad`. */
const clientFactory: ClientExtensionFactory = {
  name: "x-fake",
  offers: () => [[["level", "1"]], []],
  accept(params) {
    if (params.some(([k]) => k === "bad")) throw new InvalidHandshake("bad response", { code: "WS_ERR_EXTENSION_NEGOTIATION" });
    return fakeExtension("x-fake", params);
  },
};

/** Accepts the first offer, answering with its params and `server=1`. */
const serverFactory: ServerExtensionFactory = {
  name: "x-fake",
  accept: (params) => ({ response: [...params, ["server", "1"]], extension: fakeExtension("x-fake", params) }),
};

/** A 101 head for the sample key with header lines replaced (`null` removes one). */
function response101(changes: Record<string, string | null> = {}): string {
  const headers: Record<string, string | null> = {
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Accept": SAMPLE_ACCEPT,
    ...changes,
  };
  const lines = Object.entries(headers).filter(([, v]) => v !== null).map(([n, v]) => `${n}: ${v}\r\n`);
  return `HTTP/1.1 101 Switching Protocols\r\n${lines.join("")}\r\n`;
}


describe("ClientHandshake.request", () => {
  it("writes the RFC 6455 §1.2 request", () => {
    const client = handshake({ origin: "http://example.com", subprotocols: ["chat", "superchat"], userAgent: null });
    expect(client.key).toBe(SAMPLE_KEY);
    expect(text(client.request())).toBe(
      "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${SAMPLE_KEY}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Origin: http://example.com\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
    );
  });

  it("sends extension offers, credentials, a User-Agent and extra headers", () => {
    const client = handshake({
      uri: parseURI("wss://us%3Aer:p%C3%A4ss@example.com:8443/x?y"),
      extensions: [clientFactory],
      headers: [["X-Trace", "abc"]],
    });
    const req = new RequestHeadParser().push(client.request())!;
    expect(req.path).toBe("/x?y");
    expect(req.headers["host"]).toBe("example.com:8443");
    expect(req.headers["sec-websocket-extensions"]).toBe("x-fake; level=1, x-fake");
    expect(req.headers["user-agent"]).toBe(DEFAULT_USER_AGENT);
    expect(req.headers["x-trace"]).toBe("abc");
    expect(req.headers["authorization"]).toBe(`Basic ${Buffer.from("us:er:päss", "utf8").toString("base64")}`);
    expect("origin" in req.headers || "sec-websocket-protocol" in req.headers).toBe(false);
  });

  it("lets extra headers replace Host, Origin and User-Agent, once each", () => {
    const client = handshake({ origin: "http://a", headers: { host: "virtual.example", "User-Agent": "me", Origin: "http://b" } });
    const req = new RequestHeadParser().push(client.request())!;
    expect([req.headers["host"], req.headers["user-agent"], req.headers["origin"]]).toEqual(["virtual.example", "me", "http://b"]);
  });

  it.each(["Upgrade", "connection", "Sec-WebSocket-Key", "sec-websocket-protocol", "Sec-WebSocket-Extensions", "Sec-WebSocket-Version"])(
    "refuses an extra %s header with TypeError",
    (name) => {
      expect(() => handshake({ headers: { [name]: "x" } }).request()).toThrow(TypeError);
    },
  );

  it("refuses an extra header that would inject a line", () => {
    expect(() => handshake({ headers: { "X-A": "1\r\nEvil: 1" } }).request()).toThrow(TypeError);
  });

  it("checks the key source and the subprotocols up front", () => {
    expect(() => handshake({ keySource: () => new Uint8Array(15) })).toThrow(TypeError);
    expect(() => handshake({ subprotocols: ["a b"] })).toThrow(TypeError);
  });

  it("draws a fresh random key by default", () => {
    const uri = parseURI("ws://h/");
    const keys = new Set(Array.from({ length: 8 }, () => new ClientHandshake({ uri }).key));
    expect(keys.size).toBe(8);
    for (const key of keys) expect(Buffer.from(key, "base64")).toHaveLength(16);
  });
});

describe("client and server together", () => {
  it("negotiates a subprotocol and an extension through serialized bytes", () => {
    const client = handshake({ subprotocols: ["v2", "v1"], extensions: [clientFactory], origin: "https://app.example" });
    const parser = new RequestHeadParser();
    const req = parser.push(client.request())!;
    const server = acceptRequest(req, {
      subprotocols: ["v1", "v2"],
      extensions: [serverFactory],
      origins: ["https://app.example"],
    });
    expect(server.subprotocol).toBe("v1");
    const result = client.receive(serializeResponse(server.response))!;
    expect(result.subprotocol).toBe("v1");
    expect(result.response.status).toBe(101);
    expect(result.extensions.map((e) => [e.name, (e as ReturnType<typeof fakeExtension>).params])).toEqual([
      ["x-fake", [["level", "1"], ["server", "1"]]],
    ]);
    expect(server.extensions.map((e) => e.name)).toEqual(["x-fake"]);
    expect(client.rest.length).toBe(0);
  });

  it("hands over the server's first frame when it arrives with the response, however split", () => {
    const req = new RequestHeadParser().push(handshake().request())!;
    const frame = [0x81, 0x02, 0x68, 0x69];
    const data = new Uint8Array([...serializeResponse(acceptRequest(req).response), ...frame]);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: data.length }), { maxLength: 6 }), (cuts) => {
        const client = handshake();
        const points = [...cuts].sort((a, b) => a - b);
        let result = null;
        let start = 0;
        for (const p of [...points, data.length]) {
          result = client.receive(data.subarray(start, p)) ?? result;
          start = p;
        }
        expect(result?.subprotocol).toBeNull();
        expect([...client.rest]).toEqual(frame);
      }),
    );
  });
});

describe("ClientHandshake.receive", () => {
  it("returns null until the head is complete, then the result, then the same result", () => {
    const client = handshake();
    const head = bytes(response101());
    expect(client.receive(head.subarray(0, 10))).toBeNull();
    const result = client.receive(head.subarray(10));
    expect(result?.response.headers["sec-websocket-accept"]).toBe(SAMPLE_ACCEPT);
    expect(client.receive(bytes("ab"))).toBe(result);
    expect(text(client.rest)).toBe("ab");
  });

  it("throws InvalidStatus with the response and the body received so far", () => {
    const client = handshake();
    const res = rejectResponse(403, "go away\n");
    const err = refusal(() => client.receive(new Uint8Array([...serializeResponse(res), ...bytes("next")])));
    expect(err).toBeInstanceOf(InvalidStatus);
    const { response } = err as InvalidStatus;
    expect([err.status, err.code, response.status, response.reason]).toEqual([403, "WS_ERR_INVALID_STATUS", 403, "Forbidden"]);
    expect(response.headers["content-type"]).toBe("text/plain; charset=utf-8");
    // Content-Length bounds the body: "next" is not part of it.
    expect(text(response.body!)).toBe("go away\n");
    expect(refusal(() => client.receive(bytes("more")))).toBe(err);
  });

  it("keeps whatever body arrived without a Content-Length, and none when there is none", () => {
    const withBody = refusal(() => handshake().receive(bytes("HTTP/1.1 404 Not Found\r\n\r\npartial")));
    expect(text((withBody as InvalidStatus).response.body!)).toBe("partial");
    const without = refusal(() => handshake().receive(bytes("HTTP/1.1 500 Oops\r\n\r\n")));
    expect((without as InvalidStatus).response.body).toBeUndefined();
  });

  it.each<[string, Record<string, string | null>, string]>([
    ["a missing Upgrade", { Upgrade: null }, "WS_ERR_INVALID_UPGRADE"],
    ["a wrong Upgrade", { Upgrade: "h2c" }, "WS_ERR_INVALID_UPGRADE"],
    ["an Upgrade listing more than websocket", { Upgrade: "websocket, h2c" }, "WS_ERR_INVALID_UPGRADE"],
    ["a missing Connection", { Connection: null }, "WS_ERR_INVALID_CONNECTION"],
    ["a Connection without upgrade", { Connection: "close" }, "WS_ERR_INVALID_CONNECTION"],
    ["a missing Sec-WebSocket-Accept", { "Sec-WebSocket-Accept": null }, "WS_ERR_INVALID_ACCEPT"],
    ["a wrong Sec-WebSocket-Accept", { "Sec-WebSocket-Accept": acceptKey("AAAAAAAAAAAAAAAAAAAAAA==") }, "WS_ERR_INVALID_ACCEPT"],
    ["a subprotocol not offered", { "Sec-WebSocket-Protocol": "v3" }, "WS_ERR_INVALID_SUBPROTOCOL"],
    ["two subprotocols", { "Sec-WebSocket-Protocol": "v1, v2" }, "WS_ERR_INVALID_SUBPROTOCOL"],
    ["an extension not offered", { "Sec-WebSocket-Extensions": "x-other" }, "WS_ERR_INVALID_EXTENSION"],
    ["an extension accepted twice", { "Sec-WebSocket-Extensions": "x-fake, x-fake" }, "WS_ERR_INVALID_EXTENSION"],
    ["a malformed extension header", { "Sec-WebSocket-Extensions": "x-fake;" }, "WS_ERR_INVALID_EXTENSION"],
    ["an extension response the factory refuses", { "Sec-WebSocket-Extensions": "x-fake; bad" }, "WS_ERR_EXTENSION_NEGOTIATION"],
  ])("fails on %s", (_, changes, code) => {
    const client = handshake({ subprotocols: ["v1", "v2"], extensions: [clientFactory] });
    const err = refusal(() => client.receive(bytes(response101(changes))));
    expect(err).not.toBeInstanceOf(InvalidStatus);
    expect(err.code).toBe(code);
  });

  it("accepts header values in any case", () => {
    const client = handshake();
    expect(client.receive(bytes(response101({ Upgrade: "WebSocket", Connection: "keep-alive, upgrade" })))).not.toBeNull();
  });

  it("fails on a subprotocol when none was offered, and on an extension when none was offered", () => {
    expect(refusal(() => handshake().receive(bytes(response101({ "Sec-WebSocket-Protocol": "v1" })))).code).toBe(
      "WS_ERR_INVALID_SUBPROTOCOL",
    );
    expect(refusal(() => handshake().receive(bytes(response101({ "Sec-WebSocket-Extensions": "x-fake" })))).code).toBe(
      "WS_ERR_INVALID_EXTENSION",
    );
  });

  it("fails on a malformed or oversized response head", () => {
    expect(refusal(() => handshake().receive(bytes("HTTP/1.1 101 OK\nUpgrade: websocket\r\n\r\n"))).status).toBe(400);
    const small = handshake({ limits: { maxHeadSize: 32 } });
    expect(refusal(() => small.receive(bytes(response101()))).status).toBe(431);
  });

  it("never throws anything but InvalidHandshake on arbitrary responses", () => {
    const pieces = fc.constantFrom(
      "HTTP/1.1 101 OK\r\n",
      "Upgrade: websocket\r\n",
      "Connection: Upgrade\r\n",
      `Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}\r\n`,
      "Sec-WebSocket-Protocol: v1\r\n",
      "Sec-WebSocket-Extensions: x-fake; level=1\r\n",
      "Sec-WebSocket-Extensions: x-fake;;\r\n",
      "\r\n",
      "\n",
      ":",
      "x",
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(pieces, { maxLength: 8 }).map((p) => bytes(p.join(""))), fc.uint8Array({ maxLength: 64 })), (data) => {
        const client = handshake({ subprotocols: ["v1"], extensions: [clientFactory] });
        try {
          client.receive(data);
        } catch (err) {
          if (!(err instanceof InvalidHandshake)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});

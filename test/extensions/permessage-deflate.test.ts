import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidHandshake } from "../../src/errors.js";
import {
  PerMessageDeflate,
  clientDeflateFactory,
  serverDeflateFactory,
  type DeflateOptions,
  type ExtensionParam,
  type MessageExtension,
} from "../../src/extensions/index.js";

/** Parameters as the header parser gives them: `a; b=1` → [["a", null], ["b", "1"]]. */
function p(text: string): ExtensionParam[] {
  if (text.trim() === "") return [];
  return text.split(";").map((part): ExtensionParam => {
    const [name, value] = part.trim().split("=");
    return [name!.trim(), value === undefined ? null : value.trim()];
  });
}

function agreed(ext: MessageExtension) {
  expect(ext).toBeInstanceOf(PerMessageDeflate);
  return (ext as PerMessageDeflate).params;
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("server negotiation (RFC 7692 §7.1)", () => {
  // [offer, server options, expected response; null: declined]
  const vectors: [string, DeflateOptions, string | null][] = [
    // Firefox's offer: the client can't be limited, we announce our window.
    ["", {}, "server_max_window_bits=12"],
    // Chromium's offer.
    ["client_max_window_bits", {}, "server_max_window_bits=12; client_max_window_bits=12"],
    ["server_no_context_takeover", {}, "server_no_context_takeover; server_max_window_bits=12"],
    ["client_no_context_takeover", {}, "client_no_context_takeover; server_max_window_bits=12"],
    ["server_max_window_bits=10", {}, "server_max_window_bits=10"],
    ["server_max_window_bits=15", {}, "server_max_window_bits=12"],
    ["server_max_window_bits=8", {}, "server_max_window_bits=8"],
    ["client_max_window_bits=9", {}, "server_max_window_bits=12; client_max_window_bits=9"],
    ["client_max_window_bits=15", {}, "server_max_window_bits=12; client_max_window_bits=12"],
    [
      "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
      {},
      "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
    ],
    // Parameter names compare case-insensitively.
    ["Server_No_Context_Takeover; CLIENT_MAX_WINDOW_BITS", {}, "server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"],
    // ws's defaults (15/15): nothing to say.
    ["", { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, ""],
    ["client_max_window_bits", { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, ""],
    ["client_max_window_bits=11", { serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, "client_max_window_bits=11"],
    ["server_max_window_bits=15", { serverMaxWindowBits: 15 }, "server_max_window_bits=15"],
    ["client_max_window_bits", { clientMaxWindowBits: true }, "server_max_window_bits=12"],
    // Our own requirements.
    ["", { serverNoContextTakeover: true }, "server_no_context_takeover; server_max_window_bits=12"],
    ["", { clientNoContextTakeover: true }, "client_no_context_takeover; server_max_window_bits=12"],
    ["client_max_window_bits=13", { clientMaxWindowBits: 8 }, "server_max_window_bits=12; client_max_window_bits=8"],
    ["server_max_window_bits=13", { serverMaxWindowBits: 14 }, "server_max_window_bits=13"],
    // Malformed offers are declined (§5.1 "MUST decline").
    ["x_custom", {}, null],
    ["server_no_context_takeover; server_no_context_takeover", {}, null],
    ["server_max_window_bits=10; Server_Max_Window_Bits=10", {}, null],
    ["client_max_window_bits; client_max_window_bits=10", {}, null],
    ["server_no_context_takeover=1", {}, null],
    ["client_no_context_takeover=true", {}, null],
    ["server_no_context_takeover=", {}, null],
    ["server_max_window_bits", {}, null],
    ["server_max_window_bits=7", {}, null],
    ["server_max_window_bits=16", {}, null],
    ["server_max_window_bits=08", {}, null],
    ["server_max_window_bits=+9", {}, null],
    ["server_max_window_bits=1e1", {}, null],
    ["server_max_window_bits=", {}, null],
    ["client_max_window_bits=0", {}, null],
    ["client_max_window_bits=16", {}, null],
    ["client_max_window_bits=abc", {}, null],
  ];

  it.each(vectors)("offer %j with %j → %j", (offer, options, expected) => {
    const result = serverDeflateFactory(options).accept(p(offer), []);
    if (expected === null) {
      expect(result).toBeNull();
      return;
    }
    expect(result).not.toBeNull();
    expect(result!.response).toEqual(p(expected));
    expect(result!.extension.name).toBe("permessage-deflate");
    expect(result!.extension.rsvBits).toBe(0x40);
  });

  it("turns the agreement into codec parameters, seen from the server", () => {
    const result = serverDeflateFactory().accept(p("client_no_context_takeover; server_max_window_bits=10; client_max_window_bits"), [])!;
    expect(agreed(result.extension)).toMatchObject({
      localNoContextTakeover: false,
      remoteNoContextTakeover: true,
      localMaxWindowBits: 10,
      remoteMaxWindowBits: 12,
      memLevel: 8,
      level: 6,
      threshold: 64,
    });
    expect(result.extension.stateless).toBe(false);
    // Firefox: no client_max_window_bits, so the client may use 15 bits.
    expect(agreed(serverDeflateFactory().accept([], [])!.extension).remoteMaxWindowBits).toBe(15);
    // server_no_context_takeover makes the encoder stateless: broadcast can share it.
    const stateless = serverDeflateFactory().accept(p("server_no_context_takeover"), [])!.extension;
    expect(stateless.stateless).toBe(true);
    expect(stateless.sharingKey).toBe(serverDeflateFactory().accept(p("server_no_context_takeover"), [])!.extension.sharingKey);
  });

  it("declines a second permessage-deflate (or anything else on RSV1)", () => {
    const factory = serverDeflateFactory();
    const first = factory.accept([], [])!.extension;
    expect(factory.accept([], [first])).toBeNull();
    const other: MessageExtension = {
      name: "x-other",
      rsvBits: 0x40,
      stateless: true,
      sharingKey: "x",
      decode: (d) => d,
      encode: (d) => d,
      shouldEncode: () => false,
    };
    expect(factory.accept([], [other])).toBeNull();
  });

  it("goes on to the next offer when one is declined", () => {
    // Sec-WebSocket-Extensions: permessage-deflate; x_unknown, permessage-deflate; client_max_window_bits=10, permessage-deflate
    const factory = serverDeflateFactory();
    const offers = [p("x_unknown"), p("client_max_window_bits=10"), p("")];
    const accepted: MessageExtension[] = [];
    const responses: ExtensionParam[][] = [];
    for (const offer of offers) {
      const result = factory.accept(offer, accepted);
      if (result === null) continue;
      accepted.push(result.extension);
      responses.push(result.response);
    }
    expect(responses).toEqual([p("server_max_window_bits=12; client_max_window_bits=10")]);
  });

  it("rejects bad options with a RangeError", () => {
    for (const options of [
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { serverMaxWindowBits: 12.5 },
      { clientMaxWindowBits: 0 },
      { memLevel: 0 },
      { memLevel: 10 },
      { level: 10 },
      { level: -2 },
      { threshold: -1 },
    ]) {
      expect(() => serverDeflateFactory(options)).toThrow(RangeError);
      expect(() => clientDeflateFactory(options)).toThrow(RangeError);
    }
  });
});

describe("client negotiation (RFC 7692 §7.1)", () => {
  it("offers what Chromium offers by default", () => {
    expect(clientDeflateFactory().offers()).toEqual([p("client_max_window_bits")]);
  });

  it("offers each parameter it is given", () => {
    expect(
      clientDeflateFactory({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 9,
      }).offers(),
    ).toEqual([p("server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9")]);
    expect(clientDeflateFactory({ clientMaxWindowBits: false }).offers()).toEqual([[]]);
  });

  // [client options, response, expected agreement (from the client's side); null: handshake fails]
  type Agreement = [localNoCT: boolean, remoteNoCT: boolean, localBits: number, remoteBits: number];
  const vectors: [DeflateOptions, string, Agreement | null][] = [
    // Our compressor's window is at most 12 bits by default (compressionWindowBits),
    // whatever the server allows: a smaller window is always valid for its inflater.
    [{}, "", [false, false, 12, 15]],
    [{ compressionWindowBits: 15 }, "", [false, false, 15, 15]],
    [{}, "server_max_window_bits=12; client_max_window_bits=12", [false, false, 12, 12]],
    [{}, "server_no_context_takeover", [false, true, 12, 15]],
    [{}, "client_no_context_takeover", [true, false, 12, 15]],
    [{}, "client_max_window_bits=8", [false, false, 8, 15]],
    [{}, "server_max_window_bits=8", [false, false, 12, 8]],
    [{}, "SERVER_MAX_WINDOW_BITS=9", [false, false, 12, 9]],
    [{ clientNoContextTakeover: true }, "", [true, false, 12, 15]],
    [{ serverNoContextTakeover: true }, "server_no_context_takeover", [false, true, 12, 15]],
    [{ serverMaxWindowBits: 10 }, "server_max_window_bits=10", [false, false, 12, 10]],
    [{ serverMaxWindowBits: 10 }, "server_max_window_bits=9", [false, false, 12, 9]],
    [{ clientMaxWindowBits: 11 }, "", [false, false, 11, 15]],
    [{ clientMaxWindowBits: 11 }, "client_max_window_bits=11", [false, false, 11, 15]],
    [{ clientMaxWindowBits: 11 }, "client_max_window_bits=9", [false, false, 9, 15]],
    // Not what we offered, or malformed: fail the connection (§5.1).
    [{}, "x_unknown", null],
    [{}, "server_no_context_takeover; server_no_context_takeover", null],
    [{}, "server_no_context_takeover=1", null],
    [{}, "client_no_context_takeover=1", null],
    [{}, "server_max_window_bits", null],
    [{}, "server_max_window_bits=16", null],
    [{}, "server_max_window_bits=09", null],
    [{}, "client_max_window_bits", null], // §7.1.2.2: a response gives a value
    [{}, "client_max_window_bits=7", null],
    [{ clientMaxWindowBits: false }, "client_max_window_bits=10", null], // not offered
    [{ clientMaxWindowBits: 11 }, "client_max_window_bits=12", null], // over what we offered
    [{ serverMaxWindowBits: 10 }, "", null], // limit not accepted
    [{ serverMaxWindowBits: 10 }, "server_max_window_bits=11", null],
    [{ serverNoContextTakeover: true }, "", null],
  ];

  it.each(vectors)("options %j, response %j → %j", (options, response, expected) => {
    const factory = clientDeflateFactory(options);
    if (expected === null) {
      let error: unknown;
      try {
        factory.accept(p(response), []);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidHandshake);
      expect((error as InvalidHandshake).code).toBe("WS_ERR_EXTENSION_NEGOTIATION");
      return;
    }
    const params = agreed(factory.accept(p(response), []));
    expect([params.localNoContextTakeover, params.remoteNoContextTakeover, params.localMaxWindowBits, params.remoteMaxWindowBits]).toEqual(expected);
  });

  it("fails when permessage-deflate was already accepted", () => {
    const factory = clientDeflateFactory();
    const first = factory.accept([], []);
    expect(() => factory.accept([], [first])).toThrow(InvalidHandshake);
  });
});

describe("negotiated pairs", () => {
  const bits = fc.integer({ min: 8, max: 15 });
  const clientOptions = fc.record(
    {
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      serverMaxWindowBits: bits,
      clientMaxWindowBits: fc.oneof(bits, fc.boolean()),
      level: fc.integer({ min: 0, max: 9 }),
      memLevel: fc.integer({ min: 1, max: 9 }),
      threshold: fc.integer({ min: 0, max: 100 }),
    },
    { requiredKeys: [] },
  );
  const serverOptions = clientOptions;
  const WORDS = ["ping", "pong", '{"id":', "17", "}", "caf\u00e9 ", "\u{1f680}", "lorem ipsum ", "\n"];
  // Slices of a small random pool: they match only earlier slices, at any distance.
  let seed = 99;
  const pool = Uint8Array.from({ length: 8 * 1024 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const message = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(fc.nat(pool.length), fc.nat(5000)).map(([start, length]) => ({ text: false, data: pool.slice(start, start + length) })),
    },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...WORDS), { maxLength: 200 }).map((w) => ({ text: true, data: utf8(w.join("")) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((data) => ({ text: false, data })) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 100 }).map((s) => ({ text: true, data: utf8(s) })) },
  );
  const traffic = fc.array(fc.record({ fromClient: fc.boolean(), message }), { maxLength: 20 });

  function negotiate(client: DeflateOptions, server: DeflateOptions) {
    const clientFactory = clientDeflateFactory(client);
    const [offer] = clientFactory.offers();
    const result = serverDeflateFactory(server).accept(offer!, []);
    expect(result).not.toBeNull(); // any offer we make, we accept
    const clientExt = clientFactory.accept(result!.response, []) as PerMessageDeflate;
    return { clientExt, serverExt: result!.extension as PerMessageDeflate };
  }

  it("both ends agree, and every message crosses intact both ways, under every parameter combination", () => {
    fc.assert(
      fc.property(clientOptions, serverOptions, traffic, (client, server, messages) => {
        const { clientExt, serverExt } = negotiate(client, server);
        const c = clientExt.params;
        const s = serverExt.params;
        expect(c.localNoContextTakeover).toBe(s.remoteNoContextTakeover);
        // The client may compress with a smaller window than agreed, never a larger one.
        expect(c.localMaxWindowBits).toBeLessThanOrEqual(s.remoteMaxWindowBits);
        expect([s.localNoContextTakeover, s.localMaxWindowBits]).toEqual([c.remoteNoContextTakeover, c.remoteMaxWindowBits]);
        // What each side asked for, it got.
        if (client.serverNoContextTakeover || server.serverNoContextTakeover) expect(s.localNoContextTakeover).toBe(true);
        if (client.clientNoContextTakeover || server.clientNoContextTakeover) expect(c.localNoContextTakeover).toBe(true);
        if (client.serverMaxWindowBits !== undefined) expect(s.localMaxWindowBits).toBeLessThanOrEqual(client.serverMaxWindowBits);
        if (typeof client.clientMaxWindowBits === "number") expect(c.localMaxWindowBits).toBeLessThanOrEqual(client.clientMaxWindowBits);

        for (const { fromClient, message: m } of messages) {
          const [sender, receiver] = fromClient ? [clientExt, serverExt] : [serverExt, clientExt];
          // The connection skips the codec for messages under the threshold.
          if (!sender.shouldEncode(m.data.length)) continue;
          const decoded = receiver.decode(sender.encode(m.data), m.data.length);
          expect(Buffer.from(decoded)).toEqual(Buffer.from(m.data));
          if (m.text) expect(Buffer.from(decoded).toString("utf8")).toBe(Buffer.from(m.data).toString("utf8"));
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it("the default client and server agree on 12-bit windows with context takeover", () => {
    const { clientExt, serverExt } = negotiate({}, {});
    expect(clientExt.params).toMatchObject({ localMaxWindowBits: 12, remoteMaxWindowBits: 12, localNoContextTakeover: false, remoteNoContextTakeover: false });
    expect(serverExt.params).toMatchObject({ localMaxWindowBits: 12, remoteMaxWindowBits: 12, localNoContextTakeover: false, remoteNoContextTakeover: false });
  });
});

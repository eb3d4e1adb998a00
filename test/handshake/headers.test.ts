import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { InvalidHandshake } from "../../src/errors.js";
import type { ExtensionOffer } from "../../src/extensions/types.js";
import {
  isToken,
  parseExtensionHeader,
  parseSubprotocolHeader,
  parseTokenList,
  serializeExtensionHeader,
  tokenListIncludes,
} from "../../src/handshake/headers.js";
import { refusal } from "./refusal.js";


describe("isToken", () => {
  it.each(["websocket", "permessage-deflate", "a!#$%&'*+-.^_`|~9Z"])("accepts %j", (s) => {
    expect(isToken(s)).toBe(true);
  });
  it.each(["", "a b", "a,b", "a;b", 'a"', "a=b", "a/b", "é", "a\t", "(a)"])("refuses %j", (s) => {
    expect(isToken(s)).toBe(false);
  });
});

describe("parseTokenList", () => {
  it.each([
    ["Upgrade", ["Upgrade"]],
    ["keep-alive, Upgrade", ["keep-alive", "Upgrade"]],
    [" a ,\tb\t, ,, c ", ["a", "b", "c"]],
    ["", []],
    [" , ", []],
    ["websocket/13", ["websocket/13"]],
  ])("splits %j", (value, list) => {
    expect(parseTokenList(value)).toEqual(list);
  });
});

describe("tokenListIncludes", () => {
  it.each([
    ["keep-alive, Upgrade", "upgrade", true],
    ["UPGRADE", "upgrade", true],
    [" ,upgrade\t", "upgrade", true],
    ["upgrades", "upgrade", false],
    ["up grade", "upgrade", false],
    ["", "upgrade", false],
    ["keep-alive", "upgrade", false],
  ])("%j includes %j: %s", (value, token, expected) => {
    expect(tokenListIncludes(value, token)).toBe(expected);
  });
});

describe("parseSubprotocolHeader", () => {
  it("lists the offered subprotocols in order", () => {
    expect(parseSubprotocolHeader("chat, superchat ,v2.json")).toEqual(["chat", "superchat", "v2.json"]);
  });
  it.each(["chat, super chat", "a/b", "chat;q=1"])("refuses %j with 400", (value) => {
    const err = refusal(() => parseSubprotocolHeader(value));
    expect(err.status).toBe(400);
    expect(err.code).toBe("WS_ERR_INVALID_SUBPROTOCOL");
  });
});

describe("parseExtensionHeader", () => {
  it.each<[string, ExtensionOffer[]]>([
    ["permessage-deflate", [{ name: "permessage-deflate", params: [] }]],
    [
      // RFC 7692 §7.1.3 example offer
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
      [
        {
          name: "permessage-deflate",
          params: [
            ["client_max_window_bits", null],
            ["server_max_window_bits", "10"],
          ],
        },
        { name: "permessage-deflate", params: [] },
      ],
    ],
    ['x; a="10"; b = "tok" ;c', [{ name: "x", params: [["a", "10"], ["b", "tok"], ["c", null]] }]],
    ['x; a="\\1\\0"', [{ name: "x", params: [["a", "10"]] }]],
    [" , a ,, b;c=d , ", [{ name: "a", params: [] }, { name: "b", params: [["c", "d"]] }]],
  ])("parses %j", (value, offers) => {
    expect(parseExtensionHeader(value)).toEqual(offers);
  });

  it.each([
    ["an empty value", ""],
    ["only commas", " , ,"],
    ["a missing name", "; a=1"],
    ["a missing parameter name", "x; =1"],
    ["a missing value", "x; a="],
    ["a trailing semicolon", "x;"],
    ["two names without a comma", "x y"],
    ["a value that is not a token", "x; a=b/c"],
    ["a quoted value that is not a token", 'x; a="b c"'],
    ["an empty quoted value", 'x; a=""'],
    ["an unterminated quoted-string", 'x; a="10'],
    ["an escaped quote", 'x; a="1\\"0"'],
    ["a name that is not a token", "x/y"],
    ["a stray character", "x; a=1 ?"],
  ])("refuses %s with 400", (_, value) => {
    const err = refusal(() => parseExtensionHeader(value));
    expect(err.status).toBe(400);
    expect(err.code).toBe("WS_ERR_INVALID_EXTENSION");
  });

  it("never throws anything but InvalidHandshake on arbitrary strings", () => {
    const piece = fc.oneof(
      fc.constantFrom(";", ",", "=", '"', "\\", " ", "\t", "x", "permessage-deflate", "10", "é", "\r\n"),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(piece, { maxLength: 20 }).map((p) => p.join(""))), (value) => {
        try {
          const offers = parseExtensionHeader(value);
          // Whatever parses has the shape the grammar promises.
          expect(offers.length).toBeGreaterThan(0);
          for (const { name, params } of offers) {
            expect(isToken(name)).toBe(true);
            for (const [k, v] of params) expect(isToken(k) && (v === null || isToken(v))).toBe(true);
          }
        } catch (err) {
          if (!(err instanceof InvalidHandshake)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("serializeExtensionHeader", () => {
  it("writes offers and parameters in order", () => {
    const value = serializeExtensionHeader([
      { name: "permessage-deflate", params: [["client_max_window_bits", null], ["server_max_window_bits", "10"]] },
      { name: "x", params: [] },
    ]);
    expect(value).toBe("permessage-deflate; client_max_window_bits; server_max_window_bits=10, x");
  });

  it.each<[string, ExtensionOffer]>([
    ["a name", { name: "a b", params: [] }],
    ["a parameter name", { name: "a", params: [["b;c", null]] }],
    ["a value", { name: "a", params: [["b", "1,2"]] }],
  ])("throws TypeError when %s is not a token", (_, offer) => {
    expect(() => serializeExtensionHeader([offer])).toThrow(TypeError);
  });

  it("round-trips through parseExtensionHeader", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,10}$/);
    const offer = fc.record({
      name: token,
      params: fc.array(fc.tuple(token, fc.option(token, { nil: null })), { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(offer, { minLength: 1, maxLength: 4 }), (offers) => {
        expect(parseExtensionHeader(serializeExtensionHeader(offers))).toEqual(offers);
      }),
    );
  });
});

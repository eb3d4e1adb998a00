import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidState, ProtocolError } from "../../src/errors.js";
import {
  CLOSE_NO_STATUS,
  MAX_CLOSE_REASON_BYTES,
  isValidCloseCode,
  parseClosePayload,
  serializeClosePayload,
} from "../../src/frame/close.js";

const hex = (s: string) => Uint8Array.from(s.split(" ").filter(Boolean).map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Run `f`, expecting a ProtocolError; return it. */
function protocolError(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error("expected a ProtocolError");
}

const VALID_CODES = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3001, 3999, 4000, 4321, 4999,
];
const INVALID_CODES = [
  0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 5001, 65535, -1, 1000.5, NaN, Infinity,
];

// Payloads asserted both ways: parse gives the info, serializing the info gives the payload.
const VECTORS: Array<[string, number, string]> = [
  ["03 e8", 1000, ""],
  ["03 e9 62 79 65", 1001, "bye"],
  ["03 ea", 1002, ""],
  ["03 ef", 1007, ""],
  ["03 f3", 1011, ""],
  ["03 f6", 1014, ""],
  ["0b b8", 3000, ""],
  ["0f a0 6f 6b", 4000, "ok"],
  ["13 87", 4999, ""],
  ["03 e8 e2 82 ac", 1000, "€"],
  ["03 e8 f0 9f 98 80", 1000, "😀"],
  ["03 e8 ef bb bf 78", 1000, "\ufeffx"], // a leading BOM is kept, not eaten by the decoder
  ["03 e8 00", 1000, "\0"],
];

describe("close payload vectors (parse then serialize)", () => {
  for (const [payloadHex, code, reason] of VECTORS) {
    it(`${payloadHex} ↔ ${code} ${JSON.stringify(reason)}`, () => {
      expect(parseClosePayload(hex(payloadHex))).toEqual({ code, reason });
      expect(toHex(serializeClosePayload(code, reason))).toBe(payloadHex);
    });
  }

  it("empty payload ↔ 1005 (no status received)", () => {
    expect(parseClosePayload(new Uint8Array(0))).toEqual({ code: 1005, reason: "" });
    expect(CLOSE_NO_STATUS).toBe(1005);
    expect(serializeClosePayload().length).toBe(0);
    expect(serializeClosePayload(undefined).length).toBe(0);
    expect(serializeClosePayload(1005).length).toBe(0);
    expect(serializeClosePayload(1005, "").length).toBe(0);
  });
});

describe("isValidCloseCode", () => {
  it.each(VALID_CODES)("allows %d on the wire", (code) => {
    expect(isValidCloseCode(code)).toBe(true);
  });

  it.each(INVALID_CODES)("refuses %d on the wire", (code) => {
    expect(isValidCloseCode(code)).toBe(false);
  });

  it("matches the ranges over the whole 16-bit space", () => {
    let allowed = 0;
    for (let code = 0; code <= 0xffff; code++) {
      const inRange = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      expect(isValidCloseCode(code)).toBe(inRange);
      if (inRange) allowed++;
    }
    expect(allowed).toBe(4 + 8 + 2000);
  });
});

describe("parseClosePayload", () => {
  it("accepts every valid code", () => {
    for (const code of VALID_CODES) {
      expect(parseClosePayload(Uint8Array.of(code >> 8, code & 0xff))).toEqual({ code, reason: "" });
    }
  });

  it("refuses every code not allowed on the wire with 1002, over the whole 16-bit space", () => {
    for (let code = 0; code <= 0xffff; code++) {
      if (isValidCloseCode(code)) continue;
      const e = protocolError(() => parseClosePayload(Uint8Array.of(code >> 8, code & 0xff, 0x61)));
      expect(e.closeCode).toBe(1002);
      expect(e.code).toBe("WS_ERR_INVALID_CLOSE_CODE");
    }
  });

  it("refuses a 1-byte payload with 1002", () => {
    const e = protocolError(() => parseClosePayload(Uint8Array.of(0x03)));
    expect(e.closeCode).toBe(1002);
    expect(e.code).toBe("WS_ERR_INVALID_CLOSE_PAYLOAD");
  });

  it("accepts a 125-byte payload (123-byte reason) and refuses 126 with 1002", () => {
    const ok = new Uint8Array(125).fill(0x61);
    ok.set([0x03, 0xe8]);
    expect(parseClosePayload(ok)).toEqual({ code: 1000, reason: "a".repeat(123) });
    const tooLong = new Uint8Array(126).fill(0x61);
    tooLong.set([0x03, 0xe8]);
    expect(protocolError(() => parseClosePayload(tooLong)).closeCode).toBe(1002);
  });

  it.each([
    ["03 e8 ff", "a byte never valid"],
    ["03 e8 e2 82", "a truncated code point"],
    ["03 e8 ed a0 80", "a surrogate"],
    ["03 e8 c0 80", "an overlong NUL"],
    ["03 e8 f4 90 80 80", "past U+10FFFF"],
    ["03 e8 ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64", "valid text, then a surrogate"],
  ])("refuses a reason that is not UTF-8 (%s: %s) with 1007", (payloadHex) => {
    const e = protocolError(() => parseClosePayload(hex(payloadHex)));
    expect(e.closeCode).toBe(1007);
    expect(e.code).toBe("WS_ERR_INVALID_UTF8");
  });

  it("checks the code before the reason", () => {
    expect(protocolError(() => parseClosePayload(hex("03 ed ff"))).closeCode).toBe(1002);
  });

  it("reads a view at any offset of a larger buffer", () => {
    const backing = hex("ff ff 03 e9 68 69 ff");
    expect(parseClosePayload(backing.subarray(2, 6))).toEqual({ code: 1001, reason: "hi" });
  });
});

describe("serializeClosePayload", () => {
  it.each(VALID_CODES)("writes code %d big-endian", (code) => {
    const payload = serializeClosePayload(code);
    expect([...payload]).toEqual([code >> 8, code & 0xff]);
  });

  it.each(INVALID_CODES.filter((c) => c !== 1005))("refuses code %d with InvalidState", (code) => {
    expect(() => serializeClosePayload(code, "x")).toThrow(InvalidState);
    expect(() => serializeClosePayload(code)).toThrow(InvalidState);
  });

  it("takes a 123-byte reason and refuses 124", () => {
    expect(MAX_CLOSE_REASON_BYTES).toBe(123);
    expect(serializeClosePayload(1000, "a".repeat(123)).length).toBe(125);
    expect(() => serializeClosePayload(1000, "a".repeat(124))).toThrow(InvalidState);
    expect(() => serializeClosePayload(1000, "a".repeat(10_000))).toThrow(InvalidState);
  });

  it("counts the reason in UTF-8 bytes, not characters", () => {
    const euros = "€".repeat(41); // 41 × 3 = 123 bytes
    expect(serializeClosePayload(1000, euros).length).toBe(125);
    expect(() => serializeClosePayload(1000, `${euros}a`)).toThrow(InvalidState); // 124
    expect(() => serializeClosePayload(1000, `${"a".repeat(121)}€`)).toThrow(InvalidState); // 124, split char
    expect(serializeClosePayload(1000, `${"a".repeat(119)}😀`).length).toBe(125); // 123 with a 4-byte char
    expect(() => serializeClosePayload(1000, `${"a".repeat(120)}😀`)).toThrow(InvalidState); // 124
  });

  it("refuses a reason without a code", () => {
    expect(() => serializeClosePayload(undefined, "bye")).toThrow(InvalidState);
    expect(() => serializeClosePayload(1005, "bye")).toThrow(InvalidState);
  });

  it("encodes a lone surrogate as U+FFFD, as any UTF-8 encoder does", () => {
    expect(toHex(serializeClosePayload(1000, "\ud800"))).toBe("03 e8 ef bf bd");
  });

  it("round-trips any valid code and any reason up to 123 bytes", () => {
    const encoder = new TextEncoder();
    const code = fc.oneof(fc.constantFrom(...VALID_CODES), fc.integer({ min: 3000, max: 4999 }));
    const reason = fc
      .string({ unit: "binary", maxLength: 123 })
      .filter((s) => encoder.encode(s).length <= MAX_CLOSE_REASON_BYTES);
    fc.assert(
      fc.property(code, reason, (c, r) => {
        const payload = serializeClosePayload(c, r);
        expect(payload.length).toBe(2 + encoder.encode(r).length);
        expect(parseClosePayload(payload)).toEqual({ code: c, reason: r });
      }),
    );
  });

  it("refuses any reason over 123 bytes", () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 31, maxLength: 200 }), (r) => {
        fc.pre(encoder.encode(r).length > MAX_CLOSE_REASON_BYTES);
        expect(() => serializeClosePayload(1000, r)).toThrow(InvalidState);
      }),
    );
  });
});

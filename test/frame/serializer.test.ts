import { describe, expect, it } from "vitest";
import { InvalidState } from "../../src/errors.js";
import { MERGE_THRESHOLD, frameHeaderSize, serializeFrame } from "../../src/frame/serializer.js";
import { toHex, vectors } from "./vectors.js";

describe("serializeFrame: vectors", () => {
  for (const v of vectors) {
    it(v.name, () => {
      const key = v.key ? Uint8Array.from(v.key) : null;
      const payload = Uint8Array.from(v.payload);
      const out = serializeFrame(v.opcode, payload, { fin: v.fin, rsv: v.rsv, mask: key ? () => key : null });
      expect(toHex(out)).toBe(v.hex);
      // The caller's payload is never modified (masking writes into a new buffer).
      expect(Buffer.from(payload).equals(Buffer.from(v.payload))).toBe(true);
    });
  }
});

describe("serializeFrame: layout", () => {
  it("returns header and payload apart for large unmasked payloads (no copy)", () => {
    const payload = new Uint8Array(MERGE_THRESHOLD + 1);
    const out = serializeFrame(2, payload);
    expect(out).toHaveLength(2);
    expect(out[1]).toBe(payload);
    expect(out[0]!.length).toBe(4);
  });

  it("returns one buffer for small payloads", () => {
    const out = serializeFrame(1, new Uint8Array(10));
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(12);
  });

  it("uses the minimal length encoding", () => {
    expect(frameHeaderSize(125, false)).toBe(2);
    expect(frameHeaderSize(126, false)).toBe(4);
    expect(frameHeaderSize(65535, false)).toBe(4);
    expect(frameHeaderSize(65536, true)).toBe(14);
  });

  it("encodes lengths above 4 GiB in the 64-bit field", () => {
    // A fake payload: only .length is read for the header of a large unmasked frame.
    const fake = { length: 2 ** 32 + 5 } as Uint8Array;
    const [header] = serializeFrame(2, fake);
    expect(toHex(header!)).toBe("827f0000000100000005");
  });

  it("refuses control frames that break §5.5 (a local error)", () => {
    expect(() => serializeFrame(9, new Uint8Array(126))).toThrow(InvalidState);
    expect(() => serializeFrame(8, new Uint8Array(0), { fin: false })).toThrow(InvalidState);
  });
});

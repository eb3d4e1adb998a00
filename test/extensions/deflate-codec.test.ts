/**
 * The PerMessageDeflate codec (RFC 7692) on whole messages: its history
 * window, the RFC's §7.2.3 examples, round trips under every parameter set
 * (checked against a DEFLATE decoder of our own for window sizes), zlib
 * interop, bad input and parameter checks. Fragments and the streaming
 * decoder are in deflate-codec-fragments.test.ts.
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PayloadTooBig, ProtocolError } from "../../src/errors.js";
import { HistoryWindow, PerMessageDeflate } from "../../src/extensions/deflate-codec.js";
import { StreamDeflater, StreamInflater, TAIL, message, messages, params, peerOf, utf8, windowBits } from "./deflate-fixtures.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// ---------------------------------------------------------------------------
// A small DEFLATE (RFC 1951) decoder written for these tests, independent of
// zlib: it reports the largest back-reference distance, which is what the
// window-bits rules are about.

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Canonical Huffman code (RFC 1951 §3.2.2) as a map from (length, code) to symbol. */
function huffman(lengths: number[]): Map<number, number> {
  const count = new Array<number>(16).fill(0);
  for (const l of lengths) if (l > 0) count[l]!++;
  const next = new Array<number>(16).fill(0);
  let code = 0;
  for (let bits = 1; bits < 16; bits++) {
    code = (code + count[bits - 1]!) << 1;
    next[bits] = code;
  }
  const table = new Map<number, number>();
  lengths.forEach((l, symbol) => {
    if (l > 0) table.set((l << 16) | next[l]!++, symbol);
  });
  return table;
}

function inspectDeflate(data: Uint8Array, dictionary: Uint8Array = new Uint8Array(0)) {
  let pos = 0;
  let bit = 0;
  const readBit = () => {
    if (pos >= data.length) throw new Error("truncated DEFLATE data");
    const b = (data[pos]! >> bit) & 1;
    if (++bit === 8) (bit = 0), pos++;
    return b;
  };
  const readBits = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v |= readBit() << i;
    return v;
  };
  const readSymbol = (table: Map<number, number>) => {
    let code = 0;
    for (let len = 1; len < 16; len++) {
      code = (code << 1) | readBit();
      const symbol = table.get((len << 16) | code);
      if (symbol !== undefined) return symbol;
    }
    throw new Error("bad Huffman code");
  };
  let out = new Uint8Array(Math.max(1024, dictionary.length * 2));
  out.set(dictionary);
  let size = dictionary.length;
  const push = (byte: number) => {
    if (size === out.length) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[size++] = byte;
  };
  let maxDistance = 0;
  let final = false;
  while (!final && !(pos === data.length && bit === 0)) {
    final = readBit() === 1;
    const type = readBits(2);
    if (type === 0) {
      if (bit !== 0) (bit = 0), pos++;
      const len = data[pos]! | (data[pos + 1]! << 8);
      if ((len ^ 0xffff) !== (data[pos + 2]! | (data[pos + 3]! << 8))) throw new Error("bad stored length");
      pos += 4;
      if (pos + len > data.length) throw new Error("truncated stored block");
      for (let i = 0; i < len; i++) push(data[pos + i]!);
      pos += len;
      continue;
    }
    let lit: Map<number, number>;
    let dist: Map<number, number>;
    if (type === 1) {
      lit = huffman([...Array<number>(144).fill(8), ...Array<number>(112).fill(9), ...Array<number>(24).fill(7), ...Array<number>(8).fill(8)]);
      dist = huffman(Array<number>(30).fill(5));
    } else if (type === 2) {
      const hlit = readBits(5) + 257;
      const hdist = readBits(5) + 1;
      const hclen = readBits(4) + 4;
      const clen = new Array<number>(19).fill(0);
      for (let i = 0; i < hclen; i++) clen[CLEN_ORDER[i]!] = readBits(3);
      const clenTable = huffman(clen);
      const lengths: number[] = [];
      while (lengths.length < hlit + hdist) {
        const sym = readSymbol(clenTable);
        if (sym < 16) lengths.push(sym);
        else if (sym === 16) lengths.push(...Array<number>(3 + readBits(2)).fill(lengths[lengths.length - 1]!));
        else if (sym === 17) lengths.push(...Array<number>(3 + readBits(3)).fill(0));
        else lengths.push(...Array<number>(11 + readBits(7)).fill(0));
      }
      lit = huffman(lengths.slice(0, hlit));
      dist = huffman(lengths.slice(hlit));
    } else {
      throw new Error("bad block type");
    }
    for (;;) {
      const sym = readSymbol(lit);
      if (sym < 256) push(sym);
      else if (sym === 256) break;
      else {
        const length = LENGTH_BASE[sym - 257]! + readBits(LENGTH_EXTRA[sym - 257]!);
        const dsym = readSymbol(dist);
        const distance = DIST_BASE[dsym]! + readBits(DIST_EXTRA[dsym]!);
        if (distance > size) throw new Error("distance too far back");
        maxDistance = Math.max(maxDistance, distance);
        for (let i = 0; i < length; i++) push(out[size - distance]!);
      }
    }
  }
  return { output: out.slice(dictionary.length, size), maxDistance, final };
}

describe("HistoryWindow", () => {
  it("holds the last `capacity` bytes of everything appended", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.uint8Array({ maxLength: 7000 }), { maxLength: 20 }), (capacity, chunks) => {
        const window = new HistoryWindow(capacity);
        let all = Buffer.alloc(0);
        for (const chunk of chunks) {
          window.append(chunk);
          all = Buffer.concat([all, chunk]);
          const expected = all.subarray(Math.max(0, all.length - capacity));
          expect(Buffer.from(window.view())).toEqual(expected);
          expect(window.length).toBe(expected.length);
          expect(window.retainedBytes).toBeLessThanOrEqual(Math.max(capacity, 0));
        }
      }),
    );
  });

  it("grows on demand and releases its buffer on clear", () => {
    const window = new HistoryWindow(32768);
    expect(window.retainedBytes).toBe(0);
    window.append(new Uint8Array(10));
    expect(window.retainedBytes).toBe(1024);
    window.append(new Uint8Array(40000));
    expect(window.retainedBytes).toBe(32768);
    window.clear();
    expect(window.retainedBytes).toBe(0);
    expect(window.length).toBe(0);
  });
});

describe("PerMessageDeflate codec: RFC 7692 §7.2.3 examples", () => {
  it("§7.2.3.1: 'Hello' compresses to f2 48 cd c9 c9 07 00 (the 00 00 ff ff tail removed)", () => {
    const codec = new PerMessageDeflate(params());
    expect(Buffer.from(codec.encode(utf8("Hello")))).toEqual(hex("f2 48 cd c9 c9 07 00"));
  });

  it("§7.2.3.2: with context takeover the second 'Hello' is f2 00 11 00 00", () => {
    const sender = new PerMessageDeflate(params());
    sender.encode(utf8("Hello"));
    expect(Buffer.from(sender.encode(utf8("Hello")))).toEqual(hex("f2 00 11 00 00"));
    const receiver = new PerMessageDeflate(params());
    expect(Buffer.from(receiver.decode(hex("f2 48 cd c9 c9 07 00"), 1000)).toString()).toBe("Hello");
    expect(Buffer.from(receiver.decode(hex("f2 00 11 00 00"), 1000)).toString()).toBe("Hello");
  });

  it("§7.2.3.2: without context takeover the second 'Hello' is compressed alone", () => {
    const sender = new PerMessageDeflate(params({ localNoContextTakeover: true }));
    expect(Buffer.from(sender.encode(utf8("Hello")))).toEqual(hex("f2 48 cd c9 c9 07 00"));
    expect(Buffer.from(sender.encode(utf8("Hello")))).toEqual(hex("f2 48 cd c9 c9 07 00"));
  });

  it("§7.2.3.3: a stored (uncompressed) DEFLATE block decodes", () => {
    const codec = new PerMessageDeflate(params());
    expect(Buffer.from(codec.decode(hex("00 05 00 fa ff 48 65 6c 6c 6f 00"), 1000)).toString()).toBe("Hello");
  });

  it("§7.2.3.4: a block with BFINAL set to 1 decodes, and the context carries on", () => {
    const codec = new PerMessageDeflate(params());
    expect(Buffer.from(codec.decode(hex("f3 48 cd c9 c9 07 00 00"), 1000)).toString()).toBe("Hello");
    // The next message refers back to the first one (distance 5).
    expect(Buffer.from(codec.decode(hex("f2 00 11 00 00"), 1000)).toString()).toBe("Hello");
  });

  it("§7.2.3.6: the empty message is one 0x00 octet and round-trips; an empty payload decodes to nothing", () => {
    const codec = new PerMessageDeflate(params());
    const encoded = codec.encode(new Uint8Array(0));
    expect(Buffer.from(encoded)).toEqual(hex("00"));
    expect(new PerMessageDeflate(params()).decode(encoded, 0)).toHaveLength(0);
    expect(new PerMessageDeflate(params()).decode(new Uint8Array(0), 0)).toHaveLength(0);
  });
});

describe("PerMessageDeflate codec: round trips", () => {
  it("encode strips exactly the 00 00 ff ff that zlib's sync flush leaves", () => {
    fc.assert(
      fc.property(message, windowBits, (m, bits) => {
        const codec = new PerMessageDeflate(params({ localNoContextTakeover: true, localMaxWindowBits: bits }));
        const encoded = codec.encode(m);
        const full = zlib.deflateRawSync(m, { windowBits: Math.max(9, bits), memLevel: 8, level: 6, finishFlush: zlib.constants.Z_SYNC_FLUSH });
        expect(Buffer.concat([encoded, TAIL])).toEqual(full);
      }),
      { numRuns: 50 },
    );
  });

  it("decode(encode(m)) = m for any sequence, context takeover on or off, window bits 8..15", () => {
    fc.assert(
      fc.property(messages, windowBits, fc.boolean(), fc.integer({ min: 0, max: 9 }), (msgs, bits, noTakeover, level) => {
        const p = params({ localNoContextTakeover: noTakeover, localMaxWindowBits: bits, level });
        const sender = new PerMessageDeflate(p);
        const receiver = new PerMessageDeflate(peerOf(p));
        for (const m of msgs) expect(Buffer.from(receiver.decode(sender.encode(m), m.length))).toEqual(Buffer.from(m));
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it("no back-reference goes further than the negotiated window, into earlier messages included (window 8 too)", () => {
    fc.assert(
      fc.property(messages, windowBits, (msgs, bits) => {
        const sender = new PerMessageDeflate(params({ localMaxWindowBits: bits }));
        let history = Buffer.alloc(0);
        for (const m of msgs) {
          const encoded = Buffer.concat([sender.encode(m), TAIL]);
          const dictionary = history.subarray(Math.max(0, history.length - (1 << bits)));
          const { output, maxDistance } = inspectDeflate(encoded, dictionary);
          expect(Buffer.from(output)).toEqual(Buffer.from(m));
          expect(maxDistance).toBeLessThanOrEqual(1 << bits);
          history = Buffer.concat([history, m]);
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("zlib's 'windowBits 8' (really 9) never refers more than 250 bytes back: valid for a 256-byte window", () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const block = (n: number) => Buffer.from(Array.from({ length: n }, random));
    const at = (bits: number, n: number) => {
      const b = block(n);
      const encoded = Buffer.concat([new PerMessageDeflate(params({ localMaxWindowBits: bits })).encode(Buffer.concat([b, b])), TAIL]);
      return inspectDeflate(encoded).maxDistance;
    };
    expect(at(8, 240)).toBe(240); // the repeat is found...
    expect(at(8, 300)).toBeLessThanOrEqual(250); // ...not beyond 250 bytes
    expect(at(9, 240)).toBe(240);
    expect(at(15, 30000)).toBe(30000); // the scanner does see long distances
  });

  it("without context takeover, messages never refer to earlier ones", () => {
    fc.assert(
      fc.property(messages, windowBits, (msgs, bits) => {
        const sender = new PerMessageDeflate(params({ localNoContextTakeover: true, localMaxWindowBits: bits }));
        for (const m of msgs) expect(Buffer.from(inspectDeflate(Buffer.concat([sender.encode(m), TAIL])).output)).toEqual(Buffer.from(m));
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it("stateless encoders give the same bytes for the same message (broadcast shares them)", () => {
    const a = new PerMessageDeflate(params({ localNoContextTakeover: true, localMaxWindowBits: 12 }));
    const b = new PerMessageDeflate(params({ localNoContextTakeover: true, localMaxWindowBits: 12 }));
    expect(a.stateless).toBe(true);
    expect(a.sharingKey).toBe(b.sharingKey);
    a.encode(utf8("warm-up message that b never sees"));
    const m = utf8('{"type":"tick","n":1}'.repeat(10));
    expect(Buffer.from(a.encode(m))).toEqual(Buffer.from(b.encode(m)));
    const c = new PerMessageDeflate(params({ localMaxWindowBits: 12 }));
    expect(c.stateless).toBe(false);
    expect(c.sharingKey).not.toBe(a.sharingKey);
    expect(new PerMessageDeflate(params({ localNoContextTakeover: true, localMaxWindowBits: 10 })).sharingKey).not.toBe(a.sharingKey);
  });

  it("shouldEncode applies the threshold", () => {
    const codec = new PerMessageDeflate(params({ threshold: 64 }));
    expect(codec.shouldEncode(63)).toBe(false);
    expect(codec.shouldEncode(64)).toBe(true);
  });

  it("retains at most 2^bits per direction with context takeover, nothing without, nothing after dispose", () => {
    const big = utf8("x".repeat(100_000));
    const withTakeover = new PerMessageDeflate(params({ localMaxWindowBits: 12, remoteMaxWindowBits: 10 }));
    withTakeover.decode(new PerMessageDeflate(params({ localMaxWindowBits: 10 })).encode(big), big.length);
    withTakeover.encode(big);
    expect(withTakeover.retainedBytes).toBe(4096 + 1024);
    withTakeover.dispose();
    expect(withTakeover.retainedBytes).toBe(0);
    const without = new PerMessageDeflate(params({ localNoContextTakeover: true, remoteNoContextTakeover: true }));
    without.decode(new PerMessageDeflate(params()).encode(big), big.length);
    without.encode(big);
    expect(without.retainedBytes).toBe(0);
  });
});

describe("PerMessageDeflate codec: interoperability with persistent zlib streams", () => {
  it("decodes, in sequence, what one persistent createDeflateRaw + Z_SYNC_FLUSH produces (ws, browsers)", async () => {
    await fc.assert(
      fc.asyncProperty(messages, fc.integer({ min: 9, max: 15 }), async (msgs, bits) => {
        const deflater = new StreamDeflater(bits);
        const receiver = new PerMessageDeflate(params({ remoteMaxWindowBits: bits }));
        try {
          for (const m of msgs) {
            const payload = await deflater.compress(m);
            expect(Buffer.from(receiver.decode(payload, m.length))).toEqual(Buffer.from(m));
          }
        } finally {
          deflater.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it("what it encodes with context takeover inflates through one persistent createInflateRaw", async () => {
    await fc.assert(
      fc.asyncProperty(messages, windowBits, async (msgs, bits) => {
        const sender = new PerMessageDeflate(params({ localMaxWindowBits: bits }));
        const inflater = new StreamInflater(bits);
        try {
          for (const m of msgs) expect(await inflater.decompress(sender.encode(m))).toEqual(Buffer.from(m));
        } finally {
          inflater.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe("PerMessageDeflate codec: bad input", () => {
  /** 100 MiB of zeros, compressed without ever holding them in memory. */
  async function zipBomb(): Promise<Buffer> {
    const deflater = zlib.createDeflateRaw({ level: 9 });
    const chunks: Buffer[] = [];
    deflater.on("data", (c: Buffer) => chunks.push(c));
    const mib = Buffer.alloc(1 << 20);
    for (let i = 0; i < 100; i++) deflater.write(mib);
    await new Promise<void>((resolve) => deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    deflater.close();
    const out = Buffer.concat(chunks);
    return out.subarray(0, out.length - 4);
  }

  it("a payload that inflates to 100 MiB fails with PayloadTooBig at maxSize 1 MiB without allocating it", async () => {
    const bomb = await zipBomb();
    expect(bomb.length).toBeLessThan(110_000); // DEFLATE's best ratio is about 1:1032
    for (const p of [params(), params({ remoteNoContextTakeover: true })]) {
      const codec = new PerMessageDeflate(p);
      codec.decode(new PerMessageDeflate(params()).encode(utf8("some history")), 100);
      const before = process.memoryUsage().rss;
      expect(() => codec.decode(bomb, 1 << 20)).toThrow(PayloadTooBig);
      expect(process.memoryUsage().rss - before).toBeLessThan(20 << 20);
    }
  });

  it("a 1 KiB frame of zeros (~1 MiB inflated) fails with close code 1009 over a 64 KiB limit", () => {
    const payload = new PerMessageDeflate(params({ level: 9 })).encode(new Uint8Array(1 << 20));
    expect(payload.length).toBeLessThan(1100);
    const error = captureError(() => new PerMessageDeflate(params()).decode(payload, 65536));
    expect(error).toBeInstanceOf(PayloadTooBig);
    expect((error as PayloadTooBig).closeCode).toBe(1009);
  });

  it("the limit is inclusive: exactly maxSize passes, one byte less fails (0 too)", () => {
    const m = utf8("abc".repeat(1000));
    const payload = new PerMessageDeflate(params()).encode(m);
    expect(new PerMessageDeflate(params()).decode(payload, m.length)).toHaveLength(m.length);
    expect(() => new PerMessageDeflate(params()).decode(payload, m.length - 1)).toThrow(PayloadTooBig);
    expect(() => new PerMessageDeflate(params()).decode(new PerMessageDeflate(params()).encode(utf8("a")), 0)).toThrow(PayloadTooBig);
    // Any limit beyond what a Buffer may hold means "no limit".
    expect(new PerMessageDeflate(params()).decode(payload, Number.MAX_SAFE_INTEGER)).toHaveLength(m.length);
  });

  it("corrupt data fails with ProtocolError, close code 1007", () => {
    for (const bad of [hex("ff ff ff ff"), hex("07"), hex("f2 00 11 00 00")]) {
      // f2 00 11 00 00 refers 5 bytes back: invalid in a first message.
      const error = captureError(() => new PerMessageDeflate(params()).decode(bad, 1 << 20));
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error).not.toBeInstanceOf(PayloadTooBig);
      expect((error as ProtocolError).closeCode).toBe(1007);
    }
  });

  it("a back-reference into earlier messages is invalid when the peer agreed to no context takeover", () => {
    const receiver = new PerMessageDeflate(params({ remoteNoContextTakeover: true }));
    receiver.decode(hex("f2 48 cd c9 c9 07 00"), 100);
    expect(() => receiver.decode(hex("f2 00 11 00 00"), 100)).toThrow(ProtocolError);
  });

  it("random bytes never throw anything but ProtocolError (1007) or PayloadTooBig", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (payloads, noTakeover) => {
        const codec = new PerMessageDeflate(params({ remoteNoContextTakeover: noTakeover }));
        for (const payload of payloads) {
          try {
            codec.decode(payload, 4096);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtocolError);
            const code = (error as ProtocolError).closeCode;
            expect(code === 1007 || (error instanceof PayloadTooBig && code === 1009)).toBe(true);
            return;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("PerMessageDeflate codec: parameters", () => {
  it("rejects parameters out of range", () => {
    for (const bad of [
      { localMaxWindowBits: 7 },
      { remoteMaxWindowBits: 16 },
      { memLevel: 0 },
      { level: 10 },
      { threshold: -1 },
      { threshold: 1.5 },
    ]) {
      expect(() => new PerMessageDeflate(params(bad))).toThrow(RangeError);
    }
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.js";
import { FrameParser, type FrameSink } from "../../src/frame/parser.js";
import { serializeFrame } from "../../src/frame/serializer.js";
import { parseChunks, RecordingSink, TargetSink } from "./sink.js";
import { fromHex, vectors } from "./vectors.js";

const bothWays = { expectMasked: false, allowedRsv: 0x40 };

function parseOne(hex: string, expectMasked: boolean, allowedRsv = 0) {
  return parseChunks(fromHex(hex), [], { expectMasked, allowedRsv });
}

function parseError(hex: string, expectMasked: boolean, allowedRsv = 0): ProtocolError {
  try {
    parseOne(hex, expectMasked, allowedRsv);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error("no error");
}

describe("FrameParser: vectors", () => {
  for (const v of vectors) {
    it(v.name, () => {
      const frames = parseOne(v.hex, v.key !== undefined, 0x40);
      expect(frames).toHaveLength(1);
      const f = frames[0]!;
      expect(f.fin).toBe(v.fin);
      expect(f.rsv).toBe(v.rsv);
      expect(f.opcode).toBe(v.opcode);
      expect(f.length).toBe(v.payload.length);
      expect(Buffer.from(f.payload).equals(Buffer.from(v.payload))).toBe(true);
    });
  }

  it("parses several frames from one chunk, in order", () => {
    const hex = vectors[2]!.hex + vectors[4]!.hex + vectors[3]!.hex;
    const frames = parseOne(hex, false);
    expect(frames.map((f) => f.opcode)).toEqual([1, 9, 0]);
    expect(Buffer.concat([frames[0]!.payload, frames[2]!.payload]).toString()).toBe("Hello");
  });

  it("delivers a frame inside one chunk as one zero-copy view, unmasked in place", () => {
    const chunk = fromHex("818537fa213d7f9f4d5158");
    const seen: Uint8Array[] = [];
    const sink: FrameSink = { onFrameStart() {}, onPayload: (d) => seen.push(d), onFrameEnd() {} };
    new FrameParser(sink, { expectMasked: true }).push(chunk);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.buffer).toBe(chunk.buffer);
    expect(seen[0]!.byteOffset).toBe(chunk.byteOffset + 6);
    expect(Buffer.from(chunk.subarray(6)).toString()).toBe("Hello");
  });

  it("reports a frame split across chunks as one piece per chunk", () => {
    const bytes = fromHex(vectors[6]!.hex); // 256-byte payload
    const frames = parseChunks(bytes, [2, 4, 100, 200], { expectMasked: false });
    expect(frames[0]!.pieces).toBe(3);
    expect(frames[0]!.payload.length).toBe(256);
  });
});

describe("FrameParser: RFC 6455 §5 rules (close code 1002)", () => {
  const cases: [string, string, boolean, number, string][] = [
    ["RSV1 without an extension", "c100", false, 0, "WS_ERR_UNEXPECTED_RSV"],
    ["RSV2", "a100", false, 0x40, "WS_ERR_UNEXPECTED_RSV"],
    ["RSV3", "9100", false, 0x40, "WS_ERR_UNEXPECTED_RSV"],
    ["opcode 0x3", "8300", false, 0, "WS_ERR_INVALID_OPCODE"],
    ["opcode 0x7", "8700", false, 0, "WS_ERR_INVALID_OPCODE"],
    ["opcode 0xB", "8b00", false, 0, "WS_ERR_INVALID_OPCODE"],
    ["opcode 0xF", "8f00", false, 0, "WS_ERR_INVALID_OPCODE"],
    ["fragmented ping", "0900", false, 0, "WS_ERR_FRAGMENTED_CONTROL"],
    ["fragmented close", "0800", false, 0, "WS_ERR_FRAGMENTED_CONTROL"],
    ["ping of 126 bytes", "897e007e" + "00".repeat(126), false, 0, "WS_ERR_CONTROL_TOO_LONG"],
    ["unmasked frame to a server", "8100", true, 0, "WS_ERR_EXPECTED_MASK"],
    ["masked frame to a client", "818000000000", false, 0, "WS_ERR_UNEXPECTED_MASK"],
    ["64-bit length with the top bit set", "827f8000000000000000", false, 0, "WS_ERR_INVALID_LENGTH"],
  ];
  for (const [name, hex, server, rsv, code] of cases) {
    it(`refuses ${name}`, () => {
      const err = parseError(hex, server, rsv);
      expect(err.code).toBe(code);
      expect(err.closeCode).toBe(1002);
    });
  }

  it("refuses from the header alone, before any payload arrives", () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, { expectMasked: false });
    // An oversized control frame whose payload never comes.
    expect(() => parser.push(fromHex("897e"))).not.toThrow();
    expect(() => parser.push(fromHex("007e"))).toThrow(ProtocolError);
  });

  it("reports a huge 64-bit length exactly enough for a size check", () => {
    let length = -1;
    const sink: FrameSink = { onFrameStart: (_f, _r, _o, l) => (length = l), onPayload() {}, onFrameEnd() {} };
    new FrameParser(sink, { expectMasked: false }).push(fromHex("827f7fffffffffffffff"));
    expect(length).toBeGreaterThan(2 ** 62);
  });

  it("ignores everything after stop()", () => {
    const frames: number[] = [];
    const parser: FrameParser = new FrameParser(
      {
        onFrameStart: (_f, _r, op) => {
          frames.push(op);
          if (op === 8) parser.stop();
        },
        onPayload() {},
        onFrameEnd() {},
      },
      { expectMasked: false },
    );
    parser.push(fromHex("8800" + "8100" + "8f00"));
    expect(frames).toEqual([8]);
  });
});

/** Frame shapes over every length class, masked and not. */
const lengthArb = fc.oneof(
  fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 70000),
  fc.integer({ min: 0, max: 300 }),
);
const frameArb = fc.record({
  opcode: fc.constantFrom(0, 1, 2),
  fin: fc.boolean(),
  rsv: fc.constantFrom(0, 0x40),
  length: lengthArb,
  seed: fc.integer({ min: 0, max: 255 }),
  key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});
const controlArb = fc.record({
  opcode: fc.constantFrom(8, 9, 10),
  fin: fc.constant(true),
  rsv: fc.constant(0),
  length: fc.integer({ min: 0, max: 125 }),
  seed: fc.integer({ min: 0, max: 255 }),
  key: fc.uint8Array({ minLength: 4, maxLength: 4 }),
});

function payloadOf(length: number, seed: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (seed + i * 31) & 0xff;
  return p;
}

describe("FrameParser: properties", () => {
  it("(1) serialize → parse is the identity for every frame shape, masked and unmasked", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(frameArb, controlArb), { minLength: 1, maxLength: 6 }), fc.boolean(), (frames, masked) => {
        const bytes = Buffer.concat(
          frames.flatMap((f) =>
            serializeFrame(f.opcode, payloadOf(f.length, f.seed), { fin: f.fin, rsv: f.rsv, mask: masked ? () => f.key : null }),
          ),
        );
        const parsed = parseChunks(bytes, [], { expectMasked: masked, allowedRsv: 0x40 });
        expect(parsed).toHaveLength(frames.length);
        frames.forEach((f, i) => {
          const p = parsed[i]!;
          expect([p.opcode, p.fin, p.rsv, p.length]).toEqual([f.opcode, f.fin, f.rsv, f.length]);
          expect(Buffer.from(p.payload).equals(Buffer.from(payloadOf(f.length, f.seed)))).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it("(2) any split of the byte stream into chunks yields the same frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameArb, controlArb), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, masked, rawCuts) => {
          const bytes = Buffer.concat(
            frames.flatMap((f) =>
              serializeFrame(f.opcode, payloadOf(Math.min(f.length, 2000), f.seed), {
                fin: f.fin,
                rsv: f.rsv,
                mask: masked ? () => f.key : null,
              }),
            ),
          );
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const strip = (fs: ReturnType<typeof parseChunks>) => fs.map(({ pieces: _p, ...rest }) => rest);
          const whole = strip(parseChunks(bytes, [], { expectMasked: masked, allowedRsv: 0x40 }));
          expect(strip(parseChunks(bytes, cuts, { expectMasked: masked, allowedRsv: 0x40 }))).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("(2'') a sink that takes split payloads into its own buffer gets the same frames, unmasked into it", () => {
    let targetsSeen = 0;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameArb, controlArb), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        (frames, masked, rawCuts) => {
          const bytes = Buffer.concat(
            frames.flatMap((f) =>
              serializeFrame(f.opcode, payloadOf(Math.min(f.length, 3000), f.seed), { fin: f.fin, rsv: f.rsv, mask: masked ? () => f.key : null }),
            ),
          );
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const strip = (fs: ReturnType<typeof parseChunks>) => fs.map(({ pieces: _p, ...rest }) => rest);
          const options = { expectMasked: masked, allowedRsv: 0x40 };
          const sink = new TargetSink();
          expect(strip(parseChunks(bytes, cuts, options, sink))).toEqual(strip(parseChunks(bytes, [], options)));
          expect(sink.foreignPieces).toBe(0);
          targetsSeen += sink.targets;
        },
      ),
      { numRuns: 300 },
    );
    expect(targetsSeen).toBeGreaterThan(0); // the fused path did run
  });

  it("(7) pause() at any frame end: push returns what it consumed; pushing the rest later yields the same frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameArb, controlArb), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, masked, pauses, rawCuts) => {
          const bytes = Buffer.concat(
            frames.flatMap((f) => serializeFrame(f.opcode, payloadOf(Math.min(f.length, 2000), f.seed), { fin: f.fin, rsv: f.rsv, mask: masked ? () => f.key : null })),
          );
          const options = { expectMasked: masked, allowedRsv: 0x40 };
          const expected = parseChunks(bytes, [], options).map(({ pieces: _p, ...rest }) => rest);
          let ends = 0;
          class PausingSink extends RecordingSink {
            override onFrameEnd(): void {
              super.onFrameEnd();
              if (pauses[ends++ % pauses.length]) parser.pause();
            }
          }
          const sink = new PausingSink();
          const parser: FrameParser = new FrameParser(sink, options);
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          let prev = 0;
          for (const c of [...cuts, bytes.length]) {
            let chunk = Uint8Array.from(bytes.subarray(prev, c));
            prev = c;
            while (chunk.length > 0) {
              const used = parser.push(chunk);
              expect(used).toBeLessThanOrEqual(chunk.length);
              chunk = chunk.subarray(used);
            }
          }
          expect(sink.frames.map(({ pieces: _p, ...rest }) => rest)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("(8) skipData + preserveInput: only control frames are reported, the same as a normal parse, and the input is not written to", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(frameArb, controlArb), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (frames, masked, rawCuts) => {
          const bytes = Buffer.concat(
            frames.flatMap((f) => serializeFrame(f.opcode, payloadOf(Math.min(f.length, 2000), f.seed), { fin: f.fin, rsv: f.rsv, mask: masked ? () => f.key : null })),
          );
          const options = { expectMasked: masked, allowedRsv: 0x40 };
          const controls = parseChunks(bytes, [], options)
            .filter((f) => f.opcode >= 8)
            .map(({ pieces: _p, ...rest }) => rest);
          const sink = new RecordingSink();
          const parser = new FrameParser(sink, { ...options, skipData: true, preserveInput: true });
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const input = Uint8Array.from(bytes);
          let prev = 0;
          for (const c of [...cuts, bytes.length]) {
            parser.push(input.subarray(prev, c));
            prev = c;
          }
          expect(sink.frames.map(({ pieces: _p, ...rest }) => rest)).toEqual(controls);
          expect(Buffer.from(input).equals(bytes)).toBe(true);
          expect(parser.skippedFrames).toBe(frames.length - controls.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("(2') one byte at a time yields the same frames", () => {
    const bytes = Buffer.concat(vectors.filter((v) => v.key === undefined && v.payload.length < 1000).map((v) => fromHex(v.hex)));
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    const strip = (fs: ReturnType<typeof parseChunks>) => fs.map(({ pieces: _p, ...rest }) => rest);
    expect(strip(parseChunks(bytes, cuts, bothWays))).toEqual(strip(parseChunks(bytes, [], bothWays)));
  });

  it("garbage either parses or throws ProtocolError — never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, masked) => {
        try {
          parseChunks(bytes, [], { expectMasked: masked });
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
          expect((err as ProtocolError).closeCode).toBe(1002);
        }
      }),
      { numRuns: 500 },
    );
  });
});

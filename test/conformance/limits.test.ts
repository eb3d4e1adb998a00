/**
 * Message sizes and the size limit (Autobahn|Testsuite categories 9 and 10,
 * at wavesock's `maxSize`), against both wavesock adapters over loopback TCP.
 *
 * - 9.1/9.2: text messages of 64 KiB .. 1 MiB and a binary one of 16 MiB,
 *   in one frame;
 * - 9.3/9.4: a message in frames of 64 B .. 4 MiB (Autobahn: 4 MiB messages;
 *   here 2 MiB, and 1 MiB for 64 and 256-byte frames, to keep the suite fast);
 * - 9.5/9.6: a 1 MiB message written to TCP in chops of 64 B .. 64 KiB;
 * - 9.7/9.8: 1000 messages of 0 B .. 4 KiB back to back;
 * - 10.1.1: 64 KiB in frames of 1300 bytes;
 * - the limit: a message of exactly `maxSize` bytes is accepted, one of
 *   `maxSize + 1` is refused with 1009, as one frame or as fragments; the
 *   refusal is decided from the frame header, before any of the payload that
 *   would exceed the limit is sent (§10.4: "implementations SHOULD impose a
 *   limit on frame sizes and the total message size").
 */
import { afterEach, describe, expect, it } from "vitest";
import { OP } from "./frames.js";
import { SIDES, cleanup, expectAppClosed, expectClose, expectFrame, open, readMessage, type Testee } from "./peer.js";

afterEach(cleanup);

const KiB = 1024;
const MiB = 1024 * 1024;

function pattern(n: number, text: boolean): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = text ? 0x41 + (i % 26) : (i * 31 + (i >> 8)) & 0xff;
  return b;
}

/** Fragment `data` into frames of `size` bytes. */
function fragments(t: Testee, opcode: number, data: Buffer, size: number): Buffer {
  const frames: Buffer[] = [];
  for (let pos = 0; pos < data.length || pos === 0; pos += size) {
    frames.push(t.peer.frame(pos === 0 ? opcode : OP.CONT, data.subarray(pos, pos + size), { fin: pos + size >= data.length }));
    if (data.length === 0) break;
  }
  return Buffer.concat(frames);
}

/** Bytes of a frame header as the raw peer builds it. */
function headerLength(t: Testee, payloadLength: number): number {
  return 2 + (payloadLength >= 65536 ? 8 : payloadLength >= 126 ? 2 : 0) + (t.peer.role === "client" ? 4 : 0);
}

async function expectTooBig(t: Testee, delivered = 0): Promise<void> {
  const { before } = await expectClose(t.peer, 1009);
  expect(before.filter((f) => f.opcode < 8).length).toBeLessThanOrEqual(delivered);
  expect(t.received).toHaveLength(delivered);
  await expectAppClosed(t, 1009);
}

describe.each(SIDES)("sizes and limits — wavesock %s", (side) => {
  describe("9.x-style large messages (maxSize 16 MiB)", () => {
    const big = { maxSize: 16 * MiB };
    for (const size of [64 * KiB, 256 * KiB, 1 * MiB]) {
      it(`9.1: text message of ${size / KiB} KiB in one frame → echoed`, async () => {
        const t = await open(side, big);
        const data = pattern(size, true);
        await t.peer.write(t.peer.frame(OP.TEXT, data));
        const m = await readMessage(t.peer, 10_000);
        expect(m.opcode).toBe(OP.TEXT);
        expect(m.payload.equals(data)).toBe(true);
      });
    }
    it("9.1.6/9.2.6: binary message of 16 MiB (= maxSize) in one frame → echoed", async () => {
      const t = await open(side, big);
      const data = pattern(16 * MiB, false);
      await t.peer.write(t.peer.frame(OP.BINARY, data));
      const m = await readMessage(t.peer, 20_000);
      expect(m.opcode).toBe(OP.BINARY);
      expect(m.payload.equals(data)).toBe(true);
    });

    for (const frameSize of [64, 256, 4 * KiB, 64 * KiB, 1 * MiB, 2 * MiB]) {
      const total = frameSize < 4 * KiB ? 1 * MiB : 2 * MiB;
      it(`9.3/9.4: a ${total / MiB} MiB ${frameSize < 4 * KiB ? "binary" : "text"} message in frames of ${frameSize} bytes → echoed`, async () => {
        const t = await open(side, big);
        const text = frameSize >= 4 * KiB;
        const data = pattern(total, text);
        await t.peer.write(fragments(t, text ? OP.TEXT : OP.BINARY, data, frameSize));
        const m = await readMessage(t.peer, 20_000);
        expect(m.payload.equals(data)).toBe(true);
      });
    }

    for (const chop of [64, 4 * KiB, 64 * KiB]) {
      it(`9.5/9.6: a 1 MiB text message in one frame, written in TCP chops of ${chop} bytes → echoed`, async () => {
        const t = await open(side, big);
        const data = pattern(1 * MiB, true);
        await t.peer.write(t.peer.frame(OP.TEXT, data), { chunk: chop }, false);
        const m = await readMessage(t.peer, 10_000);
        expect(m.payload.equals(data)).toBe(true);
      });
    }

    for (const [size, text] of [
      [0, true],
      [16, false],
      [256, true],
      [4 * KiB, false],
    ] as const) {
      it(`9.7/9.8: 1000 ${text ? "text" : "binary"} messages of ${size} bytes back to back → 1000 echoes in order`, async () => {
        const t = await open(side, big);
        const frames: Buffer[] = [];
        for (let i = 0; i < 1000; i++) {
          const d = pattern(size, text);
          if (size >= 4) d.writeUInt32BE(i, 0);
          frames.push(t.peer.frame(text ? OP.TEXT : OP.BINARY, size >= 4 ? (text ? Buffer.from(String(i).padStart(size, "x")) : d) : d));
        }
        await t.peer.write(Buffer.concat(frames), { chunk: 64 * KiB }, false);
        for (let i = 0; i < 1000; i++) {
          const f = await t.peer.readFrame();
          expect(f.opcode).toBe(text ? OP.TEXT : OP.BINARY);
          expect(f.payload.length).toBe(size);
          if (size >= 4) expect(text ? Number(f.payload.toString().replace(/^x+/, "") || "0") : f.payload.readUInt32BE(0)).toBe(i);
        }
      });
    }

    it("10.1.1: 64 KiB text in frames of 1300 bytes → echoed", async () => {
      const t = await open(side, big);
      const data = pattern(65536, true);
      await t.peer.write(fragments(t, OP.TEXT, data, 1300));
      const m = await readMessage(t.peer);
      expect(m.payload.equals(data)).toBe(true);
    });
  });

  describe("the size limit (maxSize 64 KiB)", () => {
    const limit = 64 * KiB;
    const opts = { maxSize: limit };

    for (const text of [true, false]) {
      const op = text ? OP.TEXT : OP.BINARY;
      const kind = text ? "text" : "binary";
      it(`a ${kind} message of exactly maxSize in one frame → accepted and echoed`, async () => {
        const t = await open(side, opts);
        const data = pattern(limit, text);
        await t.peer.send(op, data);
        await expectFrame(t.peer, op, data);
      });

      it(`a ${kind} message of exactly maxSize in 3 fragments (with a ping between) → accepted`, async () => {
        const t = await open(side, opts);
        const data = pattern(limit, text);
        const third = Math.floor(limit / 3);
        t.peer.sendTogether([
          t.peer.frame(op, data.subarray(0, third), { fin: false }),
          t.peer.frame(OP.PING, "mid"),
          t.peer.frame(OP.CONT, data.subarray(third, 2 * third), { fin: false }),
          t.peer.frame(OP.CONT, data.subarray(2 * third)),
        ]);
        await expectFrame(t.peer, OP.PONG, "mid");
        const m = await readMessage(t.peer);
        expect(m.payload.equals(data)).toBe(true);
      });

      it(`a ${kind} message of maxSize + 1 in one frame → 1009 from the header alone (payload never sent)`, async () => {
        const t = await open(side, opts);
        const bytes = t.peer.frame(op, pattern(limit + 1, text));
        await t.peer.write(bytes.subarray(0, headerLength(t, limit + 1)));
        await expectTooBig(t);
      });

      it(`a ${kind} message of maxSize + 1 in 2 fragments → 1009 from the 2nd fragment's header (its payload never sent)`, async () => {
        const t = await open(side, opts);
        const half = limit / 2;
        await t.peer.send(op, pattern(half, text), { fin: false });
        const second = t.peer.frame(OP.CONT, pattern(half + 1, text));
        await t.peer.write(second.subarray(0, headerLength(t, half + 1)));
        await expectTooBig(t);
      });

      it(`a ${kind} message of maxSize + 1 in 1000-byte fragments → 1009 at the fragment that crosses the limit`, async () => {
        const t = await open(side, opts);
        const data = pattern(limit + 1, text);
        const bytes = fragments(t, op, data, 1000);
        const fullFrames = Math.floor(limit / 1000); // these stay under the limit
        const frameBytes = headerLength(t, 1000) + 1000;
        // All the frames under the limit, then only the header of the one that crosses it.
        await t.peer.write(bytes.subarray(0, fullFrames * frameBytes + headerLength(t, 1000)));
        await expectTooBig(t);
      });
    }

    it("a message at the limit, then one over it in the same write → the first delivered, then 1009", async () => {
      const t = await open(side, opts);
      t.peer.sendTogether([t.peer.frame(OP.BINARY, pattern(limit, false)), t.peer.frame(OP.BINARY, pattern(limit + 1, false))]);
      await expectTooBig(t, 1);
    });

    it("a 64-bit length of 2^53 bytes → 1009 from the header (nothing allocated, nothing awaited)", async () => {
      const t = await open(side, opts);
      const bytes = t.peer.frame(OP.BINARY, Buffer.alloc(0), { declaredLength: 2 ** 53, lengthForm: 64 });
      await t.peer.write(bytes);
      await expectTooBig(t);
    });

    it("a 64-bit length of 2^63 - 1 bytes → 1009 (or 1002), from the header", async () => {
      const t = await open(side, opts);
      const bytes = t.peer.frame(OP.BINARY, Buffer.alloc(0), { lengthForm: 64 });
      bytes.fill(0xff, 2, 10);
      bytes[2] = 0x7f;
      await t.peer.write(bytes);
      await expectClose(t.peer, [1009, 1002]);
    });

    it("control frames do not count toward a fragmented message's size", async () => {
      const t = await open(side, opts);
      const data = pattern(limit, false);
      const frames: Buffer[] = [t.peer.frame(OP.BINARY, data.subarray(0, limit / 2), { fin: false })];
      for (let i = 0; i < 20; i++) frames.push(t.peer.frame(OP.PING, Buffer.alloc(125, i)));
      frames.push(t.peer.frame(OP.CONT, data.subarray(limit / 2)));
      t.peer.sendTogether(frames);
      for (let i = 0; i < 20; i++) await expectFrame(t.peer, OP.PONG, Buffer.alloc(125, i));
      const m = await readMessage(t.peer);
      expect(m.payload.equals(data)).toBe(true);
    });
  });

  describe("the default limit (1 MiB) and no limit", () => {
    it("default maxSize: 1 MiB accepted, 1 MiB + 1 refused with 1009 from the header", async () => {
      const t = await open(side);
      const data = pattern(MiB, false);
      await t.peer.send(OP.BINARY, data);
      const m = await readMessage(t.peer);
      expect(m.payload.length).toBe(MiB);
      const bytes = t.peer.frame(OP.BINARY, Buffer.alloc(0), { declaredLength: MiB + 1 });
      await t.peer.write(bytes);
      await expectTooBig(t, 1);
    });

    it("maxSize null: a 2 MiB message is accepted", async () => {
      const t = await open(side, { maxSize: null });
      const data = pattern(2 * MiB, true);
      await t.peer.send(OP.TEXT, data);
      const m = await readMessage(t.peer, 10_000);
      expect(m.payload.equals(data)).toBe(true);
    });
  });
});

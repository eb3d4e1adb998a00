/**
 * UTF-8 handling (Autobahn|Testsuite category 6; RFC 6455 §5.6, §8.1; RFC
 * 3629), against both wavesock adapters over loopback TCP.
 *
 * Valid text — every 1- to 4-byte form, the boundary code points (U+007F,
 * U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF...), noncharacters and a
 * leading BOM — is accepted and echoed byte for byte, whether it arrives in
 * one frame, in fragments cut inside code points, or one byte per write.
 *
 * Invalid text — overlong forms, UTF-16 surrogates, code points past
 * U+10FFFF, the bytes C0, C1, F5..FF, stray continuation bytes, truncated
 * sequences — fails the connection with 1007 (§8.1). Fail-fast (6.4.x):
 * when the peer has sent the bytes up to the first byte that no valid UTF-8
 * could continue with, the close must arrive without the peer sending any
 * more: not at the end of the frame, nor of the message.
 */
import { afterEach, describe, expect, it } from "vitest";
import { OP } from "./frames.js";
import { SIDES, cleanup, expectAppClosed, expectClose, expectFrame, open, readMessage, type Testee } from "./peer.js";

afterEach(cleanup);

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/**
 * Reference check, written from RFC 3629 §4 / Unicode Table 3-7 and kept
 * independent of src/: the index of the first byte at which `b` can no
 * longer be valid UTF-8; `b.length` if it is only cut short at the end; -1
 * if it is valid.
 */
function firstBadByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c === 0xe0) [need, lo] = [2, 0xa0];
    else if (c === 0xed) [need, hi] = [2, 0x9f];
    else if (c >= 0xe1 && c <= 0xef) need = 2;
    else if (c === 0xf0) [need, lo] = [3, 0x90];
    else if (c === 0xf4) [need, hi] = [3, 0x8f];
    else if (c >= 0xf1 && c <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= b.length) return b.length;
      const d = b[i + k]!;
      if (d < lo || d > hi) return i + k;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

const VALID: [string, Buffer][] = [
  ["ASCII", Buffer.from("Hello, World! ~\x7f")],
  ["U+0000 (NUL)", hex("00")],
  ["U+007F (last 1-byte)", hex("7f")],
  ["U+0080 (first 2-byte)", hex("c2 80")],
  ["U+07FF (last 2-byte)", hex("df bf")],
  ["U+0800 (first 3-byte)", hex("e0 a0 80")],
  ["U+0FFF", hex("e0 bf bf")],
  ["U+1000", hex("e1 80 80")],
  ["U+D7FF (last before the surrogates)", hex("ed 9f bf")],
  ["U+E000 (first after the surrogates)", hex("ee 80 80")],
  ["U+FEFF (BOM) at the start", hex("ef bb bf 41 42")],
  ["U+FFFD (replacement character)", hex("ef bf bd")],
  ["U+FFFE and U+FFFF (noncharacters are valid UTF-8)", hex("ef bf be ef bf bf")],
  ["U+10000 (first 4-byte)", hex("f0 90 80 80")],
  ["U+3FFFF / U+40000", hex("f0 bf bf bf f1 80 80 80")],
  ["U+FFFFF / U+100000", hex("f3 bf bf bf f4 80 80 80")],
  ["U+10FFFF (last code point)", hex("f4 8f bf bf")],
  ["κόσμε (6.5.1)", hex("ce ba e1 bd b9 cf 83 ce bc ce b5")],
  ["Hello-µ@ßöäüàá-UTF-8!! (6.2.1)", Buffer.from("Hello-µ@ßöäüàá-UTF-8!!", "utf8")],
  ["mixed 1–4 byte forms, emoji", Buffer.from("a¢€𐍈😀 ok ✓ 中文 𝄞", "utf8")],
];

const INVALID: [string, Buffer][] = [
  ["overlong '/' C0 AF", hex("c0 af")],
  ["overlong C1 BF", hex("c1 bf")],
  ["overlong NUL C0 80", hex("c0 80")],
  ["overlong '/' E0 80 AF", hex("e0 80 af")],
  ["overlong U+07FF E0 9F BF", hex("e0 9f bf")],
  ["overlong '/' F0 80 80 AF", hex("f0 80 80 af")],
  ["overlong U+FFFF F0 8F BF BF", hex("f0 8f bf bf")],
  ["5-byte form F8 88 80 80 80", hex("f8 88 80 80 80")],
  ["6-byte form FC 84 80 80 80 80", hex("fc 84 80 80 80 80")],
  ["surrogate U+D800 ED A0 80", hex("ed a0 80")],
  ["surrogate U+DB7F ED AD BF", hex("ed ad bf")],
  ["surrogate U+DC00 ED B0 80", hex("ed b0 80")],
  ["surrogate U+DFFF ED BF BF", hex("ed bf bf")],
  ["surrogate pair U+D800 U+DC00 (CESU-8)", hex("ed a0 80 ed b0 80")],
  ["U+110000 F4 90 80 80", hex("f4 90 80 80")],
  ["U+1FFFFF F7 BF BF BF", hex("f7 bf bf bf")],
  ["lead byte F5", hex("f5 80 80 80")],
  ["lead byte F8", hex("f8")],
  ["lead byte FE", hex("fe")],
  ["lead byte FF", hex("ff")],
  ["stray continuation byte 80", hex("80")],
  ["stray continuation byte BF", hex("bf")],
  ["stray continuation bytes after ASCII", hex("61 80 bf 62")],
  ["lonely 2-byte start followed by a space", hex("c2 20")],
  ["lonely 3-byte start followed by a space", hex("e1 20")],
  ["lonely 4-byte start followed by a space", hex("f1 20")],
  ["3-byte sequence missing its last byte, then ASCII", hex("e2 82 41")],
  ["4-byte sequence missing its last byte, then ASCII", hex("f0 9f 98 41")],
  ["κόσμε with a surrogate inside (6.3.1)", hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")],
  ["truncated at the end: 2-byte start", hex("c2")],
  ["truncated at the end: 3-byte, 2 of 3", hex("e2 82")],
  ["truncated at the end: 4-byte, 3 of 4", hex("f0 9f 98")],
  ["κόσμε cut inside its last character", hex("ce ba e1 bd b9 cf 83 ce bc ce")],
];

describe("the reference UTF-8 check agrees with a fatal TextDecoder", () => {
  it("on every case of this file", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for (const [name, bytes] of [...VALID, ...INVALID]) {
      let valid = true;
      try {
        decoder.decode(bytes);
      } catch {
        valid = false;
      }
      expect(firstBadByte(bytes) === -1, name).toBe(valid);
    }
  });
});

/** The message around a case: short (JS validator) or long (native validator). */
function around(seq: Buffer, long: boolean): Buffer {
  return long ? Buffer.concat([Buffer.alloc(100, 0x61), seq, Buffer.alloc(100, 0x7a)]) : Buffer.concat([Buffer.from("ab"), seq, Buffer.from("yz")]);
}

async function expectFailed(t: Testee, code: number): Promise<void> {
  const { before } = await expectClose(t.peer, code);
  expect(before.filter((f) => f.opcode < 8).length, "data frames before the close").toBe(0);
  expect(t.received).toEqual([]);
  await expectAppClosed(t, code);
}

/** Header length of a frame as the raw peer builds it (payload < 126 bytes). */
function headerLength(t: Testee, payloadLength: number): number {
  return 2 + (payloadLength >= 126 ? 2 : 0) + (t.peer.role === "client" ? 4 : 0);
}

describe.each(SIDES)("UTF-8 — wavesock %s", (side) => {
  describe("valid text is accepted and echoed byte for byte", () => {
    for (const [name, seq] of VALID) {
      it(`6.x valid: ${name}, one frame`, async () => {
        const t = await open(side);
        await t.peer.send(OP.TEXT, seq);
        await expectFrame(t.peer, OP.TEXT, seq);
        expect(Buffer.from(t.received[0] as string, "utf8").equals(seq)).toBe(true);
      });

      it(`6.2.3/6.2.4 valid: ${name}, one byte per fragment (code points cut across frames)`, async () => {
        const t = await open(side);
        const frames = [...seq].map((b, i) => t.peer.frame(i === 0 ? OP.TEXT : OP.CONT, Buffer.from([b]), { fin: i === seq.length - 1 }));
        await t.peer.write(Buffer.concat(frames), { random: seq.length, max: 9 });
        const m = await readMessage(t.peer);
        expect([m.opcode, m.payload.toString("hex")]).toEqual([OP.TEXT, seq.toString("hex")]);
      });

      it(`6.x valid: ${name} inside a long message, one frame delivered in writes of 1–7 bytes`, async () => {
        const t = await open(side);
        const msg = around(seq, true);
        await t.peer.send(OP.TEXT, msg, { split: { random: 3, max: 7 } });
        await expectFrame(t.peer, OP.TEXT, msg);
      });
    }

    it("a 64 KiB text of mixed 1–4 byte characters, random writes and random fragment sizes → echoed identically", async () => {
      const t = await open(side);
      const chars = ["a", "é", "€", "😀", "中", "\u0000", "\u{10FFFF}", "\uFFFF"];
      let s = "";
      for (let i = 0; s.length < 30000; i++) s += chars[(i * 7 + (i >> 3)) % chars.length];
      const bytes = Buffer.from(s, "utf8");
      const frames: Buffer[] = [];
      for (let pos = 0, i = 0; pos < bytes.length; i++) {
        const n = 1 + ((i * 131) % 997);
        frames.push(t.peer.frame(pos === 0 ? OP.TEXT : OP.CONT, bytes.subarray(pos, pos + n), { fin: pos + n >= bytes.length }));
        pos += n;
      }
      await t.peer.write(Buffer.concat(frames), { random: 42, max: 2048 });
      const m = await readMessage(t.peer);
      expect(m.payload.equals(bytes)).toBe(true);
      expect(t.received).toEqual([s]);
    });
  });

  describe("invalid text → 1007", () => {
    for (const [name, seq] of INVALID) {
      const bad = firstBadByte(seq);
      const truncated = bad === seq.length;
      // A sequence cut short at the end is only invalid once the message ends.
      const msgShort = truncated ? Buffer.concat([Buffer.from("ab"), seq]) : around(seq, false);
      const msgLong = truncated ? Buffer.concat([Buffer.alloc(100, 0x61), seq]) : around(seq, true);

      it(`6.x invalid: ${name}, one frame → 1007`, async () => {
        const t = await open(side);
        await t.peer.send(OP.TEXT, msgShort);
        await expectFailed(t, 1007);
      });

      it(`6.x invalid: ${name}, one frame of 200+ bytes → 1007`, async () => {
        const t = await open(side);
        await t.peer.send(OP.TEXT, msgLong);
        await expectFailed(t, 1007);
      });

      it(`6.x invalid: ${name}, in the 2nd of 3 fragments → 1007${truncated ? " at the end of the message" : " before the 3rd fragment is sent"}`, async () => {
        const t = await open(side);
        await t.peer.send(OP.TEXT, "valid start ", { fin: false });
        await t.peer.send(OP.CONT, truncated ? Buffer.concat([Buffer.from("x"), seq]) : around(seq, false), { fin: truncated });
        // Fail-fast: the third fragment is never sent (for a truncated
        // sequence, the second fragment ends the message).
        await expectFailed(t, 1007);
      });

      if (!truncated) {
        it(`6.4.3/6.4.4 fail-fast: ${name}, one frame sent byte by byte up to the first invalid byte only → 1007`, async () => {
          const t = await open(side);
          const frame = t.peer.frame(OP.TEXT, msgShort);
          const upTo = headerLength(t, msgShort.length) + 2 + bad + 1; // "ab" + bytes through the bad one
          await t.peer.write(frame.subarray(0, upTo), "bytewise");
          await expectFailed(t, 1007);
        });

        it(`6.4.1/6.4.2 fail-fast: ${name}, 200+ byte frame: first 100 bytes, then up to the invalid byte in one write → 1007`, async () => {
          const t = await open(side);
          const frame = t.peer.frame(OP.TEXT, msgLong);
          const h = headerLength(t, msgLong.length);
          await t.peer.write(frame.subarray(0, h + 100));
          await t.peer.expectSilence(20);
          await t.peer.write(frame.subarray(h + 100, h + 100 + bad + 1));
          await expectFailed(t, 1007);
        });
      }
    }

    it("fail-fast across fragments: fragment 1 ends with lead byte E0, fragment 2 starts with 80 (overlong) → 1007 before fragment 2 completes", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, hex("41 e0"), { fin: false });
      const f2 = t.peer.frame(OP.CONT, hex("80 80 41 42 43"));
      await t.peer.write(f2.subarray(0, headerLength(t, 5) + 1));
      await expectFailed(t, 1007);
    });

    it("fail-fast across fragments: a code point cut by the fragment boundary then ASCII (E2 82 | 41) → 1007 at the 'A'", async () => {
      const t = await open(side);
      await t.peer.send(OP.TEXT, hex("41 e2 82"), { fin: false });
      const f2 = t.peer.frame(OP.CONT, hex("41 42 43 44"), { fin: false });
      await t.peer.write(f2.subarray(0, headerLength(t, 4) + 1));
      await expectFailed(t, 1007);
    });

    it("a message that ends in the middle of a code point split across fragments (F0 9F | 98) → 1007", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, hex("f0 9f"), { fin: false }), t.peer.frame(OP.CONT, hex("98"))]);
      await expectFailed(t, 1007);
    });

    it("a valid text message then an invalid one in the same write → 1007; the app got the valid one", async () => {
      const t = await open(side);
      t.peer.sendTogether([t.peer.frame(OP.TEXT, "κόσμε"), t.peer.frame(OP.TEXT, hex("ed a0 80"))]);
      const { before } = await expectClose(t.peer, 1007);
      expect(before.length).toBeLessThanOrEqual(1);
      expect(t.received).toEqual(["κόσμε"]);
      await expectAppClosed(t, 1007);
    });

    it("binary messages are not checked: invalid UTF-8 in a binary message is echoed", async () => {
      const t = await open(side);
      await t.peer.send(OP.BINARY, hex("c0 af ed a0 80 ff fe"));
      await expectFrame(t.peer, OP.BINARY, hex("c0 af ed a0 80 ff fe"));
    });
  });
});

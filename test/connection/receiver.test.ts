import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageBuffer } from "../../src/connection/assembler.js";
import { Protocol, type ProtocolEvent } from "../../src/connection/protocol.js";
import { PerMessageDeflate, type DeflateParameters } from "../../src/extensions/deflate-codec.js";
import type { MessageExtension } from "../../src/extensions/types.js";
import { drain, rawFrame } from "./pair.js";

const MiB = 1024 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);
const bytesOf = (...b: number[]) => Uint8Array.from(b);
const closeFrame = (code: number) => rawFrame(8, bytesOf(code >> 8, code & 0xff));
const texts = (n: number, size = 10) => Array.from({ length: n }, (_, i) => `m${i}`.padEnd(size, "."));
const framesOf = (msgs: string[]) => Buffer.concat(msgs.map((m) => rawFrame(1, enc(m))));
const messages = (evs: ProtocolEvent[]) => evs.filter((e) => e.type === "message").map((e) => (e as { data: unknown }).data);
/** The frames a server core wrote, parsed (server frames are unmasked and short here). */
function written(p: Protocol): { opcode: number; payload: Buffer }[] {
  const b = Buffer.concat(p.dataToSend());
  const out = [];
  for (let i = 0; i < b.length; ) {
    const len = b[i + 1]! & 0x7f;
    out.push({ opcode: b[i]! & 0x0f, payload: b.subarray(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return out;
}

function deflateParams(): DeflateParameters {
  return { localNoContextTakeover: false, remoteNoContextTakeover: false, localMaxWindowBits: 15, remoteMaxWindowBits: 15, memLevel: 8, level: 6, threshold: 0 };
}

/** A compressed client frame (RSV1) of `data`, as a peer with a fresh compressor sends it. */
function compressedFrame(data: Uint8Array, opcode = 2): Uint8Array {
  const z = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return rawFrame(opcode, z.subarray(0, z.length - 4), { rsv: 0x40 });
}

describe("Receiver: the message budget holds input raw", () => {
  it("decodes no more messages than allowed, even inside one chunk, and the rest in order when allowed", () => {
    const s = new Protocol("server");
    s.allowMessages(2);
    s.receiveData(framesOf(texts(5)));
    expect(messages(drain(s))).toEqual(texts(5).slice(0, 2));
    expect(s.holding).toBe(true);
    expect(s.backlogBytes).toBe(3 * (6 + 10));
    s.receiveData(framesOf(["later"]));
    expect(drain(s)).toEqual([]);
    s.allowMessages(2);
    expect(messages(drain(s))).toEqual(texts(5).slice(2, 4));
    s.allowMessages(10);
    expect(messages(drain(s))).toEqual([texts(5)[4], "later"]);
    expect(s.holding).toBe(false);
    expect(s.backlogBytes).toBe(0);
    // Caught up: input goes straight to the decoder again.
    s.receiveData(framesOf(["direct"]));
    expect(messages(drain(s))).toEqual(["direct"]);
  });

  it("with a budget of 0, a chunk is held whole; a message in progress is finished first", () => {
    const s = new Protocol("server");
    const frame = rawFrame(1, enc("in progress"));
    s.receiveData(frame.subarray(0, 5));
    s.allowMessages(0);
    s.receiveData(Buffer.concat([frame.subarray(5), rawFrame(1, enc("held"))]));
    expect(messages(drain(s))).toEqual(["in progress"]);
    s.receiveData(rawFrame(1, enc("held too")));
    expect(messages(drain(s))).toEqual([]);
    s.allowMessages(5);
    expect(messages(drain(s))).toEqual(["held", "held too"]);
  });

  it("compressed messages are not inflated while held: one 64 KiB read decodes only what the budget allows", () => {
    const server = new Protocol("server", { extensions: [new PerMessageDeflate(deflateParams())] });
    const one = compressedFrame(new Uint8Array(MiB - 1));
    const count = Math.floor((64 * 1024) / one.length);
    server.allowMessages(3);
    server.receiveData(Buffer.concat(Array.from({ length: count }, () => one)));
    expect(drain(server).length).toBe(3);
    expect(server.backlogBytes).toBe((count - 3) * one.length);
    server.allowMessages(count);
    expect(drain(server).length).toBe(count - 3);
  });

  it("pings in held input are answered when decoded, in order; with coalescePongs, by one pong to the latest", () => {
    const s = new Protocol("server");
    s.coalescePongs = true;
    s.allowMessages(1);
    const pings = Array.from({ length: 1000 }, (_, i) => rawFrame(9, enc(`p${i}`)));
    s.receiveData(Buffer.concat([rawFrame(1, enc("a")), ...pings, rawFrame(1, enc("b"))]));
    expect(written(s)).toEqual([]);
    s.allowMessages(5);
    const evs = drain(s);
    expect(evs.filter((e) => e.type === "ping")).toHaveLength(1000);
    // §5.5.3: one answer, to the most recent ping.
    expect(written(s).map((f) => [f.opcode, f.payload.toString()])).toEqual([[0xa, "p999"]]);
  });

  it("without coalescePongs every ping gets its pong, in order (Autobahn 2.10)", () => {
    const s = new Protocol("server");
    s.receiveData(Buffer.concat(Array.from({ length: 10 }, (_, i) => rawFrame(9, enc(`p${i}`)))));
    expect(written(s).map((f) => f.payload.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`));
  });

  it("a pending pong goes out before the close echo", () => {
    const s = new Protocol("server");
    s.coalescePongs = true;
    s.receiveData(Buffer.concat([rawFrame(9, enc("x")), rawFrame(9, enc("y")), closeFrame(1000)]));
    expect(written(s).map((f) => f.opcode)).toEqual([0xa, 0x8]);
  });
});

describe("Receiver: a close frame or EOF is never hidden by held messages", () => {
  it("a close frame behind 40 held messages is answered at once; the messages stay readable, then the close event", () => {
    const s = new Protocol("server");
    s.allowMessages(16);
    s.receiveData(Buffer.concat([framesOf(texts(40, 1024)), closeFrame(1000)]));
    // Answered now: close echoed, the server ends the TCP connection.
    expect(s.closeRcvd).toEqual({ code: 1000, reason: "" });
    expect(s.closeTransport).toBe(true);
    expect(written(s).map((f) => f.opcode)).toEqual([0x8]);
    const evs = drain(s);
    expect(messages(evs)).toEqual(texts(40, 1024).slice(0, 16));
    expect(evs.some((e) => e.type === "close")).toBe(false);
    s.allowMessages(100);
    const rest = drain(s);
    expect(messages(rest)).toEqual(texts(40, 1024).slice(16));
    expect(rest.at(-1)).toEqual({ type: "close", code: 1000, reason: "" });
  });

  it("a pong behind held messages is reported at once (keepalive of a slow reader), and only once", () => {
    const s = new Protocol("server");
    s.allowMessages(1);
    s.receiveData(Buffer.concat([framesOf(texts(3)), rawFrame(10, enc("k1")), framesOf(["after"])]));
    expect(drain(s)).toEqual([
      { type: "message", data: texts(3)[0] },
      { type: "pong", data: enc("k1") },
    ]);
    s.allowMessages(10);
    expect(drain(s).map((e) => e.type)).toEqual(["message", "message", "message"]);
  });

  it("a close frame split across chunks while held is found when its last byte arrives", () => {
    const s = new Protocol("server");
    s.allowMessages(0);
    const bytes = Buffer.concat([framesOf(texts(3)), closeFrame(1001)]);
    for (let i = 0; i < bytes.length; i++) s.receiveData(bytes.subarray(i, i + 1));
    expect(s.closeRcvd?.code).toBe(1001);
    s.allowMessages(10);
    expect(messages(drain(s))).toEqual(texts(3));
  });

  it("EOF while held: the connection is closed at once, the held messages are still decoded in order", () => {
    const s = new Protocol("server");
    s.allowMessages(1);
    s.receiveData(Buffer.concat([framesOf(texts(5)), rawFrame(1, enc("cut short")).subarray(0, 4)]));
    s.receiveEof();
    expect(s.state).toBe("closed");
    expect(s.closeTransport).toBe(true);
    s.allowMessages(100);
    expect(messages(drain(s))).toEqual(texts(5));
  });

  it("freezeBacklog (a close under way, bound reached): held input stops growing, later data is skipped, the peer's close found at once", () => {
    const s = new Protocol("server");
    s.allowMessages(1);
    s.receiveData(framesOf(texts(4)));
    s.sendClose(1000);
    s.dataToSend();
    // Data that arrives after our close is still held while there is room...
    s.receiveData(framesOf(["in flight"]));
    const held = s.backlogBytes;
    expect(held).toBe(3 * 16 + 15);
    // ...until the adapter's bound: then nothing more is held.
    s.freezeBacklog();
    s.receiveData(Buffer.concat([framesOf(texts(50, 1000)), rawFrame(9, enc("ping")), closeFrame(1000)]));
    expect(s.backlogBytes).toBe(held);
    expect(s.skippedFrames).toBe(50);
    expect(s.closeRcvd?.code).toBe(1000);
    expect(s.closeRcvdThenSent).toBe(false);
    expect(s.closeTransport).toBe(true);
    // The ping that came after the freeze was answered (by the scanner).
    expect(written(s).map((f) => f.opcode)).toEqual([0xa]);
    s.allowMessages(100);
    const evs = drain(s);
    expect(messages(evs)).toEqual([...texts(4), "in flight"]);
    expect(evs.at(-1)?.type).toBe("close");
  });

  it("a frame cut by the freeze is dropped, the rest of it skipped", () => {
    const s = new Protocol("server");
    s.allowMessages(0);
    const frame = rawFrame(2, new Uint8Array(1000).fill(7));
    s.receiveData(Buffer.concat([framesOf(["whole"]), frame.subarray(0, 500)]));
    s.sendClose(1000);
    s.freezeBacklog();
    s.receiveData(Buffer.concat([frame.subarray(500), closeFrame(1000)]));
    expect(s.closeRcvd?.code).toBe(1000);
    s.allowMessages(10);
    expect(drain(s).map((e) => e.type)).toEqual(["message", "close"]);
  });

  it("discardReceived (nobody reads) drops what is held", () => {
    const s = new Protocol("server");
    s.allowMessages(1);
    s.receiveData(framesOf(texts(6)));
    s.sendClose(1000);
    s.discardReceived();
    expect(s.backlogBytes).toBe(0);
    s.receiveData(Buffer.concat([framesOf(texts(2)), closeFrame(1000)]));
    s.allowMessages(100);
    expect(drain(s).map((e) => e.type)).toEqual(["message", "close"]);
    expect(s.closeTransport).toBe(true);
  });

  it("an invalid frame in held input stops the scanner; the decoder fails there, in order, after the messages before it", () => {
    const s = new Protocol("server");
    s.allowMessages(1);
    s.receiveData(Buffer.concat([framesOf(texts(3)), rawFrame(3, enc("reserved opcode")), closeFrame(1000)]));
    expect(s.closeRcvd).toBeNull();
    expect(s.failure).toBeNull();
    s.allowMessages(100);
    drain(s);
    s.commitFailure();
    expect(s.failure?.closeCode).toBe(1002);
    expect(s.closeSent?.code).toBe(1002);
  });
});

describe("Receiver: memory follows the bytes received", () => {
  it("MessageBuffer: a large announced length commits no more than 4x what arrived (16 KiB at least)", () => {
    const b = new MessageBuffer();
    const view = b.reserve(4096, MiB);
    expect(view.length).toBe(4096);
    expect(view.buffer.byteLength).toBe(16 * 1024);
    b.reserve(20_000, MiB);
    expect(b.length).toBe(24_096);
    expect(b.reserve(0, MiB).buffer.byteLength).toBeLessThanOrEqual(4 * 24_096);
  });

  it("MessageBuffer: a 1 MiB message read in 256 KiB pieces after a small first piece is held in two buffers, the last of its exact size", () => {
    const b = new MessageBuffer();
    const buffers = new Set<ArrayBufferLike>();
    let at = 0;
    for (const n of [1000, 256 * 1024, 256 * 1024, 256 * 1024, MiB - 1000 - 3 * 256 * 1024]) {
      const view = b.reserve(n, MiB);
      view.fill(at & 0xff);
      at += n;
      buffers.add(view.buffer);
    }
    // Doubling from 16 KiB allocated four (16 KiB, 263 KiB, 526 KiB, 1 MiB); growing to 4x what arrived, two.
    expect(buffers.size).toBe(2);
    const out = b.take();
    expect(out.length).toBe(MiB);
    expect(out.buffer.byteLength).toBe(MiB);
    expect(out[0]).toBe(0);
    expect(out[1000]).toBe(1000 & 0xff);
    expect(out[MiB - 1]).toBe((1000 + 3 * 256 * 1024) & 0xff);
  });

  it("MessageBuffer: a million one-byte pieces cost about 2x the message, one buffer; a small message is copied out to its size", () => {
    const b = new MessageBuffer();
    const one = bytesOf(7);
    for (let i = 0; i < MiB; i++) b.append(one, 2 * MiB);
    const out = b.take();
    expect(out.length).toBe(MiB);
    expect(out.buffer.byteLength).toBeLessThanOrEqual(2 * MiB);
    b.append(one, MiB);
    b.append(one, MiB);
    const small = b.take();
    expect(Array.from(small)).toEqual([7, 7]);
    expect(small.buffer.byteLength).toBeLessThan(16 * 1024);
  });

  it("a message in 200,000 one-byte fragments is delivered whole, held in one buffer of at most twice its size", () => {
    const s = new Protocol("server", { maxSize: null });
    const n = 200_000;
    const frames = Array.from({ length: n }, (_, i) => rawFrame(i === 0 ? 2 : 0, bytesOf(i & 0xff), { fin: i === n - 1 }));
    const wire = Buffer.concat(frames);
    for (let i = 0; i < wire.length; i += 65536) s.receiveData(Uint8Array.from(wire.subarray(i, i + 65536)));
    const [ev] = drain(s);
    const data = (ev as { data: Uint8Array }).data;
    expect(data.length).toBe(n);
    expect(data[12345]).toBe(12345 & 0xff);
    expect(data.buffer.byteLength).toBeLessThanOrEqual(2 * n);
  });

  it("500 peers announcing 1 MiB and sending 4 KiB do not make the core allocate the announced lengths", () => {
    const before = process.memoryUsage().arrayBuffers;
    const cores: Protocol[] = [];
    const header = rawFrame(2, new Uint8Array(MiB)).subarray(0, 14);
    for (let i = 0; i < 500; i++) {
      const s = new Protocol("server");
      s.receiveData(Uint8Array.from(Buffer.concat([header, new Uint8Array(4096)])));
      cores.push(s);
    }
    const growth = process.memoryUsage().arrayBuffers - before;
    // Old code: 500 MiB (one 1 MiB buffer each). Now at most 16 KiB + the 4 KiB chunk each (~10 MiB).
    expect(growth).toBeLessThan(64 * MiB);
    expect(cores.every((c) => c.failure === null)).toBe(true);
  });
});

describe("Receiver: limits and what goes on the wire", () => {
  it("maxSize null: a frame announced over what a Buffer can hold fails with 1009, not 1011", () => {
    for (const announced of [[0x00, 0x20, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 1]]) {
      const s = new Protocol("server", { maxSize: null });
      s.receiveData(Uint8Array.from([0x82, 0xff, ...announced, 1, 2, 3, 4]));
      expect(s.failure?.closeCode).toBe(1009);
      const [close] = written(s);
      expect(close!.payload.readUInt16BE(0)).toBe(1009);
      expect(close!.payload.subarray(2).toString()).not.toMatch(/Range|size|out of range/i);
    }
  });

  it("an internal error while decoding fails with 1011 and a fixed reason; the details stay on the error", () => {
    const broken: MessageExtension = {
      name: "x-broken",
      rsvBits: 0x40,
      decode: () => {
        throw new TypeError("secret internal detail at /srv/app.js:42");
      },
      shouldEncode: () => false,
      encode: (p) => p,
      stateless: true,
      sharingKey: "x",
    };
    const s = new Protocol("server", { extensions: [broken] });
    s.receiveData(rawFrame(2, bytesOf(1, 2, 3), { rsv: 0x40 }));
    const [close] = written(s);
    expect(close!.payload.readUInt16BE(0)).toBe(1011);
    expect(close!.payload.subarray(2).toString()).toBe("internal error");
    expect(s.failure?.message).toMatch(/secret internal detail/);
  });

  it("corrupt compressed data fails with 1007 without zlib's words on the wire", () => {
    const s = new Protocol("server", { extensions: [new PerMessageDeflate(deflateParams())] });
    s.receiveData(rawFrame(2, bytesOf(0xff, 0xff, 0xff, 0xff), { rsv: 0x40 }));
    const [close] = written(s);
    expect(close!.payload.readUInt16BE(0)).toBe(1007);
    expect(close!.payload.subarray(2).toString()).toBe("invalid compressed data");
    expect(s.failure?.message).toMatch(/invalid compressed data: ./);
  });
});

// ---------------------------------------------------------------- properties

const messageArb = fc.record({
  text: fc.boolean(),
  body: fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("latin1"))),
  // Fragment sizes: 0 means one frame.
  fragment: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  pingAfter: fc.boolean(),
});

/** The bytes a (masking) peer sends for these messages, fragmented as asked, then a close frame. */
type TestMessage = { text: boolean; body: string; fragment: number; pingAfter: boolean };

function streamOf(msgs: TestMessage[], withClose: boolean, compress: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of msgs) {
    const data = m.text ? enc(m.body) : Buffer.from(m.body, "latin1");
    const opcode = m.text ? 1 : 2;
    if (compress) {
      parts.push(compressedFrame(data, opcode));
    } else if (m.fragment === 0 || data.length <= m.fragment) {
      parts.push(rawFrame(opcode, data));
    } else {
      for (let at = 0; at < data.length; at += m.fragment) {
        const piece = data.subarray(at, at + m.fragment);
        parts.push(rawFrame(at === 0 ? opcode : 0, piece, { fin: at + m.fragment >= data.length }));
      }
    }
    if (m.pingAfter) parts.push(rawFrame(9, enc("p")));
  }
  if (withClose) parts.push(closeFrame(1000));
  return Buffer.concat(parts);
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...points, bytes.length]) {
    out.push(Uint8Array.from(bytes.subarray(prev, c)));
    prev = c;
  }
  return out;
}

function normalize(evs: ProtocolEvent[]) {
  return evs.map((e) => ("data" in e && e.data instanceof Uint8Array ? { ...e, data: Buffer.from(e.data).toString("hex") } : e));
}

const newServer = (compress: boolean) =>
  new Protocol("server", { maxSize: null, ...(compress ? { extensions: [new PerMessageDeflate(deflateParams())] } : {}) });

describe("Receiver: properties", () => {
  it("any fragmentation, any chunking and any budget schedule give the same events; the close is seen as soon as it arrives", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        (msgs, cuts, budgets, compress) => {
          const bytes = streamOf(msgs, true, compress);
          const reference = newServer(compress);
          reference.receiveData(Uint8Array.from(bytes));
          const expected = normalize(drain(reference));

          const s = newServer(compress);
          const got: ProtocolEvent[] = [];
          let turn = 0;
          s.allowMessages(budgets[0]!);
          for (const chunk of splitAt(bytes, cuts)) {
            s.receiveData(chunk);
            got.push(...drain(s));
            s.allowMessages(budgets[++turn % budgets.length]!);
            got.push(...drain(s));
          }
          // Whatever is still held, the close frame was acted on when it arrived.
          expect(s.closeRcvd?.code).toBe(1000);
          expect(s.closeTransport).toBe(true);
          s.allowMessages(Infinity);
          got.push(...drain(s));
          expect(normalize(got)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("our close and a freeze at any point: the messages delivered are the sent ones in order (a prefix), and the peer's close is seen", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        (msgs, cuts, budgets, closeAt) => {
          const bytes = streamOf(msgs, true, false);
          const reference = newServer(false);
          reference.receiveData(Uint8Array.from(bytes));
          const expected = normalize(drain(reference)).filter((e) => e.type === "message");
          const s = newServer(false);
          const got: ProtocolEvent[] = [];
          const chunks = splitAt(bytes, cuts);
          s.allowMessages(budgets[0]!);
          chunks.forEach((chunk, i) => {
            if (i === closeAt % chunks.length) {
              if (s.state === "open") s.sendClose(1000);
              s.freezeBacklog();
            }
            s.receiveData(chunk);
            got.push(...drain(s));
            s.allowMessages(budgets[(i + 1) % budgets.length]!);
            got.push(...drain(s));
          });
          expect(s.closeRcvd?.code).toBe(1000);
          s.allowMessages(Infinity);
          got.push(...drain(s));
          const delivered = normalize(got).filter((e) => e.type === "message");
          expect(delivered).toEqual(expected.slice(0, delivered.length));
          expect(got.at(-1)?.type).toBe("close");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("EOF at any point while held: every message complete before it is delivered, in order", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 10 }), fc.nat(), fc.integer({ min: 0, max: 2 }), (msgs, cut, budget) => {
        const bytes = streamOf(msgs, false, false);
        const end = cut % (bytes.length + 1);
        const reference = newServer(false);
        reference.receiveData(Uint8Array.from(bytes.subarray(0, end)));
        reference.receiveEof();
        const expected = normalize(drain(reference));
        const s = newServer(false);
        s.allowMessages(budget);
        s.receiveData(Uint8Array.from(bytes.subarray(0, end)));
        s.receiveEof();
        const got = drain(s);
        s.allowMessages(Infinity);
        got.push(...drain(s));
        expect(normalize(got)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

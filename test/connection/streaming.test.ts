import { Buffer } from "node:buffer";
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Protocol, type ProtocolEvent } from "../../src/connection/protocol.js";
import { PerMessageDeflate, type DeflateParameters } from "../../src/extensions/deflate-codec.js";
import { INFLATE_STEP } from "../../src/extensions/inflate.js";
import { isValidUtf8 } from "../../src/frame/utf8.js";
import { drain, rawFrame } from "./pair.js";

const enc = (s: string) => Buffer.from(s, "utf8");
const MiB = 1024 * 1024;

function params(nct = false, bits = 15): DeflateParameters {
  return {
    localNoContextTakeover: nct,
    remoteNoContextTakeover: nct,
    localMaxWindowBits: bits,
    remoteMaxWindowBits: bits,
    memLevel: 8,
    level: 6,
    threshold: 0,
  };
}

/** Frames of one message cut at `cuts` (positions in its wire payload); RSV1 on the first when compressed. */
function framesOf(opcode: number, payload: Uint8Array, cuts: number[], compressed: boolean): Buffer {
  const points = [...new Set(cuts.map((c) => Math.min(c, payload.length)))].sort((a, b) => a - b).filter((c) => c > 0 && c < payload.length);
  const bounds = [0, ...points, payload.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const fin = i + 2 === bounds.length;
    frames.push(rawFrame(i === 0 ? opcode : 0, payload.subarray(bounds[i]!, bounds[i + 1]!), { fin, rsv: i === 0 && compressed ? 0x40 : 0 }));
  }
  return Buffer.concat(frames);
}

/** What a reader got: a whole message, or the fragments of a streamed one. */
interface Got {
  streamed: boolean;
  text: boolean;
  parts: Uint8Array[];
}

/**
 * Drive a server core as the adapter does: before each chunk, set the
 * budgets; after it, take the events; whenever the next message is one the
 * reader wants streamed and none is, call streamMessage (possibly while
 * that message is half received).
 */
function receive(
  core: Protocol,
  chunks: Uint8Array[],
  wantStream: (index: number) => boolean,
  budgets: { messages: () => number; bytes: () => number },
  expected: number,
): { got: Got[]; events: ProtocolEvent[] } {
  const got: Got[] = [];
  const events: ProtocolEvent[] = [];
  let open: Got | null = null;
  const take = () => {
    for (;;) {
      for (const ev of drain(core)) {
        events.push(ev);
        if (ev.type === "fragment") {
          if (open === null) {
            open = { streamed: true, text: ev.text, parts: [] };
            got.push(open);
          }
          expect(ev.text).toBe(open.text);
          open.parts.push(ev.data);
          if (ev.fin) open = null;
        } else if (ev.type === "message") {
          expect(open).toBe(null);
          const text = typeof ev.data === "string" || ev.text === true;
          got.push({ streamed: false, text, parts: [typeof ev.data === "string" ? enc(ev.data) : ev.data] });
        }
      }
      if (open === null && !core.streamingMessage && core.failure === null && got.length < expected && wantStream(got.length)) {
        core.streamMessage(null);
        continue;
      }
      return;
    }
  };
  for (const chunk of chunks) {
    core.allowMessages(budgets.messages());
    core.allowStreamBytes(budgets.bytes());
    core.receiveData(chunk);
    take();
  }
  for (let guard = 0; got.length < expected || open !== null; guard++) { if (guard > 100_001) throw new Error("GUARD " + got.length);
    if (guard > 100_000 || core.failure !== null) break;
    core.allowMessages(budgets.messages());
    core.allowStreamBytes(budgets.bytes());
    take();
  }
  return { got, events };
}

const messageArb = fc.record({
  text: fc.boolean(),
  content: fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 3000 })),
  repeat: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 100, max: 600 })),
  compressed: fc.boolean(),
  stream: fc.constantFrom(true, true, false),
  cuts: fc.array(fc.nat(200_000), { maxLength: 5 }),
});

/** One case of the property below: messages on the wire, cut into chunks, read with budgets. */
export function checkCase(
  msgs: { text: boolean; content: string; repeat: number; compressed: boolean; stream: boolean; cuts: number[] }[],
  sizes: number[],
  byteBudgets: number[],
  msgBudgets: number[],
  nct: boolean,
  textAsBytes: boolean,
): void {
  const sender = new PerMessageDeflate(params(nct));
  const contents = msgs.map((m) => enc(m.content.repeat(m.repeat)));
  const wire = Buffer.concat(
    msgs.map((m, i) => {
      const payload = m.compressed ? sender.encode(contents[i]!) : contents[i]!;
      return framesOf(m.text ? 1 : 2, payload, m.cuts, m.compressed);
    }),
  );
  const chunks: Uint8Array[] = [];
  for (let at = 0, k = 0; at < wire.length; k++) {
    const n = sizes[k % sizes.length]!;
    chunks.push(Uint8Array.from(wire.subarray(at, at + n)));
    at += n;
  }
  const core = new Protocol("server", { maxSize: null, extensions: [new PerMessageDeflate(params(nct))] });
  core.textAsBytes = textAsBytes;
  let b = 0;
  let m = 0;
  const { got } = receive(
    core,
    chunks,
    (i) => msgs[i]!.stream,
    // Never 0 twice in a row at the end: the reader always comes back.
    { messages: () => Math.max(1, msgBudgets[m++ % msgBudgets.length]!), bytes: () => Math.max(1, byteBudgets[b++ % byteBudgets.length]!) },
    msgs.length,
  );
  expect(core.failure).toBe(null);
  expect(got.length).toBe(msgs.length);
  got.forEach((g, i) => {
    expect(g.text).toBe(msgs[i]!.text);
    expect(Buffer.concat(g.parts).equals(contents[i]!)).toBe(true);
    if (g.streamed && g.text) for (const part of g.parts) expect(isValidUtf8(part)).toBe(true);
    if (!msgs[i]!.stream) expect(g.streamed).toBe(false);
  });
}

describe("streaming receive: properties", () => {
  it("under any chunking, fragmentation, budgets and switch point, a streamed message's fragments are the message; text fragments are UTF-8 alone", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 70_000 })), { minLength: 1, maxLength: 20 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100_000 })), { minLength: 1, maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 10 }),
        fc.boolean(),
        fc.boolean(),
        checkCase,
      ),
      { numRuns: Number(process.env.RUNS ?? 300) },
    );
  });
});

describe("streaming receive: the core", () => {
  it("an uncompressed streamed message goes out as views of the received chunks: no copy, no reassembly", () => {
    const core = new Protocol("server");
    core.streamMessage(null);
    const frame = rawFrame(2, new Uint8Array(100_000).fill(7));
    const a = frame.slice(0, 30_000);
    const b = frame.slice(30_000);
    core.receiveData(a);
    core.receiveData(b);
    const evs = drain(core) as Extract<ProtocolEvent, { type: "fragment" }>[];
    expect(evs.map((e) => [e.data.length, e.fin])).toEqual([
      [30_000 - 14, false],
      [70_000 + 14, true],
    ]);
    expect(evs[0]!.data.buffer).toBe(a.buffer);
    expect(evs[1]!.data.buffer).toBe(b.buffer);
    expect(core.streamingMessage).toBe(false);
  });

  it("the next message after a streamed one is whole again; a message already half received is streamed from what arrived", () => {
    const core = new Protocol("server");
    const wire = Buffer.concat([rawFrame(1, enc("héllo "), { fin: false }), rawFrame(0, enc("wörld"))]);
    core.receiveData(Uint8Array.from(wire.subarray(0, 10)));
    expect(drain(core)).toEqual([]);
    core.streamMessage(null);
    core.receiveData(Uint8Array.from(wire.subarray(10)));
    core.receiveData(rawFrame(1, enc("whole")));
    const evs = drain(core);
    const text = Buffer.concat(evs.filter((e) => e.type === "fragment").map((e) => (e as { data: Uint8Array }).data)).toString();
    expect(text).toBe("héllo wörld");
    expect(evs.at(-1)).toEqual({ type: "message", data: "whole" });
  });

  it("text is cut on code points: a character split between frames goes out as a fragment of its own", () => {
    const core = new Protocol("server");
    core.streamMessage(null);
    const euro = enc("a€b"); // 61 e2 82 ac 62
    core.receiveData(Buffer.concat([rawFrame(1, euro.subarray(0, 2), { fin: false }), rawFrame(0, euro.subarray(2, 3), { fin: false }), rawFrame(0, euro.subarray(3))]));
    const parts = drain(core).map((e) => Buffer.from((e as { data: Uint8Array }).data).toString("hex"));
    expect(parts).toEqual(["61", "e282ac", "62"]);
  });

  it("invalid UTF-8 fails with 1007 on the piece that has it, before the message ends; what went before was delivered", () => {
    const core = new Protocol("server");
    core.streamMessage(null);
    core.receiveData(rawFrame(1, enc("fine so far"), { fin: false }));
    expect(drain(core)).toHaveLength(1);
    core.receiveData(rawFrame(0, Uint8Array.of(0x41, 0xed, 0xa0, 0x80), { fin: false })); // a surrogate
    expect(core.failure?.closeCode).toBe(1007);
    expect(core.closeSent?.code).toBe(1007);
  });

  it("maxSize: streamMessage(limit) lifts or keeps the limit for that message only; 1009 past it", () => {
    const big = rawFrame(2, new Uint8Array(3 * MiB));
    const lifted = new Protocol("server");
    lifted.streamMessage(null);
    lifted.receiveData(Uint8Array.from(big));
    expect(lifted.failure).toBe(null);
    expect(drain(lifted).reduce((n, e) => n + (e as { data: Uint8Array }).data.length, 0)).toBe(3 * MiB);
    lifted.receiveData(Uint8Array.from(big)); // the next one, whole: over maxSize (1 MiB)
    expect(lifted.failure?.closeCode).toBe(1009);

    const kept = new Protocol("server");
    kept.streamMessage(kept.maxSize);
    kept.receiveData(Uint8Array.from(big));
    expect(kept.failure?.closeCode).toBe(1009);
  });

  it("a compressed bomb streams in steps of at most 64 KiB, only as fast as the budget allows; the size limit stops it", () => {
    const zeros = new Uint8Array(64 * MiB);
    const z = deflateRawSync(zeros, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const frame = rawFrame(2, z.subarray(0, z.length - 4), { rsv: 0x40 });
    expect(frame.length).toBeLessThan(100_000);
    const core = new Protocol("server", { maxSize: null, extensions: [new PerMessageDeflate(params())] });
    core.streamMessage(null);
    core.allowStreamBytes(100_000);
    core.receiveData(Uint8Array.from(frame));
    let evs = drain(core) as Extract<ProtocolEvent, { type: "fragment" }>[];
    // The budget was spent by the second step: nothing more is decoded until the reader asks.
    expect(evs.map((e) => e.data.length)).toEqual([INFLATE_STEP, INFLATE_STEP]);
    let total = 2 * INFLATE_STEP;
    for (let i = 0; i < 10_000 && core.streamingMessage; i++) {
      core.allowStreamBytes(1);
      evs = drain(core) as Extract<ProtocolEvent, { type: "fragment" }>[];
      expect(evs.length).toBeLessThanOrEqual(1);
      for (const e of evs) {
        expect(e.data.length).toBeLessThanOrEqual(INFLATE_STEP);
        total += e.data.length;
      }
    }
    expect(total).toBe(zeros.length);

    const limited = new Protocol("server", { maxSize: null, extensions: [new PerMessageDeflate(params())] });
    limited.streamMessage(5 * MiB);
    limited.receiveData(Uint8Array.from(frame));
    expect(limited.failure?.closeCode).toBe(1009);
    expect(drain(limited).reduce((n, e) => n + (e.type === "fragment" ? e.data.length : 0), 0)).toBeLessThanOrEqual(5 * MiB);
  });

  it("backpressure inside a frame: input is held raw, and a close frame behind it is answered at once; the rest is still delivered", () => {
    const core = new Protocol("server");
    core.streamMessage(null);
    core.allowStreamBytes(1000);
    const body = new Uint8Array(50_000).map((_, i) => i & 0xff);
    const frame = rawFrame(2, body);
    core.receiveData(frame.slice(0, 20_000));
    core.receiveData(frame.slice(20_000));
    core.receiveData(rawFrame(8, Uint8Array.of(0x03, 0xe8)));
    const first = drain(core);
    expect(first).toHaveLength(1);
    expect(core.holding).toBe(true);
    expect(core.backlogBytes).toBe(30_000 + 8 + 8); // after the first piece of 19,992 bytes; the close frame

    expect(core.closeRcvd?.code).toBe(1000); // found by the scanner, echoed
    core.allowStreamBytes(Infinity);
    const rest = drain(core);
    const data = Buffer.concat([first, rest].flat().filter((e) => e.type === "fragment").map((e) => (e as { data: Uint8Array }).data));
    expect(data.equals(body)).toBe(true);
    expect(rest.at(-1)).toEqual({ type: "close", code: 1000, reason: "" });
  });

  it("EOF while a streamed message's decoded output waits: the rest is still delivered; EOF inside it ends the stream without fin", () => {
    const zeros = new Uint8Array(MiB);
    const z = deflateRawSync(zeros, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const core = new Protocol("server", { extensions: [new PerMessageDeflate(params())] });
    core.streamMessage(null);
    core.allowStreamBytes(1);
    core.receiveData(rawFrame(2, z.subarray(0, z.length - 4), { rsv: 0x40 }));
    core.receiveEof();
    let total = 0;
    for (let i = 0; i < 100 && core.streamingMessage; i++) {
      core.allowStreamBytes(Infinity);
      for (const e of drain(core)) if (e.type === "fragment") total += e.data.length;
    }
    expect(total).toBe(MiB);

    const cut = new Protocol("server");
    cut.streamMessage(null);
    cut.receiveData(rawFrame(2, new Uint8Array(10), { fin: false }));
    expect(drain(cut)).toHaveLength(1);
    expect(cut.streamingMessage).toBe(true);
    cut.receiveEof();
    expect(cut.streamingMessage).toBe(false);
    expect(drain(cut)).toEqual([]);
  });

  it("cancelStreamMessage before anything of the message went out: it comes whole; afterwards it can't be taken back", () => {
    const core = new Protocol("server");
    core.streamMessage(null);
    expect(core.cancelStreamMessage()).toBe(true);
    core.receiveData(rawFrame(1, enc("whole")));
    expect(drain(core)).toEqual([{ type: "message", data: "whole" }]);
    core.streamMessage(null);
    core.receiveData(rawFrame(1, enc("part"), { fin: false }));
    expect(core.cancelStreamMessage()).toBe(false);
  });

  it("textAsBytes: a text message comes as its bytes, marked text, without a decode", () => {
    const core = new Protocol("server");
    core.textAsBytes = true;
    const frame = rawFrame(1, enc("héllo"));
    core.receiveData(frame);
    const [ev] = drain(core) as Extract<ProtocolEvent, { type: "message" }>[];
    expect(ev!.text).toBe(true);
    expect(Buffer.from(ev!.data as Uint8Array).toString()).toBe("héllo");
    expect((ev!.data as Uint8Array).buffer).toBe(frame.buffer);
  });
});

describe("sending a compressed message in fragments", () => {
  /** Parse the frames a client core wrote (masked), returning header bits and unmasked payloads. */
  function frames(bytes: Buffer): { fin: boolean; rsv: number; opcode: number; payload: Buffer }[] {
    const out = [];
    for (let i = 0; i < bytes.length; ) {
      const b0 = bytes[i]!;
      let len = bytes[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) (len = bytes.readUInt16BE(p)), (p += 2);
      else if (len === 127) (len = Number(bytes.readBigUInt64BE(p))), (p += 8);
      const key = bytes.subarray(p, p + 4);
      p += 4;
      const payload = Buffer.from(bytes.subarray(p, p + len)).map((b, j) => b ^ key[j & 3]!);
      out.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, payload: Buffer.from(payload) });
      i = p + len;
    }
    return out;
  }

  for (const nct of [false, true]) {
    it(`RSV1 on the first frame only; the receiver gets the message whole or streamed, and the next ones too (${nct ? "no " : ""}context takeover)`, () => {
      const client = new Protocol("client", { extensions: [new PerMessageDeflate(params(nct))] });
      const text = "fragmented and compressed ".repeat(200);
      client.sendText(text.slice(0, 1000), false);
      client.sendContinuation(text.slice(1000, 3000), false);
      client.sendContinuation("", false);
      client.sendContinuation(text.slice(3000), true);
      client.sendText(text); // whole, after it: the window carries on
      const wire = Buffer.concat(client.dataToSend());
      const fs = frames(wire);
      expect(fs.map((f) => [f.opcode, f.rsv, f.fin])).toEqual([
        [1, 0x40, false],
        [0, 0, false],
        [0, 0, false],
        [0, 0, true],
        [1, 0x40, true],
      ]);
      // Far smaller than the text: it really is compressed.
      expect(fs.slice(0, 4).reduce((n, f) => n + f.payload.length, 0)).toBeLessThan(text.length / 10);
      for (const stream of [false, true]) {
        const server = new Protocol("server", { extensions: [new PerMessageDeflate(params(nct))] });
        if (stream) server.streamMessage(null);
        server.receiveData(Uint8Array.from(wire));
        const evs = drain(server);
        const first = stream
          ? Buffer.concat(evs.filter((e) => e.type === "fragment").map((e) => (e as { data: Uint8Array }).data)).toString()
          : (evs[0] as { data: string }).data;
        expect(first).toBe(text);
        expect(evs.at(-1)).toEqual({ type: "message", data: text });
      }
    });
  }

  it("compress: false sends the fragments as they are", () => {
    const client = new Protocol("client", { extensions: [new PerMessageDeflate(params())] });
    client.sendBinary(new Uint8Array(100), false, { compress: false });
    client.sendContinuation(new Uint8Array(100), true);
    expect(frames(Buffer.concat(client.dataToSend())).map((f) => [f.rsv, f.payload.length])).toEqual([
      [0, 100],
      [0, 100],
    ]);
  });
});

/**
 * Borrowed input (`receiveData(chunk, true)`): the adapter reads into one
 * buffer it reuses for every read of every connection. Whatever the core
 * delivers or keeps must not be a view of that buffer: these tests push
 * every chunk through one shared buffer and scribble over it after each
 * call, then compare the events with those of owned input.
 */
import { deflateRawSync, constants as zlibConstants } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Protocol, type ProtocolEvent } from "../../src/connection/protocol.js";
import { PerMessageDeflate } from "../../src/extensions/deflate-codec.js";
import { drain, rawFrame } from "./pair.js";

const enc = (s: string) => new TextEncoder().encode(s);

type TestMessage = { text: boolean; body: Uint8Array; fragment: number; pingAfter: boolean; compress: boolean };

const messageArb = fc.record({
  text: fc.boolean(),
  body: fc.oneof(
    fc.string({ maxLength: 40 }).map((s) => enc(s)),
    fc.uint8Array({ maxLength: 300 }),
    fc.integer({ min: 1000, max: 70_000 }).map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0x7f)),
  ),
  fragment: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 500, max: 20_000 })),
  pingAfter: fc.boolean(),
  compress: fc.boolean(),
});

function compressedFrame(data: Uint8Array, opcode: number): Uint8Array {
  const z = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return rawFrame(opcode, z.subarray(0, z.length - 4), { rsv: 0x40 });
}

/** The bytes a masking peer sends: text bodies are made valid UTF-8 (ASCII), then a close frame. */
function streamOf(msgs: TestMessage[], deflate: boolean): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of msgs) {
    const data = m.text ? m.body.map((b) => b & 0x7f) : m.body;
    const opcode = m.text ? 1 : 2;
    if (deflate && m.compress) parts.push(compressedFrame(data, opcode));
    else if (m.fragment === 0 || data.length <= m.fragment) parts.push(rawFrame(opcode, data));
    else {
      for (let at = 0; at < data.length; at += m.fragment) {
        parts.push(rawFrame(at === 0 ? opcode : 0, data.subarray(at, at + m.fragment), { fin: at + m.fragment >= data.length }));
      }
    }
    if (m.pingAfter) parts.push(rawFrame(9, enc("p")));
  }
  parts.push(rawFrame(8, Uint8Array.of(0x03, 0xe8)));
  return Buffer.concat(parts);
}

function cutsOf(length: number, cuts: number[]): number[] {
  return [...new Set(cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b).concat(length);
}

/** A copy of the events' data (hex for bytes), taken after the shared buffer was scribbled over. */
/**
 * Events with their bytes in hex. A streamed message's pieces are cut where
 * the reads were cut (they go out as they arrive), so each message's
 * consecutive `fragment` events are joined: what must not differ is the bytes.
 */
function normalize(evs: ProtocolEvent[]) {
  const out: unknown[] = [];
  let piece: { type: "fragment"; data: string; text: boolean; fin: boolean } | null = null;
  for (const e of evs) {
    if (e.type === "fragment") {
      const hex = Buffer.from(e.data).toString("hex");
      if (piece === null) piece = { type: "fragment", data: hex, text: e.text, fin: e.fin };
      else {
        piece.data += hex;
        piece.fin = e.fin;
      }
      if (e.fin) {
        out.push(piece);
        piece = null;
      }
      continue;
    }
    if (piece !== null) {
      out.push(piece);
      piece = null;
    }
    out.push("data" in e && e.data instanceof Uint8Array ? { ...e, data: Buffer.from(e.data).toString("hex") } : e);
  }
  if (piece !== null) out.push(piece);
  return out;
}

const newServer = (deflate: boolean, streaming: boolean) =>
  new Protocol("server", {
    maxSize: null,
    streaming,
    ...(deflate
      ? {
          extensions: [
            new PerMessageDeflate({
              localNoContextTakeover: false, remoteNoContextTakeover: false, localMaxWindowBits: 15, remoteMaxWindowBits: 15,
              memLevel: 8, level: 6, threshold: 0,
            }),
          ],
        }
      : {}),
  });

describe("Protocol: borrowed input", () => {
  it("property: chunks read into one reused buffer give the same events as owned chunks, whatever the budget", () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        fc.boolean(),
        (msgs, cuts, budgets, deflate, streaming) => {
          const bytes = streamOf(msgs, deflate);
          const reference = newServer(deflate, streaming);
          reference.receiveData(Uint8Array.from(bytes));
          const expected = normalize(drain(reference));

          const s = newServer(deflate, streaming);
          const shared = new Uint8Array(bytes.length + 16);
          const got: ProtocolEvent[] = [];
          let prev = 0;
          let turn = 0;
          // (Streaming with a message budget loses input on main — a budget spent
          // mid-message — and is another issue's: streaming runs unbudgeted here.)
          const budget = (i: number) => (streaming ? Infinity : budgets[i % budgets.length]!);
          s.allowMessages(budget(0));
          for (const cut of cutsOf(bytes.length, cuts)) {
            // Read into the shared buffer at a varying offset, as a socket would.
            const at = turn % 16;
            shared.set(bytes.subarray(prev, cut), at);
            s.receiveData(shared.subarray(at, at + cut - prev), true);
            shared.fill(0xee);
            got.push(...drain(s));
            s.allowMessages(budget(++turn));
            got.push(...drain(s));
            shared.fill(0xdd);
            prev = cut;
          }
          s.allowMessages(Infinity);
          got.push(...drain(s));
          shared.fill(0xcc);
          expect(normalize(got)).toEqual(expected);
          expect(s.closeRcvd?.code).toBe(1000);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a binary message in one read is delivered as a copy of its own size; a text one as a string", () => {
    const s = new Protocol("server");
    const shared = new Uint8Array(1024);
    const frames = Buffer.concat([rawFrame(2, Uint8Array.of(1, 2, 3)), rawFrame(1, enc("héllo"))]);
    shared.set(frames);
    s.receiveData(shared.subarray(0, frames.length), true);
    shared.fill(0);
    const [bin, text] = drain(s) as { type: "message"; data: Uint8Array | string }[];
    const bytes = bin!.data as Uint8Array;
    expect(bytes.buffer).not.toBe(shared.buffer);
    expect(bytes.byteLength).toBe(3);
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    expect(text!.data).toBe("héllo");
  });
});

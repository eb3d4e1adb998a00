import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OutputQueue, SLAB_SIZE } from "../../src/connection/output.js";
import { MERGE_THRESHOLD, serializeFrame } from "../../src/frame/serializer.js";
import { vectors } from "../frame/vectors.js";

const concat = (bufs: Uint8Array[]) => Buffer.concat(bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.length)));

describe("OutputQueue: bytes", () => {
  it("serializes every vector as serializeFrame does, the payload untouched", () => {
    for (const v of vectors) {
      const q = new OutputQueue();
      const key = v.key ? Uint8Array.from(v.key) : null;
      const payload = Uint8Array.from(v.payload);
      q.frame(v.fin, v.rsv, v.opcode, payload, key);
      const expected = concat(serializeFrame(v.opcode, Uint8Array.from(v.payload), { fin: v.fin, rsv: v.rsv, mask: key ? () => key : null }));
      expect(q.size).toBe(expected.length);
      expect(concat(q.take()).equals(expected), v.name).toBe(true);
      expect(Buffer.from(payload).equals(Buffer.from(v.payload))).toBe(true);
      expect(q.empty).toBe(true);
    }
  });

  it("property: any interleaving of frames on two queues gives each queue its own frames, in order", () => {
    const frame = fc.record({
      queue: fc.integer({ min: 0, max: 1 }),
      opcode: fc.constantFrom(1, 2),
      length: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: MERGE_THRESHOLD - 2, max: MERGE_THRESHOLD + 300 })),
      masked: fc.boolean(),
      raw: fc.boolean(),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 4 }), (frames, takes) => {
        const queues = [new OutputQueue(), new OutputQueue()];
        const got: Buffer[][] = [[], []];
        const want: Buffer[][] = [[], []];
        frames.forEach((f, i) => {
          const payload = Uint8Array.from({ length: f.length }, (_, j) => (f.seed + j) & 0xff);
          const key = f.masked ? Uint8Array.of(f.seed, 1, 2, 3) : null;
          const q = queues[f.queue]!;
          if (f.raw) {
            q.push(payload);
            want[f.queue]!.push(Buffer.from(payload));
          } else {
            q.frame(true, 0, f.opcode, payload, key);
            want[f.queue]!.push(concat(serializeFrame(f.opcode, payload, { mask: key ? () => key : null })));
          }
          if (takes.includes(i)) for (let k = 0; k < 2; k++) got[k]!.push(concat(queues[k]!.take()));
        });
        for (let k = 0; k < 2; k++) {
          got[k]!.push(concat(queues[k]!.take()));
          expect(Buffer.concat(got[k]!).equals(Buffer.concat(want[k]!))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("OutputQueue: layout", () => {
  it("puts small frames serialized one after the other in one buffer", () => {
    const q = new OutputQueue();
    for (let i = 0; i < 16; i++) q.frame(true, 0, 2, new Uint8Array(64), null);
    const out = q.take();
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(16 * 66);
  });

  it("starts a new piece when another queue wrote in between, or bytes were pushed", () => {
    const a = new OutputQueue();
    const b = new OutputQueue();
    a.frame(true, 0, 2, new Uint8Array(10), null);
    b.frame(true, 0, 2, new Uint8Array(10), null);
    a.frame(true, 0, 2, new Uint8Array(10), null);
    a.push(new Uint8Array(3));
    a.frame(true, 0, 2, new Uint8Array(10), null);
    expect(a.take().map((x) => x.length)).toEqual([12, 12, 3, 12]);
    expect(b.take().map((x) => x.length)).toEqual([12]);
  });

  it("queues a large unmasked payload itself, after its header (no copy)", () => {
    const q = new OutputQueue();
    const payload = new Uint8Array(MERGE_THRESHOLD + 1);
    q.frame(true, 0, 2, new Uint8Array(5), null);
    q.frame(true, 0, 2, payload, null);
    const out = q.take();
    expect(out).toHaveLength(2);
    expect(out[0]!.length).toBe(7 + 4);
    expect(out[1]).toBe(payload);
  });

  it("never rewrites bytes handed out: a piece taken stays intact while more frames are written, past a full slab", () => {
    const q = new OutputQueue();
    q.frame(true, 0, 2, new Uint8Array(100).fill(7), null);
    const first = q.take()[0]!;
    const copy = Buffer.from(first);
    const other = new OutputQueue();
    const n = Math.ceil((3 * SLAB_SIZE) / 1002);
    for (let i = 0; i < n; i++) other.frame(true, 0, 2, new Uint8Array(998).fill(i & 0xff), null);
    expect(Buffer.from(first).equals(copy)).toBe(true);
    // Every frame written came out whole, across slabs.
    const pieces = other.take();
    expect(pieces.length).toBeGreaterThan(1);
    const all = concat(pieces);
    expect(all.length).toBe(1002 * n);
    for (let i = 0; i < n; i++) expect(all[1002 * i + 4 + 997]).toBe(i & 0xff);
  });
});

describe("OutputQueue: reuse of the arena (release)", () => {
  /** Start a fresh slab that no queue holds (the tests before left references to the current one). */
  function freshSlab(): void {
    const t = new OutputQueue();
    t.frame(true, 0, 2, new Uint8Array(1), null);
    const start = t.take()[0]!.buffer;
    while (t.take().every((b) => b.buffer === start)) t.frame(true, 0, 2, new Uint8Array(MERGE_THRESHOLD), null);
    t.release();
  }

  it("a slab every queue released is written again from its start; one a queue still holds is not", () => {
    freshSlab();
    const a = new OutputQueue();
    const b = new OutputQueue();
    a.frame(true, 0, 2, new Uint8Array(100).fill(1), null);
    const first = a.take()[0]!;
    a.release();
    a.frame(true, 0, 2, new Uint8Array(100).fill(2), null);
    const second = a.take()[0]!;
    // Released: the same bytes of the same slab again.
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset);
    // b holds bytes of that slab (taken, not released): a's release does not rewind it.
    b.frame(true, 0, 2, new Uint8Array(50).fill(3), null);
    const held = b.take()[0]!;
    const heldCopy = Buffer.from(held);
    a.release();
    a.frame(true, 0, 2, new Uint8Array(100).fill(4), null);
    const third = a.take()[0]!;
    expect(third.byteOffset).toBeGreaterThanOrEqual(held.byteOffset + held.length);
    expect(Buffer.from(held).equals(heldCopy)).toBe(true);
    // Nothing queued since take(), or nothing held at all: release is a no-op; queued bytes are never released.
    a.frame(true, 0, 2, new Uint8Array(10), null);
    a.release();
    b.release();
    const queued = a.take()[0]!;
    const queuedCopy = Buffer.from(queued);
    const c = new OutputQueue();
    c.frame(true, 0, 2, new Uint8Array(10).fill(9), null);
    expect(Buffer.from(queued).equals(queuedCopy)).toBe(true);
    a.release();
    c.take();
    c.release();
  });

  it("property: bytes taken and not released stay intact whatever other queues write, take and release", () => {
    const op = fc.record({
      queue: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom("frame", "frame", "frame", "take", "release", "clear"),
      length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: MERGE_THRESHOLD - 4, max: MERGE_THRESHOLD })),
      seed: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queues = [new OutputQueue(), new OutputQueue(), new OutputQueue()];
        // Per queue: what it took since its last release, with a copy made when taken.
        const held: { view: Uint8Array; copy: Buffer }[][] = [[], [], []];
        const check = () => {
          for (const list of held) for (const h of list) expect(Buffer.from(h.view.buffer, h.view.byteOffset, h.view.length).equals(h.copy)).toBe(true);
        };
        for (const o of ops) {
          const q = queues[o.queue]!;
          if (o.kind === "frame") q.frame(true, 0, 2, Uint8Array.from({ length: o.length }, (_, j) => (o.seed + j) & 0xff), null);
          else if (o.kind === "take") for (const view of q.take()) held[o.queue]!.push({ view, copy: Buffer.from(view) });
          else if (o.kind === "clear") q.clear(); // what was taken is still held (being written)
          else {
            // The adapter's rule: release right after take, when nothing else holds the bytes.
            for (const view of q.take()) void view;
            q.release();
            held[o.queue] = [];
          }
          check();
        }
      }),
      { numRuns: 300 },
    );
  });
});

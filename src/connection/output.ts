/**
 * A connection's outgoing bytes, in order, until the adapter takes them
 * (`Protocol.dataToSend()`).
 *
 * Small frames are serialized straight into a byte arena shared by every
 * connection of the process: an append-only slab that is never written
 * twice (a region handed out stays as it is for as long as anything holds a
 * view of it: a socket that could not write it at once keeps the view, and
 * with it the slab). Frames that one connection serializes one after the
 * other — every answer of one turn of the event loop, the usual case — land
 * next to each other in the slab and leave as one buffer: no allocation per
 * frame, no per-frame entry in the list, and one contiguous `write` for the
 * adapter. A frame of another connection in between only starts a new
 * segment. A full slab is left to the garbage collector and a fresh one
 * taken.
 *
 * Reuse. A slab that nobody holds any more is rewound and written again
 * from its start, so that a busy server keeps writing into the same few
 * KiB, warm in the CPU's caches, instead of streaming through fresh memory.
 * Only the adapter knows when nothing holds the bytes it took: it says so
 * with {@link OutputQueue.release} (`Protocol.outputReleased()`) once the
 * socket wrote them and keeps no view. Each queue with bytes in the current
 * slab — queued, or taken and not released — counts as one reference; the
 * slab is rewound when the count drops to zero. A caller that never
 * releases (a sans-IO user keeping the buffers) keeps its reference: that
 * slab is not reused, only left behind when full, as without reuse. A
 * reference to a slab that is no longer the current one is simply dropped:
 * that slab is never rewound.
 *
 * Large payloads are never copied: their header goes in the arena and the
 * payload itself follows in the list (header and payload kept apart, the
 * adapter writes them with one `writev`). Masked frames (the client role)
 * are masked into the arena (small) or into a buffer of their own (large),
 * never in the caller's buffer.
 */
import { Buffer } from "node:buffer";
import { maskInto } from "../frame/mask.js";
import { MERGE_THRESHOLD, frameHeaderSize, writeFrameHeader } from "../frame/serializer.js";

/** Bytes per slab of the shared arena. */
export const SLAB_SIZE = 32 * 1024;

/** A slab of the shared arena: its bytes, how much of it is handed out, and the queues that hold some of it. */
interface Slab {
  readonly buf: Buffer;
  used: number;
  refs: number;
}

function newSlab(size: number): Slab {
  return { buf: Buffer.allocUnsafeSlow(size), used: 0, refs: 0 };
}

// The shared arena: the slab frames are written into now.
let current: Slab = newSlab(SLAB_SIZE);

/** The list of an empty queue, shared (nothing per idle connection); never pushed to, and what `take` returns when empty. */
const NOTHING = Object.freeze([]) as unknown as Uint8Array[];

/** The outgoing bytes of one connection; see the module comment. */
export class OutputQueue {
  /** Buffers to write, in order (closed segments and large payloads); NOTHING, shared, while empty. */
  private list: Uint8Array[] = NOTHING;
  /** The open segment: where it starts in `segSlab`, and its end. */
  private segSlab: Buffer | null = null;
  private segStart = 0;
  private segEnd = 0;
  /** Bytes queued (the list and the open segment). */
  private bytes = 0;
  /** The slab this queue holds a reference to (bytes in it queued, or taken and not released). */
  private ref: Slab | null = null;

  /** Bytes queued and not taken yet. */
  get size(): number {
    return this.bytes;
  }

  /** True when nothing is queued. */
  get empty(): boolean {
    return this.bytes === 0 && this.list.length === 0;
  }

  /**
   * Queue one frame. `key` is the masking key (client role) or null; the
   * payload is never modified and, when large and unmasked, queued as it is
   * (the caller must not change it before it is written).
   */
  frame(fin: boolean, rsv: number, opcode: number, payload: Uint8Array, key: Uint8Array | null): void {
    const length = payload.length;
    const headerSize = frameHeaderSize(length, key !== null);
    if (length <= MERGE_THRESHOLD) {
      const at = this.reserve(headerSize + length);
      const slab = current.buf;
      const start = writeFrameHeader(slab, at, fin, rsv, opcode, length, key);
      if (length === 0) return;
      if (key !== null) maskInto(payload, key, slab, start);
      else if (length <= 16) for (let i = 0; i < length; i++) slab[start + i] = payload[i]!;
      else slab.set(payload, start);
      return;
    }
    if (key === null) {
      const at = this.reserve(headerSize);
      writeFrameHeader(current.buf, at, fin, rsv, opcode, length, null);
      this.push(payload);
      return;
    }
    // Large and masked: one buffer of its own (the arena is for small frames).
    const frame = Buffer.allocUnsafe(headerSize + length);
    maskInto(payload, key, frame, writeFrameHeader(frame, 0, fin, rsv, opcode, length, key));
    this.push(frame);
  }

  /** Queue bytes as they are (frames built elsewhere: a broadcast's, a pong waiting its turn). */
  push(bytes: Uint8Array): void {
    this.closeSegment();
    this.add(bytes);
    this.bytes += bytes.length;
  }

  /** Everything queued, in order; the queue is emptied. */
  take(): Uint8Array[] {
    this.closeSegment();
    const list = this.list;
    this.list = NOTHING;
    this.bytes = 0;
    return list;
  }

  /**
   * The adapter wrote everything {@link take} returned, and nothing holds
   * those buffers any more (the socket wrote them at once and keeps no
   * view): this queue's bytes in the arena may be written over. Only right
   * after `take()`, with nothing queued since (else it does nothing).
   */
  release(): void {
    const s = this.ref;
    if (s === null || this.bytes !== 0 || this.segSlab !== null) return;
    this.ref = null;
    if (--s.refs === 0 && s === current) s.used = 0;
  }

  /** Drop what is queued. (What was taken may still be being written: the reference, if any, is kept.) */
  clear(): void {
    this.segSlab = null;
    this.list = NOTHING;
    this.bytes = 0;
  }

  /** `n` bytes at the end of the open segment (a new one if the last bytes of the arena are not ours); returns where. */
  private reserve(n: number): number {
    let s = current;
    if (s.used + n > s.buf.length) {
      this.closeSegment();
      s = current = newSlab(Math.max(SLAB_SIZE, n));
    }
    // A reference to an older slab is dropped: it is no longer current, never rewound.
    if (this.ref !== s) {
      this.ref = s;
      s.refs++;
    }
    const at = s.used;
    if (this.segSlab !== s.buf || this.segEnd !== at) {
      this.closeSegment();
      this.segSlab = s.buf;
      this.segStart = at;
    }
    s.used = at + n;
    this.segEnd = s.used;
    this.bytes += n;
    return at;
  }

  private closeSegment(): void {
    const s = this.segSlab;
    if (s === null) return;
    this.segSlab = null;
    if (this.segEnd > this.segStart) this.add(s.subarray(this.segStart, this.segEnd));
  }

  private add(bytes: Uint8Array): void {
    if (this.list === NOTHING) this.list = [bytes];
    else this.list.push(bytes);
  }
}

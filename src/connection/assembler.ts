/**
 * Reassembly of a message's payload from the pieces the frame parser reports.
 *
 * The memory it commits follows the bytes received, never the lengths that
 * headers announce, and stays within a small factor of the message's size
 * whatever the fragmentation (a million one-byte fragments cost what one
 * frame of the same size costs):
 *
 * - A message that arrives as a single piece is kept as that view of the
 *   socket's chunk: no copy, no allocation (the hot path).
 * - From the second piece on, pieces go into one growing buffer: every
 *   allocation is 4× what has arrived (the first at least 16 KiB), and none
 *   goes past the most the message can still be (the final size when the
 *   last frame's header said it, else the size limit). So the buffer never
 *   holds more than 4× the bytes received, and each growth at least
 *   quadruples it: the growth copies add up to less than 4/3 of the
 *   message, and a large message read in 256 KiB pieces grows once or
 *   twice. (Doubling instead cost a 1 MiB message arriving after a small
 *   first piece three or four fresh buffers and about 1.2 MiB of copies:
 *   fresh memory is paid in page faults, ~0.25 ms per MiB here, which is
 *   more than the copy.)
 * - The parser may write a piece straight into the buffer (`reserve`): its
 *   fused unmask-and-copy path, one pass over the bytes.
 * - A buffer left with more slack than payload (a small fragmented message in
 *   a 16 KiB start) is copied out to its exact size, so that a queue of small
 *   messages does not pin 16 KiB each.
 */
import { Buffer } from "node:buffer";

/** Smallest buffer allocated for a message in pieces. */
const MIN_CAPACITY = 16 * 1024;
/** Slack (beyond the payload) above which `take` copies the message out. */
const SLACK_COPY = 4 * 1024;

const EMPTY = new Uint8Array(0);

/** The payload of the message being received; see the module comment. */
export class MessageBuffer {
  /** The only piece so far, kept as a view (no copy). */
  private first: Uint8Array | null = null;
  private buf: Uint8Array | null = null;
  private len = 0;

  /** Bytes held. */
  get length(): number {
    return this.first !== null ? this.first.length : this.len;
  }

  /**
   * Add `data` (kept as a view when it is the first piece: the caller must
   * not reuse it). `upper` is the most the message can grow to.
   */
  append(data: Uint8Array, upper: number): void {
    if (this.buf === null && this.first === null && this.len === 0) {
      this.first = data;
      return;
    }
    const at = this.grow(data.length, upper);
    this.buf!.set(data, at);
  }

  /**
   * A view of the next `n` bytes of the buffer, for the caller to fill; they
   * count as appended. `upper` as in {@link append}.
   */
  reserve(n: number, upper: number): Uint8Array {
    const at = this.grow(n, upper);
    const buf = this.buf!;
    // A message in one piece fills its buffer exactly: no view to make.
    return at === 0 && n === buf.length ? buf : buf.subarray(at, at + n);
  }

  /** The whole payload (the buffer is emptied). */
  take(): Uint8Array {
    const first = this.first;
    if (first !== null) {
      this.first = null;
      return first;
    }
    const buf = this.buf;
    const len = this.len;
    this.buf = null;
    this.len = 0;
    if (buf === null) return EMPTY;
    if (len === buf.length) return buf;
    if (buf.length - len > len && buf.length - len > SLACK_COPY) {
      const exact = Buffer.allocUnsafe(len);
      exact.set(buf.subarray(0, len));
      return exact;
    }
    return buf.subarray(0, len);
  }

  /** Drop what is held. */
  clear(): void {
    this.first = null;
    this.buf = null;
    this.len = 0;
  }

  /** Make room for `n` more bytes; returns where they go. */
  private grow(n: number, upper: number): number {
    const first = this.first;
    const have = first !== null ? first.length : this.len;
    const needed = have + n;
    let buf = this.buf;
    if (buf === null || needed > buf.length) {
      const wanted = buf === null ? Math.max(MIN_CAPACITY, 4 * needed) : 4 * needed;
      const capacity = Math.max(needed, Math.min(wanted, upper));
      const next = Buffer.allocUnsafe(capacity);
      if (first !== null) next.set(first);
      else if (buf !== null) next.set(buf.subarray(0, have));
      this.first = null;
      this.buf = buf = next;
    }
    this.len = needed;
    return have;
  }
}

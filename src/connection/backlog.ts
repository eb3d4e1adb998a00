/**
 * Input held undecoded (see `receiver.ts`, "Backpressure"): the *backlog* —
 * the received chunks, in order, kept as they came (masked, compressed: views,
 * never copied or concatenated) — and the sink of the *scanner*, the second
 * frame parser that walks the backlog's headers to find the control frames
 * ahead of the decoder.
 */
import { ProtocolError } from "../errors.js";
import type { FrameParser, FrameSink } from "../frame/parser.js";

const EMPTY = new Uint8Array(0);

/** Received chunks held in order; see the module comment. */
export class Backlog {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes held. */
  bytes = 0;

  /** True when nothing is held. */
  get empty(): boolean {
    return this.head >= this.chunks.length;
  }

  /** Hold `chunk` (the caller gives it up). */
  add(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /**
   * Feed held chunks to `decoder`, in order, while `go()` says so; what a
   * paused decoder did not take stays held. Throws what the decoder throws.
   */
  drainInto(decoder: FrameParser, go: () => boolean): void {
    const chunks = this.chunks;
    while (this.head < chunks.length && go()) {
      const chunk = chunks[this.head]!;
      const used = decoder.push(chunk);
      this.bytes -= used;
      if (used === chunk.length) chunks[this.head++] = EMPTY;
      else if (used > 0) chunks[this.head] = chunk.subarray(used);
      else break; // (never: a push that may go on consumes something)
    }
    if (this.empty) this.clear();
  }

  /** Drop everything held. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** Where the scanner's control frames go. */
export interface ScannedSink {
  /** A control frame found ahead of the decoder, with its unmasked payload (a copy). */
  scanned(opcode: number, payload: Uint8Array): void;
}

/** The scanner's sink: it hears only of control frames (data frames are skipped). */
export class ControlScanner implements FrameSink {
  private readonly sink: ScannedSink;
  private opcode = 0;
  private readonly buf = new Uint8Array(125);
  private len = 0;

  constructor(sink: ScannedSink) {
    this.sink = sink;
  }

  onFrameStart(_fin: boolean, rsv: number, opcode: number): void {
    if (rsv !== 0) throw new ProtocolError("reserved bits set on a control frame", "WS_ERR_UNEXPECTED_RSV");
    this.opcode = opcode;
    this.len = 0;
  }

  onPayload(data: Uint8Array): void {
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  onFrameEnd(): void {
    this.sink.scanned(this.opcode, this.buf.slice(0, this.len));
  }
}

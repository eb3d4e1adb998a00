import { FrameParser, type FrameParserOptions } from "../../src/frame/parser.js";

/** One frame as a test sink records it (payload pieces concatenated). */
export interface RecordedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  length: number;
  payload: Uint8Array;
  pieces: number;
}

/** A FrameSink that records every frame; `frames` holds the complete ones. */
export class RecordingSink {
  frames: RecordedFrame[] = [];
  private current: RecordedFrame | null = null;
  private parts: Uint8Array[] = [];

  onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    if (this.current !== null) throw new Error("frame started inside a frame");
    this.current = { fin, rsv, opcode, length, payload: new Uint8Array(0), pieces: 0 };
    this.parts = [];
  }
  onPayload(data: Uint8Array): void {
    if (this.current === null) throw new Error("payload outside a frame");
    this.parts.push(Uint8Array.from(data));
    this.current.pieces++;
  }
  onFrameEnd(): void {
    if (this.current === null) throw new Error("end outside a frame");
    this.current.payload = Uint8Array.from(Buffer.concat(this.parts));
    this.frames.push(this.current);
    this.current = null;
  }
}

/** A RecordingSink that offers a buffer for every frame split across chunks (the fused unmask-and-copy path). */
export class TargetSink extends RecordingSink {
  targets = 0;
  /** Every payload piece must be a view of the target given for its frame. */
  foreignPieces = 0;
  private target: Uint8Array | null = null;
  override onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    this.target = null;
    super.onFrameStart(fin, rsv, opcode, length);
  }
  payloadTarget(length: number): Uint8Array {
    this.targets++;
    return (this.target = new Uint8Array(length + 3)); // larger than asked is allowed
  }
  override onPayload(data: Uint8Array): void {
    if (this.target !== null && data.buffer !== this.target.buffer) this.foreignPieces++;
    super.onPayload(data);
  }
}

/** Parse `bytes` split at `cuts` (sorted offsets) and return the recorded frames. */
export function parseChunks(bytes: Uint8Array, cuts: number[], options: FrameParserOptions, sink: RecordingSink = new RecordingSink()): RecordedFrame[] {
  const parser = new FrameParser(sink, options);
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    // Copies: the parser owns (and unmasks) what it is given.
    parser.push(Uint8Array.from(bytes.subarray(prev, c)));
    prev = c;
  }
  return sink.frames;
}

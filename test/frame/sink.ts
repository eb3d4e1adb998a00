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

/** A RecordingSink that offers a target for every piece of a frame split across chunks (the fused unmask-and-copy path). */
export class TargetSink extends RecordingSink {
  targets = 0;
  /** Every piece given a target must be reported as that very view. */
  foreignPieces = 0;
  private target: Uint8Array | null = null;
  payloadTarget(length: number): Uint8Array {
    this.targets++;
    // A view into a larger buffer, at an offset: the parser must write where it is told.
    return (this.target = new Uint8Array(length + 7).subarray(3, 3 + length));
  }
  override onPayload(data: Uint8Array): void {
    if (this.target !== null && data !== this.target) this.foreignPieces++;
    this.target = null;
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

/**
 * An incremental RFC 6455 §5.2 frame parser.
 *
 * Theory of operation
 * -------------------
 * The parser is fed the chunks the socket delivers, in order, and reports what
 * it finds to a {@link FrameSink} through three callbacks:
 *
 *   onFrameStart(fin, rsv, opcode, length)   once per frame, after its header
 *   onPayload(view)                          0..n times, the payload in order
 *   onFrameEnd()                             once per frame
 *
 * Payload views are `subarray`s of the chunk the caller pushed — never copies —
 * and they are unmasked in place: the parser takes ownership of every chunk it
 * is given. A frame that lies inside one chunk is reported as exactly one view;
 * a frame split across chunks as one view per chunk. The sink decides what to
 * keep (the connection concatenates only when a message really is in pieces).
 *
 * Only a header can straddle chunks and need copying: its (at most 14) bytes
 * are gathered in a fixed scratch buffer. Nothing is allocated per frame.
 *
 * One exception to "never copies": a frame whose payload does not fit in the
 * chunk its header came in must be copied to be contiguous anyway. For those,
 * the sink may offer a buffer of the frame's length (`payloadTarget`); the
 * parser then unmasks each piece straight into it — one pass over the bytes
 * instead of unmask-in-place followed by the sink's concatenation — and
 * reports views of that buffer.
 *
 * The parser checks what can be checked from a header alone (§5.2, §5.5):
 * reserved bits, unknown opcodes, fragmented or oversized control frames, the
 * masking direction and the 64-bit length's top bit. Anything wrong throws a
 * {@link ProtocolError} (close code 1002); so may the sink's callbacks. After
 * an error the parser must not be fed again (the connection is failed).
 */
import { ProtocolError } from "../errors.js";
import { mask, maskInto } from "./mask.js";
import { isControlOpcode, isKnownOpcode } from "./opcodes.js";

/** Receives what a {@link FrameParser} finds. Callbacks may throw `ProtocolError`. */
export interface FrameSink {
  /** A frame header was parsed. `rsv` holds the RSV bits in place (0x40 = RSV1). `length` is the payload length. */
  onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void;
  /** The next piece of the current frame's payload, already unmasked; a view into a pushed chunk. */
  onPayload(data: Uint8Array): void;
  /** The current frame's payload is complete. */
  onFrameEnd(): void;
  /**
   * Optional: called after `onFrameStart` for a frame whose payload is not in
   * the current chunk. Return a buffer of at least `length` bytes to receive
   * the unmasked payload (pieces are then views of it), or null.
   */
  payloadTarget?(length: number): Uint8Array | null;
}

/** How a {@link FrameParser} checks headers. */
export interface FrameParserOptions {
  /**
   * §5.1: "a client MUST mask all frames that it sends to the server" and "a
   * server MUST NOT mask any frames that it sends to the client". A server
   * parser expects masked frames, a client parser unmasked ones.
   */
  expectMasked: boolean;
  /** RSV bits a negotiated extension allows (0x40 for permessage-deflate); others fail with 1002. */
  allowedRsv?: number;
}

const HEADER = 0;
const PAYLOAD = 1;

/** Parses a stream of bytes into frames; see the module comment. */
export class FrameParser {
  /** RSV bits allowed by negotiated extensions; settable once the handshake is done. */
  allowedRsv: number;
  private readonly sink: FrameSink;
  private readonly expectMasked: boolean;
  private state = HEADER;
  /** Scratch for a header split across chunks. */
  private readonly header = new Uint8Array(14);
  private headerHave = 0;
  private readonly key = new Uint8Array(4);
  private masked = false;
  private remaining = 0;
  private payloadPos = 0;
  /** Where the current frame's payload is copied, when the sink gave a buffer. */
  private target: Uint8Array | null = null;
  /** The masking key rotated to the phase of the next piece (fused copy). */
  private readonly phasedKey = new Uint8Array(4);
  private stopped = false;

  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.sink = sink;
    this.expectMasked = options.expectMasked;
    this.allowedRsv = options.allowedRsv ?? 0;
  }

  /**
   * Stop parsing: the rest of the current chunk and every later one is
   * ignored. The connection calls this once it received a close frame (§5.5.1:
   * nothing may follow it) or failed.
   */
  stop(): void {
    this.stopped = true;
  }

  /** True once {@link stop} was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** True when the parser is between frames (no partial header or payload pending). */
  get atFrameBoundary(): boolean {
    return this.state === HEADER && this.headerHave === 0;
  }

  /** Feed the next chunk. The parser owns it from now on (payloads are unmasked in place). */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end && !this.stopped) {
      if (this.state === HEADER) {
        pos = this.readHeader(chunk, pos);
      } else {
        const n = Math.min(this.remaining, end - pos);
        const view = chunk.subarray(pos, pos + n);
        pos += n;
        this.deliver(view);
      }
    }
  }

  /** Parse (part of) a header starting at `pos`; returns the new position. */
  private readHeader(chunk: Uint8Array, pos: number): number {
    const avail = chunk.length - pos;
    if (this.headerHave === 0 && avail >= 2) {
      const size = headerSize(chunk[pos + 1]!);
      if (avail >= size) {
        // Fast path: the whole header is in this chunk.
        this.startFrame(chunk, pos, avail - size);
        return pos + size;
      }
    }
    // Slow path: gather the header byte by byte into the scratch buffer.
    const h = this.header;
    while (pos < chunk.length) {
      h[this.headerHave++] = chunk[pos++]!;
      if (this.headerHave >= 2 && this.headerHave === headerSize(h[1]!)) {
        this.headerHave = 0;
        this.startFrame(h, 0, chunk.length - pos);
        break;
      }
    }
    return pos;
  }

  /**
   * Decode and check a complete header at `buf[pos]`, then tell the sink.
   * `available`: payload bytes that follow the header in the current chunk.
   */
  private startFrame(buf: Uint8Array, pos: number, available: number): void {
    const b0 = buf[pos]!;
    const b1 = buf[pos + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let p = pos + 2;

    // §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is
    // negotiated that defines meanings for non-zero values. If a nonzero value
    // is received and none of the negotiated extensions defines the meaning of
    // such a nonzero value, the receiving endpoint MUST _Fail the WebSocket
    // Connection_."
    if ((rsv & ~this.allowedRsv) !== 0) {
      throw new ProtocolError("reserved bits must be 0", "WS_ERR_UNEXPECTED_RSV");
    }
    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST
    // _Fail the WebSocket Connection_."
    if (!isKnownOpcode(opcode)) {
      throw new ProtocolError(`invalid opcode 0x${opcode.toString(16)}`, "WS_ERR_INVALID_OPCODE");
    }
    if (masked !== this.expectMasked) {
      throw new ProtocolError(
        this.expectMasked ? "client frames must be masked" : "server frames must not be masked",
        this.expectMasked ? "WS_ERR_EXPECTED_MASK" : "WS_ERR_UNEXPECTED_MASK",
      );
    }
    if (length === 126) {
      length = (buf[p]! << 8) | buf[p + 1]!;
      p += 2;
    } else if (length === 127) {
      const hi = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      const lo = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
      // §5.2: "the most significant bit MUST be 0".
      if (hi >= 0x80000000) {
        throw new ProtocolError("invalid 64-bit payload length", "WS_ERR_INVALID_LENGTH");
      }
      // Exact up to 2^53; beyond that only the comparison with maxSize matters.
      length = hi * 0x100000000 + lo;
      p += 8;
    }
    if (isControlOpcode(opcode)) {
      // §5.5: "All control frames MUST have a payload length of 125 bytes or
      // less and MUST NOT be fragmented."
      if (!fin) {
        throw new ProtocolError("control frames must not be fragmented", "WS_ERR_FRAGMENTED_CONTROL");
      }
      if (length > 125) {
        throw new ProtocolError("control frame payload over 125 bytes", "WS_ERR_CONTROL_TOO_LONG");
      }
    }
    this.masked = masked;
    if (masked) {
      const k = this.key;
      k[0] = buf[p]!;
      k[1] = buf[p + 1]!;
      k[2] = buf[p + 2]!;
      k[3] = buf[p + 3]!;
    }
    this.remaining = length;
    this.payloadPos = 0;
    this.target = null;
    this.sink.onFrameStart(fin, rsv, opcode, length);
    if (length > available && this.sink.payloadTarget !== undefined && !this.stopped) {
      this.target = this.sink.payloadTarget(length);
    }
    if (length === 0) {
      if (!this.stopped) this.sink.onFrameEnd();
    } else {
      this.state = PAYLOAD;
    }
  }

  /** Unmask a payload piece (in place, or into the target) and hand it to the sink. */
  private deliver(view: Uint8Array): void {
    const target = this.target;
    if (target !== null) {
      const at = this.payloadPos;
      if (this.masked) {
        const k = this.key;
        const pk = this.phasedKey;
        pk[0] = k[at & 3]!;
        pk[1] = k[(at + 1) & 3]!;
        pk[2] = k[(at + 2) & 3]!;
        pk[3] = k[(at + 3) & 3]!;
        maskInto(view, pk, target, at);
      } else {
        target.set(view, at);
      }
      view = target.subarray(at, at + view.length);
    } else if (this.masked) {
      mask(view, this.key, this.payloadPos);
    }
    this.payloadPos += view.length;
    this.remaining -= view.length;
    if (this.remaining === 0) this.state = HEADER;
    this.sink.onPayload(view);
    if (this.remaining === 0 && !this.stopped) this.sink.onFrameEnd();
  }
}

/** Size of a frame header given its second byte (§5.2). */
function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

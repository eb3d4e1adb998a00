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
 * the sink may offer, piece by piece, the place where the piece belongs in
 * its own buffer (`payloadTarget`); the parser then unmasks the piece
 * straight into it — one pass over the bytes instead of unmask-in-place
 * followed by the sink's copy — and reports that view. Asked per piece, not
 * per frame, so that the sink commits memory as bytes arrive rather than
 * for the length a header announces.
 *
 * A chunk pushed as *borrowed* (a read buffer the caller reuses once `push`
 * returns) is still the parser's to write to while `push` runs, but views of
 * it must not outlive the call: the sink is then asked for a target for
 * every piece of a data frame, and returns null only for what it uses up
 * before `push` returns.
 *
 * Two more modes serve the connection's backpressure and closing:
 * - `pause()` (from a sink callback) stops `push` after the current frame,
 *   or after the current payload piece when called from `onPayload` (a
 *   message streamed to a reader that has enough for now); `push` returns
 *   how much of the chunk it consumed, the caller keeps the rest and pushes
 *   it later. A scanner can start where a parser paused inside a frame
 *   (`payloadRemaining`, `skipPayload`).
 * - `skipData`: data frames are passed over — headers still checked, payload
 *   neither unmasked nor reported (the sink hears of them only through
 *   `skippedFrames`) — while control frames are reported as usual. With
 *   `preserveInput`, control payloads are unmasked into a copy and the chunk
 *   is never written to: a scanner can walk bytes that another parser will
 *   decode later.
 *
 * The parser checks what can be checked from a header alone (§5.2, §5.5):
 * reserved bits, unknown opcodes, fragmented or oversized control frames, the
 * masking direction and the 64-bit length's top bit. Anything wrong throws a
 * {@link ProtocolError} (close code 1002); so may the sink's callbacks. After
 * an error the parser must not be fed again (the connection is failed).
 */
import { ProtocolError } from "../errors.js";
import { maskCopy, maskSlice } from "./mask.js";
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
   * Optional: for a frame whose payload did not all arrive with its header,
   * called before each piece of that payload with the piece's length. Return
   * a view of exactly `length` writable bytes to receive the unmasked piece
   * (it is then reported by `onPayload` as that same view), or null to have
   * it unmasked in place as usual.
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
  /** Pass over data frames without unmasking or reporting them (see the module comment). Settable later. */
  skipData?: boolean;
  /** Never write to pushed chunks: control payloads are unmasked into a copy (for a scanner). */
  preserveInput?: boolean;
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
  /** Scratch for a header split across chunks (made on first use: most connections never need it). */
  private header: Uint8Array | null = null;
  private headerHave = 0;
  // The masking key, as four numbers: no typed array per parser (an idle
  // connection's memory); copied into a shared scratch to mask.
  private k0 = 0;
  private k1 = 0;
  private k2 = 0;
  private k3 = 0;
  private masked = false;
  private remaining = 0;
  private payloadPos = 0;
  /** Ask the sink for targets: the current frame's payload did not all come with its header, or the chunk is borrowed. */
  private askTarget = false;
  /** The chunk being pushed is borrowed (see the module comment). */
  private borrowed = false;
  /** The current frame is a data frame passed over (skipData). */
  private skipping = false;
  private skipData_: boolean;
  private readonly preserveInput: boolean;
  /** Control payload copy (preserveInput), allocated on first use. */
  private controlCopy: Uint8Array | null = null;
  private controlOpcode = false;
  private stopped = false;
  private paused = false;
  /** Data frames passed over in skipData mode, and their payload bytes. */
  skippedFrames = 0;
  skippedBytes = 0;

  constructor(sink: FrameSink, options: FrameParserOptions) {
    this.sink = sink;
    this.expectMasked = options.expectMasked;
    this.allowedRsv = options.allowedRsv ?? 0;
    this.skipData_ = options.skipData ?? false;
    this.preserveInput = options.preserveInput ?? false;
  }

  /**
   * Pass over data frames (see the module comment). Turned on in the middle
   * of a data frame, the rest of that frame is passed over too.
   */
  get skipData(): boolean {
    return this.skipData_;
  }
  /** Turn passing over data frames on or off (see the getter). */
  set skipData(on: boolean) {
    this.skipData_ = on;
    if (on && this.state === PAYLOAD && !this.controlOpcode && !this.skipping) {
      this.skipping = true;
      this.skippedFrames++;
    }
  }

  /** Called from a sink callback: `push` returns after the current frame; the caller keeps the rest of the chunk. */
  pause(): void {
    this.paused = true;
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

  /** True inside a frame header (some of its bytes received). */
  get inHeader(): boolean {
    return this.state === HEADER && this.headerHave !== 0;
  }

  /** Payload bytes of the current frame still to come (0 between frames). */
  get payloadRemaining(): number {
    return this.state === PAYLOAD ? this.remaining : 0;
  }

  /**
   * Start in the middle of a data frame whose next `n` payload bytes are to
   * be passed over (not counted in `skippedFrames`): a scanner that begins
   * where another parser paused inside a frame (see `payloadRemaining`).
   */
  skipPayload(n: number): void {
    if (n === 0 || this.state !== HEADER || this.headerHave !== 0) return;
    this.state = PAYLOAD;
    this.skipping = true;
    this.controlOpcode = false;
    this.remaining = n;
  }

  /**
   * Feed the next chunk. The parser owns it from now on (payloads are
   * unmasked in place, unless `preserveInput`) — only until `push` returns
   * when `borrowed` (see the module comment). Returns the number of bytes
   * consumed: all of them, unless the sink called {@link pause}.
   */
  push(chunk: Uint8Array, borrowed = false): number {
    let pos = 0;
    const end = chunk.length;
    this.paused = false;
    // (A frame that started in an earlier chunk spans chunks: askTarget is already set.)
    this.borrowed = borrowed;
    while (pos < end && !this.stopped && !this.paused) {
      if (this.state === HEADER) {
        pos = this.readHeader(chunk, pos);
      } else if (this.skipping) {
        const n = Math.min(this.remaining, end - pos);
        pos += n;
        this.skippedBytes += n;
        if ((this.remaining -= n) === 0) this.state = HEADER;
      } else {
        const n = Math.min(this.remaining, end - pos);
        this.deliver(chunk, pos, n);
        pos += n;
      }
    }
    return this.stopped ? end : pos;
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
    const h = (this.header ??= new Uint8Array(14));
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
      // Which bits, in the message: RSV1 alone is what a peer compressing without the extension sets.
      const which = (rsv & ~this.allowedRsv & 0x30) !== 0 ? "reserved bits RSV2 and RSV3" : "reserved bit RSV1";
      throw new ProtocolError(`${which} must be 0`, "WS_ERR_UNEXPECTED_RSV");
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
      this.k0 = buf[p]!;
      this.k1 = buf[p + 1]!;
      this.k2 = buf[p + 2]!;
      this.k3 = buf[p + 3]!;
    }
    this.remaining = length;
    this.payloadPos = 0;
    const control = isControlOpcode(opcode);
    this.controlOpcode = control;
    if (this.skipData_ && !control) {
      // Passed over: the sink never hears of it.
      this.skipping = true;
      this.skippedFrames++;
      if (length !== 0) this.state = PAYLOAD;
      return;
    }
    this.skipping = false;
    this.askTarget = (length > available || this.borrowed) && this.sink.payloadTarget !== undefined;
    this.sink.onFrameStart(fin, rsv, opcode, length);
    if (length === 0) {
      if (!this.stopped) this.sink.onFrameEnd();
    } else {
      this.state = PAYLOAD;
    }
  }

  /** The current frame's masking key in the shared scratch. */
  private keyBytes(): Uint8Array {
    const k = keyScratch;
    k[0] = this.k0;
    k[1] = this.k1;
    k[2] = this.k2;
    k[3] = this.k3;
    return k;
  }

  /** Unmask the payload piece `chunk[pos..pos+n)` (in place, or into a target) and hand it to the sink. */
  private deliver(chunk: Uint8Array, pos: number, n: number): void {
    let target: Uint8Array | null = null;
    if (this.preserveInput && this.controlOpcode) {
      // Control payloads are at most 125 bytes (checked from the header).
      target = (this.controlCopy ??= new Uint8Array(125)).subarray(this.payloadPos, this.payloadPos + n);
    } else if (this.askTarget) {
      target = this.sink.payloadTarget!(n);
    }
    let view: Uint8Array;
    if (target !== null) {
      // The fused path: one pass from the chunk into the sink's buffer.
      if (this.masked) maskCopy(chunk, pos, pos + n, this.keyBytes(), this.payloadPos, target, 0);
      else target.set(pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n));
      view = target;
    } else {
      if (this.masked) maskSlice(chunk, pos, pos + n, this.keyBytes(), this.payloadPos);
      view = pos === 0 && n === chunk.length ? chunk : chunk.subarray(pos, pos + n);
    }
    this.payloadPos += n;
    this.remaining -= n;
    if (this.remaining === 0) this.state = HEADER;
    this.sink.onPayload(view);
    if (this.remaining === 0 && !this.stopped) this.sink.onFrameEnd();
  }
}

/** The masking key of the frame being parsed, for the mask functions (used at once, never kept). */
const keyScratch = new Uint8Array(4);

/** Size of a frame header given its second byte (§5.2). */
function headerSize(b1: number): number {
  const len = b1 & 0x7f;
  return 2 + (len === 126 ? 2 : len === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}

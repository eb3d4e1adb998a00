/**
 * The permessage-deflate codec (RFC 7692 §7.2): one synchronous compressor and
 * one synchronous decompressor per connection, with no zlib stream kept
 * between messages.
 *
 * Theory of operation
 * -------------------
 * The core is sans-IO and synchronous, and Node's zlib has no public
 * synchronous *streaming* API: `zlib.deflateRawSync` and `zlib.inflateRawSync`
 * build a fresh zlib stream for one buffer and close it. So every message is
 * compressed and decompressed by its own short-lived zlib stream, and "context
 * takeover" (RFC 7692 §7.2.1: the LZ77 window carried from one message to the
 * next) is carried by a *preset dictionary*:
 *
 * - Decoding: RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the
 *   tail end of the payload of the message" and inflate. With context
 *   takeover the dictionary is the last 2^windowBits bytes of everything
 *   decompressed so far on this connection: exactly the LZ77 window the peer's
 *   compressor may still refer to. `maxOutputLength` bounds what zlib may
 *   produce, so a small frame that inflates to gigabytes fails with
 *   `PayloadTooBig` after allocating at most `maxSize` + one 16 KiB chunk.
 * - Encoding: RFC 7692 §7.2.1: compress, flush with Z_SYNC_FLUSH, and "remove
 *   4 octets (that are 0x00 0x00 0xff 0xff) from the tail end". With context
 *   takeover the dictionary is the last 2^windowBits bytes of everything we
 *   compressed before: exactly what the peer's inflater holds in its window.
 *
 * Both are stateless between calls apart from those two byte windows, so a
 * connection retains 2^serverBits + 2^clientBits bytes at most (none for a
 * direction without context takeover), instead of a live zlib stream pair.
 *
 * A window of 8 bits: zlib's deflate turns windowBits 8 into 9 (it has no
 * working 256-byte window). We still accept 8 for the direction
 * we compress: zlib's deflate never emits a distance above
 * `w_size - MIN_LOOKAHEAD` = 512 - 262 = 250 bytes at windowBits 9, so its
 * output is valid for a peer that keeps only a 256-byte window; and the
 * dictionary we prime it with is the last 256 bytes, as the peer's. The
 * tests check this with a DEFLATE distance scanner.
 *
 * Measured cost (Node 20.20, zlib 1.3.1 Chromium fork, 2-core shared VM
 * under load; 1 KiB JSON-like text, level 6, memLevel 8). CPU time per
 * message (process.cpuUsage, median of 5 rounds, 3 runs agree within ~25 %;
 * wall-clock rates on this machine were too noisy to quote); "msg/s" is
 * 10^6 / CPU-µs, i.e. one core's worth:
 *
 *   configuration                     encode           decode          ratio  retained/conn
 *   context takeover, window 15       ~100 µs  10k/s   ~15 µs  65k/s   0.244  64 KiB
 *   context takeover, window 12        ~40 µs  25k/s   ~13 µs  75k/s   0.270   8 KiB
 *   context takeover, window 10        ~33 µs  30k/s   ~11 µs  90k/s   0.343   2 KiB
 *   no context takeover (15 or 12)     ~28 µs  35k/s   ~10 µs 100k/s   0.409   0
 *   persistent zlib streams (as ws: createDeflateRaw/createInflateRaw, write +
 *   async flush(Z_SYNC_FLUSH)), 50 connections, encode + decode together:
 *     windowBits 15, memLevel 8        ~180-260 µs  (4-5k/s)           0.244  ~250 KiB RSS
 *     windowBits 12, memLevel 5        ~70 µs       (14k/s)            0.270  ~135 KiB RSS
 *
 * "retained" is exactly the two windows (2^serverBits + 2^clientBits, grown
 * on demand: a connection that sent little keeps little); measured as
 * ArrayBuffer memory it is 64.0 / 8.0 / 2.0 KiB per connection, and RSS grew
 * by 79 KiB (15) / 20 KiB (12) per connection over 6,000 connections. The
 * persistent-stream rows are RSS per connection (deflate + inflate state).
 *
 * Priming a 32 KiB dictionary costs ~70 µs per message (zlib inserts every
 * dictionary byte into its hash chains before compressing), so small windows
 * are much faster for small messages and compress nearly as well; memLevel
 * made no measurable difference (the zlib state lives for one call only).
 * Decoding barely cares about the window (the dictionary is a memcpy). Hence
 * the defaults: 12-bit windows both ways (as Python `websockets` for the
 * server); see `permessage-deflate.ts`.
 *
 * Two checks the design called for:
 * - A message cut off inside a DEFLATE block is not an error with
 *   Z_SYNC_FLUSH (zlib just waits for more input): it decodes to the bytes it
 *   holds. Only a broken or hostile peer sends one; with context takeover its
 *   next messages decode against a history that differs from the peer's
 *   (an error, 1007, or wrong bytes: a hostile peer can send those anyway).
 * - A peer may end a message with a BFINAL=1 block (RFC 7692 §7.2.3.4):
 *   zlib stops at the end of that stream and ignores what follows (the
 *   0x00 octet and the appended tail). With context takeover the next
 *   message still decodes against the history: the dictionary does not care
 *   that the peer's stream "ended". (Tested with the RFC's example.)
 */
import { constants as bufferConstants } from "node:buffer";
import zlib from "node:zlib";
import { PayloadTooBig, ProtocolError, WebSocketError, argumentError } from "../errors.js";
import { Inflater } from "./inflate.js";
import type { MessageDecoder, MessageExtension } from "./types.js";

/** RFC 7692 §7.2.1: the tail a Z_SYNC_FLUSH leaves, removed by the sender and appended by the receiver. */
const SYNC_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** The largest Buffer Node can allocate: the ceiling for `maxOutputLength`. */
const MAX_BUFFER = bufferConstants.MAX_LENGTH;

/** The agreed parameters of one permessage-deflate connection, seen from one end. */
export interface DeflateParameters {
  /** Our compressor starts every message with an empty window (RFC 7692 §7.1.1). */
  localNoContextTakeover: boolean;
  /** The peer's compressor starts every message with an empty window: decode without a dictionary. */
  remoteNoContextTakeover: boolean;
  /** LZ77 window of our compressor, 8..15 (RFC 7692 §7.1.2). */
  localMaxWindowBits: number;
  /** LZ77 window the peer's compressor may use, 8..15. */
  remoteMaxWindowBits: number;
  /** zlib memLevel of our compressor, 1..9. */
  memLevel: number;
  /** zlib compression level of our compressor, -1..9. */
  level: number;
  /** Messages smaller than this many bytes are sent uncompressed. */
  threshold: number;
}

/**
 * The last bytes of a stream, up to a fixed capacity: the LZ77 window of
 * one direction of a connection, kept as one contiguous buffer so it can be
 * handed to zlib as a preset dictionary. Grows on demand up to its capacity,
 * so an idle connection keeps little.
 */
export class HistoryWindow {
  /** The most bytes kept (2^windowBits). */
  readonly capacity: number;
  private buf: Uint8Array = new Uint8Array(0);
  private used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes currently held (what zlib's window would hold). */
  get length(): number {
    return this.used;
  }

  /** Bytes allocated for the window. */
  get retainedBytes(): number {
    return this.buf.byteLength;
  }

  /** The window's contents, oldest first (a view: valid until the next `append`). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  /** Add `data` at the end, dropping the oldest bytes beyond the capacity. */
  append(data: Uint8Array): void {
    const cap = this.capacity;
    const n = data.length;
    if (n >= cap) {
      this.ensure(cap, 0);
      this.buf.set(data.subarray(n - cap));
      this.used = cap;
      return;
    }
    const keep = Math.min(this.used, cap - n);
    this.ensure(keep + n, keep);
    if (keep < this.used) this.buf.copyWithin(0, this.used - keep, this.used);
    this.buf.set(data, keep);
    this.used = keep + n;
  }

  /** Forget everything and release the buffer. */
  clear(): void {
    this.buf = new Uint8Array(0);
    this.used = 0;
  }

  /** Make room for `size` bytes, keeping the `keep` newest bytes (moved to the front by the caller). */
  private ensure(size: number, keep: number): void {
    if (size <= this.buf.byteLength) return;
    const grown = new Uint8Array(Math.min(this.capacity, Math.max(size, 2 * this.buf.byteLength, 1024)));
    if (keep > 0) grown.set(this.buf.subarray(this.used - keep, this.used));
    this.buf = grown;
    this.used = keep;
  }
}

/**
 * A negotiated permessage-deflate extension: the codec one connection uses.
 * Built by the negotiation (`serverDeflateFactory` / `clientDeflateFactory`);
 * tests may build one directly from agreed parameters.
 */
export class PerMessageDeflate implements MessageExtension {
  readonly name = "permessage-deflate";
  /** RSV1, the "Per-Message Compressed" bit (RFC 7692 §6): set on the first frame of a compressed message. */
  readonly rsvBits = 0x40;
  /** The agreed parameters, from this end's point of view. */
  readonly params: Readonly<DeflateParameters>;
  /** True when we compress without context takeover: `encode` depends on its input only. */
  readonly stateless: boolean;
  readonly sharingKey: string;
  /** Last bytes we compressed (null without context takeover). */
  private readonly sent: HistoryWindow | null;
  /** Last bytes we decompressed (null without context takeover). */
  private readonly received: HistoryWindow | null;
  /** windowBits given to zlib's compressor: zlib itself turns 8 into 9 for raw deflate. */
  private readonly deflateBits: number;

  constructor(params: DeflateParameters) {
    checkRange("localMaxWindowBits", params.localMaxWindowBits, 8, 15);
    checkRange("remoteMaxWindowBits", params.remoteMaxWindowBits, 8, 15);
    checkRange("memLevel", params.memLevel, 1, 9);
    checkRange("level", params.level, -1, 9);
    checkRange("threshold", params.threshold, 0, Number.MAX_SAFE_INTEGER);
    this.params = Object.freeze({ ...params });
    this.stateless = params.localNoContextTakeover;
    this.deflateBits = Math.max(9, params.localMaxWindowBits);
    this.sharingKey = `permessage-deflate;w=${this.deflateBits};m=${params.memLevel};l=${params.level};nct=${this.stateless ? 1 : 0}`;
    this.sent = params.localNoContextTakeover ? null : new HistoryWindow(1 << params.localMaxWindowBits);
    this.received = params.remoteNoContextTakeover ? null : new HistoryWindow(1 << params.remoteMaxWindowBits);
  }

  /** The window of a message being sent in fragments without context takeover (its earlier fragments). */
  private fragmentWindow: HistoryWindow | null = null;

  /** Bytes this connection keeps between messages (the two dictionaries). */
  get retainedBytes(): number {
    return (this.sent?.retainedBytes ?? 0) + (this.received?.retainedBytes ?? 0);
  }

  shouldEncode(size: number): boolean {
    return size >= this.params.threshold;
  }

  encode(payload: Uint8Array): Uint8Array {
    const options: zlib.ZlibOptions = {
      windowBits: this.deflateBits,
      memLevel: this.params.memLevel,
      level: this.params.level,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    };
    if (this.sent !== null && this.sent.length > 0) options.dictionary = this.sent.view();
    const out = zlib.deflateRawSync(payload, options);
    // RFC 7692 §7.2.1: "If the resulting data does not end with an empty
    // DEFLATE block with no compression (the "BTYPE" bits are set to 00),
    // append an empty DEFLATE block with no compression to the tail end."
    // Z_SYNC_FLUSH always ends with that block, whose last 4 octets we remove.
    if (!endsWithSyncTail(out)) throw new WebSocketError("internal error: zlib did not end its output with a sync flush", "WS_ERR_INTERNAL");
    this.sent?.append(payload);
    return out.subarray(0, out.length - SYNC_TAIL.length);
  }

  /**
   * Compress one fragment of a message sent in fragments (RFC 7692 §6.1: the
   * compressed data of a message may be split over frames, RSV1 on the first
   * only). Each fragment is compressed by its own short-lived zlib stream
   * flushed with Z_SYNC_FLUSH, primed with the window of everything sent
   * before it — this message's earlier fragments too, with or without
   * context takeover — so every stream continues where the last left off:
   * the peer's inflater sees one DEFLATE stream. Only the last fragment loses
   * the 4-octet tail (§7.2.1); the others keep it, an empty stored block at
   * a byte boundary where the next fragment's first block begins.
   */
  encodeFragment(payload: Uint8Array, fin: boolean): Uint8Array {
    const window = this.sent ?? (this.fragmentWindow ??= new HistoryWindow(1 << this.params.localMaxWindowBits));
    const options: zlib.ZlibOptions = {
      windowBits: this.deflateBits,
      memLevel: this.params.memLevel,
      level: this.params.level,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    };
    if (window.length > 0) options.dictionary = window.view();
    const out = zlib.deflateRawSync(payload, options);
    if (!endsWithSyncTail(out)) throw new WebSocketError("internal error: zlib did not end its output with a sync flush", "WS_ERR_INTERNAL");
    window.append(payload);
    if (!fin) return out;
    // Without context takeover the next message starts with an empty window.
    this.fragmentWindow = null;
    return out.subarray(0, out.length - SYNC_TAIL.length);
  }

  /**
   * A decoder for one message read piece by piece (streaming receive): the
   * streaming inflater of `inflate.ts`, primed with the same history as
   * `decode`; once the message is decoded its last bytes become that history.
   */
  streamDecoder(): MessageDecoder {
    return new StreamingInflate(this.params.remoteMaxWindowBits, this.received);
  }

  decode(payload: Uint8Array, maxSize: number): Uint8Array {
    const input = new Uint8Array(payload.length + SYNC_TAIL.length);
    input.set(payload);
    input.set(SYNC_TAIL, payload.length);
    const limit = Math.min(MAX_BUFFER, Math.max(0, Math.floor(maxSize)));
    const options: zlib.ZlibOptions = {
      windowBits: Math.max(9, this.params.remoteMaxWindowBits),
      // A message cut off inside a block is not an error at a sync flush:
      // we get what was decoded so far (Z_FINISH would demand a final block).
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      // maxOutputLength must be ≥ 1; a limit of 0 is enforced below.
      maxOutputLength: Math.max(1, limit),
    };
    if (this.received !== null && this.received.length > 0) options.dictionary = this.received.view();
    let out: Uint8Array;
    try {
      out = zlib.inflateRawSync(input, options);
    } catch (error) {
      throw decodeError(error, limit);
    }
    if (out.length > limit) throw tooBig(limit);
    this.received?.append(out);
    return out;
  }

  dispose(): void {
    this.sent?.clear();
    this.received?.clear();
    this.fragmentWindow = null;
  }
}

/** {@link PerMessageDeflate.streamDecoder}: RFC 7692 §7.2.2 over the streaming inflater. */
class StreamingInflate implements MessageDecoder {
  private readonly inflater: Inflater;
  private readonly history: HistoryWindow | null;
  private ended = false;
  private done = false;

  constructor(windowBits: number, history: HistoryWindow | null) {
    this.history = history;
    this.inflater = new Inflater(windowBits, history !== null && history.length > 0 ? history.view() : undefined);
  }

  get drained(): boolean {
    return this.inflater.starved;
  }

  push(payload: Uint8Array): void {
    this.inflater.push(payload);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message."
    this.inflater.push(SYNC_TAIL);
  }

  read(max: number): Uint8Array {
    const out = this.inflater.read(max);
    if (this.ended && !this.done && this.inflater.starved) {
      // The message is decoded: its window is the next message's history.
      this.done = true;
      this.history?.append(this.inflater.window());
    }
    return out;
  }
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw argumentError("WS_ERR_INVALID_OPTION", `permessage-deflate ${name} must be an integer from ${min} to ${max}, got ${value}`, true);
  }
}

function endsWithSyncTail(data: Uint8Array): boolean {
  const n = data.length;
  return n >= 4 && data[n - 4] === 0x00 && data[n - 3] === 0x00 && data[n - 2] === 0xff && data[n - 1] === 0xff;
}

function tooBig(limit: number): PayloadTooBig {
  return new PayloadTooBig(`message too big: a compressed message inflates to more than the limit of ${limit.toLocaleString("en-US")} bytes`, {
    maxSize: limit,
  });
}

/** Map what `inflateRawSync` threw to the error the connection fails with. */
function decodeError(error: unknown, limit: number): Error {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_BUFFER_TOO_LARGE") return tooBig(limit);
  // Z_DATA_ERROR (invalid block type, invalid distance too far back, ...):
  // the peer sent something that is not DEFLATE data. RFC 6455 §7.4.1: 1007
  // "data within a message that was not consistent with the type of the message".
  if (typeof code === "string" && code.startsWith("Z_") && code !== "Z_MEM_ERROR") {
    const message = error instanceof Error ? error.message : String(error);
    return new ProtocolError(`invalid compressed data: ${message}`, "WS_ERR_INVALID_COMPRESSED_DATA", 1007);
  }
  // Anything else (Z_MEM_ERROR...) is no fault of the peer's: 1011.
  const message = error instanceof Error ? error.message : String(error);
  return new ProtocolError(`internal error: ${message}`, "WS_ERR_INTERNAL", 1011, { cause: error });
}

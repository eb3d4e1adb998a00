/**
 * Payload masking (RFC 6455 §5.3).
 *
 * §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of
 * octet i of the original data ("original-octet-i") with octet at index
 * i modulo 4 of the masking key ("masking-key-octet-j")". The same
 * transformation masks and unmasks, so one function serves both directions.
 *
 * ## Theory of operation
 *
 * Every payload a server receives and every payload a client sends goes
 * through here, so this is one of the two hot loops of the library. Three
 * strategies, picked by length (see {@link maskStrategy}):
 *
 * - **bytes** (under {@link MASK_WORD_THRESHOLD} bytes): a byte loop with the
 *   four key bytes held in locals, unrolled by four. On short payloads
 *   anything cleverer costs more in set-up (a typed-array view, a wasm call)
 *   than it saves.
 * - **wasm** (from {@link MASK_WASM_THRESHOLD} bytes, where the runtime has
 *   WebAssembly SIMD): a loop over 16-byte lanes (`v128.xor` with the key
 *   splatted to `i32x4`), hand-assembled below. WASM cannot see JS memory, so
 *   the payload is copied into the module's 64 KiB scratch page, masked, and
 *   copied back, 64 KiB at a time (a chunk stays in cache between the three
 *   passes). A payload that already lies in wasm memory — the adapters read
 *   sockets into {@link unmaskingArena} — is XORed from where it lies into
 *   the page: two passes, not three. The module is compiled on the first
 *   payload that needs it.
 * - **words**: the fallback where WebAssembly or SIMD is missing
 *   (`--jitless`, old engines, {@link useWasmMasking}(false)). An `Int32Array`
 *   view over the 4-byte-aligned middle of the buffer, XORed with the key
 *   rotated to match that alignment; bytes before and after the aligned
 *   middle go through the byte loop. Node's pooled Buffers often start at an
 *   odd `byteOffset`, so the alignment is computed from `byteOffset`, never
 *   assumed, and the key word is assembled through a byte view of a scratch
 *   word so it is right on either endianness.
 *
 * ## WASM SIMD against JS, measured
 *
 * Node 20.20, 2-core AMD EPYC VM shared with other jobs (so ±30 %), GB/s,
 * median of 5; in place on a view at an odd `byteOffset`:
 *
 * | size   | reference loop | unrolled bytes | JS words | WASM SIMD + 2 copies | bufferutil (C, for scale) |
 * |--------|----------------|----------------|----------|----------------------|---------------------------|
 * | 64 B   | 0.8            | 1.1–2.0        | 1.1      | 1.1                  | 1.6                       |
 * | 128 B  | 0.8            | 1.2–2.0        | 2.0      | 2.3                  |                           |
 * | 256 B  | 0.8            | 1.2–2.0        | 3.4      | 4.1                  |                           |
 * | 1 KiB  | 0.8            | 1.2–2.0        | 6.5      | 12.6                 | 16.1                      |
 * | 64 KiB | 0.8            | 1.2–2.0        | 9.8      | 31.7                 | 47.8                      |
 * | 1 MiB  | 0.8            | 1.2–2.0        | 9.8      | 26.3                 | 48.2                      |
 *
 * Verdict: keep WASM SIMD. Even paying for the copy in and the copy out it
 * beats the JS word loop at every size past the byte-loop crossover (~128 B),
 * by 2–3× from 1 KiB up, and reaches about half to two thirds of the native
 * addon. So the word loop is only the fallback. Also measured and dropped:
 * unrolling the SIMD loop once instead of four times (−30 % at 64 KiB);
 * 1 MiB chunks (−30 % at 1 MiB, out of L2) and 4–32 KiB chunks (per-chunk
 * overhead); an `Int32Array` cached per `ArrayBuffer` to skip the view
 * allocation (no gain, and it would pin the last buffer in memory); an
 * un-unrolled word loop (~3× slower). `bench/micro.js` re-measures.
 *
 * This module is pure: no I/O, only the global Web Crypto and WebAssembly
 * objects, so the core stays portable to other runtimes.
 */
import { argumentError } from "../errors.js";

/**
 * Below this many bytes `mask` uses the unrolled byte loop: creating the
 * `Int32Array` view, or the round trip through wasm memory, costs more than
 * it saves on shorter payloads (measured crossover: 96–160 bytes).
 */
export const MASK_WORD_THRESHOLD = 128;

/**
 * From this many bytes on `mask` uses WASM SIMD when the runtime has it. WASM
 * beat the JS word loop at every size measured above the byte-loop crossover,
 * so the two thresholds coincide and the word loop is the fallback.
 */
export const MASK_WASM_THRESHOLD = 128;

/** Which inner loop `mask` / `maskInto` use for a payload of `length` bytes. */
export type MaskStrategy = "bytes" | "words" | "wasm";

/**
 * A source of masking keys. Each call returns a fresh, unpredictable 4-byte
 * key; it may be a view into a shared pool, so use it right away (see
 * {@link randomMask} for how long it stays intact).
 */
export type MaskSource = () => Uint8Array;

// A scratch word, seen as bytes and as one native-endian int32: writing the
// key bytes in memory order and reading the word back gives the key word that
// XORs correctly on any endianness.
const scratchBytes = new Uint8Array(4);
const scratchWord = new Int32Array(scratchBytes.buffer);

/**
 * The reference implementation: one byte at a time, exactly as §5.3 states
 * it. Tests and benchmarks compare the fast paths against it.
 *
 * @param data - bytes to mask or unmask, in place.
 * @param key - the 4-byte masking key.
 * @param offset - index within the frame payload of `data[0]`: byte `i` is
 *   XORed with `key[(offset + i) & 3]`. Lets a payload arriving in pieces be
 *   unmasked piece by piece.
 */
export function maskBytewise(data: Uint8Array, key: Uint8Array, offset = 0): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[(offset + i) & 3]!;
}

/**
 * Mask (or unmask: the operation is its own inverse) `data` in place.
 *
 * @param data - bytes to transform, in place; any `byteOffset`, any length.
 * @param key - the 4-byte masking key (only `key[0..3]` is read).
 * @param offset - index within the frame payload of `data[0]`, so byte `i` is
 *   XORed with `key[(offset + i) & 3]`; defaults to 0. Any non-negative
 *   integer below 2^53 (only its value modulo 4 matters).
 */
export function mask(data: Uint8Array, key: Uint8Array, offset = 0): void {
  maskRange(data, 0, data.length, key, offset & 3);
}

/**
 * Write `source` XOR the key into `target` at `targetOffset`, leaving `source`
 * untouched: the client send path, which must not scribble on the user's
 * buffer. Equivalent to `target.set(source, targetOffset)` followed by
 * `mask(target.subarray(targetOffset, targetOffset + source.length), key)`,
 * and correct even when the two views overlap.
 *
 * @throws RangeError when `source` does not fit in `target` at `targetOffset`.
 */
export function maskInto(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
  const length = source.length;
  if (!(targetOffset >= 0 && targetOffset + length <= target.length)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `maskInto: ${length} bytes do not fit at offset ${targetOffset} of ${target.length}`, true);
  }
  // Straight from the user's buffer into wasm memory and out to the target:
  // one copy fewer than copy-then-mask. Only when the views cannot overlap,
  // since each chunk is written out before the next is read in. (A fused JS
  // byte loop for small payloads would need the same `.buffer` check to be
  // safe, and with it measured slower than the copy + in-place path below.)
  if (length >= MASK_WASM_THRESHOLD && source.buffer !== target.buffer) {
    const simd = wasmMasker();
    if (simd !== null) {
      simd(source, 0, length, target, targetOffset, keyWordLE(key, 0));
      return;
    }
  }
  // `set` is a memcpy (and handles overlap); masking in place after it costs
  // about what a fused copy-and-XOR loop would, without needing both views to
  // share an alignment.
  target.set(source, targetOffset);
  maskRange(target, targetOffset, targetOffset + length, key, 0);
}

/**
 * `mask(data.subarray(start, end), key, offset)` without making the view:
 * the parser unmasks a payload where it lies in the chunk.
 */
export function maskSlice(data: Uint8Array, start: number, end: number, key: Uint8Array, offset = 0): void {
  maskRange(data, start, end, key, offset & 3);
}

/**
 * `maskInto(source.subarray(start, end), key', target, targetOffset)` —
 * where key' is `key` turned to the phase of `offset` (byte `i` of the range
 * takes `key[(offset + i) & 3]`) — without making the view: the parser
 * unmasks a piece of a payload from the chunk straight into the message
 * buffer. Short ranges go through one fused byte loop (no `set` call, no
 * second pass). The views must not overlap.
 */
export function maskCopy(
  source: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  offset: number,
  target: Uint8Array,
  targetOffset: number,
): void {
  const length = end - start;
  if (!(start >= 0 && end <= source.length && targetOffset >= 0 && targetOffset + length <= target.length)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `maskCopy: bytes ${start}..${end} do not fit at offset ${targetOffset} of ${target.length}`, true);
  }
  const phase = offset & 3;
  if (length < MASK_WORD_THRESHOLD) {
    const k0 = key[phase]!;
    const k1 = key[(phase + 1) & 3]!;
    const k2 = key[(phase + 2) & 3]!;
    const k3 = key[(phase + 3) & 3]!;
    let i = start;
    let o = targetOffset;
    const end4 = start + (length & ~3);
    for (; i < end4; i += 4, o += 4) {
      target[o] = source[i]! ^ k0;
      target[o + 1] = source[i + 1]! ^ k1;
      target[o + 2] = source[i + 2]! ^ k2;
      target[o + 3] = source[i + 3]! ^ k3;
    }
    if (i < end) {
      target[o] = source[i]! ^ k0;
      if (++i < end) {
        target[o + 1] = source[i]! ^ k1;
        if (++i < end) target[o + 2] = source[i]! ^ k2;
      }
    }
    return;
  }
  if (length >= MASK_WASM_THRESHOLD && source.buffer !== target.buffer) {
    const simd = wasmMasker();
    if (simd !== null) {
      simd(source, start, end, target, targetOffset, keyWordLE(key, phase));
      return;
    }
  }
  target.set(source.subarray(start, end), targetOffset);
  maskRange(target, targetOffset, targetOffset + length, key, phase);
}

/**
 * Which loop `mask` uses for `length` bytes on this runtime ("wasm" only once
 * WebAssembly SIMD compiled). For benchmarks and diagnostics.
 */
export function maskStrategy(length: number): MaskStrategy {
  if (length < MASK_WORD_THRESHOLD) return "bytes";
  if (length >= MASK_WASM_THRESHOLD && wasmMasker() !== null) return "wasm";
  return "words";
}

/**
 * Mask `data[start..end)` in place, where `data[start]` takes key byte
 * `key[phase]`. Dispatches on length.
 */
function maskRange(data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): void {
  const length = end - start;
  if (length < MASK_WORD_THRESHOLD) {
    maskBytes(data, start, end, key, phase);
    return;
  }
  if (length >= MASK_WASM_THRESHOLD) {
    const simd = wasmMasker();
    if (simd !== null) {
      simd(data, start, end, data, start, keyWordLE(key, phase));
      return;
    }
  }
  maskWords(data, start, end, key, phase);
}

/** Byte loop over `data[start..end)`, key bytes hoisted into locals, unrolled by four. */
function maskBytes(data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): void {
  const k0 = key[phase & 3]!;
  const k1 = key[(phase + 1) & 3]!;
  const k2 = key[(phase + 2) & 3]!;
  const k3 = key[(phase + 3) & 3]!;
  let i = start;
  const end4 = start + ((end - start) & ~3);
  for (; i < end4; i += 4) {
    data[i]! ^= k0;
    data[i + 1]! ^= k1;
    data[i + 2]! ^= k2;
    data[i + 3]! ^= k3;
  }
  if (i < end) {
    data[i]! ^= k0;
    if (++i < end) {
      data[i]! ^= k1;
      if (++i < end) data[i]! ^= k2;
    }
  }
}

/** Word loop: bytes up to the first 4-aligned address, int32 words, then the tail bytes. */
function maskWords(data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): void {
  const address = data.byteOffset + start;
  let head = (4 - (address & 3)) & 3;
  if (head > end - start) head = end - start;
  maskBytes(data, start, start + head, key, phase);
  // After `head` bytes the key has turned by `head` positions; a whole word
  // turns it by four, i.e. not at all, so one key word serves the middle.
  const wordPhase = phase + head;
  const words = (end - start - head) >>> 2;
  if (words > 0) {
    scratchBytes[0] = key[wordPhase & 3]!;
    scratchBytes[1] = key[(wordPhase + 1) & 3]!;
    scratchBytes[2] = key[(wordPhase + 2) & 3]!;
    scratchBytes[3] = key[(wordPhase + 3) & 3]!;
    const k = scratchWord[0]!;
    const w = new Int32Array(data.buffer, address + head, words);
    // Unrolled by eight: measured ~3x over the plain word loop on V8.
    const words8 = words & ~7;
    let j = 0;
    for (; j < words8; j += 8) {
      w[j]! ^= k;
      w[j + 1]! ^= k;
      w[j + 2]! ^= k;
      w[j + 3]! ^= k;
      w[j + 4]! ^= k;
      w[j + 5]! ^= k;
      w[j + 6]! ^= k;
      w[j + 7]! ^= k;
    }
    for (; j < words; j++) w[j]! ^= k;
  }
  maskBytes(data, start + head + words * 4, end, key, wordPhase);
}

/** The key as the little-endian int32 that WASM's `i32x4.splat` lays out as `key[phase], key[phase+1], ...`. */
function keyWordLE(key: Uint8Array, phase: number): number {
  return (
    key[phase & 3]! |
    (key[(phase + 1) & 3]! << 8) |
    (key[(phase + 2) & 3]! << 16) |
    (key[(phase + 3) & 3]! << 24)
  );
}

// ---------------------------------------------------------------------------
// WebAssembly SIMD
// ---------------------------------------------------------------------------

/** XOR `source[start..end)` with `keyWord` through wasm memory and write it to `target` at `targetStart`. */
type SimdMasker = (
  source: Uint8Array,
  start: number,
  end: number,
  target: Uint8Array,
  targetStart: number,
  keyWord: number,
) => void;

/** The slice of the WebAssembly JS API used here (the project's `lib` has no DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Bytes per round trip through wasm memory: the size of the scratch page. */
const WASM_CHUNK = 65536;

/**
 * Where the scratch page starts in wasm memory: half-way into a 4 KiB page,
 * not at 0. Copying out of it is a `memcpy`, and glibc's runs about 15×
 * slower on an AMD EPYC VM when the target lies a few bytes (8–24) past
 * the source modulo 4096 — as a Buffer of 128 KiB or more does (its own
 * mapping, data 16 bytes into it) against an offset of 0. Measured there,
 * 64 KiB into a 1 MiB Buffer: 33 µs from offset 0, 2.2 µs from 2048.
 */
const PAGE_AT = 2048;

/** Where the arena starts: after the page and the bytes the XOR loop may write past it, on a 4 KiB boundary. */
const ARENA_AT = 17 * 4096;

/**
 * The module, in the binary format (WebAssembly Core Specification §5), with
 * the SIMD proposal's opcodes (prefix 0xFD). Written out by hand so no build
 * step or `.wasm` file is needed. In text form:
 *
 * ```wat
 * (module
 *   (memory (export "m") 2)           ;; the scratch page at PAGE_AT; grown by unmaskingArena()
 *   (func (export "f") (param $src i32) (param $dst i32) (param $len i32) (param $key i32)
 *     (local $end i32) (local $k v128)
 *     (local.set $k (i32x4.splat (local.get $key)))
 *     (local.set $end (i32.add (local.get $src) (local.get $len)))
 *     (block $done
 *       (loop $next
 *         (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
 *         ;; four 16-byte lanes per turn: +0, +16, +32, +48
 *         (v128.store offset=0 (local.get $dst) (v128.xor (v128.load offset=0 (local.get $src)) (local.get $k)))
 *         (v128.store offset=16 ...) (v128.store offset=32 ...) (v128.store offset=48 ...)
 *         (local.set $src (i32.add (local.get $src) (i32.const 64)))
 *         (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
 *         (br $next))))
 * ```
 *
 * It reads and writes `len` rounded up to 64 bytes. `dst` is always the
 * scratch page (64 KiB, a multiple of 64), whose bytes past `len` are never
 * copied out and stay before {@link ARENA_AT}; reads past the end of `src`
 * stay inside the memory (the arena is followed by {@link ARENA_SLACK}
 * bytes). Loads and stores need not be aligned.
 */
function wasmModuleBytes(): Uint8Array {
  // A section is its id, its size (LEB128; every size here is < 128) and its contents.
  const section = (id: number, contents: number[]): number[] => [id, contents.length, ...contents];
  const lane = (offset: number): number[] => [
    0x20, 0x01, //                      local.get $dst      (store address)
    0x20, 0x00, //                      local.get $src      (load address)
    0xfd, 0x00, 0x04, offset, //        v128.load align=16 offset
    0x20, 0x05, //                      local.get $k
    0xfd, 0x51, //                      v128.xor
    0xfd, 0x0b, 0x04, offset, //        v128.store align=16 offset
  ];
  const add64 = (local: number): number[] => [0x20, local, 0x41, 0xc0, 0x00, 0x6a, 0x21, local]; // i32.const is signed LEB128: 64 = C0 00
  const body = [
    0x02, 0x01, 0x7f, 0x01, 0x7b, //    locals: 1 × i32 ($end), 1 × v128 ($k)
    0x20, 0x03, 0xfd, 0x11, 0x21, 0x05, // $k = i32x4.splat($key)
    0x20, 0x00, 0x20, 0x02, 0x6a, 0x21, 0x04, // $end = $src + $len
    0x02, 0x40, //                      block
    0x03, 0x40, //                      loop
    0x20, 0x00, 0x20, 0x04, 0x4f, //    $src >= $end (i32.ge_u)
    0x0d, 0x01, //                      br_if 1 (out of the block)
    ...lane(0),
    ...lane(16),
    ...lane(32),
    ...lane(48),
    ...add64(0), //                     $src += 64
    ...add64(1), //                     $dst += 64
    0x0c, 0x00, //                      br 0 (loop again)
    0x0b, 0x0b, 0x0b, //                end loop, end block, end func
  ];
  // Code section size = 1 (count) + 1 (body size) + body, and must stay < 128 too.
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // types: (i32, i32, i32, i32) -> ()
    ...section(3, [0x01, 0x00]), //                          functions: one, of type 0
    ...section(5, [0x01, 0x00, 0x02]), //                    memory: one, min 2 pages (128 KiB), no max
    ...section(7, [0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00]), // exports: "m" memory 0, "f" func 0
    ...section(10, [0x01, body.length, ...body]), //         code
  ];
  return new Uint8Array(bytes);
}

/** `undefined`: not tried yet; `null`: unavailable on this runtime. */
let wasm: WasmMasker | null | undefined;
/** Cleared by {@link useWasmMasking}(false). */
let wasmAllowed = true;

/** The WASM SIMD masker, compiled on first use, or null where the runtime lacks WebAssembly SIMD. */
function wasmMasker(): SimdMasker | null {
  if (!wasmAllowed) return null;
  if (wasm === undefined) wasm = compileWasmMasker();
  return wasm === null ? null : wasm.run;
}

/**
 * Allow (the default) or forbid the WASM SIMD path. Forbidding it makes large
 * payloads take the JS word loop — what a runtime without WebAssembly SIMD
 * gets — which tests and benchmarks use to exercise that path. It also spares
 * the module's 128 KiB of wasm memory if it was never compiled.
 *
 * @returns whether the WASM path is now in use (false when forbidden or
 *   unavailable on this runtime).
 */
export function useWasmMasking(enabled: boolean): boolean {
  wasmAllowed = enabled;
  return wasmMasker() !== null;
}

/** The compiled module: its memory, the XOR loop, and views of the memory (remade when it grows). */
interface WasmMasker {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  xor: (src: number, dst: number, length: number, keyWord: number) => void;
  /** The scratch page: where every chunk is XORed to. */
  page: Uint8Array;
  /** The buffer {@link unmaskingArena} handed out, or null. */
  arena: Uint8Array | null;
  run: SimdMasker;
}
function compileWasmMasker(): WasmMasker | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const bytes = wasmModuleBytes();
    // validate() is false, not a throw, on an engine without SIMD.
    if (!api.validate(bytes)) return null;
    const { exports } = new api.Instance(new api.Module(bytes), {});
    const memory = exports["m"] as WasmMasker["memory"];
    const m: WasmMasker = {
      memory,
      xor: exports["f"] as WasmMasker["xor"],
      page: new Uint8Array(memory.buffer, PAGE_AT, WASM_CHUNK),
      arena: null,
      run: (source, start, end, target, targetStart, keyWord) => {
        // A source in the arena is XORed where it lies, straight into the
        // page: one pass fewer than copying it in first.
        const inMemory = source.buffer === m.memory.buffer;
        const page = m.page;
        // Chunks are multiples of 4 bytes long, so every chunk starts on key byte 0 of keyWord.
        for (let at = start; at < end; at += WASM_CHUNK) {
          const n = end - at < WASM_CHUNK ? end - at : WASM_CHUNK;
          if (inMemory) {
            m.xor(source.byteOffset + at, PAGE_AT, n, keyWord);
          } else {
            page.set(at === 0 && n === source.length ? source : source.subarray(at, at + n));
            m.xor(PAGE_AT, PAGE_AT, n, keyWord);
          }
          target.set(n === WASM_CHUNK ? page : page.subarray(0, n), targetStart + (at - start));
        }
      },
    };
    return m;
  } catch {
    // CompileError / LinkError / out of memory: the JS word loop still works.
    return null;
  }
}

/** Bytes of memory after the arena: the XOR loop may read up to 63 bytes past what it was asked for. */
const ARENA_SLACK = 64;

/**
 * A buffer of `size` bytes inside the WASM masker's memory, or null where
 * there is no WASM masker (no WebAssembly SIMD, or {@link useWasmMasking}
 * turned it off) or the memory cannot grow. Masked bytes in it are
 * unmasked where they lie — no copy into wasm memory first — so the
 * adapters read sockets into it (src/node/read-buffer.ts).
 *
 * There is one arena per process: the first call makes it, a later call for
 * the same size returns the same buffer, for another size null. The memory
 * never grows after that, so the buffer never detaches. Pure: no I/O.
 */
export function unmaskingArena(size: number): Uint8Array | null {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `unmaskingArena: size must be a positive integer, got ${String(size)}`, true);
  }
  if (wasmMasker() === null) return null;
  const m = wasm!;
  if (m.arena !== null) return m.arena.length === size ? m.arena : null;
  try {
    const pages = Math.ceil((ARENA_AT + size + ARENA_SLACK) / 65536) - m.memory.buffer.byteLength / 65536;
    m.memory.grow(pages);
  } catch {
    // RangeError: the engine would not reserve more memory.
    return null;
  }
  m.page = new Uint8Array(m.memory.buffer, PAGE_AT, WASM_CHUNK);
  m.arena = new Uint8Array(m.memory.buffer, ARENA_AT, size);
  return m.arena;
}

// ---------------------------------------------------------------------------
// Random keys
// ---------------------------------------------------------------------------

/** Keys per pool; the pool is two halves of POOL_KEYS / 2 keys. */
const POOL_KEYS = 1024;
const keyPool = new Uint8Array(POOL_KEYS * 4);
let nextKey = 0;

/**
 * The default {@link MaskSource}: keys from the global Web Crypto
 * `crypto.getRandomValues` (not `node:crypto`, so the core stays portable).
 *
 * §5.3: "The masking key is a 32-bit value chosen at random by the client
 * [...] The masking key needs to be unpredictable; thus, the masking key MUST
 * be derived from a strong source of entropy". Asking Web Crypto for 4 bytes
 * per frame costs more than masking a small frame, so keys come from a pool
 * of 1024, refilled half (512 keys) at a time.
 *
 * Contract: the returned key is a view into the pool. Its bytes stay intact
 * for at least the next 512 calls (a half is refilled only when the pool
 * wraps round to it), which is ample for the intended use — mask one frame
 * with it right away. Copy it if you keep it.
 */
export const randomMask: MaskSource = () => {
  const at = nextKey;
  // Entering a half: refill that half, which the previous lap handed out.
  if ((at & (POOL_KEYS / 2 - 1)) === 0) {
    globalThis.crypto.getRandomValues(keyPool.subarray(at * 4, (at + POOL_KEYS / 2) * 4));
  }
  nextKey = (at + 1) & (POOL_KEYS - 1);
  return keyPool.subarray(at * 4, at * 4 + 4);
};

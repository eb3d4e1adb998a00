// @ts-check
/**
 * Micro-benchmark of the two hot loops: payload masking (RFC 6455 §5.3) and
 * UTF-8 validation, wavesock beside `ws` in the same process run.
 *
 *   npm run build && node bench/micro.js [--quick] [--dist <dir>]
 *
 * `--quick` shortens every cell (a smoke run, a few seconds); `--dist` points
 * at another build of wavesock (default: ../dist next to this file).
 *
 * Method (see BENCH.md): each cell first checks that the function gives the
 * right answer, warms up, sizes a batch to run for a fixed time, runs it
 * REPEATS times and reports the median with the min–max spread. Machines here are shared and noisy: read the ratios, which
 * are measured side by side, rather than the absolute figures.
 *
 * `ws` has no public masking or validation API; this loads its internal
 * `lib/buffer-util.js` and `lib/validation.js`, the code its receiver and
 * sender run, which pick native helpers (`node:http`'s, then the optional
 * `bufferutil` addon) when present and a JS loop otherwise.
 */
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const distArg = args.indexOf("--dist");
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(distArg >= 0 && args[distArg + 1] ? args[distArg + 1] : path.join(here, "..", "dist"));

/** Time per measured repeat, and how many repeats (the median of them is reported). */
const REPEAT_MS = quick ? 20 : 60;
const REPEATS = quick ? 3 : 5;

// The modules are loaded from the build, but typed from the sources, so this
// file type-checks whether or not `dist/` exists yet.
/** @type {typeof import("../src/frame/mask.js")} */
let maskModule;
/** @type {typeof import("../src/frame/utf8.js")} */
let utf8Module;
try {
  maskModule = await import(pathToFileURL(path.join(dist, "frame", "mask.js")).href);
  utf8Module = await import(pathToFileURL(path.join(dist, "frame", "utf8.js")).href);
} catch (error) {
  console.error(`cannot load wavesock from ${dist} (run \`npm run build\` first):`, error);
  process.exit(1);
}
const { mask, maskInto, maskBytewise, maskStrategy, useWasmMasking } = maskModule;
const { isValidUtf8, Utf8Validator } = utf8Module;

const require = createRequire(import.meta.url);
const wsDir = path.dirname(require.resolve("ws"));
/** @type {{ mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void, unmask(buffer: Uint8Array, mask: Uint8Array): void }} */
const wsBufferUtil = require(path.join(wsDir, "lib", "buffer-util.js"));
/** @type {{ isValidUTF8(buffer: Uint8Array): boolean }} */
const wsValidation = require(path.join(wsDir, "lib", "validation.js"));

/** What ws's masking runs on this machine, mirroring the order of its own checks. */
function wsMaskFlavour() {
  if (typeof (/** @type {Record<string, unknown>} */ (require("node:http")).websocketMask) === "function") {
    return "node:http native";
  }
  if (process.env.WS_NO_BUFFER_UTIL) return "JS";
  try {
    require.resolve("bufferutil");
    return "bufferutil";
  } catch {
    return "JS";
  }
}

/** @type {{ mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void, unmask(buffer: Uint8Array, mask: Uint8Array): void } | null} */
let bufferutil = null;
try {
  bufferutil = require("bufferutil");
} catch {
  bufferutil = null;
}

/** @typedef {{ median: number, min: number, max: number }} Cell */

/**
 * Measure a row of contenders side by side. Each `run(n)` performs its
 * operation n times on `bytesPerOp` bytes. Every contender is first sized to
 * run for REPEAT_MS (which also warms it up); then the repeats go round the
 * contenders in turn, so a burst of load from another process hits them all
 * alike rather than one column. Returns GB/s per contender.
 * @param {Array<(n: number) => void>} runs
 * @param {number} bytesPerOp
 * @returns {Cell[]}
 */
function measureRow(runs, bytesPerOp) {
  const batch = runs.map((run) => {
    let n = 1;
    for (;;) {
      const t0 = performance.now();
      run(n);
      const ms = performance.now() - t0;
      if (ms >= REPEAT_MS / 4) return Math.max(1, Math.round((n * REPEAT_MS) / ms));
      n *= 2;
    }
  });
  /** @type {number[][]} */
  const results = runs.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    runs.forEach((run, i) => {
      const n = batch[i] ?? 1;
      const t0 = performance.now();
      run(n);
      const ms = performance.now() - t0;
      results[i]?.push((bytesPerOp * n) / (ms * 1e6));
    });
  }
  return results.map((list) => {
    list.sort((a, b) => a - b);
    return { median: list[list.length >> 1] ?? 0, min: list[0] ?? 0, max: list[list.length - 1] ?? 0 };
  });
}

/** @param {number} n @param {number} seed */
function randomBytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  return Buffer.compare(a, b) === 0;
}

/** @param {string} what @param {boolean} ok */
function check(what, ok) {
  if (!ok) throw new Error(`wrong result: ${what}`);
}

/** @param {number} n */
function sizeLabel(n) {
  return n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`;
}

/** @param {number} x */
const gb = (x) => x.toFixed(2);

/**
 * @param {string} title
 * @param {string[]} columns
 * @param {Array<{ label: string, cells: Cell[] }>} rows
 * @param {number} ratioOf index of the column the ratio column divides
 * @param {number} ratioTo index of the column it divides by
 */
function printTable(title, columns, rows, ratioOf, ratioTo) {
  const ratioName = `${columns[ratioOf]} / ${columns[ratioTo]}`;
  console.log(`\n### ${title} (GB/s: median of ${REPEATS}, min–max)\n`);
  console.log(`| size | ${columns.join(" | ")} | ${ratioName} |`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|---:|`);
  for (const { label, cells } of rows) {
    const a = cells[ratioOf];
    const b = cells[ratioTo];
    const ratio = a && b ? `${(a.median / b.median).toFixed(1)}×` : "–";
    const shown = cells.map((c) => `${gb(c.median)} (${gb(c.min)}–${gb(c.max)})`);
    console.log(`| ${label} | ${shown.join(" | ")} | ${ratio} |`);
  }
}

// ---------------------------------------------------------------------------

console.log(`# wavesock micro-benchmark${quick ? " (--quick)" : ""}\n`);
console.log(`- Node ${process.version}, ${os.cpus()[0]?.model ?? "unknown CPU"} (${os.cpus().length} CPUs), ${os.platform()}/${os.arch()}`);
console.log(`- wavesock from ${path.relative(process.cwd(), dist) || "."}; mask strategy at 64 B / 1 KiB / 1 MiB: ${[64, 1024, 1 << 20].map(maskStrategy).join(" / ")}`);
console.log(`- ws ${require(path.join(wsDir, "package.json")).version}: its masking runs ${wsMaskFlavour()}`);
console.log("- wasm off: `mask` with useWasmMasking(false), as on a runtime without WebAssembly SIMD (JS words from 128 B)");
console.log("- byte loop: `maskBytewise`, the same loop as ws's pure-JS fallback (what ws runs without bufferutil)");
console.log(
  bufferutil
    ? "- bufferutil: installed, measured directly"
    : "- bufferutil: not installed, so no bufferutil column (`npm install bufferutil` to add one)",
);

const key = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
const maskSizes = [64, 1024, 64 * 1024, 1 << 20];
const maskColumns = ["wavesock mask", "wavesock maskInto", "wasm off (JS words)", "byte loop", "ws unmask"];
if (bufferutil) maskColumns.push("bufferutil unmask");

// Warm-up: drive every masking path (byte loop, SIMD, words) at several sizes
// before any timing, so the JIT has seen them all and the first cells do not
// pay for (de)optimisation.
for (let round = 0; round < 300; round++) {
  for (const size of [16, 100, 1000, 70_000]) {
    const buffer = new Uint8Array(size + 1).subarray(1);
    const out = new Uint8Array(size + 14);
    mask(buffer, key, round);
    maskInto(buffer, key, out, 14);
    useWasmMasking(false);
    mask(buffer, key, round);
    maskInto(buffer, key, out, 14);
    useWasmMasking(true);
  }
}

const maskRows = maskSizes.map((size) => {
  // One byte into a fresh allocation, like a payload after a frame header:
  // not 4-aligned, which the word path has to cope with.
  const backing = new Uint8Array(size + 1);
  const data = backing.subarray(1);
  data.set(randomBytes(size, size));
  const target = new Uint8Array(size + 14);

  // Check every contender once before timing it (timing flips `data` back
  // and forth, so the expectation is taken from its current bytes).
  /** @param {string} what @param {(copy: Uint8Array) => Uint8Array} transform */
  const verify = (what, transform) => {
    const expected = data.slice();
    maskBytewise(expected, key);
    check(`${what} ${size}`, sameBytes(transform(Buffer.from(data)), expected));
  };
  verify("mask", (copy) => (mask(copy, key), copy));
  verify("maskInto", (copy) => (maskInto(copy, key, target, 14), target.subarray(14)));
  verify("ws unmask", (copy) => (wsBufferUtil.unmask(copy, key), copy));
  if (bufferutil) {
    const addon = bufferutil;
    verify("bufferutil unmask", (copy) => (addon.unmask(copy, key), copy));
  }

  verify("mask without wasm", (copy) => {
    useWasmMasking(false);
    mask(copy, key);
    useWasmMasking(true);
    return copy;
  });

  // ws's unmask takes a Buffer (it reads `buffer.length`); same bytes, same alignment.
  const wsData = Buffer.from(backing.buffer, 1, size);
  /** @type {Array<(n: number) => void>} */
  const runs = [
    (n) => { for (let i = 0; i < n; i++) mask(data, key); },
    (n) => { for (let i = 0; i < n; i++) maskInto(data, key, target, 14); },
    (n) => {
      // What a runtime without WebAssembly SIMD gets.
      useWasmMasking(false);
      for (let i = 0; i < n; i++) mask(data, key);
      useWasmMasking(true);
    },
    (n) => { for (let i = 0; i < n; i++) maskBytewise(data, key); },
    (n) => { for (let i = 0; i < n; i++) wsBufferUtil.unmask(wsData, key); },
  ];
  if (bufferutil) {
    const addon = bufferutil;
    runs.push((n) => { for (let i = 0; i < n; i++) addon.unmask(wsData, key); });
  }
  const cells = measureRow(runs, size);
  return { label: sizeLabel(size), cells };
});
printTable("Masking", maskColumns, maskRows, 0, 4);

// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true });

/**
 * Text of exactly `size` bytes, cut on a code point boundary (padded with ASCII).
 * @param {string} sample @param {number} size
 */
function textOf(sample, size) {
  const unit = encoder.encode(sample);
  const out = new Uint8Array(size).fill(0x20);
  let at = 0;
  while (at + unit.length <= size) {
    out.set(unit, at);
    at += unit.length;
  }
  return out;
}

const texts = {
  ASCII: "The quick brown fox jumps over the lazy dog, 0123456789. ",
  // Latin accents (2 bytes), CJK (3 bytes), emoji (4 bytes) mixed with ASCII.
  multibyte: "Ça va? Grüße — 日本語のテキスト, emoji 😀🚀 and Ελληνικά. ",
};
const utf8Sizes = [64, 1024, 64 * 1024];
const utf8Columns = ["isValidUtf8", "Utf8Validator", "TextDecoder fatal", "ws isValidUTF8"];

for (const [kind, sample] of Object.entries(texts)) {
  const rows = utf8Sizes.map((size) => {
    const data = textOf(sample, size);
    const validator = new Utf8Validator();
    check(`isValidUtf8 ${kind} ${size}`, isValidUtf8(data));
    check(`Utf8Validator ${kind} ${size}`, validator.push(data) && validator.end());
    check(`ws isValidUTF8 ${kind} ${size}`, wsValidation.isValidUTF8(data));
    let sink = 0;
    const cells = measureRow(
      [
        (n) => { for (let i = 0; i < n; i++) if (isValidUtf8(data)) sink++; },
        (n) => {
          for (let i = 0; i < n; i++) {
            validator.reset();
            if (validator.push(data) && validator.end()) sink++;
          }
        },
        (n) => { for (let i = 0; i < n; i++) sink += fatal.decode(data).length; },
        (n) => { for (let i = 0; i < n; i++) if (wsValidation.isValidUTF8(data)) sink++; },
      ],
      size,
    );
    if (sink === 0) throw new Error("nothing validated");
    return { label: sizeLabel(size), cells };
  });
  printTable(`UTF-8 validation, ${kind}`, utf8Columns, rows, 0, 3);
}

// ---------------------------------------------------------------------------
// Frames and handshakes: ns per operation.

/** @type {typeof import("../src/frame/serializer.js")} */
const serializerModule = await import(pathToFileURL(path.join(dist, "frame", "serializer.js")).href);
/** @type {typeof import("../src/connection/protocol.js")} */
const protocolModule = await import(pathToFileURL(path.join(dist, "connection", "protocol.js")).href);
/** @type {typeof import("../src/handshake/http.js")} */
const httpModule = await import(pathToFileURL(path.join(dist, "handshake", "http.js")).href);
/** @type {typeof import("../src/handshake/server.js")} */
const serverHandshake = await import(pathToFileURL(path.join(dist, "handshake", "server.js")).href);
const { serializeFrame } = serializerModule;
const { Protocol } = protocolModule;
const { randomMask } = maskModule;
/** @type {{ frame(data: Uint8Array, options: Record<string, unknown>): Uint8Array[] }} */
const WsSender = require(path.join(wsDir, "lib", "sender.js"));
/** @type {new (options: Record<string, unknown>) => import("node:stream").Writable} */
const WsReceiver = require(path.join(wsDir, "lib", "receiver.js"));

/**
 * @param {string} title
 * @param {string[]} columns
 * @param {{ label: string, runs: ((n: number) => void)[] }[]} rows
 * @param {boolean} compare whether the first two columns are rivals (print their ratio)
 */
function printNsTable(title, columns, rows, compare = true) {
  console.log(`\n### ${title} (ns per operation: median of ${REPEATS}, min–max; lower is better)\n`);
  console.log(`| operation | ${columns.join(" | ")} |${compare ? ` ${columns[0]} / ${columns[1] ?? ""} |` : ""}`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|${compare ? "---:|" : ""}`);
  for (const row of rows) {
    const cells = measureRow(row.runs, 1).map((c) => ({ median: 1 / c.median, min: 1 / c.max, max: 1 / c.min }));
    const ns = (/** @type {number} */ v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
    const shown = cells.map((c) => `${ns(c.median)} (${ns(c.min)}–${ns(c.max)})`);
    const a = cells[0];
    const b = cells[1];
    const ratio = a && b ? `${(a.median / b.median).toFixed(2)}×` : "–";
    console.log(`| ${row.label} | ${shown.join(" | ")} |${compare ? ` ${ratio} |` : ""}`);
  }
}

const payload64 = randomBytes(64, 7);
const payload1k = randomBytes(1024, 8);
// 16 masked 64-byte binary frames in one chunk, as a server receives them.
const clientSide = new Protocol("client", { maskSource: () => Uint8Array.of(1, 2, 3, 4) });
for (let i = 0; i < 16; i++) clientSide.sendBinary(payload64);
const chunk16 = Buffer.concat(clientSide.dataToSend());
let frameSink = 0;
printNsTable("Frames", ["wavesock", "ws"], [
  {
    label: "serialize 64 B, server (unmasked)",
    runs: [
      (n) => { for (let i = 0; i < n; i++) frameSink += serializeFrame(2, payload64).length; },
      (n) => { for (let i = 0; i < n; i++) frameSink += WsSender.frame(payload64, { fin: true, opcode: 2, mask: false, readOnly: true, rsv1: false }).length; },
    ],
  },
  {
    label: "serialize 1 KiB, client (masked)",
    runs: [
      (n) => { for (let i = 0; i < n; i++) frameSink += serializeFrame(2, payload1k, { mask: randomMask }).length; },
      (n) => { for (let i = 0; i < n; i++) frameSink += WsSender.frame(payload1k, { fin: true, opcode: 2, mask: true, readOnly: true, rsv1: false }).length; },
    ],
  },
  {
    label: "parse 16 × 64 B masked frames from one chunk (per chunk, copy included)",
    runs: [
      (n) => {
        const p = new Protocol("server", { maxSize: null });
        for (let i = 0; i < n; i++) {
          p.receiveData(Buffer.from(chunk16));
          while (p.nextEvent() !== undefined) frameSink++;
        }
      },
      (n) => {
        const r = new WsReceiver({ isServer: true, maxPayload: 0, skipUTF8Validation: false });
        r.on("message", () => frameSink++);
        for (let i = 0; i < n; i++) r.write(Buffer.from(chunk16));
      },
    ],
  },
]);
if (frameSink === 0) throw new Error("no frames measured");

const requestBytes = Buffer.from(
  "GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
);
let hsSink = 0;
printNsTable("Opening handshake (server side)", ["parse", "parse + validate + 101"], [
  {
    label: "a browser-like request",
    runs: [
      (n) => { for (let i = 0; i < n; i++) hsSink += new httpModule.RequestHeadParser().push(requestBytes)?.path.length ?? 0; },
      (n) => {
        for (let i = 0; i < n; i++) {
          const req = new httpModule.RequestHeadParser().push(requestBytes);
          if (req) hsSink += httpModule.serializeResponse(serverHandshake.acceptRequest(req).response).length;
        }
      },
    ],
  },
], false);
if (hsSink === 0) throw new Error("no handshake measured");

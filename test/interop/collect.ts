/**
 * Helpers shared by the interop tests: waiting for things with a deadline
 * (never a fixed sleep), a `ws` peer that records everything it sees, child
 * processes that speak JSON lines, and deterministic test payloads.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { expect } from "vitest";
import type { Connection } from "../../src/index.js";
import { WebSocket, WebSocketServer, type ClientOptions, type ServerOptions as WsServerOptions } from "ws";

/** Default deadline for one awaited event, in milliseconds. */
export const STEP_MS = 8000;

/** Reject with a readable error if `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Wait until `cond()` holds, checking every 10 ms, for at most `ms`. */
export async function until(cond: () => boolean, what = "a condition", ms = STEP_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A queue of values that arrive over time; `next()` waits for the next one, with a deadline. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((value: T) => void)[] = [];

  constructor(private readonly label = "value") {}

  push(value: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.items.push(value);
  }

  /** How many values are waiting to be taken. */
  get size(): number {
    return this.items.length;
  }

  next(ms = STEP_MS): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    return new Promise<T>((resolve, reject) => {
      const waiter = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${ms} ms waiting for the next ${this.label}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }
}

/** Things to undo after each test, most recent first. */
export class Cleanup {
  private readonly tasks: (() => unknown)[] = [];

  add(task: () => unknown): void {
    this.tasks.push(task);
  }

  async run(): Promise<void> {
    const tasks = this.tasks.splice(0).reverse();
    for (const task of tasks) {
      try {
        await withTimeout(Promise.resolve().then(task), "cleanup", 5000);
      } catch {
        // Cleanup is best effort: a failed test has already reported why.
      }
    }
  }
}

// ------------------------------------------------------------------ payloads

/** `n` bytes, byte i = i mod 256 (the Python and Node peers generate the same). */
export function patternBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** `n` ASCII characters, char i = ALPHABET[i mod 36] (the peers generate the same). */
export function patternText(n: number): string {
  return ALPHABET.repeat(Math.ceil(n / ALPHABET.length)).slice(0, n);
}

/** Text of multi-byte UTF-8 characters (2, 3 and 4 bytes each) about `bytes` bytes long. */
export function multiByteText(bytes: number): string {
  const unit = "é€𝄞ж😀 "; // 2 + 3 + 4 + 2 + 4 + 1 = 16 bytes
  return unit.repeat(Math.max(1, Math.round(bytes / 16)));
}

/** A deterministic JSON-like document of about `bytes` bytes: compressible, not trivially so. */
export function jsonLikeText(bytes: number, seed = 1): string {
  let state = seed >>> 0 || 1;
  const rand = () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
  const parts: string[] = [];
  let size = 2;
  let id = 0;
  while (size < bytes) {
    const item = JSON.stringify({
      id: id++,
      name: `${words[Math.floor(rand() * words.length)]}-${words[Math.floor(rand() * words.length)]}`,
      score: Math.round(rand() * 1e6) / 100,
      tags: [words[Math.floor(rand() * words.length)], words[Math.floor(rand() * words.length)]],
      active: rand() < 0.5,
    });
    parts.push(item);
    size += item.length + 1;
  }
  return `[${parts.join(",")}]`;
}

/**
 * Messages for the compression tests: big JSON-like texts, a small one
 * repeated (back-references into the previous message: context takeover),
 * messages under every compression threshold (sent without RSV1, which must
 * not enter the LZ77 window), binary.
 */
export function deflateWorkload(): (string | Buffer)[] {
  const small = jsonLikeText(2000, 11);
  return [
    jsonLikeText(200_000, 1),
    jsonLikeText(200_000, 2),
    small,
    small,
    small,
    `${small}!`,
    "tiny",
    "",
    small,
    Buffer.from(jsonLikeText(150_000, 4)),
    patternBytes(70_000),
    jsonLikeText(200_000, 1),
  ];
}

/** Total payload bytes of some messages. */
export function payloadBytes(messages: (string | Uint8Array)[]): number {
  return messages.reduce((n, m) => n + (typeof m === "string" ? Buffer.byteLength(m) : m.length), 0);
}

/** Assert a received message is these bytes (a Uint8Array: binary). */
export function expectBytes(actual: unknown, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  const a = actual as Uint8Array;
  expect(a.length).toBe(expected.length);
  expect(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(expected))).toBe(0);
}

/** Assert a received message is this text (a string). Lengths first: a failed 1 MiB string diff is unreadable. */
export function expectText(actual: unknown, expected: string): void {
  expect(typeof actual).toBe("string");
  expect((actual as string).length).toBe(expected.length);
  expect(actual === expected).toBe(true);
}

/**
 * Send the deflate workload through an echoing peer and check every echo: the
 * mixed messages, an uncompressed message between compressed ones (RSV1 off
 * must not disturb context takeover), and a fragmented compressed message;
 * then check that fewer than half the payload bytes crossed the wire each way.
 */
export async function echoDeflateWorkload(conn: Connection): Promise<void> {
  const recv = () => withTimeout(conn.recv(), "wavesock to receive an echo");
  const work = deflateWorkload();
  for (const m of work) {
    await conn.send(m);
    if (typeof m === "string") expectText(await recv(), m);
    else expectBytes(await recv(), m);
  }
  const small = jsonLikeText(3000, 12);
  await conn.send(small, { compress: false });
  expectText(await recv(), small);
  await conn.send(small);
  expectText(await recv(), small);
  const big = jsonLikeText(120_000, 9);
  await conn.send([big.slice(0, 60_000), big.slice(60_000)]);
  expectText(await recv(), big);
  const total = payloadBytes(work) + big.length;
  expect(conn.socket.bytesRead).toBeLessThan(total / 2);
  expect(conn.socket.bytesWritten).toBeLessThan(total / 2);
}

/** Assert a peer's summary of a message ({type, length, sha256}, from the Python or Node peers) describes `data`. */
export function expectSummary(summary: Record<string, unknown>, data: string | Uint8Array): void {
  expect(summary.error).toBeUndefined();
  expect(summary.type).toBe(typeof data === "string" ? "text" : "binary");
  expect(summary.length).toBe(typeof data === "string" ? Buffer.byteLength(data) : data.length);
  expect(summary.sha256).toBe(sha256(data));
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(typeof data === "string" ? Buffer.from(data, "utf8") : data).digest("hex");
}

/** Bytes of a received message, whatever `ws` handed over. */
export function toBuffer(data: WebSocket.RawData | Uint8Array | string): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Parse a `Sec-WebSocket-Extensions` value into `[{ name, params: { key: value|true } }]`. */
export function parseExtensions(header: string | undefined): { name: string; params: Record<string, string | true> }[] {
  if (header === undefined || header.trim() === "") return [];
  return header.split(",").map((element) => {
    const [name, ...params] = element.split(";").map((s) => s.trim());
    const out: Record<string, string | true> = {};
    for (const p of params) {
      const eq = p.indexOf("=");
      if (eq < 0) out[p.toLowerCase()] = true;
      else out[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    }
    return { name: name!.toLowerCase(), params: out };
  });
}

// ------------------------------------------------------------ our handlers

/**
 * A server-side handler for peers driven from outside (Python, undici): echo
 * every message, except these text commands:
 * - "cmd:fragments": send a fragmented text message (iterable), a fragmented
 *   binary one (async iterable, with an empty fragment), a text one cut in the
 *   middle of multi-byte characters, and 300 000 pattern characters in 3 fragments;
 * - "cmd:ping:DATA": ping with DATA, wait for the pong, then send "pinged:DATA";
 * - "cmd:close:CODE:REASON": close with CODE and REASON.
 */
export async function scriptedEcho(ws: Connection): Promise<void> {
  for await (const m of ws) {
    if (typeof m !== "string" || !m.startsWith("cmd:")) {
      await ws.send(m);
      continue;
    }
    const [, name, arg = "", ...rest] = m.split(":");
    if (name === "fragments") {
      await ws.send(["fr", "ag", "ment"]);
      await ws.send(
        (async function* () {
          yield new Uint8Array([1]);
          yield new Uint8Array(0);
          yield new Uint8Array([2, 3]);
        })(),
      );
      const utf8 = Buffer.from("€𝄞", "utf8");
      await ws.send(["é", utf8.subarray(0, 2), utf8.subarray(2, 5), utf8.subarray(5)]);
      const big = patternText(300_000);
      await ws.send([big.slice(0, 100_000), big.slice(100_000, 200_000), big.slice(200_000)]);
    } else if (name === "ping") {
      await withTimeout(ws.ping(arg), "the peer's pong");
      await ws.send(`pinged:${arg}`);
    } else if (name === "close") {
      await ws.close(Number(arg), rest.join(":"));
      return;
    }
  }
}

// ------------------------------------------------------------------ ws peers

export interface WsMessage {
  data: Buffer;
  isBinary: boolean;
}

/** A `ws` WebSocket with every event it receives recorded. */
export class WsPeer {
  readonly messages = new Inbox<WsMessage>("ws message");
  readonly pings = new Inbox<Buffer>("ws ping");
  readonly pongs = new Inbox<Buffer>("ws pong");
  readonly errors: Error[] = [];
  /** Resolves with the code and reason of ws's 'close' event. */
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => this.messages.push({ data: toBuffer(data), isBinary }));
    ws.on("ping", (data) => this.pings.push(data));
    ws.on("pong", (data) => this.pongs.push(data));
    ws.on("error", (err) => this.errors.push(err));
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
  }

  /** Connect a `ws` client; resolves once open, rejects on a failed handshake. */
  static connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WsPeer> {
    const ws = new WebSocket(url, protocols, options);
    const peer = new WsPeer(ws);
    return withTimeout(
      new Promise<WsPeer>((resolve, reject) => {
        ws.once("open", () => resolve(peer));
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`unexpected HTTP ${res.statusCode}`)));
      }),
      `ws client to open ${url}`,
    );
  }

  /** The next message, as text (asserting it was a text message). */
  async nextText(ms?: number): Promise<string> {
    const m = await this.messages.next(ms);
    if (m.isBinary) throw new Error(`expected a text message, got ${m.data.length} binary bytes`);
    return m.data.toString("utf8");
  }

  /** The next message, as bytes (asserting it was a binary message). */
  async nextBinary(ms?: number): Promise<Buffer> {
    const m = await this.messages.next(ms);
    if (!m.isBinary) throw new Error(`expected a binary message, got text of ${m.data.length} bytes`);
    return m.data;
  }

  /** Send and wait until ws has written it. */
  send(data: string | Uint8Array, options: { binary?: boolean; fin?: boolean; compress?: boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, options, (err) => (err ? reject(err) : resolve())));
  }

  /** Close with code/reason and wait for ws's 'close' event. */
  async close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    this.ws.close(code, reason);
    return withTimeout(this.closed, "ws 'close' event");
  }

  terminate(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

/** A `ws` WebSocketServer on loopback; every accepted connection is pushed to `peers` as a WsPeer. */
export class WsServer {
  readonly peers = new Inbox<WsPeer>("ws server connection");
  private readonly all: WsPeer[] = [];

  private constructor(
    readonly wss: WebSocketServer,
    onConnection?: (peer: WsPeer) => void,
  ) {
    wss.on("connection", (ws) => {
      const peer = new WsPeer(ws);
      this.all.push(peer);
      onConnection?.(peer);
      this.peers.push(peer);
    });
  }

  static async start(options: WsServerOptions = {}, onConnection?: (peer: WsPeer) => void): Promise<WsServer> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
    const server = new WsServer(wss, onConnection);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        wss.once("listening", resolve);
        wss.once("error", reject);
      }),
      "ws server to listen",
    );
    return server;
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  /** A ws:// URL for this server (brackets an IPv6 host). */
  url(path = "/"): string {
    const { address } = this.wss.address() as AddressInfo;
    const host = address.includes(":") ? `[${address}]` : address;
    return `ws://${host}:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const p of this.all) p.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** An echo handler for a ws server connection: text stays text, binary stays binary. */
export function wsEcho(peer: WsPeer): void {
  peer.ws.on("message", (data, isBinary) => peer.ws.send(toBuffer(data), { binary: isBinary }));
}

// ------------------------------------------------------- JSON-lines children

/**
 * A child process that answers JSON lines on stdout: each line is recorded,
 * `call()` writes one JSON command on stdin and waits for its reply,
 * `waitFor()` finds a line matching a predicate (seen or yet to come).
 */
export class JsonLinesChild {
  readonly lines: Record<string, unknown>[] = [];
  private readonly watchers = new Set<() => void>();
  private stderr = "";
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      if (this.stderr.length < 20_000) this.stderr += s;
    });
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        value = { unparsed: line };
      }
      this.lines.push(value);
      for (const w of [...this.watchers]) w();
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdin.on("error", () => undefined);
  }

  static spawn(command: string, args: string[], env: NodeJS.ProcessEnv = {}): JsonLinesChild {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    return new JsonLinesChild(child);
  }

  /** What the child wrote on stderr so far (for failure messages). */
  get errorOutput(): string {
    return this.stderr;
  }

  private lastId = 0;

  /**
   * Send one command with a fresh `id` and wait for the reply carrying the
   * same `id` (a late reply to an earlier, timed-out command is skipped).
   */
  async call(command: Record<string, unknown>, ms = STEP_MS): Promise<Record<string, unknown>> {
    const id = ++this.lastId;
    this.child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    const reply = await this.waitFor((l) => l.id === id, `the reply to ${JSON.stringify(command).slice(0, 200)}`, ms);
    const { id: _, ...rest } = reply;
    return rest;
  }

  /** The first line (already seen or yet to come) for which `pred` holds. */
  waitFor(pred: (line: Record<string, unknown>) => boolean, what: string, ms = STEP_MS): Promise<Record<string, unknown>> {
    const found = this.lines.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(pred);
        if (!hit) return;
        done();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; child stderr: ${this.stderr.slice(-2000) || "(empty)"}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.watchers.delete(check);
      };
      this.watchers.add(check);
    });
  }

  /** Close stdin (a polite "stop") and kill the child if it has not exited shortly after. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 2000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Whether `command args` exits 0 (used to skip suites whose peer is not installed). */
export function runs(command: string, args: string[]): boolean {
  try {
    return spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

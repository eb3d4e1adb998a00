/**
 * A raw WebSocket peer for the conformance suite: it speaks RFC 6455 by hand,
 * byte by byte, over a real loopback TCP socket, so it can send what no
 * well-behaved library would (broken frames, frames cut at any byte, invalid
 * UTF-8, reserved opcodes) and check, frame by frame, how wavesock answers.
 *
 * Both wavesock adapters are tested the same way:
 *
 * - side "server": wavesock's `serve()` runs an echo handler; the raw peer is
 *   a TCP *client* that sends the opening handshake, masked frames, and reads
 *   the server's unmasked frames.
 * - side "client": the raw peer is a TCP *server* that answers wavesock's
 *   `connect()` handshake by hand, sends unmasked frames and reads the
 *   client's masked frames; the client application echoes too.
 *
 * The application on the wavesock side (the "testee") is the one the
 * Autobahn|Testsuite expects: it echoes every message as received (text as
 * text, binary as binary) and keeps reading. It records every message it
 * was given, and the error that ended its reading, so tests can assert that
 * messages completed before a violation were still delivered.
 *
 * Nothing here imports wavesock's core: frames are built and parsed by this
 * file alone, so a bug shared by our parser and serializer cannot hide itself.
 */
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import zlib from "node:zlib";
import { expect } from "vitest";
import {
  ConnectionClosed,
  connect,
  serve,
  type ConnectOptions,
  type Connection,
  type Data,
  type Server,
  type ServerOptions,
} from "../../src/index.js";

// ------------------------------------------------------------------ opcodes --

export const OP = {
  CONT: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;

/** Which wavesock adapter is under test. */
export type Side = "server" | "client";
export const SIDES: readonly Side[] = ["server", "client"];

/** A frame as read off the wire. */
export interface Frame {
  fin: boolean;
  /** The RSV bits in place (0x40 = RSV1). */
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Unmasked payload. */
  payload: Buffer;
}

// ------------------------------------------------------------ frame building --

/** XOR `data` with `key` (a fresh buffer); word at a time for large payloads. */
export function maskBytes(data: Uint8Array, key: Uint8Array): Buffer {
  const n = data.length;
  if (n < 256) {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = data[i]! ^ key[i & 3]!;
    return out;
  }
  // A buffer of its own (offset 0): its words are aligned for a Uint32Array view.
  const out = Buffer.allocUnsafeSlow(n);
  out.set(data);
  const k = new Uint32Array(Uint8Array.from(key).buffer)[0]!;
  const words = new Uint32Array(out.buffer, out.byteOffset, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i]! ^= k;
  for (let i = n & ~3; i < n; i++) out[i] = out[i]! ^ key[i & 3]!;
  return out;
}

/** Random masking keys, drawn from a pool (one `randomBytes` call per 4096 keys). */
let keyPool = Buffer.alloc(0);
let keyPos = 0;
export function randomMaskKey(): Buffer {
  if (keyPos + 4 > keyPool.length) {
    keyPool = randomBytes(16384);
    keyPos = 0;
  }
  keyPos += 4;
  return keyPool.subarray(keyPos - 4, keyPos);
}

export interface FrameOptions {
  /** FIN bit; default true. */
  fin?: boolean;
  /** RSV bits in place (RSV1 = 0x40...). */
  rsv?: number;
  /** Masking key, or null for an unmasked frame. */
  mask?: Uint8Array | null;
  /** Lie about the payload length: the length field says this instead. */
  declaredLength?: number;
  /** Force a length encoding: 7-bit, 16-bit or 64-bit (non-minimal encodings are legal). */
  lengthForm?: 7 | 16 | 64;
}

/** Serialize one frame exactly as told, valid or not. */
export function encodeFrame(opcode: number, payload: Uint8Array | string, opts: FrameOptions = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const length = opts.declaredLength ?? data.length;
  const form = opts.lengthForm ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const mask = opts.mask ?? null;
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv ?? 0) | (opcode & 0x0f)];
  const m = mask === null ? 0 : 0x80;
  if (form === 7) {
    head.push(m | length);
  } else if (form === 16) {
    head.push(m | 126, (length >> 8) & 0xff, length & 0xff);
  } else {
    head.push(m | 127);
    const hi = Math.floor(length / 0x100000000);
    const lo = length >>> 0;
    head.push((hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    head.push((lo >>> 24) & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
  if (mask !== null) head.push(mask[0]!, mask[1]!, mask[2]!, mask[3]!);
  const body = mask === null ? Buffer.from(data.buffer, data.byteOffset, data.length) : maskBytes(data, mask);
  return Buffer.concat([Buffer.from(head), body]);
}

/** A close frame payload: 2-byte code + UTF-8 reason (or raw reason bytes). */
export function closePayload(code: number, reason: string | Uint8Array = ""): Buffer {
  const r = typeof reason === "string" ? Buffer.from(reason, "utf8") : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code & 0xffff, 0);
  r.copy(b, 2);
  return b;
}

/** Decode a received close payload. */
export function parseClose(payload: Buffer): { code: number | null; reason: Buffer } {
  if (payload.length < 2) return { code: null, reason: payload };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2) };
}

// ------------------------------------------------------------- chunk splits --

/** A small deterministic PRNG (mulberry32): random splits that reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How to cut bytes into writes. */
export type Split = "whole" | "bytewise" | { chunk: number } | { random: number; max?: number };

export function splitBytes(bytes: Uint8Array, split: Split): Uint8Array[] {
  if (split === "whole") return [bytes];
  const out: Uint8Array[] = [];
  if (split === "bytewise") {
    for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
    return out;
  }
  if ("chunk" in split) {
    for (let i = 0; i < bytes.length; i += split.chunk) out.push(bytes.subarray(i, i + split.chunk));
    return out;
  }
  const rnd = prng(split.random);
  const max = split.max ?? 17;
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(rnd() * max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/**
 * Let the event loop turn between two writes: the other end's socket is read
 * in the poll phase before the next write (on loopback, each piece then
 * arrives in a read of its own, almost always).
 */
export const tick = () => new Promise<void>((r) => setImmediate(r));
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- raw socket --

const DEFAULT_TIMEOUT = 3000;

/**
 * One end of a TCP connection driven by hand. `role` is the raw peer's own
 * role: a raw "client" masks what it sends and expects unmasked frames; a
 * raw "server" the opposite.
 */
export class RawPeer {
  readonly socket: net.Socket;
  readonly role: "client" | "server";
  /** True once the other end ended its side (FIN) or the socket closed. */
  ended = false;
  /** True once this peer sent a close frame. */
  closeSent = false;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: (() => void)[] = [];
  private endedAt = 0;

  constructor(socket: net.Socket, role: "client" | "server") {
    this.socket = socket;
    this.role = role;
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.wake();
    });
    socket.on("end", () => this.markEnded());
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.markEnded();
        resolve();
      }),
    );
  }

  private markEnded(): void {
    if (!this.ended) this.endedAt = Date.now();
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async waitMore(deadline: number, what: () => string): Promise<void> {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise<void>((r) => {
      this.waiters.push(r);
      setTimeout(r, 25);
    });
  }

  /** Bytes received and not read yet. */
  get available(): number {
    return this.buffered;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let have = 0;
    while (have < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - have);
      c.copy(out, have, 0, k);
      have += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private peekAll(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Exactly `n` bytes; throws if the connection ends first or on timeout. */
  async read(n: number, timeoutMs = DEFAULT_TIMEOUT): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < n) {
      if (this.ended) throw new Error(`connection ended with ${this.buffered} of ${n} bytes`);
      await this.waitMore(deadline, () => `${n} bytes (have ${this.buffered})`);
    }
    return this.take(n);
  }

  /** An HTTP head (up to CRLF CRLF), parsed. */
  async readHead(timeoutMs = DEFAULT_TIMEOUT): Promise<{ startLine: string; headers: Record<string, string>; raw: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = this.peekAll();
      const i = all.indexOf("\r\n\r\n");
      if (i >= 0) {
        const raw = this.take(i + 4).toString("latin1");
        const [startLine, ...lines] = raw.slice(0, -4).split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const c = line.indexOf(":");
          const name = line.slice(0, c).trim().toLowerCase();
          const value = line.slice(c + 1).trim();
          headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
        }
        return { startLine: startLine!, headers, raw };
      }
      if (this.ended) throw new Error("connection ended before the HTTP head");
      await this.waitMore(deadline, () => "an HTTP head");
    }
  }

  /**
   * Read one frame. Checks the masking direction (RFC 6455 §5.1: a client
   * masks every frame, a server none) and the minimal header rules a
   * conformant sender follows.
   */
  async readFrame(timeoutMs = DEFAULT_TIMEOUT): Promise<Frame> {
    const h = await this.read(2, timeoutMs);
    const fin = (h[0]! & 0x80) !== 0;
    const rsv = h[0]! & 0x70;
    const opcode = h[0]! & 0x0f;
    const masked = (h[1]! & 0x80) !== 0;
    let len = h[1]! & 0x7f;
    if (len === 126) len = (await this.read(2, timeoutMs)).readUInt16BE(0);
    else if (len === 127) len = Number((await this.read(8, timeoutMs)).readBigUInt64BE(0));
    const expectMasked = this.role === "server";
    if (masked !== expectMasked) {
      throw new Error(`received a${masked ? " masked" : "n unmasked"} frame from the ${expectMasked ? "client" : "server"} (RFC 6455 §5.1)`);
    }
    const key = masked ? await this.read(4, timeoutMs) : null;
    const raw = await this.read(len, timeoutMs + len / 10_000);
    const payload = key === null ? Buffer.from(raw) : maskBytes(raw, key);
    return { fin, rsv, opcode, masked, payload };
  }

  /** The next frame, or null if the connection ends cleanly (at a frame boundary) first. */
  async readFrameOrEnd(timeoutMs = DEFAULT_TIMEOUT): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered === 0) {
      if (this.ended) return null;
      await this.waitMore(deadline, () => "a frame or the end of the connection");
    }
    return this.readFrame(Math.max(1, deadline - Date.now()));
  }

  /** Wait until the other end ends its side of the TCP connection. */
  async waitEnd(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.waitMore(deadline, () => "the other end to close the TCP connection");
  }

  /** When the other end ended the connection (ms since epoch), 0 if it has not. */
  get endedTime(): number {
    return this.endedAt;
  }

  /** Assert nothing arrives for `ms` (and the connection stays open). */
  async expectSilence(ms: number): Promise<void> {
    await sleep(ms);
    expect(this.buffered, "unexpected bytes received").toBe(0);
  }

  /** The mask for the next frame: random for a raw client, none for a raw server. */
  private nextMask(): Uint8Array | null {
    return this.role === "client" ? randomMaskKey() : null;
  }

  /** Build a frame as this peer would send it (masked iff the peer is a client), unless told otherwise. */
  frame(opcode: number, payload: Uint8Array | string = Buffer.alloc(0), opts: FrameOptions = {}): Buffer {
    return encodeFrame(opcode, payload, { mask: this.nextMask(), ...opts });
  }

  /**
   * Write bytes, possibly cut into pieces, one `write` per piece. With
   * `pause` (the default) the event loop runs between pieces, so the other
   * end most likely reads each piece on its own.
   */
  async write(bytes: Uint8Array, split: Split = "whole", pause = true): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    const pieces = splitBytes(bytes, split);
    for (let i = 0; i < pieces.length; i++) {
      if (this.socket.destroyed) return;
      this.socket.write(pieces[i]!);
      if (pieces.length > 1 && pause) await tick();
    }
  }

  /** Build and write one frame. Returns the bytes. */
  async send(opcode: number, payload: Uint8Array | string = Buffer.alloc(0), opts: FrameOptions & { split?: Split } = {}): Promise<Buffer> {
    const bytes = this.frame(opcode, payload, opts);
    if (opcode === OP.CLOSE) this.closeSent = true;
    await this.write(bytes, opts.split);
    return bytes;
  }

  /** Write several frames in one TCP write (they arrive together). */
  sendTogether(frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Send a close frame. */
  sendClose(code?: number, reason: string | Uint8Array = ""): Promise<Buffer> {
    return this.send(OP.CLOSE, code === undefined ? Buffer.alloc(0) : closePayload(code, reason));
  }

  /** End our side of the TCP connection. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ------------------------------------------------------------------ testees --

export interface TesteeOptions {
  /** wavesock's maxSize (default: wavesock's default). */
  maxSize?: number | null;
  /** wavesock's compression option (default: wavesock's default, "deflate"). */
  compression?: ServerOptions["compression"];
  /** Side "server": the Sec-WebSocket-Extensions the raw client offers. */
  offer?: string;
  /**
   * Side "client": the Sec-WebSocket-Extensions the raw server answers with,
   * or a function of the client's offer (undefined: no header).
   */
  accept?: string | ((offer: string | undefined) => string | undefined);
  /** Extra wavesock connection options. */
  options?: ServerOptions & ConnectOptions;
  /** Echo messages back (default true). */
  echo?: boolean;
  /** Frames the raw peer sends in the same TCP write as its handshake (request or 101 response). */
  early?: { opcode: number; payload: string | Uint8Array }[];
}

/** The `early` frames, built as the raw peer of that role would (masked iff it is the client). */
function earlyFrames(opts: TesteeOptions, role: "client" | "server"): Buffer {
  return Buffer.concat(
    (opts.early ?? []).map((f) => encodeFrame(f.opcode, f.payload, { mask: role === "client" ? randomMaskKey() : null })),
  );
}

/** A wavesock endpoint under test, its application, and the raw peer talking to it. */
export interface Testee {
  side: Side;
  /** The raw peer (a TCP client for side "server", a TCP server for side "client"). */
  peer: RawPeer;
  /** wavesock's connection. */
  conn: Connection;
  /** Every message the application was given, in order. */
  received: Data[];
  /** What ended the application's reading (normally a ConnectionClosed). */
  done: Promise<unknown>;
  /** The opening handshake: what the raw peer saw of the other side. */
  handshake: Record<string, string>;
}

const resources: (() => Promise<void> | void)[] = [];

/** Close every server and socket the tests opened. Call from `afterEach`. */
export async function cleanup(): Promise<void> {
  const all = resources.splice(0);
  await Promise.all(all.map(async (f) => f()));
}

/** The application run on wavesock's side: echo (text as text, binary as binary), keep reading. */
async function application(conn: Connection, received: Data[], echo: boolean): Promise<unknown> {
  for (;;) {
    let message: Data;
    try {
      message = await conn.recv();
    } catch (err) {
      return err;
    }
    received.push(message);
    if (echo) {
      await conn.send(message).catch((err: unknown) => {
        if (!(err instanceof ConnectionClosed)) throw err;
      });
    }
  }
}

const BASE_OPTIONS = { pingInterval: null, closeTimeout: 2000, logger: null } as const;

/** Open a connection to (or from) the wavesock side under test. */
export async function open(side: Side, opts: TesteeOptions = {}): Promise<Testee> {
  return side === "server" ? openServer(opts) : openClient(opts);
}

async function openServer(opts: TesteeOptions): Promise<Testee> {
  const received: Data[] = [];
  let resolveConn!: (c: { conn: Connection; done: Promise<unknown> }) => void;
  const accepted = new Promise<{ conn: Connection; done: Promise<unknown> }>((r) => (resolveConn = r));
  const serverOptions: ServerOptions = { host: "127.0.0.1", port: 0, ...BASE_OPTIONS, ...opts.options };
  if (opts.maxSize !== undefined) serverOptions.maxSize = opts.maxSize;
  if (opts.compression !== undefined) serverOptions.compression = opts.compression;
  const server: Server = await serve(async (conn) => {
    const done = application(conn, received, opts.echo ?? true);
    resolveConn({ conn, done });
    await done;
  }, serverOptions);
  const socket = net.connect({ host: "127.0.0.1", port: server.port });
  const peer = new RawPeer(socket, "client");
  resources.push(async () => {
    peer.destroy();
    await server.close({ closeConnections: false }).catch(() => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const key = randomBytes(16).toString("base64");
  const request =
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (opts.offer !== undefined ? `Sec-WebSocket-Extensions: ${opts.offer}\r\n` : "") +
    "\r\n";
  socket.write(Buffer.concat([Buffer.from(request, "latin1"), earlyFrames(opts, "client")]));
  const head = await peer.readHead();
  if (!/^HTTP\/1\.1 101 /.test(head.startLine)) throw new Error(`handshake refused: ${head.startLine}`);
  expect(head.headers["sec-websocket-accept"]).toBe(acceptFor(key));
  const { conn, done } = await accepted;
  return { side: "server", peer, conn, received, done, handshake: head.headers };
}

async function openClient(opts: TesteeOptions): Promise<Testee> {
  const received: Data[] = [];
  const tcp = net.createServer();
  let resolvePeer!: (p: { peer: RawPeer; request: Record<string, string> }) => void;
  let rejectPeer!: (e: unknown) => void;
  const gotPeer = new Promise<{ peer: RawPeer; request: Record<string, string> }>((res, rej) => {
    resolvePeer = res;
    rejectPeer = rej;
  });
  tcp.on("connection", (socket) => {
    const peer = new RawPeer(socket, "server");
    resources.push(() => peer.destroy());
    void (async () => {
      const head = await peer.readHead();
      const key = head.headers["sec-websocket-key"] ?? "";
      const ext = typeof opts.accept === "function" ? opts.accept(head.headers["sec-websocket-extensions"]) : opts.accept;
      const response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
        (ext !== undefined ? `Sec-WebSocket-Extensions: ${ext}\r\n` : "") +
        "\r\n";
      socket.write(Buffer.concat([Buffer.from(response, "latin1"), earlyFrames(opts, "server")]));
      resolvePeer({ peer, request: head.headers });
    })().catch(rejectPeer);
  });
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  resources.push(() => new Promise<void>((r) => tcp.close(() => r())));
  const port = (tcp.address() as net.AddressInfo).port;
  const connectOptions: ConnectOptions = { ...BASE_OPTIONS, ...opts.options };
  if (opts.maxSize !== undefined) connectOptions.maxSize = opts.maxSize;
  if (opts.compression !== undefined) connectOptions.compression = opts.compression;
  const conn = await connect(`ws://127.0.0.1:${port}/`, connectOptions);
  resources.push(() => conn.abort());
  const { peer, request } = await gotPeer;
  const done = application(conn, received, opts.echo ?? true);
  return { side: "client", peer, conn, received, done, handshake: request };
}

/** §4.2.2: base64(SHA-1(key + GUID)). Computed here independently of src/. */
export function acceptFor(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

// --------------------------------------------------------------- assertions --

/**
 * Read frames until a close frame; assert its code (a number, a list of
 * acceptable codes where null stands for an empty close payload, or null
 * alone: the payload must be empty); then assert that
 * the TCP connection ends. The raw peer follows RFC 6455 §7.1.1: a raw
 * *server* that sent a close first closes the TCP connection itself once the
 * handshake is complete; in every other case the wavesock side must end it
 * (our server after any close, either side after failing the connection).
 * Returns the frames read before the close (echoes, pongs) and the close.
 */
export async function expectClose(
  peer: RawPeer,
  code: number | readonly (number | null)[] | null,
  opts: { timeoutMs?: number } = {},
): Promise<{ before: Frame[]; close: Frame }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT;
  const before: Frame[] = [];
  let close: Frame;
  for (;;) {
    const f = await peer.readFrame(timeoutMs);
    if (f.opcode === OP.CLOSE) {
      close = f;
      break;
    }
    before.push(f);
  }
  const got = parseClose(close.payload).code;
  if (code === null) expect(close.payload.length, "close payload").toBe(0);
  else if (typeof code === "number") expect(got, "close code").toBe(code);
  else expect(code, `close code ${got} not among the expected`).toContain(close.payload.length === 0 ? null : got);
  if (close.payload.length > 2) {
    // §5.5.1: the reason is UTF-8.
    expect(new TextDecoder("utf-8", { fatal: true }).decode(close.payload.subarray(2))).toBeTypeOf("string");
  }
  if (peer.role === "server" && peer.closeSent) peer.end();
  await peer.waitEnd(timeoutMs);
  // Nothing may follow a close frame (§5.5.1).
  expect(peer.available, "bytes after the close frame").toBe(0);
  return { before, close };
}

/** Read the next frame and assert it is the given data frame (an echo). */
export async function expectFrame(peer: RawPeer, opcode: number, payload: Uint8Array | string, fin = true): Promise<Frame> {
  const f = await peer.readFrame();
  expect({ opcode: f.opcode, fin: f.fin, rsv: f.rsv }).toEqual({ opcode, fin, rsv: 0 });
  const want = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  if (want.length > 256) {
    expect(f.payload.length).toBe(want.length);
    expect(f.payload.equals(want), "payload differs").toBe(true);
  } else {
    expect(f.payload.toString("hex")).toBe(want.toString("hex"));
  }
  return f;
}

/**
 * Read one whole echoed message, however wavesock chose to frame it
 * (§5.4: an intermediary or sender may fragment), with RSV bits zero.
 */
export async function readMessage(peer: RawPeer, timeoutMs = DEFAULT_TIMEOUT): Promise<{ opcode: number; payload: Buffer; rsv: number }> {
  const parts: Buffer[] = [];
  let opcode = -1;
  let rsv = 0;
  for (;;) {
    const f = await peer.readFrame(timeoutMs);
    if (f.opcode >= 8) {
      if (f.opcode === OP.CLOSE) throw new Error(`close ${parseClose(f.payload).code} while reading a message`);
      continue; // control frames may be interleaved
    }
    if (opcode === -1) {
      if (f.opcode === OP.CONT) throw new Error("continuation frame without a message");
      opcode = f.opcode;
      rsv = f.rsv;
    } else {
      expect(f.opcode, "continuation expected").toBe(OP.CONT);
      expect(f.rsv, "RSV on a continuation frame").toBe(0);
    }
    parts.push(f.payload);
    if (f.fin) return { opcode, payload: Buffer.concat(parts), rsv };
  }
}

/** Assert the application ended with a ConnectionClosed error, with what was sent/received. */
export async function expectAppClosed(t: Testee, sentCode: number | null): Promise<void> {
  const err = await withTimeout(t.done, DEFAULT_TIMEOUT, "the application to see the close");
  expect(err).toBeInstanceOf(ConnectionClosed);
  if (sentCode !== null) expect((err as ConnectionClosed).sent?.code).toBe(sentCode);
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Decode a received message as the test expects it. */
export function bytesOf(message: Data | undefined): Buffer {
  if (message === undefined) throw new Error("no message");
  return typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
}

// ------------------------------------------------------------- compression --

/** RFC 7692 §7.2.1: the 4 octets a sync flush ends with. */
export const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Compress one message with a fresh deflater (no context takeover), tail removed. */
export function deflateMessage(data: Uint8Array | string, windowBits = 15): Buffer {
  const input = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const out = zlib.deflateRawSync(input, { windowBits: Math.max(9, windowBits), finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(out.subarray(-4).equals(SYNC_TAIL)).toBe(true);
  return out.subarray(0, out.length - 4);
}

/** A persistent deflater (context takeover): each message ends with a sync flush, tail removed. */
export class PeerDeflater {
  private readonly z: zlib.DeflateRaw;
  private out: Buffer[] = [];
  constructor(windowBits = 15) {
    this.z = zlib.createDeflateRaw({ windowBits: Math.max(9, windowBits) });
    this.z.on("data", (d: Buffer) => this.out.push(d));
  }
  compress(data: Uint8Array | string): Promise<Buffer> {
    const input = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    return new Promise((resolve, reject) => {
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const all = Buffer.concat(this.out);
        this.out = [];
        if (!all.subarray(-4).equals(SYNC_TAIL)) reject(new Error("no sync flush tail"));
        else resolve(all.subarray(0, all.length - 4));
      });
    });
  }
  close(): void {
    this.z.close();
  }
}

/** A persistent inflater: decodes the messages of one direction in order (context takeover). */
export class PeerInflater {
  private readonly z: zlib.InflateRaw;
  private out: Buffer[] = [];
  private error: Error | null = null;
  constructor(windowBits = 15) {
    this.z = zlib.createInflateRaw({ windowBits: Math.max(9, windowBits) });
    this.z.on("data", (d: Buffer) => this.out.push(d));
    this.z.on("error", (e) => (this.error = e));
  }
  decompress(payload: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.z.write(Buffer.concat([payload, SYNC_TAIL]));
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.error) return reject(this.error);
        const all = Buffer.concat(this.out);
        this.out = [];
        resolve(all);
      });
    });
  }
  close(): void {
    this.z.close();
  }
}

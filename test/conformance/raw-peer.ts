/**
 * One end of a TCP connection driven by hand for the conformance suite: it
 * reads HTTP heads and frames byte-exact (checking the masking direction),
 * and writes frames whole, byte by byte or cut at random, so wavesock is fed
 * what no well-behaved library would send. Frames come from frames.ts.
 */
import type * as net from "node:net";
import { expect } from "vitest";
import { OP, closePayload, encodeFrame, maskBytes, randomMaskKey, type Frame, type FrameOptions } from "./frames.js";

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

/** Cut `bytes` into the pieces `split` says (views, not copies). */
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
/** Wait `ms` milliseconds (only to give a peer the chance to send what it must not). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- raw socket --

/** How long one read waits by default, in milliseconds. */
export const DEFAULT_TIMEOUT = 3000;

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

  /** Drop the TCP connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

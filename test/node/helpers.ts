import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for 127.0.0.1 / localhost / ::1, made with the openssl CLI. */
export function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "wavesock-cert-"));
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    ],
    { stdio: "ignore" },
  );
  return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
}

/** A raw TCP peer: sends hand-built bytes, collects what it receives. */
export class RawPeer {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;
  closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((r) => socket.on("close", () => r()));
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    const socket = net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    return new RawPeer(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** Wait until `n` bytes are buffered (or the peer ended), then take them. */
  async read(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < n && !this.ended) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes (have ${this.buffer.length})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Read an HTTP response head (up to CRLFCRLF). */
  async readHead(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buffer.indexOf("\r\n\r\n");
      if (i >= 0) {
        const head = this.buffer.subarray(0, i + 4).toString("latin1");
        this.buffer = this.buffer.subarray(i + 4);
        return head;
      }
      if (this.ended || Date.now() > deadline) throw new Error("no response head");
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Everything until the peer ends the connection. */
  async readToEnd(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error("peer did not end the connection");
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.buffer;
    this.buffer = Buffer.alloc(0);
    return out;
  }

  /** Read one unmasked (server) frame: opcode, fin, payload. */
  async readFrame(): Promise<{ fin: boolean; rsv: number; opcode: number; payload: Buffer }> {
    const h = await this.read(2);
    let len = h[1]! & 0x7f;
    if (len === 126) len = (await this.read(2)).readUInt16BE(0);
    else if (len === 127) len = Number((await this.read(8)).readBigUInt64BE(0));
    const payload = Buffer.from(await this.read(len));
    return { fin: (h[0]! & 0x80) !== 0, rsv: h[0]! & 0x70, opcode: h[0]! & 0x0f, payload };
  }

  /** Send the opening handshake and read the 101; returns the response head. */
  async handshake(path = "/", extra = ""): Promise<string> {
    this.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    return this.readHead();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array | string, opts: { fin?: boolean; rsv?: number } = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const len = data.length;
  const lenBytes = len < 126 ? Buffer.from([0x80 | len]) : len < 65536 ? Buffer.from([0x80 | 126, len >> 8, len & 0xff]) : (() => {
    const b = Buffer.alloc(9);
    b[0] = 0x80 | 127;
    b.writeBigUInt64BE(BigInt(len), 1);
    return b;
  })();
  const key = Buffer.from([0xa1, 0xb2, 0xc3, 0xd4]);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([Buffer.from([((opts.fin ?? true) ? 0x80 : 0) | (opts.rsv ?? 0) | opcode]), lenBytes, key, masked]);
}

/** Resolve after `ms`. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` until true or time out. */
export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

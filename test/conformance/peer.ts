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
 * The frames the raw peer builds are in frames.ts, the raw peer itself in
 * raw-peer.ts, permessage-deflate by hand in deflate.ts; this file opens the
 * testees and holds the assertions on what the raw peer reads.
 */
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
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
import { OP, encodeFrame, parseClose, randomMaskKey, type Frame } from "./frames.js";
import { DEFAULT_TIMEOUT, RawPeer } from "./raw-peer.js";

/** Which wavesock adapter is under test. */
export type Side = "server" | "client";
/** Both sides, for `describe.each`. */
export const SIDES: readonly Side[] = ["server", "client"];

// ------------------------------------------------------------------ testees --

/** How to open a testee: its wavesock options and what the raw peer offers, answers or sends early. */
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

/** `p`, or a rejection naming `what` after `ms` milliseconds. */
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

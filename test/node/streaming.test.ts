/**
 * Streaming receive (`recvStreaming`) and streaming send over real loopback
 * sockets, wavesock on both ends: pieces as they arrive, call order with
 * `recv()`, a reader that does not pull stopping the socket, giving up
 * before and during a message, the size limit, the connection ending
 * mid-message, invalid UTF-8 from a raw peer, sources that fail or that are
 * read only as fast as the socket drains.
 */
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosedError,
  InvalidState,
  MessageStream,
  PayloadTooBig,
  connect,
  serve,
  type Connection,
  type ServerOptions,
  type ConnectOptions,
} from "../../src/index.js";
import { READ_AHEAD } from "../../src/node/input-loop.js";
import { READ_BUFFER_SIZE } from "../../src/node/read-buffer.js";
import { RawPeer, clientFrame, sleep, until } from "./helpers.js";

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const MiB = 1024 * 1024;

/** A server and a client connected to it; the server-side connection is returned once open. */
async function pair(serverOptions: ServerOptions = {}, clientOptions: ConnectOptions = {}) {
  let serverSide: Connection | undefined;
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const server = await serve(
    async (ws) => {
      serverSide = ws;
      await done;
    },
    { host: "127.0.0.1", pingInterval: null, logger: null, ...serverOptions },
  );
  closers.push(async () => {
    release();
    await server.close();
  });
  const client = await connect(`ws://127.0.0.1:${server.port}/`, { pingInterval: null, ...clientOptions });
  closers.push(() => client.abort());
  await until(() => serverSide !== undefined);
  return { server: serverSide!, client, port: server.port, release };
}

/** `n` bytes of a pattern, as `pieces` chunks from an async generator that counts what was read from it. */
function source(n: number, piece: number) {
  const counter = { read: 0 };
  async function* gen() {
    for (let at = 0; at < n; at += piece) {
      const len = Math.min(piece, n - at);
      counter.read += len;
      yield new Uint8Array(len).fill(at / piece);
    }
  }
  return { gen: gen(), counter };
}

describe("recvStreaming", () => {
  it("a 6 MiB message (over maxSize, which it lifts) comes in pieces as it arrives, none over what a socket read brings", async () => {
    const { server, client } = await pair({ compression: null }, { compression: null });
    const stream = server.recvStreaming({ maxSize: null });
    const sent = client.send(Readable.from((async function* () {
      for (let i = 0; i < 96; i++) yield Buffer.alloc(64 * 1024, i);
    })()));
    let total = 0;
    let pieces = 0;
    for await (const piece of stream) {
      expect(piece).toBeInstanceOf(Uint8Array);
      expect(piece.length).toBeLessThanOrEqual(256 * 1024);
      // Every byte says which 64 KiB fragment it came from: order is kept.
      expect(piece[0]).toBe(Math.floor(total / (64 * 1024)));
      total += piece.length;
      pieces++;
    }
    await sent;
    expect(total).toBe(6 * MiB);
    expect(pieces).toBeGreaterThan(20);
    expect(stream.type).toBe("binary");
  });

  it("readers are served in call order: recv(), recvStreaming(), recv() made before the messages arrive get one each", async () => {
    const { server, client } = await pair();
    const first = server.recv();
    const second = server.recvStreaming();
    const third = server.recv({ text: "bytes" });
    await client.send("one");
    await client.send(["t", "w", "o"]);
    await client.send("three");
    expect(await first).toBe("one");
    const parts: string[] = [];
    for await (const p of second) parts.push(p as string);
    expect(parts.join("")).toBe("two");
    expect(Buffer.from(await third).toString()).toBe("three");
    // A message already queued comes as one piece (the pong comes after the server read it).
    await client.send("queued");
    await client.ping();
    const queued = server.recvStreaming();
    expect(await queued.collect()).toBe("queued");
  });

  it("a reader that does not pull stops the socket being read: memory stays bounded, the sender waits; then it all comes", async () => {
    const { server, client } = await pair({ compression: null }, { compression: null });
    const stream = server.recvStreaming({ maxSize: null });
    const { gen, counter } = source(64 * MiB, 64 * 1024);
    const sent = client.send(gen);
    const first = await stream.next();
    expect(first.done).toBe(false);
    // The reader stops here. The socket stops being read once READ_AHEAD is held.
    await until(() => server.socket.isPaused(), 10_000);
    const readAt = counter.read;
    await sleep(300);
    // READ_AHEAD, overshot by at most the one read that crossed it.
    expect(server.core.backlogBytes).toBeLessThanOrEqual(READ_AHEAD + READ_BUFFER_SIZE);
    // The sender is held back too: it read little more from its source (kernel buffers aside).
    expect(counter.read - readAt).toBeLessThan(8 * MiB);
    expect(counter.read).toBeLessThan(32 * MiB);
    let total = first.value!.length;
    for await (const piece of stream) total += piece.length;
    await sent;
    expect(total).toBe(64 * MiB);
  });

  it("break after the first piece: the rest of that message is dropped, the next recv() gets the next message", async () => {
    const { server, client } = await pair();
    await client.send(source(4 * MiB, 100_000).gen);
    await client.send("after");
    for await (const piece of server.recvStreaming({ maxSize: null })) {
      expect(piece.length).toBeGreaterThan(0);
      break;
    }
    expect(await server.recv()).toBe("after");
  });

  it("an abort before the message begins takes nothing: it comes whole to the next reader", async () => {
    const { server, client } = await pair();
    const ac = new AbortController();
    const stream = server.recvStreaming({ signal: ac.signal });
    const next = server.recv();
    ac.abort();
    await expect(stream.next()).rejects.toMatchObject({ name: "AbortError" });
    await client.send("kept");
    expect(await next).toBe("kept");
    // Already aborted: nothing reserved at all.
    const dead = server.recvStreaming({ signal: AbortSignal.abort() });
    await client.send("also kept");
    await expect(dead.next()).rejects.toMatchObject({ name: "AbortError" });
    expect(await server.recv()).toBe("also kept");
  });

  it("an abort mid-message: the iteration throws the reason, the rest is read and dropped", async () => {
    const { server, client } = await pair({ compression: null }, { compression: null });
    const ac = new AbortController();
    const stream = server.recvStreaming({ signal: ac.signal, maxSize: null });
    const sent = client.send(source(8 * MiB, 64 * 1024).gen);
    await stream.next();
    ac.abort(new Error("enough"));
    await expect(stream.next()).rejects.toThrow("enough");
    await sent;
    await client.send("next");
    expect(await server.recv()).toBe("next");
  });

  it("maxSize applies unless lifted: a streamed message over it fails the connection with 1009, the iteration throws", async () => {
    const { server, client } = await pair({ maxSize: 100_000 });
    const stream = server.recvStreaming();
    void client.send(source(1 * MiB, 10_000).gen).catch(() => undefined);
    const pieces: Uint8Array[] = [];
    const err = await (async () => {
      try {
        for await (const p of stream) pieces.push(p as Uint8Array);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as ConnectionClosedError).cause).toBeInstanceOf(PayloadTooBig);
    expect(server.closeCode).toBe(1009);
    expect(pieces.reduce((n, p) => n + p.length, 0)).toBeLessThanOrEqual(100_000);
  });

  it("the peer dropping the connection mid-message: the pieces received are read, then ConnectionClosedError", async () => {
    const { server, client } = await pair();
    const stream = server.recvStreaming();
    let fail!: (e: Error) => void;
    const stuck = new Promise<never>((_, reject) => (fail = reject));
    void client
      .send(
        (async function* () {
          yield "part one, ";
          await stuck;
        })(),
      )
      .catch(() => undefined);
    expect((await stream.next()).value).toBe("part one, ");
    client.abort();
    await expect(stream.next()).rejects.toBeInstanceOf(ConnectionClosedError);
    fail(new Error("done"));
  });

  it("invalid UTF-8 from a raw peer fails with 1007 as soon as it arrives; what came before was read", async () => {
    let serverSide: Connection | undefined;
    const server = await serve(
      async (ws) => {
        serverSide = ws;
        await ws.closed;
      },
      { host: "127.0.0.1", logger: null, pingInterval: null },
    );
    closers.push(() => server.close());
    const peer = await RawPeer.connect(server.port);
    closers.push(() => {
      peer.socket.destroy();
    });
    peer.write(
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await peer.readHead();
    await until(() => serverSide !== undefined);
    const stream = serverSide!.recvStreaming();
    peer.write(clientFrame(1, "valid start ", { fin: false }));
    expect((await stream.next()).value).toBe("valid start ");
    peer.write(clientFrame(0, Buffer.from([0x61, 0xc0, 0xaf]), { fin: false })); // overlong: invalid at once
    await expect(stream.next()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(serverSide!.closeCode).toBe(1007);
  });

  it("toReadableStream pulls as it is read; text pieces are whole characters even when fragments cut them", async () => {
    const { server, client } = await pair({ compression: null }, { compression: null });
    const text = "é€𝄞".repeat(50_000);
    const bytes = Buffer.from(text);
    // A text message (its first fragment is a string) whose byte fragments cut characters.
    await client.send(["start:", bytes.subarray(0, 1001), bytes.subarray(1001, 50_003), bytes.subarray(50_003)]);
    const got: string[] = [];
    const reader = server.recvStreaming({ maxSize: null }).toReadableStream().getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value as string);
    expect(got.length).toBeGreaterThan(2);
    expect(got.join("")).toBe(`start:${text}`);
    for (const p of got) expect(p.includes("\ufffd")).toBe(false);
  });

  it("with a listener taking the messages, recvStreaming throws InvalidState; bad options are a TypeError naming them", async () => {
    const { server } = await pair();
    expect(() => server.recvStreaming({ maxSize: -1 })).toThrow(/maxSize must be a non-negative integer or null; got -1/);
    expect(() => server.recvStreaming({ text: "utf8" } as never)).toThrow(/text must be "string" or "bytes"; got the string "utf8"/);
    server.listen({ message: () => undefined });
    expect(() => server.recvStreaming()).toThrow(InvalidState);
    expect(server.recvStreaming).toBeTypeOf("function");
    expect(MessageStream).toBeTypeOf("function");
  });
});

describe("streaming send", () => {
  it("a source is read only as fast as the socket drains: a peer that does not read holds it back", async () => {
    const { server, client } = await pair({ compression: null }, { compression: null });
    const { gen, counter } = source(256 * MiB, 64 * 1024);
    const stream = server.recvStreaming({ maxSize: null });
    const sent = client.send(gen);
    await stream.next();
    // The server reads no further: the client's source must stop being read.
    await until(() => server.socket.isPaused(), 10_000);
    await sleep(200);
    const a = counter.read;
    await sleep(500);
    expect(counter.read).toBe(a);
    expect(counter.read).toBeLessThan(64 * MiB);
    stream.cancel(); // the rest is read and dropped
    await sent;
    expect(counter.read).toBe(256 * MiB);
  });

  it("a source that fails mid-way fails the connection with 1011; send rejects with the source's error", async () => {
    const { server, client } = await pair();
    const stream = server.recvStreaming();
    const sent = client.send(
      Readable.from(
        (async function* () {
          yield "so far ";
          throw new Error("disk on fire");
        })(),
      ),
    );
    await expect(sent).rejects.toThrow("disk on fire");
    expect((await stream.next()).value).toBe("so far ");
    await expect(stream.next()).rejects.toBeInstanceOf(ConnectionClosedError);
    await client.closed;
    expect(server.closeCode).toBe(1011);
    expect(client.closeCode).toBe(1011);
  });
});

/**
 * The connection's I/O layer (src/node/socket-io.ts, src/node/read-buffer.ts)
 * over real loopback sockets: writes deferred to one flush per turn, bytes
 * queued for that flush counted as buffered, order kept between the 101 and
 * the first frames; reads into the buffer shared by every connection, and
 * the 'data' events where that is off or not possible.
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, serve, type Connection, type Server } from "../../src/index.js";
import { unmaskingArena } from "../../src/frame/mask.js";
import { READ_BUFFER_SIZE, readsIntoSharedBuffer, sharedReadBuffer, useSharedReadBuffer } from "../../src/node/read-buffer.js";
import { RawPeer, clientFrame, selfSignedCert, sleep, until } from "./helpers.js";

const quiet = { logger: null, pingInterval: null, compression: null } as const;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe("SocketIO: writing", () => {
  it("a loop of small awaited sends to a peer that does not read stays bounded and lets the event loop turn", async () => {
    let sent = 0;
    let conn: Connection | null = null;
    const server = await serve(
      async (ws) => {
        conn = ws;
        // Every send resolves at once while under the high mark: only the
        // bytes queued for the next flush can stop this loop before it
        // starves the event loop (the flush runs on a tick).
        for (; sent < 2_000_000; sent++) await ws.send(new Uint8Array(100));
      },
      { host: "127.0.0.1", writeHighWaterMark: 64 * 1024, ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    peer.socket.pause();
    let timerFired = false;
    setTimeout(() => (timerFired = true), 50);
    await until(() => timerFired && sent > 0, 10_000);
    await sleep(200);
    expect(sent).toBeLessThan(2_000_000);
    // At most the high mark plus one frame waits (queued or in the socket).
    expect(conn!.bufferedAmount).toBeLessThanOrEqual(64 * 1024 + 102);
    peer.destroy();
  });

  it("messages sent in one turn arrive whole and in order, after the 101", async () => {
    const server = await serve(
      async (ws) => {
        // Sent in the same turn as the 101: they must follow it.
        for (let i = 0; i < 3000; i++) void ws.send(new Uint8Array([i & 0xff, i >> 8, 1, 2, 3]));
        void ws.send(new Uint8Array(5000).fill(9)); // a large one among them
        for (let i = 0; i < 10; i++) void ws.send(`text ${i}`);
        await ws.closed;
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    expect(await peer.handshake()).toMatch(/^HTTP\/1.1 101 /);
    for (let i = 0; i < 3000; i++) {
      const f = await peer.readFrame();
      expect([f.opcode, f.payload.length, f.payload[0], f.payload[1]]).toEqual([2, 5, i & 0xff, i >> 8]);
    }
    const big = await peer.readFrame();
    expect([big.opcode, big.payload.length, big.payload[4999]]).toEqual([2, 5000, 9]);
    for (let i = 0; i < 10; i++) {
      const f = await peer.readFrame();
      expect([f.opcode, f.payload.toString()]).toEqual([1, `text ${i}`]);
    }
    peer.destroy();
  });

  it("bufferedAmount counts what was sent this turn, before it is written", async () => {
    let seen = -1;
    let after = -1;
    const server = await serve(
      async (ws) => {
        void ws.send(new Uint8Array(1000));
        seen = ws.bufferedAmount;
        await sleep(50);
        after = ws.bufferedAmount;
        await ws.closed;
      },
      { host: "127.0.0.1", ...quiet },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    await peer.handshake();
    await until(() => after >= 0, 5000);
    expect(seen).toBeGreaterThanOrEqual(1004);
    expect(after).toBe(0);
    peer.destroy();
  });
});

describe("SocketIO: reading into the shared buffer", () => {
  afterEach(() => useSharedReadBuffer(true));

  for (const shared of [true, false]) {
    it(`messages kept by the application are not overwritten by later reads (${shared ? "shared buffer" : "'data' events"})`, async () => {
      useSharedReadBuffer(shared);
      const kept: Uint8Array[] = [];
      const conns: Connection[] = [];
      const server = await serve(
        async (ws) => {
          conns.push(ws);
          for await (const m of ws) kept.push(m as Uint8Array);
        },
        { host: "127.0.0.1", ...quiet },
      );
      servers.push(server);
      const clients = await Promise.all([0, 1, 2].map(() => connect(`ws://127.0.0.1:${server.port}`, quiet)));
      await until(() => conns.length === 3);
      for (const c of conns) expect(readsIntoSharedBuffer(c.socket)).toBe(shared);
      for (const c of clients) expect(readsIntoSharedBuffer(c.socket)).toBe(shared);
      // Interleaved sizes: whole small messages, ones spanning reads, and many per read.
      for (let i = 0; i < 300; i++) {
        const size = i % 50 === 0 ? 100_000 : 1 + (i % 200);
        void clients[i % 3]!.send(new Uint8Array(size).fill(i & 0xff));
      }
      await until(() => kept.length === 300, 20_000);
      const seen = new Map<number, number>();
      for (const m of kept) {
        const tag = m[0]!;
        expect(m.every((b) => b === tag)).toBe(true);
        seen.set(tag, (seen.get(tag) ?? 0) + 1);
      }
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(300);
      await Promise.all(clients.map((c) => c.close()));
    });
  }

  it("the shared buffer is the WASM unmasking arena, and masked messages of every size are unmasked out of it intact", async () => {
    const kept: Uint8Array[] = [];
    const server = await serve(
      async (ws) => {
        for await (const m of ws) kept.push(m as Uint8Array);
      },
      { host: "127.0.0.1", ...quiet, maxSize: 4 << 20 },
    );
    servers.push(server);
    const client = await connect(`ws://127.0.0.1:${server.port}`, quiet);
    // Sizes: the byte loop, one wasm chunk, several chunks, and targets of 128 KiB and more (their own mapping).
    const sizes = [5, 127, 128, 1000, 65_535, 65_536, 65_537, 131_072, 200_003, 1 << 20, 3 * (1 << 20) + 1];
    const pattern = (size: number, salt: number) => {
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i++) b[i] = (i * 31 + salt * 7 + (i >>> 8)) & 0xff;
      return b;
    };
    for (let round = 0; round < 3; round++) for (const [i, size] of sizes.entries()) void client.send(pattern(size, round * 16 + i));
    await until(() => kept.length === 3 * sizes.length, 20_000);
    const arena = unmaskingArena(READ_BUFFER_SIZE);
    expect(arena).not.toBeNull();
    expect(sharedReadBuffer()?.buffer).toBe(arena!.buffer);
    for (let round = 0; round < 3; round++) {
      for (const [i, size] of sizes.entries()) {
        const m = kept[round * sizes.length + i]!;
        expect(m.length).toBe(size);
        expect(Buffer.compare(m, pattern(size, round * 16 + i))).toBe(0);
      }
    }
    await client.close();
  });

  it("bytes that arrive while processRequest waits (held by the socket's stream) come first, in order", async () => {
    const server = await serve(
      async (ws) => {
        for await (const m of ws) await ws.send(m);
      },
      {
        host: "127.0.0.1",
        ...quiet,
        processRequest: async () => {
          await sleep(200);
        },
      },
    );
    servers.push(server);
    const peer = await RawPeer.connect(server.port);
    peer.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    for (let i = 0; i < 50; i++) {
      peer.write(clientFrame(1, `m${i}`));
      await sleep(2);
    }
    expect(await peer.readHead()).toMatch(/^HTTP\/1.1 101 /);
    for (let i = 0; i < 50; i++) expect((await peer.readFrame()).payload.toString()).toBe(`m${i}`);
    const [conn] = [...server.connections];
    expect(readsIntoSharedBuffer(conn!.socket)).toBe(true);
    peer.destroy();
  });

  it("a TLS connection reads 'data' events (its reads are decrypted by a stream of their own)", async () => {
    const { key, cert } = selfSignedCert();
    let conn: Connection | null = null;
    const server = await serve(
      async (ws) => {
        conn = ws;
        for await (const m of ws) await ws.send(m);
      },
      { host: "127.0.0.1", tls: { key, cert }, ...quiet },
    );
    servers.push(server);
    const client = await connect(`wss://127.0.0.1:${server.port}`, { ...quiet, tls: { rejectUnauthorized: false } });
    await client.send("over tls");
    expect(await client.recv()).toBe("over tls");
    expect(readsIntoSharedBuffer(conn!.socket)).toBe(false);
    expect(readsIntoSharedBuffer(client.socket)).toBe(false);
    await client.close();
  });
});

describe("SocketIO: what an idle connection keeps", () => {
  it("its socket's listeners are functions shared by every connection, not closures of its own", async () => {
    const conns: Connection[] = [];
    const server = await serve({ open: (ws) => void conns.push(ws), message: () => undefined }, { host: "127.0.0.1", ...quiet });
    servers.push(server);
    const clients = await Promise.all([0, 1].map(() => connect(`ws://127.0.0.1:${server.port}`, quiet)));
    await until(() => conns.length === 2);
    for (const pair of [conns, clients]) {
      for (const event of ["end", "error", "close"]) {
        const [a, b] = pair.map((c) => c.socket.listeners(event).at(-1));
        expect(a).toBeTypeOf("function");
        expect(a).toBe(b);
      }
    }
    await Promise.all(clients.map((c) => c.close()));
  });
});

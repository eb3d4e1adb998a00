/**
 * The connection's I/O layer (src/node/socket-io.ts) over real loopback
 * sockets: writes deferred to one flush per turn, bytes queued for that
 * flush counted as buffered, order kept between the 101 and the first frames.
 */
import { afterEach, describe, expect, it } from "vitest";
import { serve, type Connection, type Server } from "../../src/index.js";
import { RawPeer, sleep, until } from "./helpers.js";

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

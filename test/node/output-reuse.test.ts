/**
 * The output arena is rewound once every connection's bytes in it were
 * written at once (src/connection/output.ts, `Protocol.outputReleased()`).
 * These tests run that over real sockets with a connection whose writes
 * do NOT complete at once (its peer stops reading): what it has queued in
 * the socket must never be overwritten by the fast connections' frames,
 * server side and client side (both roles write into the same arena here).
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, serve, type Connection, type Server } from "../../src/index.js";
import { until } from "./helpers.js";

const servers: Server[] = [];
const clients: Connection[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.abort();
  for (const s of servers.splice(0)) await s.close();
});

/** The payload of message `i` of sender `who`: its bytes say who and which (1 KiB: written into the arena). */
function payload(who: number, i: number, size = 1024): Uint8Array {
  const p = new Uint8Array(size);
  const v = new DataView(p.buffer);
  for (let at = 0; at + 8 <= size; at += 8) {
    v.setUint32(at, who);
    v.setUint32(at + 4, i);
  }
  return p;
}

describe("output arena reuse over real sockets", () => {
  it("a slow reader's pending messages stay intact while 6 fast connections echo 3,000 messages each through the reused arena", async () => {
    let go!: () => void;
    const started = new Promise<void>((resolve) => (go = resolve));
    const SLOW = 4000;
    let slowSide: Connection | null = null;
    let slowDone!: Promise<void>;
    const server = await serve(
      async (ws) => {
        if (ws.request.path === "/slow") {
          slowSide = ws;
          // Sent while the fast ones run, never waiting for the peer (it does not read):
          // these frames sit in the arena, and then in the socket's buffer, next to theirs.
          slowDone = (async () => {
            await started;
            for (let i = 0; i < SLOW; i++) {
              void ws.send(payload(0, i)).catch(() => undefined);
              if (i % 25 === 0) await new Promise((r) => setImmediate(r));
            }
          })();
          await ws.closed;
          return;
        }
        for await (const m of ws) await ws.send(m);
      },
      { host: "127.0.0.1", logger: null, pingInterval: null, compression: null },
    );
    servers.push(server);
    const url = (path: string) => `ws://127.0.0.1:${server.port}${path}`;

    const slow = await connect(url("/slow"), { compression: null, pingInterval: null, maxQueue: null, maxSize: null });
    clients.push(slow);
    slow.socket.pause();
    await until(() => slowSide !== null);

    const FAST = 3000;
    const fast = await Promise.all([1, 2, 3, 4, 5, 6].map(() => connect(url("/"), { compression: null, pingInterval: null })));
    clients.push(...fast);
    go();
    await Promise.all(
      fast.map(async (ws, k) => {
        const who = k + 1;
        let sent = 0;
        for (; sent < 16; sent++) void ws.send(payload(who, sent, 100 + (sent % 900)));
        for (let got = 0; got < FAST; got++) {
          const m = (await ws.recv()) as Uint8Array;
          expect(Buffer.from(m).equals(Buffer.from(payload(who, got, 100 + (got % 900))))).toBe(true);
          if (sent < FAST) {
            const i = sent++;
            void ws.send(payload(who, i, 100 + (i % 900)));
          }
        }
      }),
    );
    await slowDone;
    // The server's socket to the slow one holds what it could not write at once: the case where reuse must wait.
    expect(slowSide!.socket.writableLength).toBeGreaterThan(0);

    // Now it reads: every message, in order, byte for byte.
    slow.socket.resume();
    for (let i = 0; i < SLOW; i++) {
      const m = (await slow.recv()) as Uint8Array;
      if (!Buffer.from(m).equals(Buffer.from(payload(0, i)))) throw new Error(`slow message ${i} differs`);
    }
  }, 60_000);
});

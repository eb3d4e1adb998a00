import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll, recvUntil } from "./helpers.js";

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

describe("examples/broadcast.js", () => {
  it("relays each message to every client and announces arrivals and departures", async () => {
    const { example, port } = await Example.server("broadcast.js");
    for (let i = 0; i < 3; i++) {
      clients.push(await connect(`ws://127.0.0.1:${port}`));
      // Wait for our own arrival, so the clients are numbered in order.
      await recvUntil(clients[i]!, (m) => m === `client-${i + 1} joined`);
    }
    const [a, b, c] = clients as [Connection, Connection, Connection];
    await a.send("hello everyone");
    for (const ws of clients) expect(await recvUntil(ws, (m) => typeof m === "string" && m.endsWith("hello everyone"))).toBe("client-1: hello everyone");
    await example.waitFor(/broadcast to 3 client\(s\): client-1: hello everyone/);

    await b.send(new Uint8Array([7, 8, 9]));
    for (const ws of clients) {
      const got = await recvUntil(ws, (m) => m instanceof Uint8Array);
      expect(Array.from(got as Uint8Array)).toEqual([7, 8, 9]);
    }

    await c.close();
    for (const ws of [a, b]) await recvUntil(ws, (m) => m === "client-3 left");
    await example.waitFor(/broadcast to 2 client\(s\).*: client-3 left/);
  });

  it("exits with 0 on SIGTERM while clients are connected", async () => {
    const { example, port } = await Example.server("broadcast.js");
    const ws = await connect(`ws://127.0.0.1:${port}`);
    clients.push(ws);
    await recvUntil(ws, (m) => m === "client-1 joined");
    expect(await example.stop()).toEqual({ code: 0, signal: null });
    await ws.closed;
    expect(ws.closeCode).toBe(1001);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll } from "./helpers.js";

interface Reading {
  type: string;
  sensor: string;
  seq: number;
  time: string;
  temperature: number;
  humidity: number;
}

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

async function readings(ws: Connection, n: number): Promise<Reading[]> {
  const out: Reading[] = [];
  while (out.length < n) out.push(JSON.parse((await ws.recv()) as string) as Reading);
  return out;
}

describe("examples/data-stream.js", () => {
  it("pushes a JSON reading to each client every INTERVAL_MS", async () => {
    const { example, port } = await Example.server("data-stream.js", { INTERVAL_MS: "50" });
    expect(example.stdout).toContain("a reading every 50 ms");
    const a = await connect(`ws://127.0.0.1:${port}`);
    const b = await connect(`ws://127.0.0.1:${port}`);
    clients.push(a, b);

    const started = Date.now();
    const [fromA, fromB] = await Promise.all([readings(a, 5), readings(b, 5)]);
    const elapsed = Date.now() - started;
    // Five readings, four intervals of 50 ms in between: neither a burst nor a crawl.
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(3000);

    for (const stream of [fromA, fromB]) {
      // Each client has its own stream, numbered from 1.
      expect(stream.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      for (const r of stream) {
        expect(r.type).toBe("reading");
        expect(r.sensor).toBe("greenhouse-1");
        expect(Number.isNaN(Date.parse(r.time))).toBe(false);
        expect(r.temperature).toBeGreaterThan(15);
        expect(r.temperature).toBeLessThan(27);
        expect(r.humidity).toBeGreaterThan(35);
        expect(r.humidity).toBeLessThan(65);
      }
    }

    await a.close();
    await example.waitFor(/unsubscribed after \d+ reading\(s\)/);
    // The other stream goes on.
    expect((await readings(b, 2)).map((r) => r.seq)[1]).toBeGreaterThan(5);
    expect(await example.stop()).toEqual({ code: 0, signal: null });
    expect(b.closeCode).toBe(1001);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll, recvJSONUntil } from "./helpers.js";

interface Sample {
  type: "sample";
  seq: number;
  subscribers: number;
  skipped: number;
  memoryMiB: { rss: number; heapUsed: number; heapTotal: number };
  loadAverage: number[];
  eventLoopDelayMs: number;
  uptimeSeconds: number;
}

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

describe("examples/dashboard.js", () => {
  it("pushes every sample to all of 20 subscribers", async () => {
    const { example, port } = await Example.server("dashboard.js", { SAMPLE_MS: "50" });
    clients.push(...(await Promise.all(Array.from({ length: 20 }, () => connect(`ws://127.0.0.1:${port}/`)))));

    // Every subscriber gets samples that count all 20, in order, with nobody skipped.
    const seen = await Promise.all(
      clients.map(async (ws) => {
        const first = await recvJSONUntil<Sample>(ws, (s) => s.subscribers === 20);
        const next = await recvJSONUntil<Sample>(ws, () => true);
        return [first, next];
      }),
    );
    for (const [first, next] of seen) {
      expect(first!.type).toBe("sample");
      expect(next!.seq).toBe(first!.seq + 1);
      expect(next!.skipped).toBe(0);
      expect(next!.memoryMiB.rss).toBeGreaterThan(0);
      expect(next!.loadAverage).toHaveLength(3);
      expect(next!.eventLoopDelayMs).toBeGreaterThanOrEqual(0);
    }
    // All 20 saw the same sample: it was broadcast once, not computed per client.
    const firstSeqs = new Set(seen.map(([first]) => first!.seq));
    expect(firstSeqs.size).toBeLessThanOrEqual(2);

    await Promise.all(clients.splice(0, 10).map((ws) => ws.close()));
    await recvJSONUntil<Sample>(clients[0]!, (s) => s.subscribers === 10);
    expect(example.stdout).toContain("subscriber left");

    expect(await example.stop()).toEqual({ code: 0, signal: null });
    for (const ws of clients) expect(ws.closeCode).toBe(1001);
  });

  it("serves a live HTML view on / and 404 elsewhere", async () => {
    const { port } = await Example.server("dashboard.js", { SAMPLE_MS: "1000" });
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain("<h1>Server dashboard</h1>");
    const other = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(other.status).toBe(404);
    await other.arrayBuffer();
    // A subscriber that arrives between samples gets the latest one at once.
    await new Promise((r) => setTimeout(r, 1100));
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    clients.push(ws);
    const started = Date.now();
    const sample = JSON.parse((await ws.recv()) as string) as Sample;
    expect(sample.type).toBe("sample");
    expect(Date.now() - started).toBeLessThan(500);
  });
});

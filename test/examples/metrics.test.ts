/**
 * examples/metrics.js: scrape /metrics after real traffic and check what the
 * Prometheus text format says (and that it is well-formed: every sample has
 * a HELP and a TYPE, names and labels as the format allows).
 */
import { afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll } from "./helpers.js";

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

/** Samples by `name{labels}`, checking the exposition format on the way. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === "TYPE") {
        expect(["counter", "gauge", "histogram"]).toContain(meta[3]);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\})? (-?[0-9.e+]+|\+Inf)$/.exec(line);
    expect(m, line).not.toBeNull();
    const base = m![1]!.replace(/_(bucket|sum|count)$/, "");
    expect(typed.has(m![1]!) || typed.has(base), `${line} has a TYPE`).toBe(true);
    samples.set(`${m![1]}${m![2] ?? ""}`, Number(m![3]));
  }
  return samples;
}

describe("examples/metrics.js", () => {
  it("exposes server.stats() and a handshake histogram in the Prometheus text format on the same HTTP server", async () => {
    const { example, port } = await Example.server("metrics.js");
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      return parse(await res.text());
    };
    const before = await scrape();
    expect(before.get("wavesock_connections")).toBe(0);

    const a = await connect(`ws://127.0.0.1:${port}/ws`);
    const b = await connect(`ws://127.0.0.1:${port}/ws`);
    clients.push(a, b);
    for (let i = 0; i < 3; i++) {
      await a.send(`m${i}`);
      await a.recv();
    }
    await connect(`ws://127.0.0.1:${port}/elsewhere`).catch(() => undefined);
    await b.close(4001, "bye");

    let after = await scrape();
    for (let i = 0; i < 50 && after.get("wavesock_closes_total{code=\"4001\"}") !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await scrape();
    }
    expect(after.get("wavesock_connections")).toBe(1);
    expect(after.get("wavesock_connections_opened_total")).toBe(2);
    expect(after.get('wavesock_handshakes_total{outcome="accepted",status="101"}')).toBe(2);
    expect(after.get("wavesock_messages_received_total")).toBe(3);
    expect(after.get("wavesock_messages_sent_total")).toBe(3);
    expect(after.get("wavesock_received_bytes_total")).toBeGreaterThan(0);
    expect(after.get("wavesock_sent_bytes_total")).toBeGreaterThan(0);
    expect(after.get('wavesock_closes_total{code="4001"}')).toBe(1);
    // The /elsewhere upgrade is no endpoint's: the dispatcher answers it, not this server.
    expect(after.get('wavesock_handshakes_total{outcome="refused",status="404"}')).toBeUndefined();
    // Two accepted handshakes in the histogram, cumulative buckets.
    expect(after.get("wavesock_handshake_duration_seconds_count")).toBe(2);
    expect(after.get('wavesock_handshake_duration_seconds_bucket{le="+Inf"}')).toBe(2);
    expect(after.get('wavesock_handshake_duration_seconds_bucket{le="5"}')).toBe(2);

    expect(await example.stop()).toEqual({ code: 0, signal: null });
    await a.closed;
    expect(a.closeCode).toBe(1001);
  });
});

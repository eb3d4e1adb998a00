/**
 * The memory of a large streamed message, measured in a child process (its
 * RSS is its own): a `ws` client sends 256 MiB as 64 KiB fragments to a
 * wavesock server reading it with recvStreaming — plain and compressed —
 * and the server's RSS grows by a bounded amount, far below the message;
 * recv() with the default maxSize refuses the same upload (1009). The 1 GiB
 * figures come from `node bench/stream-memory.js` (bench/README.md).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

const MiB = 1024 * 1024;
const DIST = new URL("../../dist/index.js", import.meta.url);

describe("a 256 MiB upload streamed by the server costs bounded memory", () => {
  it("stream and stream-deflate grow RSS by under 100 MiB; recv() refuses it at maxSize", () => {
    expect(existsSync(DIST), "dist/ is missing: run `npm run build` (npm test does)").toBe(true);
    const out = execFileSync(process.execPath, ["bench/stream-memory.js", "--size", "256", "--modes", "stream,stream-deflate,recv", "--json"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const rows = out.trim().split("\n").map((l) => JSON.parse(l) as { mode: string; received: number; growth: number; outcome: string; pieces: number });
    const byMode = Object.fromEntries(rows.map((r) => [r.mode, r]));
    for (const mode of ["stream", "stream-deflate"]) {
      const r = byMode[mode]!;
      expect(r.outcome, mode).toBe("complete");
      expect(r.received, mode).toBe(256 * MiB);
      expect(r.pieces, mode).toBeGreaterThan(1000);
      expect(r.growth, `${mode}: RSS growth ${(r.growth / MiB).toFixed(1)} MiB`).toBeLessThan(100 * MiB);
    }
    expect(byMode.recv!.outcome).toMatch(/close code 1009/);
    expect(byMode.recv!.growth).toBeLessThan(64 * MiB);
  }, 90_000);
});

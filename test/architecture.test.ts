import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The sans-IO rule of DESIGN.md: nothing under the core folders performs I/O
 * or keeps time.
 */
const CORE = ["src/frame", "src/handshake", "src/connection", "src/extensions"];
const FORBIDDEN = ["net", "tls", "http", "https", "http2", "dgram", "timers", "timers/promises", "child_process", "fs", "fs/promises"];
const TIMER_CALLS = /\b(setTimeout|setInterval|setImmediate|queueMicrotask|process\.nextTick)\s*\(/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Module specifiers imported (statically or dynamically) by a source text. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']|require\s*\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  return out;
}

function isForbidden(spec: string): boolean {
  const name = spec.replace(/^node:/, "");
  return FORBIDDEN.includes(name) || name.startsWith("../node/") || name.includes("/node/");
}

describe("architecture: the core is sans-IO", () => {
  it("the import scanner sees what it must (it can fail)", () => {
    const sample = `import * as net from "node:net";\nimport { x } from "./a.js";\nconst t = await import("timers");\nexport { y } from "node:http";`;
    expect(importsOf(sample).filter(isForbidden)).toEqual(["node:net", "timers", "node:http"]);
    expect(TIMER_CALLS.test("setTimeout(() => 1, 5)")).toBe(true);
  });

  for (const dir of CORE) {
    for (const file of files(dir)) {
      it(`${file} imports no socket, timer or file module and never schedules`, () => {
        const source = readFileSync(file, "utf8");
        expect(importsOf(source).filter(isForbidden)).toEqual([]);
        // Comments may mention timers; code may not call them.
        const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
        expect(TIMER_CALLS.test(code)).toBe(false);
      });
    }
  }
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Module specifiers a source imports, statically or with a literal dynamic import. */
function importsOf(source: string): string[] {
  const re = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']/g;
  return [...source.matchAll(re)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

const ts = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? ts(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));

/**
 * DESIGN.md, "Rooms above the adapters": the client room sits above
 * src/node and is reached only through the package entry; nothing below
 * it imports it, and it imports no other room.
 */
describe("client room layering", () => {
  it("src/node and the core import nothing from src/client", () => {
    for (const file of ["src/node", "src/frame", "src/handshake", "src/connection", "src/extensions"].flatMap(ts)) {
      expect(importsOf(readFileSync(file, "utf8")).filter((s) => s.includes("/client/")), file).toEqual([]);
    }
  });

  it("src/client imports only downwards (node adapter, core, errors), and each file opens with a module comment", () => {
    for (const file of ts("src/client")) {
      const source = readFileSync(file, "utf8");
      const outside = importsOf(source).filter((s) => s.startsWith("../") && !/^\.\.\/(node|handshake|errors\.js|frame|connection|extensions)/.test(s));
      expect(outside, file).toEqual([]);
      expect(source.startsWith("/**"), `${file} opens with a module comment`).toBe(true);
    }
  });
});

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Module specifiers a source imports, statically or with a literal dynamic import. */
function importsOf(source: string): string[] {
  const re = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']/g;
  return [...source.matchAll(re)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * DESIGN.md, "Rooms above the adapters": the router and auth rooms use
 * src/node through the interface it defines (`RequestRouting`, the
 * `processRequest` option); src/node never imports them.
 */
describe("router and auth layering", () => {
  const tree = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tree(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));

  it("src/node imports nothing from src/router or src/auth", () => {
    for (const file of tree("src/node")) {
      const imports = importsOf(readFileSync(file, "utf8"));
      expect(imports.filter((s) => /(^|\/)(router|auth)\//.test(s)), file).toEqual([]);
    }
  });

  it("each room file opens with a module comment, and the rooms do not import each other", () => {
    for (const file of [...tree("src/router"), ...tree("src/auth")]) {
      const source = readFileSync(file, "utf8");
      expect(source.startsWith("/**"), `${file} opens with a module comment`).toBe(true);
      const other = file.startsWith("src/router") ? "auth/" : "router/";
      expect(importsOf(source).filter((s) => s.includes(other)), file).toEqual([]);
    }
  });
});

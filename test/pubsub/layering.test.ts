import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Module specifiers a source imports, statically or with a literal dynamic import. */
function importsOf(source: string): string[] {
  const re = /(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s*["']([^"']+)["']/g;
  return [...source.matchAll(re)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/**
 * DESIGN.md, "Rooms above the adapters": src/node never imports the pub/sub
 * room; the room loads its Redis client only when asked to (an optional peer
 * dependency: a user without Redis installs and loads nothing).
 */
describe("pub/sub layering", () => {
  it("src/node imports nothing from src/pubsub", () => {
    for (const file of readdirSync("src/node").filter((f) => f.endsWith(".ts"))) {
      const imports = importsOf(readFileSync(join("src/node", file), "utf8"));
      expect(imports.filter((s) => s.includes("pubsub/")), file).toEqual([]);
    }
  });

  it("src/pubsub imports no Redis client statically", () => {
    for (const file of readdirSync("src/pubsub").filter((f) => f.endsWith(".ts"))) {
      const source = readFileSync(join("src/pubsub", file), "utf8");
      const imports = importsOf(source);
      expect(imports.filter((s) => s === "redis" || s.startsWith("@redis/") || s === "ioredis"), file).toEqual([]);
      expect(source.startsWith("/**"), `${file} opens with a module comment`).toBe(true);
    }
  });

  it("the room's module comment says what it owns", () => {
    expect(readFileSync("src/pubsub/redis.ts", "utf8")).toMatch(/^ \* pub\/sub across processes and machines[\s\S]*This room owns/m);
  });

  it("redis is an optional peer dependency, and wavesock has no runtime dependency", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as Record<string, Record<string, unknown>>;
    expect(pkg["dependencies"]).toBeUndefined();
    expect(pkg["peerDependenciesMeta"]?.["redis"]).toEqual({ optional: true });
  });
});

/**
 * DESIGN.md's rule for rooms, for src/cli: it uses the library through its
 * public API only (`../index.js`), so it keeps working while the internals
 * change; every file says what it owns.
 */
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers.js";

const DIR = `${ROOT}src/cli/`;
const files = readdirSync(DIR).filter((f) => f.endsWith(".ts"));

function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

describe("src/cli is a room above the library", () => {
  it("has files to check", () => {
    expect(files).toContain("main.ts");
    expect(importsOf(`import { a } from "../node/client.js";`)).toEqual(["../node/client.js"]);
  });

  for (const file of files) {
    it(`${file} imports only node: built-ins, its own room and the public API (../index.js)`, () => {
      const source = readFileSync(`${DIR}${file}`, "utf8");
      const outside = importsOf(source).filter((spec) => !spec.startsWith("node:") && !/^\.\/[\w-]+\.js$/.test(spec) && spec !== "../index.js");
      expect(outside).toEqual([]);
    });

    it(`${file} starts with a module comment`, () => {
      const source = readFileSync(`${DIR}${file}`, "utf8").replace(/^#!.*\n/, "");
      expect(source.startsWith("/**\n")).toBe(true);
    });
  }

  it("main.ts starts with a shebang, so the bin runs with node", () => {
    expect(readFileSync(`${DIR}main.ts`, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(readFileSync(`${ROOT}dist/cli/main.js`, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("package.json's bin points at the built entry point", () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { bin?: Record<string, string> };
    expect(pkg.bin).toEqual({ wavesock: "./dist/cli/main.js" });
  });
});

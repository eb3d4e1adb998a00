/**
 * The API reference in docs/api/ cannot go stale: TypeDoc regenerates it
 * from the JSDoc into a scratch directory — with warnings as errors, so an
 * undocumented export, a broken `{@link}` or a public signature naming a
 * type that is not exported fails here too — and the result must equal the
 * committed copy file for file.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const COMMITTED = join(ROOT, "docs/api");
const scratch = mkdtempSync(join(tmpdir(), "wavesock-docs-"));

function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return out;
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("docs/api (npm run docs)", () => {
  it("is what TypeDoc generates from the current JSDoc, with no warning", async () => {
    const out = join(scratch, "api");
    try {
      await run(process.execPath, [join(ROOT, "node_modules/typedoc/bin/typedoc"), "--out", out, "--logLevel", "Warn"], { cwd: ROOT });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`TypeDoc failed (warnings are errors):\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    const fresh = tree(out);
    const committed = tree(COMMITTED);
    const stale = [...new Set([...fresh.keys(), ...committed.keys()])]
      .filter((file) => fresh.get(file) !== committed.get(file))
      .map((file) => `${file}: ${!committed.has(file) ? "missing" : !fresh.has(file) ? "no longer generated" : "differs"}`)
      .sort();
    expect(stale, "docs/api is stale: run `npm run docs` and commit docs/api").toEqual([]);
    expect(fresh.size).toBeGreaterThan(50);
  }, 120_000);
});

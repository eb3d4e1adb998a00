/**
 * `npx wavesock` as a user gets it: the package packed with `npm pack`,
 * installed (offline: it has no dependencies) into a scratch project, and
 * the bin run through npx and straight from node_modules/.bin (which needs
 * the shebang and the executable mode npm gives it). Packed with
 * `--ignore-scripts`: `prepare` would rebuild the dist/ that the other test
 * files are using at the same moment.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, TestServer, assertBuilt, echo, sh, shell } from "./helpers.js";

describe("npx wavesock, from the packed package", () => {
  let dir: string;
  let app: string;
  let server: TestServer;
  const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string };

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), "wavesock-pack-"));
    const tarball = execFileSync("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").pop()!;
    app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", join(dir, tarball)], { cwd: app, stdio: "ignore" });
    server = await TestServer.start(echo);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("node_modules/.bin/wavesock is an executable with a node shebang", () => {
    const bin = join(app, "node_modules", "wavesock", "dist", "cli", "main.js");
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    expect(execFileSync(join(app, "node_modules", ".bin", "wavesock"), ["--version"], { encoding: "utf8" })).toBe(`wavesock ${version}\n`);
  });

  it("printf 'a\\nb\\n' | npx wavesock ws://... prints both replies and exits 0", async () => {
    const run = await shell(`cd ${sh(app)} && printf 'a\\nb\\n' | npx --no-install wavesock ${server.url}/npx`, 60_000);
    expect(run).toMatchObject({ code: 0, stdout: "a\nb\n" });
    expect((await server.peer("/npx")).received).toEqual(["a", "b"]);
  });
});

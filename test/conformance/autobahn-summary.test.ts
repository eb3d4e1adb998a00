/**
 * The autobahn/ tooling: the summariser's verdicts on hand-made report
 * fixtures (fixtures/autobahn/), run.js's plain message where wstest cannot
 * run, and smoke tests of the two testees (server.js, client.js) with a fake
 * fuzzing server — so the scripts are known to work before a machine with
 * wstest ever runs them.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { connect, serve, type Server } from "../../src/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = join(root, "test/conformance/fixtures/autobahn");
const summarize = join(root, "autobahn/summarize.js");

function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [script, ...args], { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const summary = (reports: string, ...more: string[]) => run(summarize, ["--reports", join(fixtures, reports), ...more]);

describe.concurrent("autobahn/summarize.js", () => {
  it("all OK (servers and clients) → exit 0, counts per category", async () => {
    const r = await summary("all-ok", "--no-expected");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/servers: .*agent wavesock, 5 cases/);
    expect(r.stdout).toMatch(/^\s+2: OK 2$/m);
    expect(r.stdout).toMatch(/^\s+12: OK 1$/m);
    expect(r.stdout).toMatch(/clients: .*agent wavesock, 2 cases/);
    expect(r.stdout).toContain("PASS");
  });

  it("a FAILED case → non-zero, and the case is named", async () => {
    const r = await summary("failed", "--no-expected");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/servers wavesock 5\.9: FAILED/);
  });

  it("a NON-STRICT case → non-zero", async () => {
    const r = await summary("non-strict", "--no-expected");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/clients wavesock 3\.2: NON-STRICT/);
  });

  it("a wrong close code (behaviorClose WRONG CODE) → non-zero", async () => {
    const r = await summary("wrong-close", "--no-expected");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/7\.9\.1: close WRONG CODE/);
  });

  it("INFORMATIONAL on the allow-list (7.1.6, 7.13.x) → exit 0, listed as allowed", async () => {
    const r = await summary("informational", "--no-expected");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/allowed[^]*7\.1\.6: INFORMATIONAL[^]*7\.13\.1[^]*7\.13\.2/);
  });

  it("INFORMATIONAL on a case not on the allow-list → non-zero", async () => {
    const r = await summary("informational-elsewhere", "--no-expected");
    expect(r.code).toBe(1);
  });

  it("UNIMPLEMENTED (compression cases) is not allowed: wavesock implements permessage-deflate → non-zero", async () => {
    const r = await summary("unimplemented", "--no-expected");
    expect(r.code).toBe(1);
  });

  it("no reports → exit 2 with a plain message", async () => {
    const r = await summary("empty", "--no-expected");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no Autobahn|Testsuite reports");
  });

  it("expected results: same → 0; any change (new case, different result) → non-zero, listed", async () => {
    const same = await summary("all-ok", "--expected", join(fixtures, "expected-same.json"));
    expect(same.code).toBe(0);
    expect(same.stdout).toContain("same results as");
    const changed = await summary("all-ok", "--expected", join(fixtures, "expected-changed.json"));
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/servers wavesock 12\.1\.1: expected \(absent\), got OK\/OK/);
    expect(changed.stdout).toMatch(/clients wavesock 3\.2: expected NON-STRICT\/OK, got OK\/OK/);
  });

  it("--write-expected writes a file that the next run finds unchanged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wavesock-autobahn-"));
    try {
      const file = join(dir, "expected.json");
      expect((await summary("all-ok", "--expected", file, "--write-expected")).code).toBe(0);
      expect(JSON.parse(readFileSync(file, "utf8")).servers.wavesock["6.4.1"]).toEqual({ behavior: "OK", behaviorClose: "OK" });
      expect((await summary("all-ok", "--expected", file)).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("autobahn/run.js", () => {
  // PATH without any directory that holds a wstest.
  const path = (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((d) => d !== "" && !existsSync(join(d, "wstest")))
    .join(delimiter);
  const dockerAnswers = (() => {
    const r = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 20_000, env: { ...process.env, PATH: path } });
    return r.status === 0;
  })();

  it.skipIf(dockerAnswers)("without wstest and without a Docker engine: says so plainly and exits 0", async () => {
    const r = await run(join(root, "autobahn/run.js"), [], { ...process.env, PATH: path });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("Autobahn|Testsuite (wstest) is not installed and no Docker engine is available: nothing was run.");
  });
});

// The testees run from dist/ (`import ... from "wavesock"`): only when it is built.
const built = existsSync(join(root, "dist/index.js"));

describe.skipIf(!built)("autobahn testees (from dist/)", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0)) await f();
  });

  it("server.js: echoes text and binary on the port it prints", async () => {
    const child = spawn(process.execPath, [join(root, "autobahn/server.js"), "--port", "0", "--host", "127.0.0.1"], { cwd: root });
    cleanups.push(() => {
      child.kill("SIGTERM");
    });
    const port = await new Promise<number>((resolvePort, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolvePort(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`server.js exited with ${code}`)));
    });
    const ws = await connect(`ws://127.0.0.1:${port}/`);
    await ws.send("hello autobahn");
    await ws.send(new Uint8Array([0, 1, 2, 255]));
    await ws.send("x".repeat(100_000));
    expect(await ws.recv()).toBe("hello autobahn");
    expect(Array.from((await ws.recv()) as Uint8Array)).toEqual([0, 1, 2, 255]);
    expect(await ws.recv()).toBe("x".repeat(100_000));
    await ws.close();
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  });

  it("client.js: asks for the case count, echoes every case, then asks for the reports", async () => {
    const seen: string[] = [];
    const echoes: unknown[] = [];
    const fake: Server = await serve(
      async (ws) => {
        const path = ws.request.path;
        seen.push(path);
        if (path === "/getCaseCount") {
          await ws.send("3");
        } else if (path.startsWith("/runCase")) {
          const n = Number(/case=(\d+)/.exec(path)?.[1]);
          await ws.send(`case ${n}`);
          await ws.send(new Uint8Array([n]));
          echoes.push(await ws.recv(), Array.from((await ws.recv()) as Uint8Array));
        }
        await ws.close(1000);
      },
      { host: "127.0.0.1", port: 0, logger: null },
    );
    cleanups.push(() => fake.close());
    const r = await run(join(root, "autobahn/client.js"), ["--url", `ws://127.0.0.1:${fake.port}`, "--agent", "test-agent"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(seen).toEqual([
      "/getCaseCount",
      "/runCase?case=1&agent=test-agent",
      "/runCase?case=2&agent=test-agent",
      "/runCase?case=3&agent=test-agent",
      "/updateReports?agent=test-agent",
    ]);
    expect(echoes).toEqual(["case 1", [1], "case 2", [2], "case 3", [3]]);
  });
});

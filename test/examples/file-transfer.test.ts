import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { connect } from "../../src/index.js";
import { EXAMPLES, Example, ROOT, killAll } from "./helpers.js";

const run = promisify(execFile);
afterEach(() => killAll());

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("examples/file-transfer.js", () => {
  it("uploads a 40 MiB file streamed to disk and downloads it back streamed from disk; the bytes match", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wavesock-files-"));
    const { example, port } = await Example.server("file-transfer.js", { DIR: join(dir, "store") });
    expect(example.stdout).toContain("files in");
    // Compressible and not: half text, half random.
    const data = Buffer.concat([Buffer.from("lorem ipsum dolor sit amet ".repeat(800_000)), randomBytes(20 * 1024 * 1024)]);
    const file = join(dir, "big.bin");
    writeFileSync(file, data);
    const env = { ...process.env, URL: `ws://127.0.0.1:${port}` };
    const up = await run(process.execPath, [`${EXAMPLES}file-transfer.js`, "upload", file], { cwd: ROOT, env });
    expect(up.stdout).toContain(`uploaded ${data.length} bytes`);
    expect(up.stdout).toContain(sha256(data));
    expect(sha256(readFileSync(join(dir, "store", "big.bin")))).toBe(sha256(data));

    const copy = join(dir, "copy.bin");
    const down = await run(process.execPath, [`${EXAMPLES}file-transfer.js`, "download", "big.bin", copy], { cwd: ROOT, env });
    expect(down.stdout).toContain(`downloaded ${data.length} bytes`);
    expect(sha256(readFileSync(copy))).toBe(sha256(data));
  }, 60_000);

  it("refuses a bad name and an unknown file with an answer, and keeps serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wavesock-files-"));
    const { port } = await Example.server("file-transfer.js", { DIR: dir });
    const ws = await connect(`ws://127.0.0.1:${port}`);
    await ws.send(JSON.stringify({ op: "download", name: "../etc/passwd" }));
    expect(JSON.parse((await ws.recv()) as string)).toEqual({ ok: false, error: "bad file name" });
    await ws.send(JSON.stringify({ op: "download", name: "nothing-here" }));
    expect(JSON.parse((await ws.recv()) as string)).toMatchObject({ ok: false });
    await ws.close();
  });
});

/**
 * examples/cli-script.sh, run as its users run it: a server, a pipe through
 * the client, an exit code read by a script, a clean Ctrl-C.
 */
import { describe, expect, it } from "vitest";
import { ROOT, assertBuilt, sh, shell } from "./helpers.js";

describe("examples/cli-script.sh", () => {
  it("serves, pipes two lines through the client, reads exit code 1 for a refused port, and stops the server with exit 0", async () => {
    assertBuilt();
    const run = await shell(`sh ${sh(`${ROOT}examples/cli-script.sh`)}`, 60_000);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^server: ws:\/\/127\.0\.0\.1:\d+\nreply: hello\nreply: world\nport 1: could not connect \(exit 1\)\nserver stopped \(exit 0\)\n$/,
    );
  });
});

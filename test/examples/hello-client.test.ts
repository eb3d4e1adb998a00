import { afterEach, describe, expect, it } from "vitest";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/hello-client.js", () => {
  it("sends Hello, World! to the echo server, prints the reply and closes", async () => {
    const { example: server, port } = await Example.server("echo-server.js");
    const client = Example.start("hello-client.js", { URL: `ws://127.0.0.1:${port}` });
    expect(await client.exited).toEqual({ code: 0, signal: null });
    expect(client.stdout.split("\n")).toEqual([
      `connected to ws://127.0.0.1:${port}`,
      "> Hello, World!",
      "< Hello, World!",
      "closed (code 1000)",
      "",
    ]);
    await server.waitFor(/disconnected \(code 1000\)/);
  });

  it("reports a refused connection and exits with 1", async () => {
    // Bind a port, then free it: nothing listens there any more.
    const { example: server, port } = await Example.server("echo-server.js");
    await server.stop();
    const client = Example.start("hello-client.js", { URL: `ws://127.0.0.1:${port}` });
    expect((await client.exited).code).toBe(1);
    expect(client.stderr).toMatch(/error: .*ECONNREFUSED/);
  });
});

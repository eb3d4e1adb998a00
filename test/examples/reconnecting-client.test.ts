import { afterEach, describe, expect, it } from "vitest";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/reconnecting-client.js", () => {
  it("stays with an echo server that stops and comes back on the same port, and stops cleanly on SIGTERM", async () => {
    const first = await Example.server("echo-server.js");
    const port = first.port;
    const client = Example.start("reconnecting-client.js", {
      URL: `ws://127.0.0.1:${port}`,
      INITIAL_DELAY_MS: "50",
      MIN_DELAY_MS: "100",
    });
    await client.waitFor(/connected to ws:\/\/127\.0\.0\.1:\d+ \(connection 1\)/);
    await client.waitFor(/< hello from connection 1/);
    // The server goes away (1001 to the client)...
    await first.example.stop();
    await client.waitFor(/connection 1 closed \(code 1001\); reconnecting/);
    // The connection was short-lived (under resetAfter, 10 s), so the backoff goes on:
    // the random first delay was spent before attempt 1; then 100 ms, ×1.618 each time.
    await client.waitFor(/attempt 1 failed \(ECONNREFUSED: .*\); retrying in 100 ms/);
    await client.waitFor(/attempt 2 failed \(ECONNREFUSED: .*\); retrying in 162 ms/);
    // ...and comes back on the same port.
    const second = await Example.server("echo-server.js", { PORT: String(port) });
    expect(second.port).toBe(port);
    await client.waitFor(/connected to ws:\/\/127\.0\.0\.1:\d+ \(connection 2\)/);
    await client.waitFor(/< hello from connection 2/);
    expect(await client.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(client.stdout).toMatch(/stopped\n$/);
    expect(client.stderr).toBe("");
  }, 30_000);

  it("stops with status 1 on an error the policy does not retry (a bad URI)", async () => {
    const client = Example.start("reconnecting-client.js", { URL: "http://127.0.0.1:1/" });
    expect((await client.exited).code).toBe(1);
    expect(client.stderr).toMatch(/error: WS_ERR_INVALID_URI: scheme isn't ws or wss/);
  });
});

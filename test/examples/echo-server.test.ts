import { afterEach, describe, expect, it } from "vitest";
import { ConnectionClosedOK, connect } from "../../src/index.js";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/echo-server.js", () => {
  it("prints the port it bound and echoes text and binary messages", async () => {
    const { example, port } = await Example.server("echo-server.js");
    expect(example.stdout).toContain(`listening on ws://127.0.0.1:${port}`);
    const ws = await connect(`ws://127.0.0.1:${port}`);
    await ws.send("Hello, World!");
    expect(await ws.recv()).toBe("Hello, World!");
    await ws.send(new Uint8Array([1, 2, 3]));
    expect(Array.from((await ws.recv()) as Uint8Array)).toEqual([1, 2, 3]);
    await ws.send(["frag", "mented"]);
    expect(await ws.recv()).toBe("fragmented");
    await ws.close();
    await example.waitFor(/disconnected \(code 1000\)/);
    expect(example.stdout).toMatch(/127\.0\.0\.1:\d+ connected/);
  });

  it("shuts down cleanly on SIGTERM: clients get 1001 and the process exits with 0", async () => {
    const { example, port } = await Example.server("echo-server.js");
    const ws = await connect(`ws://127.0.0.1:${port}`);
    await ws.send("ping");
    expect(await ws.recv()).toBe("ping");
    const exit = await example.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    await expect(ws.recv()).rejects.toBeInstanceOf(ConnectionClosedOK);
    expect(ws.closeCode).toBe(1001);
    expect(example.stdout).toContain("server closed");
  });

  it("shuts down cleanly on SIGINT (Ctrl+C) with no client", async () => {
    const { example } = await Example.server("echo-server.js");
    expect(await example.stop("SIGINT")).toEqual({ code: 0, signal: null });
    expect(example.stdout).toContain("SIGINT: closing the server");
  });
});

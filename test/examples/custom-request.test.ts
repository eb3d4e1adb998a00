import { afterEach, describe, expect, it } from "vitest";
import { InvalidStatus, connect } from "../../src/index.js";
import { Example, killAll } from "./helpers.js";

afterEach(killAll);

describe("examples/custom-request.js", () => {
  it("upgrades /custom, answers /health with 200 OK and anything else with 404", async () => {
    const { example, port } = await Example.server("custom-request.js");

    const ws = await connect(`ws://127.0.0.1:${port}/custom?user=1`);
    await ws.send("through");
    expect(await ws.recv()).toBe("through");
    await ws.close();

    const err = await connect(`ws://127.0.0.1:${port}/other`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(404);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect((await health.text()).trim()).toBe("OK");

    const missing = await fetch(`http://127.0.0.1:${port}/nothing-here`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();

    expect(example.stdout).toContain("GET /custom?user=1 -> WebSocket handshake");
    expect(example.stdout).toContain("GET /other -> 404");
    expect(example.stdout).toContain("GET /health -> 200");
    expect(await example.stop()).toEqual({ code: 0, signal: null });
  });
});

import { afterEach, describe, expect, it } from "vitest";
import { connect, InvalidStatus, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll } from "./helpers.js";

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("examples/basic-auth.js", () => {
  it("greets a user with good credentials, refuses others with 401 and the Basic challenge", async () => {
    const { example, port } = await Example.server("basic-auth.js", { USERS: "alice:s3cret,bob:hunter2" });
    const ws = await connect(`ws://127.0.0.1:${port}/`, { headers: { authorization: basic("bob", "hunter2") } });
    clients.push(ws);
    expect(await ws.recv()).toBe("Hello, bob!");
    await ws.send("hi");
    expect(await ws.recv()).toBe("bob said: hi");
    await example.waitFor(/bob connected/);

    for (const headers of [{}, { authorization: basic("bob", "s3cret") }] as Record<string, string>[]) {
      const err = await connect(`ws://127.0.0.1:${port}/`, { headers }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidStatus);
      expect((err as InvalidStatus).response.status).toBe(401);
      expect((err as InvalidStatus).response.headers["www-authenticate"]).toBe('Basic realm="wavesock example", charset="UTF-8"');
    }
    expect(await example.stop()).toEqual({ code: 0, signal: null });
  });
});

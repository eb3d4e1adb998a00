import { afterEach, describe, expect, it } from "vitest";
import { connect, InvalidStatus, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll } from "./helpers.js";

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const err = await connect(url, { headers }).then(
    async (ws) => {
      await ws.close();
      return null;
    },
    (e: unknown) => e,
  );
  return err === null ? 101 : (err as InvalidStatus).response.status;
}

describe("examples/token-auth.js", () => {
  it("a token in the query string, in a cookie, or as the first message", async () => {
    const { port } = await Example.server("token-auth.js", { TOKENS: "t0ken:alice,other:bob" });
    const base = `ws://127.0.0.1:${port}`;

    const q = await connect(`${base}/query?token=other`);
    clients.push(q);
    expect(await q.recv()).toBe("Hello, bob!");
    expect(await status(`${base}/query?token=wrong`)).toBe(401);
    expect(await status(`${base}/query`)).toBe(401);

    const c = await connect(`${base}/cookie`, { headers: { cookie: "theme=dark; session=t0ken" } });
    clients.push(c);
    expect(await c.recv()).toBe("Hello, alice!");
    expect(await status(`${base}/cookie`, { cookie: "session=nope" })).toBe(401);

    const f = await connect(`${base}/first-message`);
    clients.push(f);
    await f.send("t0ken");
    expect(await f.recv()).toBe("Hello, alice!");
    await f.send("hi");
    expect(await f.recv()).toBe("alice: hi");

    const bad = await connect(`${base}/first-message`);
    await bad.send("nope");
    await bad.closed;
    expect([bad.closeCode, bad.closeReason]).toEqual([1008, "authentication failed"]);
  });
});

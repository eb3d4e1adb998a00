import { afterEach, describe, expect, it } from "vitest";
import { connect, InvalidStatus, type Connection } from "../../src/index.js";
import { Example, closeQuietly, killAll, recvUntil } from "./helpers.js";

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

describe("examples/router.js", () => {
  it("serves the lobby, a room per path with the nick from the query, the echo; 404 elsewhere", async () => {
    const { example, port } = await Example.server("router.js");
    const base = `ws://127.0.0.1:${port}`;
    const ann = await connect(`${base}/rooms/lobby?nick=ann`);
    clients.push(ann);
    await recvUntil(ann, (m) => m === "ann joined");
    const bob = await connect(`${base}/rooms/lobby?nick=bob`);
    clients.push(bob);
    await recvUntil(ann, (m) => m === "bob joined");
    const other = await connect(`${base}/rooms/other?nick=cy`);
    clients.push(other);
    await recvUntil(other, (m) => m === "cy joined");

    await bob.send("hi all");
    expect(await recvUntil(ann, (m) => typeof m === "string" && m.startsWith("bob:"))).toBe("bob: hi all");

    const lobby = await connect(`${base}/`);
    expect(JSON.parse((await lobby.recv()) as string)).toEqual({ rooms: { lobby: 2, other: 1 } });
    await lobby.closed;

    const echo = await connect(`${base}/echo`);
    clients.push(echo);
    await echo.send("ping");
    expect(await echo.recv()).toBe("ping");

    const err = await connect(`${base}/nowhere`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(404);
    await example.waitFor(/bob joined lobby \(2 here\)/);
  });

  it("serveForever: SIGTERM closes every client with 1001 and the script exits 0", async () => {
    const { example, port } = await Example.server("router.js");
    const ws = await connect(`ws://127.0.0.1:${port}/echo`);
    clients.push(ws);
    expect(await example.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    await ws.closed;
    expect(ws.closeCode).toBe(1001);
    expect(example.stdout).toContain("server closed");
  });
});

/**
 * Connection identity and context over real sockets: `ws.id`, local and
 * remote addresses (IPv4 and IPv6 loopback), `data` carried from
 * processRequest to the handler, the logger option with a real Console and
 * with real pino (per-connection child, levels), `server.closed`, and
 * `serveForever()` in a child process stopped by signals.
 */
import { spawn } from "node:child_process";
import { Console } from "node:console";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { connect, serve, type Connection, type Logger, type Server } from "../../src/index.js";
import { assertBuilt } from "../examples/helpers.js";
import { RawPeer, until } from "./helpers.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A writable that keeps what is written, line by line. */
function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

describe("connection identity", () => {
  it("ws.id is a UUID, stable per connection, different between connections, the same on both hooks", async () => {
    const ids: string[] = [];
    const server = await serve(
      async (ws) => {
        ids.push(ws.id, ws.id);
        await ws.send(ws.id);
        await ws.closed;
      },
      { host: "127.0.0.1", logger: null },
    );
    servers.push(server);
    const a = await connect(`ws://127.0.0.1:${server.port}/`);
    const b = await connect(`ws://127.0.0.1:${server.port}/`);
    const idA = (await a.recv()) as string;
    const idB = (await b.recv()) as string;
    expect(idA).toMatch(UUID);
    expect(idB).toMatch(UUID);
    expect(idA).not.toBe(idB);
    expect(ids).toEqual([idA, idA, idB, idB]);
    // The client's connection has its own.
    expect(a.id).toMatch(UUID);
    expect(a.id).not.toBe(idA);
    await a.close();
    await b.close();
  });

  for (const host of ["127.0.0.1", "::1"]) {
    it(`localAddress and localPort are the server's side of the socket (${host})`, async () => {
      const seen: unknown[] = [];
      const server = await serve(
        async (ws) => {
          seen.push([ws.localAddress, ws.localPort, ws.remoteAddress, ws.remotePort]);
          await ws.closed;
        },
        { host, logger: null },
      );
      servers.push(server);
      const ws = await connect(`ws://${host.includes(":") ? `[${host}]` : host}:${server.port}/`);
      await until(() => seen.length === 1);
      expect(seen[0]).toEqual([host, server.port, host, ws.localPort]);
      expect(ws.remotePort).toBe(server.port);
      expect(ws.localAddress).toBe(host);
      await ws.close();
    });
  }

  it("data set in processRequest is the handler's ws.data; a connection without is given an empty object", async () => {
    const server = await serve(
      async (ws) => {
        ws.data["seen"] = true;
        await ws.send(JSON.stringify(ws.data));
        await ws.closed;
      },
      {
        host: "127.0.0.1",
        logger: null,
        processRequest: (conn, request) => {
          const token = new URL(request.path, "http://x").searchParams.get("token");
          if (token !== null) {
            conn.data.user = `user-of-${token}`;
            conn.data["tenant"] = 7;
          }
          return undefined;
        },
      },
    );
    servers.push(server);
    const a = await connect(`ws://127.0.0.1:${server.port}/?token=t1`);
    expect(JSON.parse((await a.recv()) as string)).toEqual({ user: "user-of-t1", tenant: 7, seen: true });
    const b = await connect(`ws://127.0.0.1:${server.port}/`);
    expect(JSON.parse((await b.recv()) as string)).toEqual({ seen: true });
    await a.close();
    await b.close();
  });
});

describe("the logger option", () => {
  it("a console-style logger (a real Console): context in front, info for open/refused/closed, error for a handler that threw", async () => {
    const out = sink();
    const err = sink();
    const logger = new Console({ stdout: out.stream, stderr: err.stream });
    const server = await serve(
      async (ws) => {
        ws.logger.info("joined", { room: "r1" });
        if ((await ws.recv()) === "boom") throw new Error("boom");
        await ws.closed;
      },
      { host: "127.0.0.1", logger, path: "/chat" },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}/chat?token=SECRET`);
    await ws.close(4000, "bye");
    await connect(`ws://127.0.0.1:${server.port}/elsewhere`).catch(() => undefined);
    const bad = await connect(`ws://127.0.0.1:${server.port}/chat`);
    await bad.send("boom");
    await bad.closed;
    await until(() => out.lines.filter((l) => l.includes("connection closed")).length === 2);

    const ctx = /^wavesock \[([0-9a-f-]{36}) 127\.0\.0\.1 \/chat\]/;
    const opens = out.lines.filter((l) => l.includes("connection open"));
    expect(opens).toHaveLength(2);
    for (const line of opens) expect(line).toMatch(new RegExp(`${ctx.source}: connection open$`));
    expect(out.lines.some((l) => ctx.test(l) && l.endsWith("joined { room: 'r1' }"))).toBe(true);
    expect(out.lines).toContainEqual(expect.stringMatching(new RegExp(`${ctx.source}: connection closed \\(code=4000 reason="bye"\\)$`)));
    expect(out.lines).toContainEqual('wavesock: connection refused (status=404 path="/elsewhere" remoteAddress="127.0.0.1")');
    expect(err.lines[0]).toMatch(new RegExp(`${ctx.source}: connection handler failed: Error: boom`));
    // Same id on every line of one connection; the query string (a token) never logged.
    const id = out.lines.find((l) => l.includes("(code=4000"))!.match(ctx)![1];
    expect(out.lines.filter((l) => l.includes(id!))).toHaveLength(3);
    expect([...out.lines, ...err.lines].join("\n")).not.toContain("SECRET");
  });

  it("a pino logger: a child per connection with { id, remoteAddress, path }, object first, levels", async () => {
    const out = sink();
    const logger = pino({ level: "debug" }, out.stream);
    const server = await serve(
      async (ws) => {
        ws.logger.info({ room: "r1" }, "joined");
        if ((await ws.recv()) === "boom") throw new Error("boom");
        await ws.closed;
      },
      { host: "127.0.0.1", logger, openTimeout: 200 },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}/rooms/1?token=SECRET`);
    await ws.send("boom");
    await ws.closed;
    const silent = await RawPeer.connect(server.port);
    await silent.closed;
    await until(() => out.lines.some((l) => l.includes("without an answer")) && out.lines.some((l) => l.includes("connection closed")));
    const records = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = records.filter((r) => r["id"] === ws.id || (typeof r["id"] === "string" && r["path"] === "/rooms/1"));
    const byMsg = (msg: string) => mine.find((r) => r["msg"] === msg);
    const id = byMsg("connection open")!["id"];
    expect(id).toMatch(UUID);
    for (const msg of ["connection open", "joined", "connection handler failed", "connection closed"]) {
      expect(byMsg(msg), msg).toMatchObject({ id, remoteAddress: "127.0.0.1", path: "/rooms/1" });
    }
    expect(byMsg("connection open")!["level"]).toBe(30);
    expect(byMsg("joined")).toMatchObject({ level: 30, room: "r1" });
    expect(byMsg("connection handler failed")).toMatchObject({ level: 50, err: { message: "boom", type: "Error" } });
    expect(byMsg("connection closed")).toMatchObject({ level: 30, code: 1011 });
    expect(records.find((r) => r["msg"] === "opening handshake ended without an answer")).toMatchObject({ level: 20, remoteAddress: "127.0.0.1" });
    expect(out.lines.join("\n")).not.toContain("SECRET");
  });

  it("logger: null logs nothing, and ws.logger is silent", async () => {
    const server = await serve(
      async (ws) => {
        ws.logger.error("nobody hears this");
        await ws.send("ok");
        await ws.closed;
      },
      { host: "127.0.0.1", logger: null },
    );
    servers.push(server);
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    expect(await ws.recv()).toBe("ok");
    await ws.close();
  });

  it("refuses a logger whose levels are not functions, naming the level", async () => {
    await expect(serve(() => undefined, { logger: { error: () => undefined, info: "yes" } as unknown as Logger })).rejects.toThrow(
      /serve\(\): options.logger.info must be a function \(or absent\); got the string "yes"/,
    );
  });
});

describe("server.closed and serveForever()", () => {
  it("server.closed resolves once close() has finished, and at once after", async () => {
    let handlerDone = false;
    const server = await serve(
      async (ws: Connection) => {
        await ws.closed;
        await new Promise((r) => setTimeout(r, 50));
        handlerDone = true;
      },
      { host: "127.0.0.1", logger: null },
    );
    const ws = await connect(`ws://127.0.0.1:${server.port}/`);
    let closed = false;
    const watcher = server.closed.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    await server.close();
    await watcher;
    expect(handlerDone).toBe(true);
    expect(ws.closeCode).toBe(1001);
    await server.closed; // already closed: resolves
  });

  function script(env: Record<string, string> = {}) {
    assertBuilt();
    const child = spawn(process.execPath, ["test/node/fixtures/serve-forever.mjs"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
    const port = (async () => {
      await until(() => /listening on ws:\/\/127\.0\.0\.1:(\d+)/.test(stdout), 15_000);
      return Number(/:(\d+)/.exec(stdout.slice(stdout.indexOf("ws://")))![1]);
    })();
    return { child, exited, port, stdout: () => stdout };
  }

  it("SIGINT closes the server with 1001 to the clients, then the script goes on and exits 0", async () => {
    const run = script();
    const ws = await connect(`ws://127.0.0.1:${await run.port}/`);
    await ws.send("ping");
    expect(await ws.recv()).toBe("ping");
    run.child.kill("SIGINT");
    await ws.closed;
    expect(ws.closeCode).toBe(1001);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain("closed (0 open)");
  }, 30_000);

  it("a second signal drops what the first one is waiting for (a client that never answers the close)", async () => {
    // closeTimeout 60 s: without the second signal, the script would wait that long.
    const run = script({ CLOSE_TIMEOUT: "60000" });
    const mute = await RawPeer.connect(await run.port);
    await mute.handshake();
    run.child.kill("SIGTERM");
    // The 1001 close frame arrives; the raw peer never answers it.
    const frame = await mute.readFrame();
    expect(frame.opcode).toBe(8);
    expect(frame.payload.readUInt16BE(0)).toBe(1001);
    run.child.kill("SIGTERM");
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await mute.closed;
  }, 30_000);

  it("serveForever() refuses options it does not know", async () => {
    const server = await serve(() => undefined, { host: "127.0.0.1", logger: null });
    servers.push(server);
    await expect(server.serveForever({ signals: ["INT" as NodeJS.Signals] })).rejects.toThrow(/options.signals\[0\] must be a signal name such as "SIGTERM"; got the string "INT"/);
    await expect(server.serveForever({ signal: ["SIGINT"] } as never)).rejects.toThrow(/unknown option signal \(did you mean signals\?\)/);
  });
});

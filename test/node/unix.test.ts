/**
 * serve(handler, { socketPath }) over real Unix domain sockets: clients
 * through the socket (wavesock's connect with `sock`, Python websockets'
 * unix_connect), the address getters, the file removed on close, a stale
 * socket file replaced, and the files that are never removed (a socket
 * somebody listens on, a regular file).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidState, attach, connect, serve, type Server } from "../../src/index.js";
import { until } from "./helpers.js";

const servers: Server[] = [];
const others: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(others.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const dir = mkdtempSync(join(tmpdir(), "wavesock-unix-"));
let n = 0;
const freshPath = () => join(dir, `s${n++}.sock`);

async function echoOver(path: string, text: string): Promise<unknown> {
  const ws = await connect("ws://localhost/chat", { sock: net.connect({ path }) });
  try {
    await ws.send(text);
    return await ws.recv();
  } finally {
    await ws.close();
  }
}

const echo = async (ws: import("../../src/index.js").Connection) => {
  for await (const m of ws) await ws.send(`${ws.request.path} ${ws.remoteAddress ?? "-"} ${m}`);
};

describe("serve({ socketPath })", () => {
  it("serves clients through the socket; the file is a socket while it listens and is gone after close()", async () => {
    const path = freshPath();
    const server = await serve(echo, { socketPath: path, logger: null });
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(server.socketPath).toBe(path);
    expect(() => server.address).toThrow(InvalidState);
    expect(() => server.port).toThrow(/Unix socket .* see server.socketPath/);
    expect(await echoOver(path, "hi")).toBe("/chat - hi");
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it("a Python websockets client reaches it with unix_connect", async () => {
    const path = freshPath();
    servers.push(await serve(echo, { socketPath: path, logger: null }));
    const script = [
      "import asyncio, sys, websockets",
      "async def main():",
      "    async with websockets.unix_connect(sys.argv[1], 'ws://localhost/py') as ws:",
      "        await ws.send('from python')",
      "        print(await ws.recv())",
      "asyncio.run(main())",
    ].join("\n");
    const out = await new Promise<string>((resolve, reject) =>
      execFile("/usr/bin/python3", ["-c", script, path], { timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
    );
    expect(out.trim()).toBe("/py - from python");
  });

  it("replaces a stale socket file that nobody listens on (a server killed before it could remove it)", async () => {
    const path = freshPath();
    // A process that listens, then dies with SIGKILL: its socket file stays.
    const child = spawn(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`]);
    await new Promise((r) => child.once("exit", r));
    expect(lstatSync(path).isSocket()).toBe(true);
    const lines: string[] = [];
    const server = await serve(echo, { socketPath: path, logger: { error: () => undefined, info: (...a: unknown[]) => void lines.push(a.join(" ")) } });
    servers.push(server);
    expect(await echoOver(path, "again")).toBe("/chat - again");
    expect(lines.join("\n")).toContain("removed a stale socket file nobody listened on");
  });

  it("never removes a socket another server listens on: EADDRINUSE, and that server keeps working", async () => {
    const path = freshPath();
    const other = net.createServer((s) => s.end("other\n"));
    others.push(other);
    await new Promise<void>((r) => other.listen(path, r));
    await expect(serve(echo, { socketPath: path, logger: null })).rejects.toMatchObject({ code: "EADDRINUSE" });
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect({ path });
      let text = "";
      c.on("data", (d) => (text += d)).on("end", () => resolve(text));
    });
    expect(reply).toBe("other\n");
  });

  it("never removes a file that is not a socket", async () => {
    const path = freshPath();
    writeFileSync(path, "precious");
    await expect(serve(echo, { socketPath: path, logger: null })).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(readFileSync(path, "utf8")).toBe("precious");
  });

  it("closing with clients connected sends them 1001, then removes the file", async () => {
    const path = freshPath();
    const server = await serve(async (ws) => void (await ws.closed), { socketPath: path, logger: null });
    const ws = await connect("ws://localhost/", { sock: net.connect({ path }) });
    await until(() => server.connections.size === 1);
    await server.close();
    await ws.closed;
    expect(ws.closeCode).toBe(1001);
    expect(existsSync(path)).toBe(false);
  });

  it("refuses socketPath with host or port, with attach, and paths that cannot be one", async () => {
    await expect(serve(echo, { socketPath: freshPath(), port: 80 })).rejects.toThrow(/options.socketPath and options.port do not go together/);
    await expect(serve(echo, { socketPath: freshPath(), host: "127.0.0.1" })).rejects.toThrow(/options.socketPath and options.host/);
    await expect(serve(echo, "127.0.0.1", 0, { socketPath: freshPath() })).rejects.toThrow(/do not go together/);
    await expect(serve(echo, { socketPath: "" })).rejects.toThrow(RangeError);
    await expect(serve(echo, { socketPath: `/tmp/${"x".repeat(120)}.sock` })).rejects.toThrow(/at most 107 bytes/);
    await expect(serve(echo, { socketPath: 3 as never })).rejects.toThrow(TypeError);
    expect(() => attach(null, echo, { socketPath: freshPath() })).toThrow(/socketPath has no effect here: the HTTP server listens/);
  });
});

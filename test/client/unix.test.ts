/**
 * Unix domain sockets: `ws+unix:` URIs and the `socketPath` option, against
 * wavesock's own server attached to an `http.Server` listening on a socket
 * path, against Python `websockets`' `unix_serve`, over TLS, and in the
 * reconnection loop (a socket that appears later).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidURI, attach, connect, processException, serve, type HttpRequest } from "../../src/index.js";
import { parseUnixURI } from "../../src/client/unix.js";
import { runs } from "../interop/collect.js";
import { selfSignedCert } from "../node/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "wavesock-unix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const socketFile = () => join(dir, `s${++n}.sock`);

/** An HTTP server on a Unix socket with wavesock attached: echoes, and says what it saw. */
async function unixServer(path: string, tls?: { key: string; cert: string }) {
  const seen: HttpRequest[] = [];
  const httpServer = tls ? https.createServer(tls) : http.createServer();
  const wss = attach(httpServer, async (ws) => {
    seen.push(ws.request);
    for await (const m of ws) await ws.send(m);
  });
  await new Promise<void>((r) => httpServer.listen(path, r));
  return {
    seen,
    close: async () => {
      await wss.close();
      await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}

describe("parseUnixURI", () => {
  it("splits ws's form at the first colon after the socket path", () => {
    expect(parseUnixURI("ws+unix:///run/app.sock:/chat?room=1")).toEqual({ uri: "ws://localhost/chat?room=1", socketPath: "/run/app.sock" });
    expect(parseUnixURI("ws+unix:/run/app.sock:/chat")).toEqual({ uri: "ws://localhost/chat", socketPath: "/run/app.sock" });
    expect(parseUnixURI("ws+unix:///run/app.sock")).toEqual({ uri: "ws://localhost/", socketPath: "/run/app.sock" });
    expect(parseUnixURI("ws+unix:./app.sock:/x")).toEqual({ uri: "ws://localhost/x", socketPath: "./app.sock" });
    expect(parseUnixURI("ws+unix:///tmp/a%3Ab.sock:/x")).toEqual({ uri: "ws://localhost/x", socketPath: "/tmp/a:b.sock" });
    expect(parseUnixURI("wss+unix:///run/app.sock:/")).toEqual({ uri: "wss://localhost/", socketPath: "/run/app.sock" });
    expect(parseUnixURI("ws+unix:///run/app.sock:?q=1")).toEqual({ uri: "ws://localhost/?q=1", socketPath: "/run/app.sock" });
  });

  it("refuses a host, a fragment, a missing path, a request path without /", () => {
    for (const bad of ["ws+unix://host/run/app.sock", "ws+unix:///a.sock:/x#frag", "ws+unix://", "ws+unix:///a.sock:chat"]) {
      expect(() => parseUnixURI(bad), bad).toThrow(InvalidURI);
    }
  });
});

describe("connect() over a Unix socket", () => {
  it("ws+unix: against serve({ socketPath }) — Python's unix_connect to unix_serve", async () => {
    const path = socketFile();
    const seen: string[] = [];
    const server = await serve(
      async (ws) => {
        seen.push(ws.request.path);
        for await (const m of ws) await ws.send(m);
      },
      { socketPath: path, logger: null },
    );
    try {
      const ws = await connect(`ws+unix://${path}:/chat?x=1`);
      await ws.send("over the socket");
      expect(await ws.recv()).toBe("over the socket");
      await ws.close();
      expect(seen).toEqual(["/chat?x=1"]);
    } finally {
      await server.close();
    }
  });

  it("ws+unix:///path/to.sock:/chat reaches the server listening there, with Host: localhost", async () => {
    const path = socketFile();
    const server = await unixServer(path);
    const ws = await connect(`ws+unix://${path}:/chat?room=1`);
    await ws.send("over a unix socket");
    expect(await ws.recv()).toBe("over a unix socket");
    await ws.close();
    expect(server.seen[0]!.path).toBe("/chat?room=1");
    expect(server.seen[0]!.headers["host"]).toBe("localhost");
    await server.close();
  });

  it("the socketPath option with a ws:// URI (its host goes in Host); not both", async () => {
    const path = socketFile();
    const server = await unixServer(path);
    const ws = await connect("ws://app.internal/feed", { socketPath: path });
    await ws.send("x");
    expect(await ws.recv()).toBe("x");
    await ws.close();
    expect(server.seen[0]!.headers["host"]).toBe("app.internal");
    await expect(connect(`ws+unix://${path}:/`, { socketPath: path })).rejects.toMatchObject({ code: "WS_ERR_INVALID_OPTION" });
    // A Unix socket says how to reach the server: no proxy from the environment, and no proxy option.
    await expect(connect("ws://localhost/", { socketPath: path, proxy: "http://127.0.0.1:3128" })).rejects.toMatchObject({
      code: "WS_ERR_INVALID_OPTION",
    });
    await server.close();
  });

  it("wss+unix: TLS over the Unix socket, verified against the name in the URI", async () => {
    const path = socketFile();
    const pair = selfSignedCert();
    const server = await unixServer(path, pair);
    const ws = await connect(`wss+unix://${path}:/secure`, { tls: { ca: pair.cert } });
    await ws.send("tls");
    expect(await ws.recv()).toBe("tls");
    await ws.close();
    await expect(connect(`wss+unix://${path}:/secure`)).rejects.toMatchObject({ code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    await server.close();
  });

  it("a socket that is not there: ENOENT, which the reconnection loop retries until the server appears", async () => {
    const path = socketFile();
    await expect(connect(`ws+unix://${path}:/`)).rejects.toMatchObject({ code: "ENOENT" });
    const codes: unknown[] = [];
    let server: Awaited<ReturnType<typeof unixServer>> | null = null;
    for await (const ws of connect(`ws+unix://${path}:/late`, {
      backoff: { initialDelay: 10, minDelay: 50, factor: 1 },
      processException: (err) => {
        codes.push((err as { code?: unknown }).code);
        if (codes.length === 3) void unixServer(path).then((s) => (server = s));
        return processException(err);
      },
    })) {
      await ws.send("late");
      expect(await ws.recv()).toBe("late");
      break;
    }
    expect(codes.slice(0, 3)).toEqual(["ENOENT", "ENOENT", "ENOENT"]);
    await (server as { close(): Promise<void> } | null)?.close();
  });
});

const PYTHON = "/usr/bin/python3";
const hasWebsockets = runs(PYTHON, ["-c", "import websockets"]);
const python = hasWebsockets ? describe : describe.skip;

python(`against Python websockets' unix_serve${hasWebsockets ? "" : " — SKIPPED: /usr/bin/python3 has no websockets"}`, () => {
  it("echoes over ws+unix, and sees the request path", async () => {
    const path = socketFile();
    const script = [
      "import asyncio, sys, websockets",
      "async def handler(ws, path):",
      "    await ws.send('path ' + path)",
      "    async for m in ws:",
      "        await ws.send(m)",
      "async def main():",
      "    async with websockets.unix_serve(handler, sys.argv[1]):",
      "        print('listening', flush=True)",
      "        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)",
      "asyncio.run(main())",
    ].join("\n");
    const child = spawn(PYTHON, ["-c", script, path], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe("listening");
      const ws = await connect(`ws+unix://${path}:/py?x=1`);
      expect(await ws.recv()).toBe("path /py?x=1");
      await ws.send("hello python");
      expect(await ws.recv()).toBe("hello python");
      await ws.send(new Uint8Array([1, 2, 3]));
      expect([...((await ws.recv()) as Uint8Array)]).toEqual([1, 2, 3]);
      await ws.close();
      expect(ws.closeCode).toBe(1000);
    } finally {
      child.stdin!.end();
      await new Promise((r) => child.once("exit", r));
    }
  });
});

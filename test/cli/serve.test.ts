/**
 * `wavesock serve --echo | --broadcast`, answered by `ws` clients (a peer
 * nobody here wrote) and by the wavesock command itself.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CLI, CliProcess, killAll, runCli, sh, shell } from "./helpers.js";

afterEach(killAll);

/** Start `wavesock serve ...` on a free port; resolves once it printed its URL. */
async function serveCli(args: string[]): Promise<{ cli: CliProcess; url: string }> {
  const cli = new CliProcess(["serve", "--port", "0", ...args]);
  const match = await cli.waitForStdout(/^listening on (ws:\/\/\S+) /m);
  return { cli, url: match[1]! };
}

/** A `ws` client, open. */
async function wsClient(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe("wavesock serve", () => {
  it("--echo prints its URL and echoes text and binary to a ws client; Ctrl-C closes with 1001 and exits 0", async () => {
    const { cli, url } = await serveCli(["--echo"]);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const ws = await wsClient(`${url}/room`);
    const text = nextMessage(ws);
    ws.send("hello");
    expect(await text).toMatchObject({ isBinary: false });
    expect((await text).data.toString()).toBe("hello");
    const binary = nextMessage(ws);
    ws.send(Buffer.from([0, 1, 2, 255]));
    expect(await binary).toMatchObject({ isBinary: true });
    expect([...(await binary).data]).toEqual([0, 1, 2, 255]);
    await cli.waitForStdout(/127\.0\.0\.1:\d+ connected \/room/);

    const closed = closeOf(ws);
    cli.child.kill("SIGINT");
    expect(await closed).toEqual({ code: 1001, reason: "" });
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout).toContain("SIGINT: closing every connection with 1001 (going away)\n");
    expect(cli.stdout).toMatch(/connected \/room\n[^]*disconnected \(code 1001\)\n[^]*server closed\n$/);
  });

  it("is the default mode, answers the wavesock command in a pipe, and logs the close codes", async () => {
    const { cli, url } = await serveCli([]);
    const run = await shell(`printf 'a\\nb\\n' | ${sh(process.execPath)} ${sh(CLI)} ${url}/piped`);
    expect(run).toMatchObject({ code: 0, stdout: "a\nb\n" });
    await cli.waitForStdout(/disconnected \(code 1000\)/);
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(0);
  });

  it("--broadcast sends every message to every client, the sender too", async () => {
    const { url } = await serveCli(["--broadcast"]);
    const a = await wsClient(url);
    const b = await wsClient(url);
    const toA = nextMessage(a);
    const toB = nextMessage(b);
    a.send("from a");
    expect((await toA).data.toString()).toBe("from a");
    expect((await toB).data.toString()).toBe("from a");
    a.close();
    b.close();
  });

  it("--subprotocol is negotiated; --no-compression declines permessage-deflate", async () => {
    const { url } = await serveCli(["--subprotocol", "chat.v1", "--no-compression"]);
    const ws = await wsClient(url, ["chat.v2", "chat.v1"]);
    expect(ws.protocol).toBe("chat.v1");
    expect(ws.extensions).toBe("");
    ws.close();
    const deflate = await serveCli([]);
    const ws2 = await wsClient(deflate.url);
    expect(ws2.extensions).toMatch(/^permessage-deflate/);
    ws2.close();
  });

  it("a port in use: exit 1 with a clear message", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const run = await runCli(["serve", "--port", String(port)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`wavesock: cannot listen on 127.0.0.1:${port}: the address is in use\n`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("--host ::1 listens on IPv6 and prints a bracketed URL", async () => {
    const { url } = await serveCli(["--host", "::1"]);
    expect(url).toMatch(/^ws:\/\/\[::1\]:\d+$/);
    const ws = await wsClient(url);
    const echoed = nextMessage(ws);
    ws.send("v6");
    expect((await echoed).data.toString()).toBe("v6");
    ws.close();
  });
});

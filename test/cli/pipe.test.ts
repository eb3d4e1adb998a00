/**
 * The client with stdin not a terminal (`printf 'a\nb\n' | wavesock ws://...`),
 * as scripts use it, and the exit codes that say how the connection ended.
 */
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { selfSignedCert } from "../node/helpers.js";
import { CLI, CliProcess, TestServer, echo, killAll, listen, runCli, sh, shell, waitUntil, type Peer } from "./helpers.js";

let servers: TestServer[] = [];
async function start(behave?: (peer: Peer) => Promise<void>, options = {}): Promise<TestServer> {
  const server = await TestServer.start(behave, options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await killAll();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe("piped: stdin lines in, replies out", () => {
  it("printf 'a\\nb\\n' | wavesock ws://echo prints both replies and exits 0 after a normal close", async () => {
    const server = await start(echo);
    const run = await shell(`printf 'a\\nb\\n' | ${sh(process.execPath)} ${sh(CLI)} ${server.url}/pipe`);
    expect(run).toMatchObject({ code: 0, stdout: "a\nb\n", stderr: "" });
    const peer = await server.peer("/pipe");
    expect(peer.received).toEqual(["a", "b"]);
    expect(await peer.closed).toEqual({ code: 1000, reason: "" });
  });

  it("sends each line as it is: empty lines, lines starting with /, CRLF line ends, no final newline", async () => {
    const server = await start(listen);
    const run = await runCli([`${server.url}/raw`], "/ping\r\n\r\n//x\r\nlast");
    expect(run.code).toBe(0);
    expect((await server.peer("/raw")).received).toEqual(["/ping", "", "//x", "last"]);
  });

  it("waits for replies that come late, as long as they come within --wait of each other", async () => {
    const server = await start(async (peer) => {
      for await (const message of peer.ws) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await peer.ws.send(`late ${String(message)}`);
      }
    });
    const run = await runCli(["--wait", "5000", server.url], "a\nb\n");
    expect(run).toMatchObject({ code: 0, stdout: "late a\nlate b\n" });
  });

  it("prints what the server pushes unprompted: text verbatim, binary as a hex preview", async () => {
    const server = await start(async (peer) => {
      await peer.ws.send("welcome\x1b[1m");
      await peer.ws.send(new Uint8Array([1, 2, 255]));
      await listen(peer);
    });
    const run = await runCli([server.url]);
    expect(run).toMatchObject({ code: 0, stdout: "welcome\x1b[1m\n[binary 3 bytes] 01 02 ff\n" });
  });

  it("the server closing first (1000) while stdin is still open ends the command with 0", async () => {
    const server = await start(async (peer) => {
      await peer.ws.send("bye");
      await peer.ws.close(1000);
    });
    const cli = new CliProcess([server.url]); // stdin stays open
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout).toBe("bye\n");
    expect(cli.stderr).toBe("");
  });

  it("a server that stops reading does not make the command buffer stdin without bound, and the close still comes", async () => {
    // 64 KiB lines, 64 MiB in all, to a server that never reads: the command must stop reading stdin.
    const server = await start(async (peer) => {
      peer.ws.socket.pause();
      await peer.ws.closed;
    });
    // Uncompressed: 64 KiB of "x" would deflate to a few bytes.
    const cli = new CliProcess(["--no-compression", server.url]);
    const line = `${"x".repeat(64 * 1024)}\n`;
    let written = 0;
    const stdin = cli.child.stdin!;
    stdin.on("error", () => undefined);
    // Write until the pipe pushes back for good; the command's own buffers must stay bounded.
    for (let i = 0; i < 1024; i++) {
      if (!stdin.write(line)) {
        const drained = await Promise.race([
          new Promise<boolean>((resolve) => stdin.once("drain", () => resolve(true))),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000)),
        ]);
        if (!drained) break;
      }
      written++;
    }
    // Loopback TCP buffers hold a few MiB; 32 MiB would mean the command is buffering.
    expect(written).toBeLessThan(512);
    console.log(`backpressure: stdin blocked after ${written} lines of 64 KiB`);
    // SIGTERM: the close frame cannot get through a full buffer; the socket is dropped after 2 s.
    cli.child.kill("SIGTERM");
    expect((await cli.exited).code).toBe(143);
    // The paused server socket would not notice the client went away until its close timeout.
    (await server.peer("/")).ws.abort();
  });
});

describe("piped output", () => {
  it("a stdout that is not read holds the server back instead of filling the command's memory; every message comes out", async () => {
    const total = 1024; // 64 MiB of 64 KiB messages
    let sent = 0;
    const server = await start(async (peer) => {
      const payload = "z".repeat(64 * 1024);
      for (; sent < total; sent++) await peer.ws.send(payload);
      await listen(peer);
    });
    const cli = new CliProcess(["--no-compression", "--wait", "200", server.url]);
    const stdout = cli.child.stdout!;
    stdout.removeAllListeners("data");
    stdout.pause();
    // Nobody reads: the server's sends must stall well before the end.
    let last = -1;
    await waitUntil(
      () => {
        const stalled = sent === last && sent > 0;
        last = sent;
        return stalled;
      },
      30_000,
      () => "the server never got going",
    ).then(() => new Promise((resolve) => setTimeout(resolve, 3000)));
    expect(sent).toBeLessThan(total / 2);
    console.log(`output backpressure: the server stalled after ${sent} messages of 64 KiB`);
    // Reading again lets everything through, in order.
    let lines = 0;
    let rest = "";
    stdout.setEncoding("utf8").on("data", (s: string) => {
      const parts = (rest + s).split("\n");
      rest = parts.pop()!;
      lines += parts.length;
    });
    stdout.resume();
    cli.child.stdin!.end();
    expect((await cli.exited).code).toBe(0);
    expect(lines).toBe(total);
  });
});

describe("exit codes", () => {
  it("0 when the server goes away (server.close(): 1001) while stdin is still open", async () => {
    const server = await start(listen);
    const cli = new CliProcess([`${server.url}/away`]);
    await server.peer("/away");
    await server.close();
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr).toBe("");
  });

  it("3 when the server closes with another code (4001), and stderr says so", async () => {
    const server = await start(async (peer) => {
      await peer.ws.close(4001, "nope");
    });
    const cli = new CliProcess([server.url]);
    expect((await cli.exited).code).toBe(3);
    expect(cli.stderr).toBe('wavesock: connection closed: code 4001, reason "nope"\n');
  });

  it("4 when the connection is lost without a close frame (1006)", async () => {
    const server = await start(async (peer) => {
      await peer.ws.send("one");
      peer.ws.abort();
    });
    const cli = new CliProcess([server.url]);
    expect((await cli.exited).code).toBe(4);
    expect(cli.stdout).toBe("one\n");
    expect(cli.stderr).toMatch(/connection lost: no close frame from the server \(1006\)/);
  });

  it("130 on SIGINT and 143 on SIGTERM, after closing with 1001", async () => {
    // The server speaks first: once its message is on the CLI's stdout, the
    // CLI is reading (and trapping signals), not still connecting.
    const server = await start(async (peer) => {
      await peer.ws.send("ready");
      await listen(peer);
    });
    for (const [signal, code, path] of [["SIGINT", 130, "/int"], ["SIGTERM", 143, "/term"]] as const) {
      const cli = new CliProcess([`${server.url}${path}`]);
      const peer = await server.peer(path);
      await cli.waitForStdout(/^ready$/m);
      cli.child.kill(signal);
      expect((await cli.exited).code).toBe(code);
      expect((await peer.closed).code).toBe(1001);
    }
  });

  it("1 with a clear message when the connection is refused", async () => {
    const port = await closedPort();
    const run = await runCli([`ws://127.0.0.1:${port}/`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`wavesock: cannot connect to ws://127.0.0.1:${port}/: connection refused (ECONNREFUSED)\n`);
  });

  it("1 when the server answers the handshake with HTTP 404, with the status and the body", async () => {
    const server = await start(echo, {
      processRequest: (conn: { respond: (s: number, t: string) => unknown }) => conn.respond(404, "no such room\n"),
    });
    const run = await runCli([`${server.url}/nowhere`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to .*\/nowhere: the server answered HTTP 404 Not Found instead of switching protocols: no such room\n$/);
  });

  it("1 when the host does not resolve", async () => {
    const run = await runCli(["ws://no-such-host.invalid/"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to ws:\/\/no-such-host\.invalid\/: host (not found|name lookup failed)/);
  });
});

describe("client options, seen by the server", () => {
  it("--header, --subprotocol and --origin go into the handshake; the negotiated subprotocol is used", async () => {
    const server = await start(echo, { subprotocols: ["chat.v2", "chat.v1"] });
    const run = await runCli(
      ["-H", "X-Token: abc", "--header=Cookie: a=1", "--subprotocol", "chat.v1", "-s", "chat.v2", "--origin", "https://example.com", `${server.url}/opts`],
      "hi\n",
    );
    expect(run).toMatchObject({ code: 0, stdout: "hi\n" });
    const { ws } = await server.peer("/opts");
    expect(ws.request.headers).toMatchObject({
      "x-token": "abc",
      cookie: "a=1",
      origin: "https://example.com",
      "sec-websocket-protocol": "chat.v1, chat.v2",
    });
    expect(ws.subprotocol).toBe("chat.v2");
  });

  it("--no-compression offers no extension; by default permessage-deflate is offered", async () => {
    const server = await start(echo);
    await runCli([`${server.url}/plain`, "--no-compression"], "x\n");
    await runCli([`${server.url}/deflate`], "x\n");
    expect((await server.peer("/plain")).ws.request.headers["sec-websocket-extensions"]).toBeUndefined();
    expect((await server.peer("/deflate")).ws.request.headers["sec-websocket-extensions"]).toMatch(/^permessage-deflate/);
  });

  it("wss:// with a self-signed certificate: refused with a hint, accepted with --insecure", async () => {
    const server = await start(echo, { tls: selfSignedCert() });
    const url = `wss://127.0.0.1:${server.server.port}/`;
    const refused = await runCli([url], "x\n");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect to wss:.*: TLS: .*self.signed.* \(--insecure skips certificate verification\)/i);
    const accepted = await runCli(["--insecure", url], "secure\n");
    expect(accepted).toMatchObject({ code: 0, stdout: "secure\n" });
  });

  it("--ping SECONDS sends keepalive pings at that interval (seen by a ws server)", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => wss.once("listening", resolve));
    let pings = 0;
    wss.on("connection", (socket) => socket.on("ping", () => pings++));
    try {
      const port = (wss.address() as { port: number }).port;
      const cli = new CliProcess(["--ping", "0.1", `ws://127.0.0.1:${port}/`]);
      await waitUntil(() => pings >= 3, 15_000, () => `only ${pings} pings arrived`);
      cli.child.stdin!.end();
      expect((await cli.exited).code).toBe(0);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it("a reader that goes away (| head -n 1) ends the command without an internal error", async () => {
    const server = await start(async (peer) => {
      for (let i = 0; i < 2000; i++) await peer.ws.send(`line ${i} ${"y".repeat(200)}`);
      await listen(peer);
    });
    // The command's own exit status goes to stderr: a pipeline's status is head's.
    const run = await shell(`{ ${sh(process.execPath)} ${sh(CLI)} ${server.url} </dev/null; echo "status=$?" >&2; } | head -n 1`, 30_000);
    expect(run.stdout).toMatch(/^line 0 y+\n$/);
    expect(run.stderr).toBe("status=0\n");
    const peer = await server.peer("/");
    expect((await peer.closed).code).toBe(1000);
  });
});

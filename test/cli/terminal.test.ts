/**
 * The interactive client in a real terminal (tmux): what a user types and
 * sees, against a wavesock server started by the test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestServer, echo } from "./helpers.js";
import { HAVE_TMUX, Terminal, killTmuxServer } from "./tmux.js";

if (!HAVE_TMUX) {
  console.warn("test/cli/terminal.test.ts: tmux is not installed (Debian package `tmux`): the real-terminal tests are skipped");
}

describe.skipIf(!HAVE_TMUX)("wavesock ws://... in a terminal (tmux)", () => {
  let server: TestServer;
  let terminals: Terminal[] = [];
  let paths = 0;

  beforeAll(async () => {
    server = await TestServer.start(echo);
  });
  afterEach(() => {
    for (const t of terminals) t.kill();
    terminals = [];
  });
  afterAll(async () => {
    killTmuxServer();
    await server.close();
  });

  /** Open the CLI on a path of its own; resolves once it says it is connected and the server has the connection. */
  async function open(args: string[] = []) {
    const path = `/t${++paths}`;
    const terminal = new Terminal([...args, `${server.url}${path}`]);
    terminals.push(terminal);
    await terminal.waitFor(/\* connected to ws:\/\/\S+/);
    const peer = await server.peer(path);
    return { terminal, peer };
  }

  it("sends what you type and prints the echo with the < marker", async () => {
    const { terminal, peer } = await open();
    terminal.type("hello, server");
    terminal.press("Enter");
    await terminal.waitFor(/^< hello, server$/m);
    const rows = terminal.screen();
    const sent = rows.indexOf("> hello, server");
    expect(sent).toBeGreaterThan(0);
    expect(rows[sent + 1]).toBe("< hello, server");
    expect(peer.received).toEqual(["hello, server"]);
    // And the connection line says what was negotiated.
    expect(rows[0]).toMatch(/^\* connected to ws:\/\/127\.0\.0\.1:\d+\/t\d+ \(permessage-deflate\); \/help lists the commands$/);
  });

  it("keeps a half-typed line intact when a message arrives, on screen and in the line editor", async () => {
    const { terminal, peer } = await open();
    terminal.type("partial inp");
    await terminal.waitFor(/^> partial inp$/m);
    await peer.ws.send("pushed by the server");
    await terminal.waitFor(/^< pushed by the server$/m);
    await terminal.waitFor(/^> partial inp$/m);
    const rows = terminal.screen();
    const pushed = rows.indexOf("< pushed by the server");
    // The message went above the prompt, which was redrawn under it with the partial input.
    expect(rows[pushed + 1]).toBe("> partial inp");
    expect(rows.filter((r) => r.startsWith("> partial"))).toHaveLength(1);
    // Finish the line: what is sent is the whole line, so readline's buffer survived too.
    terminal.type("ut");
    terminal.press("Enter");
    await terminal.waitFor(/^< partial input$/m);
    expect(peer.received).toEqual(["partial input"]);
  });

  it("keeps a pasted partial line that wraps over two rows intact when messages arrive", async () => {
    const { terminal, peer } = await open();
    const long = "w".repeat(150); // "> " + 150 characters: two rows of a 120-column terminal
    terminal.type(long);
    await terminal.waitFor(/^w{32}$/m);
    await peer.ws.send("first");
    await terminal.waitFor(/^< first$/m);
    await peer.ws.send("second");
    await terminal.waitFor(/^< second$/m);
    const rows = terminal.screen();
    const at = rows.indexOf("< second");
    expect(rows[at - 1]).toBe("< first"); // no blank row left between messages
    expect(rows[at + 1]).toBe(`> ${"w".repeat(118)}`);
    expect(rows[at + 2]).toBe("w".repeat(32));
    expect(rows.filter((r) => r.includes("www"))).toHaveLength(2); // drawn once, not left behind
    terminal.press("Enter");
    await terminal.waitFor(/^< w{118}$/m);
    expect(peer.received).toEqual([long]);
  });

  it("/ping prints the round-trip time", async () => {
    const { terminal } = await open();
    terminal.type("/ping");
    terminal.press("Enter");
    const match = await terminal.waitFor(/^\* pong: (\d+\.\d\d) ms$/m);
    expect(Number(match[1])).toBeGreaterThanOrEqual(0);
  });

  it("shows a binary message as its length and a hex preview", async () => {
    const { terminal, peer } = await open();
    await peer.ws.send(Uint8Array.from({ length: 40 }, (_, i) => i));
    const preview = Array.from({ length: 24 }, (_, i) => i.toString(16).padStart(2, "0")).join(" ");
    await terminal.waitFor(new RegExp(`^< \\[binary 40 bytes\\] ${preview} …$`, "m"));
    await peer.ws.send(new Uint8Array([0xde, 0xad]));
    await terminal.waitFor(/^< \[binary 2 bytes\] de ad$/m);
  });

  it("shows control characters from the network escaped, not obeyed", async () => {
    const { terminal, peer } = await open();
    // ESC [ 2 J would clear the screen; ESC ] 0 ; ... BEL would retitle the terminal.
    await peer.ws.send("clear\x1b[2J\x1b]0;owned\x07 done");
    await terminal.waitFor(/^< clear\\x1b\[2J\\x1b\]0;owned\\x07 done$/m);
    expect(terminal.screen()[0]).toMatch(/^\* connected to/); // the screen was not cleared
  });

  it("/close 4000 bye: the server sees 4000 \"bye\" and the command exits with 3", async () => {
    const { terminal, peer } = await open();
    terminal.type("/close 4000 bye");
    terminal.press("Enter");
    expect(await terminal.exitCode()).toBe(3);
    expect(await peer.closed).toEqual({ code: 4000, reason: "bye" });
    expect(terminal.text()).toContain('* connection closed: code 4000, reason "bye"');
  });

  it("/close with a code that may not be sent says so and stays connected", async () => {
    const { terminal, peer } = await open();
    terminal.type("/close 999");
    terminal.press("Enter");
    await terminal.waitFor(/^\* close\(code, reason\): close code 999 may not be sent; use 1000–1003/m);
    expect(peer.ws.state).toBe("open");
    terminal.type("still here");
    terminal.press("Enter");
    await terminal.waitFor(/^< still here$/m);
  });

  it("//x sends \"/x\"; an unknown command is refused without sending", async () => {
    const { terminal, peer } = await open();
    terminal.type("/nope");
    terminal.press("Enter");
    await terminal.waitFor(/^\* unknown command \/nope/m);
    terminal.type("//nope");
    terminal.press("Enter");
    await terminal.waitFor(/^< \/nope$/m);
    expect(peer.received).toEqual(["/nope"]);
  });

  it("Ctrl-D closes with 1000 and exits with 0", async () => {
    const { terminal, peer } = await open();
    terminal.press("C-d");
    expect(await terminal.exitCode()).toBe(0);
    expect(await peer.closed).toEqual({ code: 1000, reason: "" });
    expect(terminal.text()).toMatch(/^\* connection closed: code 1000$/m);
  });

  it("/quit closes with 1000 and exits with 0", async () => {
    const { terminal, peer } = await open();
    terminal.type("/quit");
    terminal.press("Enter");
    expect(await terminal.exitCode()).toBe(0);
    expect((await peer.closed).code).toBe(1000);
  });

  it("Ctrl-C closes with 1001 (going away) and exits with 130", async () => {
    const { terminal, peer } = await open();
    terminal.type("half a line");
    terminal.press("C-c");
    expect(await terminal.exitCode()).toBe(130);
    expect((await peer.closed).code).toBe(1001);
  });

  it("a server that closes with 1011 ends the session with exit code 3 and says why", async () => {
    const { terminal, peer } = await open();
    await peer.ws.close(1011, "server broke");
    expect(await terminal.exitCode()).toBe(3);
    expect(terminal.text()).toContain('* connection closed: code 1011, reason "server broke"');
  });

  it("Tab completes a command", async () => {
    const { terminal } = await open();
    terminal.type("/pi");
    terminal.press("Tab");
    await terminal.waitFor(/^> \/ping$/m);
    terminal.press("Enter");
    await terminal.waitFor(/^\* pong: /m);
  });
});

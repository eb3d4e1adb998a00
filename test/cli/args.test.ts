/**
 * The command line: what each option means, what is refused (exit code 2,
 * with a message naming the option and what was given), help and version.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULTS, UsageError, parseArgs } from "../../src/cli/args.js";
import { ROOT, runCli } from "./helpers.js";

function usageError(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

describe("parseArgs: the client", () => {
  it("reads every option, in any order around the URI, as --name value, --name=value and short forms", () => {
    expect(
      parseArgs([
        "-H", "X-A: 1", "ws://h:1/p", "--header=Cookie: c=1; d=2", "--subprotocol", "a", "-s", "b",
        "-o", "https://o.example", "-k", "--no-compression", "--ping", "2.5", "--wait=300",
      ]),
    ).toEqual({
      kind: "client",
      uri: "ws://h:1/p",
      headers: [["X-A", "1"], ["Cookie", "c=1; d=2"]],
      subprotocols: ["a", "b"],
      origin: "https://o.example",
      insecure: true,
      compression: false,
      pingInterval: 2500,
      waitMs: 300,
    });
  });

  it("has defaults: no extra headers, compression on, the library's keepalive, --wait 1000", () => {
    expect(parseArgs(["wss://h/"])).toEqual({
      kind: "client", uri: "wss://h/", headers: [], subprotocols: [], origin: null,
      insecure: false, compression: true, pingInterval: undefined, waitMs: DEFAULTS.waitMs,
    });
    expect(DEFAULTS.waitMs).toBe(1000);
  });

  it("--ping 0 turns keepalive off; fractions of a second are allowed", () => {
    expect(parseArgs(["--ping", "0", "ws://h"])).toMatchObject({ pingInterval: null });
    expect(parseArgs(["--ping", ".25", "ws://h"])).toMatchObject({ pingInterval: 250 });
  });

  it("-- ends the options", () => {
    expect(parseArgs(["--", "ws://h/--ping"])).toMatchObject({ uri: "ws://h/--ping" });
  });

  it("--help and --version win over the other options and their values", () => {
    expect(parseArgs(["--ping", "soon", "-h"])).toEqual({ kind: "help", topic: "client" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
    expect(parseArgs(["serve", "--help"])).toEqual({ kind: "help", topic: "serve" });
  });

  it("refuses what it cannot use, naming the option and the value", () => {
    expect(usageError(["--bogus", "ws://h"])).toBe("unknown option --bogus");
    expect(usageError(["-x", "ws://h"])).toBe("unknown option -x");
    expect(usageError([])).toMatch(/^missing the URI/);
    expect(usageError(["ws://a", "ws://b"])).toBe('one URI expected, got 2: "ws://a" "ws://b"');
    expect(usageError(["http://h/"])).toBe('the URI must start with ws:// or wss://, got "http://h/"');
    expect(usageError(["localhost:8765"])).toMatch(/must start with ws:\/\//);
    expect(usageError(["ws://h", "--header"])).toBe("--header needs a value");
    expect(usageError(["ws://h", "--header", "novalue"])).toBe('--header expects "Name: value", got "novalue"');
    expect(usageError(["ws://h", "--header", "Bad Name: v"])).toBe('--header: invalid header name "Bad Name"');
    expect(usageError(["ws://h", "--header", "X: a\r\nInjected: 1"])).toMatch(/may not contain CR, LF or NUL/);
    expect(usageError(["ws://h", "--subprotocol", "a b"])).toMatch(/not a valid subprotocol name/);
    expect(usageError(["ws://h", "--ping", "abc"])).toBe('--ping expects a number of seconds ≥ 0 (0 turns keepalive off), got "abc"');
    expect(usageError(["ws://h", "--ping", "-1"])).toMatch(/^--ping expects/);
    expect(usageError(["ws://h", "--ping", "1e9"])).toMatch(/^--ping expects/);
    expect(usageError(["ws://h", "--ping", "9999999"])).toMatch(/at most 2147483 seconds/);
    expect(usageError(["ws://h", "--wait", "1.5"])).toBe('--wait expects milliseconds from 0 to 2147483647, got "1.5"');
    expect(usageError(["ws://h", "--insecure=yes"])).toBe('--insecure takes no value (got "yes")');
  });
});

describe("parseArgs: serve", () => {
  it("defaults to --echo on 127.0.0.1:8765", () => {
    expect(parseArgs(["serve"])).toEqual({ kind: "serve", mode: "echo", host: "127.0.0.1", port: 8765, subprotocols: [], compression: true });
  });

  it("reads --broadcast, --host, --port, --subprotocol, --no-compression", () => {
    expect(parseArgs(["serve", "--broadcast", "--host", "::1", "-p", "0", "-s", "chat", "--no-compression"])).toEqual({
      kind: "serve", mode: "broadcast", host: "::1", port: 0, subprotocols: ["chat"], compression: false,
    });
  });

  it("refuses bad values and client options", () => {
    expect(usageError(["serve", "--port", "65536"])).toBe('--port expects a port number from 0 to 65535, got "65536"');
    expect(usageError(["serve", "--port", "http"])).toMatch(/^--port expects a port number/);
    expect(usageError(["serve", "--echo", "--broadcast"])).toBe("serve takes one of --echo and --broadcast, not both");
    expect(usageError(["serve", "--header", "X: y"])).toBe("unknown option --header for serve");
    expect(usageError(["serve", "ws://h"])).toBe('serve takes no arguments, got "ws://h"');
  });
});

describe("the command: usage errors exit with 2 and say what is wrong on stderr", () => {
  it.each([
    [["--bogus", "ws://127.0.0.1:1/"], /^wavesock: unknown option --bogus\nTry 'wavesock --help' for the options\.\n$/],
    [[], /^wavesock: missing the URI/],
    [["--ping", "soon", "ws://127.0.0.1:1/"], /^wavesock: --ping expects a number of seconds/],
    [["serve", "--port", "99999"], /^wavesock: --port expects a port number from 0 to 65535, got "99999"\nTry 'wavesock serve --help'/],
    // Refused by connect() before any byte is sent: still a usage error.
    [["--header", "Upgrade: h2c", "ws://127.0.0.1:1/"], /^wavesock: connect\(\): options.headers may not set Upgrade: the handshake sets it$/m],
    [["ws://127.0.0.1:1/#fragment"], /^wavesock: WebSocket URIs must not have a fragment/],
  ])("wavesock %j", async (args, stderr) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(stderr);
  });

  it("--help prints the usage, with the exit codes, and exits with 0", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: wavesock \[options\] <ws:\/\/host:port\/path/);
    expect(run.stdout).toContain("Exit codes: 0 normal close");
    const serve = await runCli(["serve", "--help"]);
    expect(serve).toMatchObject({ code: 0 });
    expect(serve.stdout).toMatch(/^Usage: wavesock serve/);
  });

  it("--version prints the version of package.json", async () => {
    const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version: string };
    expect(await runCli(["--version"])).toMatchObject({ code: 0, stdout: `wavesock ${version}\n`, stderr: "" });
  });
});

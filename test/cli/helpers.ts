/**
 * Running the `wavesock` command as its users do — `node dist/cli/main.js`
 * in a child process, through a shell pipe, or in a real terminal (tmux) —
 * against a wavesock server that the test controls.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConnectionClosed, serve, type Connection, type Data, type Server, type ServerOptions } from "../../src/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The command as built by `npm run build`. */
export const CLI = `${ROOT}dist/cli/main.js`;

/** The tests run the built command: dist/ must exist. */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error("dist/cli/main.js is missing: run `npm run build` before the CLI tests");
}

/** Quote for a POSIX shell. */
export function sh(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** How a run of the command ended. */
export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a shell command line (e.g. `printf 'a\nb\n' | node dist/cli/main.js ws://...`) to its end. */
export function shell(commandLine: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile("sh", ["-c", commandLine], { cwd: ROOT, timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({
        code: e === null ? 0 : typeof e.code === "number" ? e.code : null,
        signal: e?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** `node dist/cli/main.js ...args` through the shell, stdin from `input` (printf'd) or /dev/null. */
export function runCli(args: string[], input?: string): Promise<Run> {
  assertBuilt();
  const command = `${sh(process.execPath)} ${sh(CLI)} ${args.map(sh).join(" ")}`;
  return shell(input === undefined ? `${command} </dev/null` : `printf '%s' ${sh(input)} | ${command}`);
}

/** The command running with its stdin, stdout and stderr as pipes the test holds. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    assertBuilt();
    this.child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
    running.add(this);
    void this.exited.then(() => running.delete(this));
  }

  /** Wait until stdout matches `pattern`. */
  async waitForStdout(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitUntil(() => this.stdout.match(pattern), timeoutMs, () => `stdout never matched ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
  }
}

const running = new Set<CliProcess>();

/** Kill every command still running (afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (p) => {
      p.child.kill("SIGKILL");
      await p.exited;
    }),
  );
}

/** Poll `probe` (every 50 ms, or sooner when woken) until it returns something truthy. */
export async function waitUntil<T>(probe: () => T | null | undefined | false, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A connection the test server accepted, with what it received and how it closed. */
export interface Peer {
  ws: Connection;
  path: string;
  received: Data[];
  /** Resolves with the close the server saw (the client's close frame). */
  closed: Promise<{ code: number | undefined; reason: string | undefined }>;
}

/**
 * A wavesock server on 127.0.0.1 that records every connection; `behave`
 * decides what a connection does (default: echo).
 */
export class TestServer {
  readonly peers: Peer[] = [];
  private constructor(readonly server: Server) {}

  static async start(
    behave: (peer: Peer) => Promise<void> = echo,
    options: ServerOptions = {},
  ): Promise<TestServer> {
    let self: TestServer | null = null;
    const server = await serve(
      async (ws) => {
        const peer: Peer = {
          ws,
          path: ws.request.path,
          received: [],
          closed: ws.closed.then(() => ({ code: ws.closeCode, reason: ws.closeReason })),
        };
        self!.peers.push(peer);
        try {
          await behave(peer);
        } catch (err) {
          if (!(err instanceof ConnectionClosed)) throw err;
        }
      },
      { host: "127.0.0.1", port: 0, logger: null, ...options },
    );
    self = new TestServer(server);
    return self;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.server.port}`;
  }

  /** The connection on `path`, once it is open. */
  peer(path: string, timeoutMs = 15_000): Promise<Peer> {
    return waitUntil(() => this.peers.find((p) => p.path === path), timeoutMs, () => `no connection on ${path}`);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** Echo every message back, recording it. */
export async function echo(peer: Peer): Promise<void> {
  for await (const message of peer.ws) {
    peer.received.push(message);
    await peer.ws.send(message);
  }
}

/** Record every message, answer nothing. */
export async function listen(peer: Peer): Promise<void> {
  for await (const message of peer.ws) peer.received.push(message);
}

/** Whether a program is on PATH. */
export function has(program: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Running the examples as their users do: `node examples/<file>.js`, in a
 * child process, with PORT=0 so that tests never fight over ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConnectionClosed, type Connection, type Data } from "../../src/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

/** The examples import "wavesock", which resolves to dist/: it must be built. */
export function assertBuilt(): void {
  if (!existsSync(`${ROOT}dist/index.js`)) throw new Error("dist/ is missing: run `npm run build` before the example tests");
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<Example>();

/** An example running in a child process, with its output collected. */
export class Example {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  private waiters: (() => void)[] = [];

  private constructor(file: string, env: Record<string, string>) {
    assertBuilt();
    this.child = spawn(process.execPath, [`${EXAMPLES}${file}`], {
      cwd: ROOT,
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
      this.wake();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      this.stderr += s;
      this.wake();
    });
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        running.delete(this);
        this.wake();
        resolve({ code, signal });
      }),
    );
    running.add(this);
  }

  /** Start `examples/<file>` with these extra environment variables. */
  static start(file: string, env: Record<string, string> = {}): Example {
    return new Example(file, env);
  }

  /** Start a server example and wait for the port it prints. */
  static async server(file: string, env: Record<string, string> = {}): Promise<{ example: Example; port: number }> {
    const example = new Example(file, env);
    const match = await example.waitFor(/listening on \w+:\/\/\S+?:(\d+)/);
    return { example, port: Number(match[1]) };
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until stdout matches `pattern`; fails early if the process exits first. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the example exited before printing ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Send `signal` and wait for the process to exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return withTimeout(this.exited, timeoutMs, `the example did not exit after ${signal}\nstdout:\n${this.stdout}`);
  }
}

/** Kill every example still running (for afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (example) => {
      example.child.kill("SIGKILL");
      await example.exited;
    }),
  );
}

/** Reject with `message` if `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Receive until a message satisfies `accept`, and return it (the others are dropped). */
export async function recvUntil(ws: Connection, accept: (message: Data) => boolean, timeoutMs = 10_000): Promise<Data> {
  return withTimeout(
    (async () => {
      for (;;) {
        const message = await ws.recv();
        if (accept(message)) return message;
      }
    })(),
    timeoutMs,
    "timed out waiting for a message",
  );
}

/** Receive JSON messages until one satisfies `accept`. */
export async function recvJSONUntil<T = Record<string, unknown>>(
  ws: Connection,
  accept: (message: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const raw = await recvUntil(ws, (m) => typeof m === "string" && accept(JSON.parse(m) as T), timeoutMs);
  return JSON.parse(raw as string) as T;
}

/** Close, ignoring a connection that is already gone. */
export async function closeQuietly(ws: Connection | undefined): Promise<void> {
  if (ws === undefined) return;
  await ws.close().catch((err: unknown) => {
    if (!(err instanceof ConnectionClosed)) throw err;
  });
}

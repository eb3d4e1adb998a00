/**
 * The engines the scenarios (scenarios.js) run in, each driven the same way:
 * wavesock's classes in this process, headless Chromium's natives in a page
 * served by the scenario server, and Node's built-in client (undici) in a
 * child process (`--experimental-websocket` on Node 20). Logs come back as
 * JSON, normalised so that they compare across engines.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { WebSocket, WebSocketStream, WebSocketStreamError } from "../../src/index.js";
import { runs } from "../interop/collect.js";
import { run } from "./scenarios.js";

/** What a scenario is given besides the classes. */
export interface ScenarioContext {
  base: string;
  closedUrl: string;
}

/** A scenario's log, as JSON would carry it. */
export type Log = unknown[];

/** JSON round trip: what every engine's log goes through. */
function normalise(log: unknown): Log {
  return JSON.parse(JSON.stringify(log)) as Log;
}

/** Run `name` with wavesock's classes. */
export async function runOurs(name: string, ctx: ScenarioContext): Promise<Log> {
  return normalise(await run(name, { ...ctx, WebSocket, WebSocketStream, WebSocketError: WebSocketStreamError }));
}

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

/** Headless Chromium with one page on the scenario server's origin. */
export class ChromiumEngine {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
  ) {}

  static async start(httpBase: string): Promise<ChromiumEngine> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${httpBase}/`);
    return new ChromiumEngine(browser, page);
  }

  /** Run `name` with the page's own `WebSocket`, `WebSocketStream` and `WebSocketError`. */
  async run(name: string, ctx: ScenarioContext): Promise<Log> {
    // A string, not a function: the test's own code is transformed by vitest
    // (its import() would not exist in the page).
    const log = await this.page.evaluate(`(async () => {
      const m = await import("/scenarios.js");
      return m.run(${JSON.stringify(name)}, { ...${JSON.stringify(ctx)}, WebSocket, WebSocketStream, WebSocketError });
    })()`);
    return normalise(log);
  }

  async stop(): Promise<void> {
    await this.browser.close();
  }
}

const RUNNER = fileURLToPath(new URL("undici-runner.mjs", import.meta.url));
const PROBE = "process.exit(typeof WebSocket === 'function' ? 0 : 1)";

/** The node flags that give a global WebSocket (none needed from Node 22), or null. */
export const undiciFlags: string[] | null = [["--experimental-websocket"], []].find((flags) => runs(process.execPath, [...flags, "-e", PROBE])) ?? null;

/** Node's built-in WebSocket client in a child process, one scenario at a time. */
export class UndiciEngine {
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (log: Log) => void; reject: (err: Error) => void }>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const reply = JSON.parse(line) as { id: number; log?: Log; error?: string };
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (reply.error !== undefined) w?.reject(new Error(`undici runner: ${reply.error}`));
      else w?.resolve(reply.log!);
    });
  }

  static start(): UndiciEngine {
    if (undiciFlags === null) throw new Error("no global WebSocket in this Node");
    return new UndiciEngine(spawn(process.execPath, [...undiciFlags, "--no-warnings", RUNNER], { stdio: ["pipe", "pipe", "pipe"] }));
  }

  run(name: string, ctx: ScenarioContext): Promise<Log> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, name, ctx })}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

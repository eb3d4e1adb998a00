/**
 * `wavesock ws://...`: the client sessions of the command — interactive
 * (a prompt on a terminal) and piped (stdin lines in, replies out, for
 * scripts) — from connecting to the exit code that says how the connection
 * ended.
 */
import * as readline from "node:readline";
import { ConnectionClosed, InvalidURI, connect, type Connection, type ConnectOptions, type Data } from "../index.js";
import { PROMPT_HELP, type ClientCommand } from "./args.js";
import { ExitCode, exitCodeForClose } from "./exit-codes.js";
import { describeClose, describeConnectError, renderIncoming, renderPlain } from "./format.js";
import { Prompt } from "./prompt.js";

/** The process streams a session uses (the real ones, in the command). */
export interface Stdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** The prompt's commands, for Tab completion. */
const COMMANDS = ["/ping", "/close", "/quit", "/help"];

/** How long a closing handshake started by Ctrl-C / SIGTERM may take before the socket is dropped. */
const INTERRUPT_CLOSE_MS = 2000;
/** Piped input: how long to wait for the pong that says the server has read every line. */
const SETTLE_PONG_MS = 10_000;

function connectOptions(command: ClientCommand): ConnectOptions {
  const options: ConnectOptions = {};
  if (command.headers.length > 0) options.headers = command.headers;
  if (command.subprotocols.length > 0) options.subprotocols = command.subprotocols;
  if (command.origin !== null) options.origin = command.origin;
  if (command.insecure) options.tls = { rejectUnauthorized: false };
  if (!command.compression) options.compression = null;
  if (command.pingInterval !== undefined) options.pingInterval = command.pingInterval;
  return options;
}

/**
 * Run a client session and resolve with the exit code: interactive when
 * stdin and stdout are terminals, piped otherwise.
 */
export async function runClient(command: ClientCommand, stdio: Stdio): Promise<number> {
  let ws: Connection;
  try {
    ws = await connect(command.uri, connectOptions(command));
  } catch (err) {
    // Caught before any byte was sent: a URI or an option `connect` cannot use.
    if (err instanceof InvalidURI || err instanceof TypeError) {
      stdio.stderr.write(`wavesock: ${err.message}\n`);
      return ExitCode.USAGE;
    }
    stdio.stderr.write(`wavesock: cannot connect to ${command.uri}: ${describeConnectError(err)}\n`);
    return ExitCode.CONNECT_FAILED;
  }
  const session = new Session(ws, stdio);
  const interactive = stdio.stdin.isTTY === true && stdio.stdout.isTTY === true;
  return interactive ? session.interactive(command) : session.piped(command);
}

/** One connection and the signals that end it. */
class Session {
  /** Set by a signal: the exit code wins over the one the close would give. */
  private interruptedWith: number | null = null;
  private onMessage: (() => void) | null = null;

  constructor(
    private readonly ws: Connection,
    private readonly stdio: Stdio,
  ) {}

  /** Print every message with `show` (waiting when it returns a promise) until the connection closes; resolve with how it closed. */
  private async readAll(show: (message: Data) => void | Promise<void>): Promise<ConnectionClosed> {
    for (;;) {
      let message: Data;
      try {
        message = await this.ws.recv();
      } catch (err) {
        if (err instanceof ConnectionClosed) return err;
        throw err;
      }
      this.onMessage?.();
      // A promise: the output is full. Not reading meanwhile holds the
      // server back (maxQueue, then TCP) instead of buffering here.
      await show(message);
    }
  }

  /** Close with 1001 (going away) and make sure the socket is gone soon. */
  private interrupt(exitCode: number): void {
    if (this.interruptedWith !== null) {
      // A second Ctrl-C: don't wait for the server any longer.
      this.ws.abort();
      return;
    }
    this.interruptedWith = exitCode;
    if (this.ws.state === "open") void this.ws.close(1001).catch(() => undefined);
    const timer = setTimeout(() => this.ws.abort(), INTERRUPT_CLOSE_MS);
    timer.unref();
  }

  /** SIGINT (when not read by the prompt) and SIGTERM close with 1001; removed when the session ends. */
  private trapSignals(): () => void {
    const onInt = () => this.interrupt(ExitCode.SIGINT);
    const onTerm = () => this.interrupt(ExitCode.SIGTERM);
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    return () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    };
  }

  private exitCode(closed: ConnectionClosed): number {
    return this.interruptedWith ?? exitCodeForClose(closed);
  }

  // ------------------------------------------------------------ interactive

  /** The prompt: lines are sent, `/commands` run, messages print above what you type. */
  async interactive(command: ClientCommand): Promise<number> {
    const ws = this.ws;
    const untrap = this.trapSignals();
    const prompt = new Prompt(this.stdio.stdin, this.stdio.stdout, {
      line: (line) => this.onLine(line, prompt),
      end: () => {
        if (ws.state === "open") void ws.close(1000).catch(() => undefined);
      },
      interrupt: () => this.interrupt(ExitCode.SIGINT),
    }, COMMANDS);
    const details = [
      ws.subprotocol !== null ? `subprotocol ${ws.subprotocol}` : "",
      /permessage-deflate/i.test(ws.response.headers["sec-websocket-extensions"] ?? "") ? "permessage-deflate" : "",
    ].filter(Boolean);
    prompt.print(`* connected to ${command.uri}${details.length ? ` (${details.join(", ")})` : ""}; /help lists the commands`);
    try {
      const closed = await this.readAll((message) => prompt.print(renderIncoming(message)));
      prompt.close(`* ${describeClose(closed)}`);
      return this.exitCode(closed);
    } finally {
      prompt.close();
      untrap();
    }
  }

  private onLine(line: string, prompt: Prompt): void {
    const ws = this.ws;
    const report = (err: unknown) => {
      if (err instanceof ConnectionClosed) return; // the reader says how it closed
      prompt.print(`* ${err instanceof Error ? err.message : String(err)}`);
    };
    if (!line.startsWith("/") || line.startsWith("//")) {
      if (ws.state !== "open") return prompt.print("* not sent: the connection is closing");
      ws.send(line.startsWith("//") ? line.slice(1) : line).catch(report);
      return;
    }
    const space = line.indexOf(" ");
    const name = space === -1 ? line : line.slice(0, space);
    const rest = space === -1 ? "" : line.slice(space + 1);
    switch (name) {
      case "/ping":
        ws.ping(rest === "" ? undefined : rest).then((ms) => prompt.print(`* pong: ${ms.toFixed(2)} ms`), report);
        return;
      case "/close": {
        const match = /^\s*(\d+)?(?:\s+(.*))?$/s.exec(rest);
        if (match === null) return prompt.print(`* usage: /close [code] [reason], e.g. /close 4000 bye`);
        const code = match[1] === undefined ? 1000 : Number(match[1]);
        const reason = match[2] ?? "";
        // A code that may not be sent (999, 1005...) rejects with InvalidState: reported, still open.
        ws.close(code, reason).catch(report);
        return;
      }
      case "/quit":
        ws.close(1000).catch(report);
        return;
      case "/help":
        prompt.print(PROMPT_HELP.map((l) => `* ${l}`).join("\n"));
        return;
      default:
        prompt.print(`* unknown command ${name}; /help lists them (//${name.slice(1)} sends "${name}")`);
    }
  }

  // ----------------------------------------------------------------- piped

  /**
   * Every stdin line is sent as a text message; messages print one per line
   * on stdout (no prompt, no escape sequences). When stdin ends: wait for
   * the pong of a ping (the server has read every line), then until no
   * message has arrived for `waitMs`, then close with 1000.
   */
  async piped(command: ClientCommand): Promise<number> {
    const ws = this.ws;
    const { stdin, stdout, stderr } = this.stdio;
    const untrap = this.trapSignals();
    // A reader that went away (`| head -1`): stop, close normally.
    stdout.on("error", () => {
      if (ws.state === "open") void ws.close(1000).catch(() => undefined);
    });
    const done = this.readAll((message) => {
      if (stdout.destroyed || stdout.write(`${renderPlain(message)}\n`)) return;
      return new Promise<void>((resolve) => {
        const go = () => {
          stdout.off("drain", go).off("error", go).off("close", go);
          resolve();
        };
        stdout.on("drain", go).on("error", go).on("close", go);
      });
    });
    const lines = new LineReader(stdin);
    void done.then(() => lines.close(), () => lines.close());
    try {
      try {
        for (let line = await lines.next(); line !== null; line = await lines.next()) {
          if (ws.state !== "open" || this.interruptedWith !== null) break;
          await ws.send(line);
        }
      } catch (err) {
        if (!(err instanceof ConnectionClosed)) throw err;
      }
      lines.close();
      if (ws.state === "open" && this.interruptedWith === null) {
        await this.settle(command.waitMs);
        if (ws.state === "open" && this.interruptedWith === null) await ws.close(1000).catch(() => undefined);
      }
      const closed = await done;
      if (this.interruptedWith === null && exitCodeForClose(closed) !== ExitCode.OK) stderr.write(`wavesock: ${describeClose(closed)}\n`);
      return this.exitCode(closed);
    } finally {
      lines.close();
      untrap();
    }
  }

  /** Resolve once the server has answered a ping and then sent nothing for `quietMs` (or closed). */
  private async settle(quietMs: number): Promise<void> {
    const ws = this.ws;
    let timer: NodeJS.Timeout | undefined;
    const closed = ws.closed;
    await Promise.race([
      ws.ping().catch(() => undefined),
      closed,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SETTLE_PONG_MS);
      }),
    ]);
    clearTimeout(timer);
    if (ws.state !== "open" || quietMs === 0) return;
    await Promise.race([
      closed,
      new Promise<void>((resolve) => {
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(resolve, quietMs);
        };
        this.onMessage = arm;
        arm();
      }),
    ]);
    clearTimeout(timer);
    this.onMessage = null;
  }
}

/**
 * Lines of a stream, read only as fast as they are taken: at most a chunk's
 * worth plus {@link LineReader.HIGH} lines wait in memory. (Readline's own
 * async iterator queues up to 1,024 lines of any length before it pauses
 * the stream.)
 */
class LineReader {
  static readonly HIGH = 16;
  private readonly rl: readline.Interface;
  private readonly queue: string[] = [];
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(input: NodeJS.ReadableStream) {
    this.rl = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
    this.rl.on("line", (line) => {
      this.queue.push(line);
      if (this.queue.length >= LineReader.HIGH) this.rl.pause();
      this.wake?.();
    });
    this.rl.on("close", () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** The next line, or null once the input ended (or {@link close} was called). */
  async next(): Promise<string | null> {
    while (this.queue.length === 0) {
      if (this.ended) return null;
      this.rl.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    const line = this.queue.shift()!;
    if (this.queue.length < LineReader.HIGH / 4) this.rl.resume();
    return line;
  }

  close(): void {
    this.ended = true;
    this.rl.close();
    this.wake?.();
  }
}

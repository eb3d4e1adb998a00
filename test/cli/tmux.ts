/**
 * A real terminal for the CLI tests: a detached tmux session of 120×40
 * that runs a command, takes keystrokes (`send-keys`) and shows its screen
 * (`capture-pane`). Each test file uses a tmux server of its own (`-L`), so
 * nothing here touches anybody else's sessions.
 */
import { execFileSync } from "node:child_process";
import { CLI, ROOT, assertBuilt, has, sh, waitUntil } from "./helpers.js";

/** True when tmux is installed (Debian package `tmux`; .ci/run installs it). */
export const HAVE_TMUX = has("tmux");

const SOCKET = `wavesock-cli-test-${process.pid}`;
let sessions = 0;

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8", cwd: ROOT });
}

let keeper = false;

/**
 * A session that lives as long as the file's tests: without one, killing a
 * test's session (the last one) makes the tmux server exit, and the next
 * test's new-session can race with that exit ("server exited unexpectedly").
 */
function ensureServer(): void {
  if (keeper) return;
  tmux("new-session", "-d", "-s", "keeper", "sleep", "3600");
  keeper = true;
}

/** One tmux session running `wavesock ...args`; the pane prints `[exit N]` when the command ends. */
export class Terminal {
  readonly name: string;

  constructor(args: string[]) {
    assertBuilt();
    ensureServer();
    this.name = `cli${++sessions}`;
    const command = `${sh(process.execPath)} ${sh(CLI)} ${args.map(sh).join(" ")}; echo "[exit $?]"; sleep 600`;
    tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", this.name, "sh", "-c", command);
  }

  /** Type `text` as literal keys (one write, like a paste). */
  type(text: string): void {
    tmux("send-keys", "-t", this.name, "-l", text);
  }

  /** Press keys by tmux name: `Enter`, `C-d`, `C-c`, `Left`... */
  press(...keys: string[]): void {
    tmux("send-keys", "-t", this.name, ...keys);
  }

  /** The screen, one string per row, trailing blanks removed. */
  screen(): string[] {
    return tmux("capture-pane", "-p", "-t", this.name)
      .split("\n")
      .map((row) => row.trimEnd());
  }

  /** The screen as text (rows joined by "\n", trailing empty rows removed). */
  text(): string {
    return this.screen().join("\n").trimEnd();
  }

  /** Wait until the screen matches `pattern`; returns the match. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return waitUntil(() => this.text().match(pattern), timeoutMs, () => `the screen never matched ${pattern}; it shows:\n${this.text()}`);
  }

  /** Wait for the command to end; resolves with its exit code. */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    const match = await this.waitFor(/\[exit (\d+)\]/, timeoutMs);
    return Number(match[1]);
  }

  kill(): void {
    try {
      tmux("kill-session", "-t", this.name);
    } catch {
      // already gone
    }
  }
}

/** Stop this file's tmux server (afterAll). */
export function killTmuxServer(): void {
  if (!keeper) return;
  keeper = false;
  try {
    tmux("kill-server");
  } catch {
    // no server was started
  }
}

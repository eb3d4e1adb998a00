/**
 * The interactive prompt: a `node:readline` line editor whose partial input
 * survives output. A message that arrives while you type is printed above
 * the prompt: the prompt and what was typed so far (even when it wraps over
 * several rows) are erased, the message is written, and the prompt is drawn
 * again with the same text and cursor position.
 */
import * as readline from "node:readline";

/** What the prompt reports. */
export interface PromptHandlers {
  /** A line was entered (without its line break). */
  line(line: string): void;
  /** Ctrl-D on an empty line (or the input ended): the user is done. */
  end(): void;
  /** Ctrl-C. */
  interrupt(): void;
}

/** A readline prompt on a terminal that keeps what you are typing while output arrives. */
export class Prompt {
  private readonly rl: readline.Interface;
  private readonly output: NodeJS.WriteStream;
  private open = true;

  /**
   * @param commands completed with Tab at the start of a line (`/pi` → `/ping`).
   */
  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream, handlers: PromptHandlers, commands: readonly string[] = [], prompt = "> ") {
    this.output = output;
    const completer = (line: string): [string[], string] => {
      if (!line.startsWith("/") || line.includes(" ")) return [[], line];
      return [commands.filter((c) => c.startsWith(line)), line];
    };
    this.rl = readline.createInterface({ input, output, terminal: true, prompt, historySize: 200, completer });
    this.rl.on("line", (line) => {
      handlers.line(line);
      if (this.open) this.rl.prompt();
    });
    this.rl.on("SIGINT", () => handlers.interrupt());
    this.rl.on("close", () => {
      if (!this.open) return;
      // Ctrl-D: leave the terminal with no half-drawn prompt.
      this.open = false;
      this.erase();
      handlers.end();
    });
    this.rl.prompt();
  }

  /**
   * Erase the prompt and the input under it (on as many rows as the input
   * wraps over); the cursor ends at the start of the prompt's first row.
   */
  private erase(): void {
    const { rows } = this.rl.getCursorPos();
    if (rows > 0) readline.moveCursor(this.output, 0, -rows);
    readline.cursorTo(this.output, 0);
    readline.clearScreenDown(this.output);
  }

  /** Print `text` (one or more lines) above the prompt, then redraw the prompt with the partial input. */
  print(text: string): void {
    if (!this.open) {
      this.output.write(`${text}\n`);
      return;
    }
    // Readline's redraw first climbs as many rows as it believes the cursor
    // is below the prompt's first row (its `prevRows`, which it does not
    // update for pasted input), then clears down: give it that many blank
    // rows to climb, so that it lands just under the text rather than on it.
    const prev = (this.rl as unknown as { prevRows?: unknown }).prevRows;
    const climb = typeof prev === "number" && prev >= 0 ? prev : this.rl.getCursorPos().rows;
    this.erase();
    this.output.write(`${text}\n${"\n".repeat(climb)}`);
    this.rl.prompt(true);
  }

  /** Print `text` for the last time and give the terminal back (cooked mode, no prompt). */
  close(text?: string): void {
    if (this.open) {
      this.open = false;
      this.erase();
      this.rl.close();
    }
    if (text !== undefined) this.output.write(`${text}\n`);
  }
}

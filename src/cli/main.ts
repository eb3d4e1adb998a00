#!/usr/bin/env node
/**
 * `wavesock`, the command (`npx wavesock ws://host:port/path`): an
 * interactive WebSocket client like `python -m websockets` and `wscat`, a
 * line-oriented one for scripts when stdin is not a terminal, and
 * `wavesock serve` for a test server.
 *
 * The room src/cli/ owns the command: the command line (args.ts), exit codes
 * (exit-codes.ts), how things are shown (format.ts), the prompt that keeps
 * partial input (prompt.ts), the client sessions (client.ts) and the server
 * (serve.ts). It uses the library only through its public API
 * (`../index.js`: connect, serve, broadcast, the errors), never the core, so
 * it keeps working while the internals change. This file is the entry point
 * (`bin` in package.json): parse, dispatch, exit.
 */
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLIENT_USAGE, SERVE_USAGE, UsageError, parseArgs, type Command } from "./args.js";
import { runClient, type Stdio } from "./client.js";
import { ExitCode } from "./exit-codes.js";
import { runServe } from "./serve.js";

/**
 * The package's version, from the nearest package.json named `wavesock`
 * above this script (found from the script's path rather than
 * `import.meta`, so that the file compiles to CommonJS as well).
 */
function version(): string {
  try {
    let dir = dirname(realpathSync(process.argv[1] ?? "."));
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
        if (pkg.name === "wavesock" && typeof pkg.version === "string") return pkg.version;
      } catch {
        // no package.json here: look further up
      }
      const parent = dirname(dir);
      if (parent === dir) return "unknown";
      dir = parent;
    }
  } catch {
    return "unknown";
  }
}

async function run(argv: readonly string[], stdio: Stdio): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const help = argv[0] === "serve" ? "wavesock serve --help" : "wavesock --help";
    stdio.stderr.write(`wavesock: ${err.message}\nTry '${help}' for the options.\n`);
    return ExitCode.USAGE;
  }
  switch (command.kind) {
    case "help":
      stdio.stdout.write(command.topic === "serve" ? SERVE_USAGE : CLIENT_USAGE);
      return ExitCode.OK;
    case "version":
      stdio.stdout.write(`wavesock ${version()}\n`);
      return ExitCode.OK;
    case "serve":
      return runServe(command, stdio);
    case "client":
      return runClient(command, stdio);
  }
}

/** Exit once what was written has reached stdout and stderr (pipes may still hold it). */
function exit(code: number): void {
  process.exitCode = code;
  // A stream that can no longer be written (a closed pipe) must not keep us waiting.
  setTimeout(() => process.exit(code), 2000).unref();
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

const stdio: Stdio = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
run(process.argv.slice(2), stdio).then(exit, (err: unknown) => {
  process.stderr.write(`wavesock: internal error (please report it): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exit(ExitCode.INTERNAL);
});

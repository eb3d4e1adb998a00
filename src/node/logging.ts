/**
 * The `logger` option: what the server (and `connection.logger`) write to,
 * and in which shape.
 *
 * Two shapes of logger are in common use, and both are taken:
 *
 * - **console-style** (`console`, or any object with an `error` method and
 *   maybe `warn`, `info`, `debug`): called as `logger.info(message, ...values)`;
 *   the per-connection context goes in front of the message:
 *   `wavesock [4b0d… 127.0.0.1 /chat]: connection open`.
 * - **pino-style** (pino, bunyan: a logger with a `child()` method): a child
 *   logger is made per connection with `child({ id, remoteAddress, path })`,
 *   and called as `logger.info({ ...fields }, message)` — the merging object
 *   first, as pino and bunyan take it; an error goes in `{ err }`.
 *
 * A level the logger has no method for is skipped. The `path` in the context
 * is the pathname only: a query string may carry a token, and logs are read
 * by more people than credentials are.
 */

/** A logger as the `logger` option takes it: `console`, or a pino-style logger (with `child()`). Only `error` is required. */
export interface Logger {
  /** Failures: a handler that threw, a `processRequest` that failed or answered something that cannot be sent. */
  error(...args: unknown[]): void;
  /** Not used by wavesock today; passed through `connection.logger`. */
  warn?(...args: unknown[]): void;
  /** One line per connection opened, refused and closed (with the codes). */
  info?(...args: unknown[]): void;
  /** Handshakes that ended without an answer (timeout, reset, malformed request). */
  debug?(...args: unknown[]): void;
  /** Present on pino-style loggers: a logger that adds `bindings` to every line. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** The logger of one connection (`connection.logger`): every level, with the connection's context attached. */
export interface ConnectionLogger {
  /** Log at debug level. */
  debug(...args: unknown[]): void;
  /** Log at info level. */
  info(...args: unknown[]): void;
  /** Log at warn level. */
  warn(...args: unknown[]): void;
  /** Log at error level. */
  error(...args: unknown[]): void;
}

/** The levels wavesock logs at. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/**
 * What an absent `logger` option means: console, warnings and errors only
 * (a line per connection is for those who ask: `logger: console`).
 * Arrow functions, so that `console.error` is looked up at each call.
 */
export const DEFAULT_LOGGER: Logger = {
  error: (...args: unknown[]) => console.error(...args),
  warn: (...args: unknown[]) => console.warn(...args),
};

/** The logger an option value stands for: the default for undefined, null for none. */
export function resolveLogger(option: Logger | null | undefined): Logger | null {
  return option === undefined ? DEFAULT_LOGGER : option;
}

/** True when `logger` takes the pino / bunyan call shape (merging object first). */
function structured(logger: Logger): boolean {
  return typeof logger.child === "function";
}

/**
 * Write one of wavesock's own lines: `message` with `fields` (values worth
 * filtering on: codes, statuses) and maybe an error.
 */
export function logLine(logger: Logger | null, level: LogLevel, message: string, fields?: Record<string, unknown>, err?: unknown): void {
  if (logger === null) return;
  const method = logger[level];
  if (typeof method === "function") write(method.bind(logger), structured(logger), message, fields, err);
}

/** {@link logLine} for one connection: through its logger (`connection.logger`), so that the context is on the line. */
export function logConnectionLine(
  conn: ConnectionLogger,
  base: Logger | null,
  level: LogLevel,
  message: string,
  fields?: Record<string, unknown>,
  err?: unknown,
): void {
  if (base === null || typeof base[level] !== "function") return;
  write(conn[level], structured(base), message, fields, err);
}

function write(method: (...args: unknown[]) => void, objectFirst: boolean, message: string, fields?: Record<string, unknown>, err?: unknown): void {
  if (objectFirst) {
    const merged: Record<string, unknown> = fields === undefined ? {} : { ...fields };
    if (err !== undefined) merged["err"] = err;
    method(merged, message);
    return;
  }
  const text = fields === undefined ? message : `${message} (${formatFields(fields)})`;
  if (err === undefined) method(`wavesock: ${text}`);
  else method(`wavesock: ${text}:`, err);
}

function formatFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
}

/** The context of one connection's log lines. */
export interface LogContext {
  /** The connection's id (`connection.id`). */
  id: string;
  /** The peer's address, when there is one (not on a Unix socket). */
  remoteAddress: string | undefined;
  /** The request's pathname (no query string). */
  path: string;
}

/** The context of `conn`'s lines. */
export function logContext(conn: { readonly id: string; readonly socket: { readonly remoteAddress?: string | undefined }; readonly request: { readonly path: string } }): LogContext {
  const target = conn.request.path;
  const q = target.indexOf("?");
  // The pathname only: a query string may carry a token.
  return { id: conn.id, remoteAddress: conn.socket.remoteAddress, path: q === -1 ? target : target.slice(0, q) };
}

const NO_OP = (): void => undefined;
const SILENT: ConnectionLogger = { debug: NO_OP, info: NO_OP, warn: NO_OP, error: NO_OP };

/**
 * The logger of one connection: a `child(context)` of a pino-style logger,
 * or a console-style logger whose lines start with the context.
 */
export function connectionLogger(base: Logger | null, context: LogContext): ConnectionLogger {
  if (base === null) return SILENT;
  if (structured(base)) {
    const child = base.child!({ ...context });
    return {
      debug: bindLevel(child, "debug"),
      info: bindLevel(child, "info"),
      warn: bindLevel(child, "warn"),
      error: bindLevel(child, "error"),
    };
  }
  const prefix = `wavesock [${context.id} ${context.remoteAddress ?? "-"} ${context.path}]:`;
  const level = (name: LogLevel) => {
    const method = base[name];
    if (typeof method !== "function") return NO_OP;
    return (...args: unknown[]) => {
      // "wavesock: connection open" becomes "wavesock [id addr /path]: connection open".
      if (typeof args[0] === "string" && args[0].startsWith("wavesock: ")) method.call(base, `${prefix} ${args[0].slice(10)}`, ...args.slice(1));
      else method.call(base, prefix, ...args);
    };
  };
  return { debug: level("debug"), info: level("info"), warn: level("warn"), error: level("error") };
}

function bindLevel(logger: Logger, name: LogLevel): (...args: unknown[]) => void {
  const method = logger[name];
  return typeof method === "function" ? method.bind(logger) : NO_OP;
}

/**
 * The `wavesock` command's exit codes: how a session ended, for scripts.
 * docs/cli.md documents the same table; keep the two in step.
 */
import { ConnectionClosed, ConnectionClosedOK } from "../index.js";

/** Exit codes of the `wavesock` command. */
export const ExitCode = {
  /** Normal close (1000 / 1001 / no code, both ways), Ctrl-D, `/quit`, or a server stopped cleanly. */
  OK: 0,
  /** No connection: refused, unreachable, DNS, TLS, or the opening handshake failed (e.g. HTTP 404). */
  CONNECT_FAILED: 1,
  /** Usage error: unknown option, bad value, bad URI. */
  USAGE: 2,
  /** The closing handshake carried another code (1002, 1011, 4000...), whichever side sent it. */
  CLOSED_WITH_ERROR: 3,
  /** The connection was lost without a close frame from the server (1006). */
  CONNECTION_LOST: 4,
  /** A bug in wavesock: an unexpected exception. */
  INTERNAL: 70,
  /** Interrupted by SIGINT (Ctrl-C): the connection was closed with 1001 first. */
  SIGINT: 130,
  /** Terminated by SIGTERM: the connection was closed with 1001 first. */
  SIGTERM: 143,
} as const;

/**
 * The exit code that says how a connection ended, from the error `recv()`
 * raised once it closed: OK when close frames with 1000/1001 (or none) went
 * both ways, "lost" when the server's close frame never came, "closed with
 * an error" for every other code.
 */
export function exitCodeForClose(err: ConnectionClosed): number {
  if (err instanceof ConnectionClosedOK) return ExitCode.OK;
  if (err.rcvd === null) return ExitCode.CONNECTION_LOST;
  return ExitCode.CLOSED_WITH_ERROR;
}

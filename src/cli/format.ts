/**
 * How the `wavesock` command shows things: messages (text, and binary as a
 * hex preview), closes, and the errors of a failed connection, in words a
 * user can act on.
 */
import { Buffer } from "node:buffer";
import { ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI, type Data } from "../index.js";

/** Bytes shown in the hex preview of a binary message. */
export const HEX_PREVIEW_BYTES = 24;

/**
 * `[binary 40 bytes] 00 01 02 … 17 …`: the length, then the first
 * {@link HEX_PREVIEW_BYTES} bytes in hex, then `…` when there are more.
 */
export function hexPreview(bytes: Uint8Array, max = HEX_PREVIEW_BYTES): string {
  const n = bytes.length;
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const label = `[binary ${n} byte${n === 1 ? "" : "s"}]`;
  if (n === 0) return label;
  return `${label} ${shown}${n > max ? " …" : ""}`;
}

/**
 * Text from the network made safe for a terminal: C0 and C1 control
 * characters and DEL (which could move the cursor, recolour or retitle the
 * terminal: an escape sequence is a command to it) are shown as `\xNN`,
 * CR as `\r`. Tab and line feed stay.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) =>
    c === "\r" ? "\\r" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * A received message for the interactive prompt: `< text`, continuation
 * lines of a multi-line message indented under the first.
 */
export function renderIncoming(message: Data): string {
  if (typeof message !== "string") return `< ${hexPreview(message)}`;
  return `< ${escapeControls(message).replace(/\n/g, "\n  ")}`;
}

/** A received message for piped output: text verbatim, binary as its hex preview. */
export function renderPlain(message: Data): string {
  return typeof message === "string" ? message : hexPreview(message);
}

/** `code 4000, reason "bye"` / `code 1000`. */
export function describeCloseFrame(code: number, reason: string): string {
  return `code ${code}${reason ? `, reason ${JSON.stringify(reason)}` : ""}`;
}

/** One line saying how a connection ended, from the error `recv()` raised. */
export function describeClose(err: ConnectionClosed): string {
  if (err.rcvd === null) {
    const sent = err.sent ? ` (we sent ${describeCloseFrame(err.sent.code, err.sent.reason)})` : "";
    return `connection lost: no close frame from the server (1006)${sent}`;
  }
  return `connection closed: ${describeCloseFrame(err.rcvd.code, err.rcvd.reason)}`;
}

/** Socket error codes worth a plain-words explanation. */
const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the server",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed (temporary failure)",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRNOTAVAIL: "address not available",
};

/** TLS verification failures, which `--insecure` skips. */
const TLS_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function errorCode(err: unknown): string | undefined {
  if (err instanceof AggregateError) {
    // Happy eyeballs (several addresses tried): the first address's error says it.
    const first: unknown = err.errors[0];
    return errorCode(first) ?? (err as { code?: string }).code;
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Why `connect()` failed, in one line (without the URI). */
export function describeConnectError(err: unknown): string {
  if (err instanceof InvalidStatus) {
    const { status, reason, body } = err.response;
    let text = `the server answered HTTP ${status}${reason ? ` ${reason}` : ""} instead of switching protocols`;
    if (body !== undefined && body.length > 0) {
      const preview = escapeControls(Buffer.from(body).toString("utf8").trim()).replace(/\n/g, " ");
      if (preview) text += `: ${preview.length > 200 ? `${preview.slice(0, 200)}…` : preview}`;
    }
    return text;
  }
  if (err instanceof InvalidHandshake || err instanceof InvalidURI) return err.message;
  const code = errorCode(err);
  if (code !== undefined && code in SOCKET_ERRORS) return `${SOCKET_ERRORS[code]} (${code})`;
  const message = err instanceof AggregateError ? String((err.errors[0] as Error | undefined)?.message ?? err.message) : err instanceof Error ? err.message : String(err);
  if (code !== undefined && TLS_ERRORS.has(code)) return `TLS: ${message} (--insecure skips certificate verification)`;
  return message;
}

/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1), both roles.
 *
 * The client sends one offer built from its {@link DeflateOptions}; the server
 * answers an offer with the parameters it agrees to, and both ends build a
 * {@link PerMessageDeflate} codec (see `deflate-codec.ts`) from the "agreed
 * parameters".
 *
 * The four parameters (RFC 7692 §7.1):
 *
 *   server_no_context_takeover   no value. Offer: the server must not carry its
 *                                window between messages; response: it won't.
 *   client_no_context_takeover   no value. Offer: the client won't; response:
 *                                the client must not.
 *   server_max_window_bits=N     8..15, value required. Offer: limit on the
 *                                server's window; response: the server's window.
 *   client_max_window_bits[=N]   Offer: without value, "I support this parameter
 *                                in the response"; with value, also "my window
 *                                is at most N". Response: value required, and
 *                                only allowed when the offer had the parameter.
 *
 * Decisions (where the RFC leaves a choice):
 * - A malformed offer (unknown, duplicate or value-less/valued-wrong parameter)
 *   is *declined*, not a handshake failure: RFC 7692 §5.1 says "A server MUST
 *   decline an extension negotiation offer for this extension if" it has any of
 *   these, and declining lets the server use the client's next offer or go on
 *   without compression. (The `ServerExtensionFactory` contract allows throwing;
 *   we never do.)
 * - The server's `clientMaxWindowBits` is a request: it is applied when the
 *   client's offer has `client_max_window_bits`; a client that did not offer the
 *   parameter (Firefox: a bare `permessage-deflate`) cannot be limited and is
 *   accepted with a 15-bit window (32 KiB retained). To bound memory strictly,
 *   use `clientNoContextTakeover`, which every client must honour.
 * - The server echoes `client_no_context_takeover` when the client offered it
 *   (allowed by §7.1.1.2; makes the agreement explicit).
 * - Window bits 8 are supported both ways: see the note in `deflate-codec.ts`.
 */
import { InvalidHandshake, argumentError } from "../errors.js";
import { PerMessageDeflate, type DeflateParameters } from "./deflate-codec.js";
import type { ClientExtensionFactory, ExtensionParam, MessageExtension, ServerExtensionFactory } from "./types.js";

export { HistoryWindow, PerMessageDeflate, type DeflateParameters } from "./deflate-codec.js";

/** The extension token (RFC 7692 §5). */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/**
 * Options of permessage-deflate, for either role.
 *
 * @example
 * // A server that compresses with a 12-bit window (4 KiB retained per
 * // connection and direction) and asks clients to do the same:
 * serverDeflateFactory({ serverMaxWindowBits: 12, clientMaxWindowBits: 12 });
 * // A client that offers what Chromium offers:
 * clientDeflateFactory({ clientMaxWindowBits: true });
 */
export interface DeflateOptions {
  /** Server: never carry the compression window between messages (always announced). Client: ask the server for that. */
  serverNoContextTakeover?: boolean;
  /** Server: require the client not to carry its window. Client: offer not to (and don't). */
  clientNoContextTakeover?: boolean;
  /** Server: the window of our compressor, 8..15 (announced; lowered if the client asks). Client: the largest window we let the server use. */
  serverMaxWindowBits?: number;
  /**
   * Server: ask clients that support the parameter to use at most this window, 8..15
   * (`true`/`false`: don't ask, same as 15).
   * Client: offer `client_max_window_bits=N` (our compressor's window), or `true` to offer
   * the parameter without a value (what Chromium sends; the default): our window is then
   * what the server answers, or 15. `false`: don't offer the parameter.
   */
  clientMaxWindowBits?: number | boolean;
  /** zlib memLevel of our compressor, 1..9. */
  memLevel?: number;
  /** zlib compression level of our compressor, 0..9 (or -1: zlib's default, 6). */
  level?: number;
  /** Messages smaller than this many bytes are sent uncompressed. */
  threshold?: number;
  /**
   * The largest window our compressor uses, 8..15, whatever the negotiated
   * limit allows (a smaller window is always valid for the peer's inflater:
   * the `*_max_window_bits` parameters are upper bounds, RFC 7692 §7.1.2).
   * Default 12 on the client, so it compresses fast with any server;
   * unset on the server, whose window is `serverMaxWindowBits`.
   */
  compressionWindowBits?: number;
}

/**
 * Defaults. The codec keeps no zlib stream between messages, only the last
 * 2^windowBits bytes each way, so a window costs that much memory per
 * connection and the time to prime it as a dictionary for every message sent:
 * about 100 µs per 1 KiB message at 15 bits, 40 µs at 12 bits, 28 µs without
 * context takeover (level 6; table in `deflate-codec.ts`). Decoding costs
 * 10-15 µs whatever the window.
 *
 * - Server window 12 bits (as Python `websockets`): 2.5× faster than 15 for
 *   1 KiB messages, output ~10 % larger; 4 KiB retained.
 * - Server asks clients for 12 bits too (when they support the parameter):
 *   4 KiB retained instead of 32 KiB, so a default connection keeps 8 KiB
 *   (against ~250 KiB for `ws`'s persistent zlib streams at 15/8). A client
 *   that can't be limited (Firefox) costs 4 + 32 KiB.
 * - Client: offers what browsers offer and compresses with the window the
 *   server grants (12 from a wavesock server, 15 from `ws`); set
 *   `clientMaxWindowBits: 12` for speed with any server.
 * - memLevel 8 (zlib's default): the zlib state exists only during one call,
 *   so a smaller one saves no per-connection memory, and it was not faster.
 * - threshold 64 bytes: without context takeover, deflate does not shrink
 *   JSON messages of 64 bytes or less (measured ratio 1.06 at 32 bytes, 1.02
 *   at 64); with it, a 32-byte message shrinks to ~30 % but saves ~20 bytes
 *   for ~20 µs of CPU. (`ws` defaults to 1 KiB.)
 */
export const DEFAULT_SERVER_OPTIONS: Readonly<DeflateOptions> = Object.freeze({
  serverMaxWindowBits: 12,
  clientMaxWindowBits: 12,
  memLevel: 8,
  level: 6,
  threshold: 64,
});

/** Client defaults: Chromium's offer (`permessage-deflate; client_max_window_bits`). */
export const DEFAULT_CLIENT_OPTIONS: Readonly<DeflateOptions> = Object.freeze({
  clientMaxWindowBits: true,
  compressionWindowBits: 12,
  memLevel: 8,
  level: 6,
  threshold: 64,
});

/** The four parameters of one offer or response, validated. */
interface ParsedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null;
  /** `true`: present without a value (offers only). */
  clientMaxWindowBits: number | true | null;
}

/**
 * Validate the parameters of an offer (`isResponse` false) or a response.
 * Returns the reason when they are malformed (RFC 7692 §5.1, §7.1).
 */
function parseParams(params: readonly ExtensionParam[], isResponse: boolean): ParsedParams | string {
  const parsed: ParsedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: null,
    clientMaxWindowBits: null,
  };
  const seen = new Set<string>();
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    if (seen.has(name)) return `duplicate parameter ${name}`;
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== null) return `${name} takes no value`;
        if (name === "server_no_context_takeover") parsed.serverNoContextTakeover = true;
        else parsed.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits": {
        const bits = parseWindowBits(value);
        if (bits === null) return `${name} needs a value from 8 to 15, got ${describe(value)}`;
        parsed.serverMaxWindowBits = bits;
        break;
      }
      case "client_max_window_bits": {
        // §7.1.2.2: in an offer, "no value or a decimal integer value";
        // a response gives the client a window, so it needs the value.
        if (value === null && !isResponse) {
          parsed.clientMaxWindowBits = true;
          break;
        }
        const bits = parseWindowBits(value);
        if (bits === null) return `${name} needs a value from 8 to 15, got ${describe(value)}`;
        parsed.clientMaxWindowBits = bits;
        break;
      }
      default:
        return `unknown parameter ${rawName}`;
    }
  }
  return parsed;
}

/** RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive". */
function parseWindowBits(value: string | null): number | null {
  if (value === null || !/^(?:[89]|1[0-5])$/.test(value)) return null;
  return Number(value);
}

function describe(value: string | null): string {
  return value === null ? "no value" : JSON.stringify(value);
}

/** True when an extension already negotiated uses RSV1 (a second permessage-deflate, or another). */
function rsv1Taken(alreadyAccepted: readonly MessageExtension[]): boolean {
  return alreadyAccepted.some((e) => e.name === PERMESSAGE_DEFLATE || (e.rsvBits & 0x40) !== 0);
}

/** Options with defaults filled in and ranges checked. */
interface ResolvedOptions {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** A number, `true` (offer without a value) or undefined (don't offer / don't ask). */
  clientMaxWindowBits: number | true | undefined;
  memLevel: number;
  level: number;
  threshold: number;
  /** Upper bound of our compressor's window (15: the negotiated one). */
  compressionWindowBits: number;
}

/** Fill in defaults and check ranges; a bad option is the caller's mistake (RangeError). */
function resolveOptions(options: DeflateOptions, defaults: Readonly<DeflateOptions>): ResolvedOptions {
  const o = { ...defaults, ...stripUndefined(options) };
  checkInt("serverMaxWindowBits", o.serverMaxWindowBits, 8, 15, true);
  if (typeof o.clientMaxWindowBits !== "boolean") checkInt("clientMaxWindowBits", o.clientMaxWindowBits, 8, 15, true);
  checkInt("memLevel", o.memLevel, 1, 9, false);
  checkInt("level", o.level, -1, 9, false);
  checkInt("threshold", o.threshold, 0, Number.MAX_SAFE_INTEGER, false);
  checkInt("compressionWindowBits", o.compressionWindowBits, 8, 15, true);
  return {
    serverNoContextTakeover: o.serverNoContextTakeover === true,
    clientNoContextTakeover: o.clientNoContextTakeover === true,
    serverMaxWindowBits: o.serverMaxWindowBits,
    clientMaxWindowBits: o.clientMaxWindowBits === false ? undefined : o.clientMaxWindowBits,
    memLevel: o.memLevel as number,
    // zlib's Z_DEFAULT_COMPRESSION (-1) is level 6: one name for one encoding (sharingKey).
    level: o.level === -1 ? 6 : (o.level as number),
    threshold: o.threshold as number,
    compressionWindowBits: o.compressionWindowBits ?? 15,
  };
}

function stripUndefined(options: DeflateOptions): DeflateOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as DeflateOptions;
}

function checkInt(name: string, value: unknown, min: number, max: number, optional: boolean): void {
  if (value === undefined && optional) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw argumentError("WS_ERR_INVALID_OPTION", `permessage-deflate option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`, true);
  }
}

/**
 * The server side of permessage-deflate: answers a client's offer.
 *
 * @example
 * const factory = serverDeflateFactory();            // 12-bit windows, threshold 64
 * factory.accept([["client_max_window_bits", null]], []);
 * // → response [["server_max_window_bits", "12"], ["client_max_window_bits", "12"]]
 */
export function serverDeflateFactory(options: DeflateOptions = {}): ServerExtensionFactory {
  const o = resolveOptions(options, DEFAULT_SERVER_OPTIONS);
  const ourServerBits = o.serverMaxWindowBits ?? 15;
  const ourClientBits = o.clientMaxWindowBits === true ? undefined : o.clientMaxWindowBits;
  return {
    name: PERMESSAGE_DEFLATE,
    accept(params, alreadyAccepted) {
      if (rsv1Taken(alreadyAccepted)) return null;
      const offer = parseParams(params, false);
      if (typeof offer === "string") return null; // §5.1: "MUST decline"
      const response: ExtensionParam[] = [];

      // §7.1.1.1: accepting an offer with server_no_context_takeover means
      // including it; we may also include it on our own.
      const serverNoContextTakeover = offer.serverNoContextTakeover || o.serverNoContextTakeover;
      if (serverNoContextTakeover) response.push(["server_no_context_takeover", null]);
      // §7.1.1.2: "A server MAY include the "client_no_context_takeover"
      // extension parameter in an extension negotiation response".
      const clientNoContextTakeover = offer.clientNoContextTakeover || o.clientNoContextTakeover;
      if (clientNoContextTakeover) response.push(["client_no_context_takeover", null]);

      // §7.1.2.1: accept a limit "by including the "server_max_window_bits"
      // extension parameter ... with the same or smaller value"; we may also
      // announce a smaller window on our own.
      let serverBits = ourServerBits;
      if (offer.serverMaxWindowBits !== null) serverBits = Math.min(serverBits, offer.serverMaxWindowBits);
      if (offer.serverMaxWindowBits !== null || serverBits < 15) {
        response.push(["server_max_window_bits", String(serverBits)]);
      }

      // §7.1.2.2: only when offered; "equal to or smaller than the received
      // value". Without the parameter the client may use any window up to 15.
      let clientBits = 15;
      if (offer.clientMaxWindowBits !== null) {
        const offered = offer.clientMaxWindowBits === true ? 15 : offer.clientMaxWindowBits;
        clientBits = Math.min(offered, ourClientBits ?? 15);
        if (clientBits < 15) response.push(["client_max_window_bits", String(clientBits)]);
      }

      const extension = new PerMessageDeflate({
        localNoContextTakeover: serverNoContextTakeover,
        remoteNoContextTakeover: clientNoContextTakeover,
        localMaxWindowBits: Math.min(serverBits, o.compressionWindowBits),
        remoteMaxWindowBits: clientBits,
        memLevel: o.memLevel,
        level: o.level,
        threshold: o.threshold,
      } satisfies DeflateParameters);
      return { response, extension };
    },
  };
}

/**
 * The client side of permessage-deflate: makes one offer and checks the
 * server's response against it.
 *
 * @example
 * const factory = clientDeflateFactory();
 * factory.offers();   // [[["client_max_window_bits", null]]]
 */
export function clientDeflateFactory(options: DeflateOptions = {}): ClientExtensionFactory {
  const o = resolveOptions(options, DEFAULT_CLIENT_OPTIONS);
  const offer: ExtensionParam[] = [];
  if (o.serverNoContextTakeover) offer.push(["server_no_context_takeover", null]);
  if (o.clientNoContextTakeover) offer.push(["client_no_context_takeover", null]);
  if (o.serverMaxWindowBits !== undefined) offer.push(["server_max_window_bits", String(o.serverMaxWindowBits)]);
  if (o.clientMaxWindowBits !== undefined) {
    offer.push(["client_max_window_bits", o.clientMaxWindowBits === true ? null : String(o.clientMaxWindowBits)]);
  }
  const fail = (reason: string): never => {
    // RFC 7692 §5.1: "A client MUST _Fail the WebSocket Connection_ if the
    // peer server accepted an extension negotiation offer for this extension
    // with an extension negotiation response" that does not fit the offer.
    throw new InvalidHandshake(`invalid permessage-deflate response: ${reason}`, {
      code: "WS_ERR_EXTENSION_NEGOTIATION",
      status: 101,
    });
  };
  return {
    name: PERMESSAGE_DEFLATE,
    offers: () => [offer.map(([name, value]): ExtensionParam => [name, value])],
    accept(params, alreadyAccepted) {
      if (rsv1Taken(alreadyAccepted)) fail("permessage-deflate accepted twice (or RSV1 already in use)");
      const response = parseParams(params, true);
      if (typeof response === "string") return fail(response);

      // §7.1.1.1: the server accepts server_no_context_takeover by including it.
      if (o.serverNoContextTakeover && !response.serverNoContextTakeover) {
        fail("server_no_context_takeover was requested but not accepted");
      }
      // §7.1.2.1: "... with the same or smaller value as the offer".
      let serverBits = 15;
      if (response.serverMaxWindowBits !== null) serverBits = response.serverMaxWindowBits;
      if (o.serverMaxWindowBits !== undefined) {
        if (response.serverMaxWindowBits === null) fail(`server_max_window_bits=${o.serverMaxWindowBits} was requested but not accepted`);
        if (serverBits > o.serverMaxWindowBits) fail(`server_max_window_bits=${serverBits} is over the ${o.serverMaxWindowBits} requested`);
      }
      // §7.1.2.2: "If a received extension negotiation offer doesn't have the
      // "client_max_window_bits" extension parameter, the corresponding
      // extension negotiation response to the offer MUST NOT include" it.
      let clientBits = typeof o.clientMaxWindowBits === "number" ? o.clientMaxWindowBits : 15;
      if (response.clientMaxWindowBits !== null) {
        if (o.clientMaxWindowBits === undefined) fail("client_max_window_bits was not offered");
        // Parsed as a response: always a number here.
        const bits = response.clientMaxWindowBits as number;
        if (bits > clientBits) fail(`client_max_window_bits=${bits} is over the ${clientBits} offered`);
        clientBits = bits;
      }

      return new PerMessageDeflate({
        localNoContextTakeover: o.clientNoContextTakeover || response.clientNoContextTakeover,
        remoteNoContextTakeover: response.serverNoContextTakeover,
        localMaxWindowBits: Math.min(clientBits, o.compressionWindowBits),
        remoteMaxWindowBits: serverBits,
        memLevel: o.memLevel,
        level: o.level,
        threshold: o.threshold,
      });
    },
  };
}

/**
 * `ws`'s `perMessageDeflate` option in wavesock's terms: the same four
 * RFC 7692 parameters, `threshold` (default 1024 bytes, as in `ws`), and
 * zlib's `level` / `memLevel` from `zlibDeflateOptions`. The codec is
 * wavesock's (it keeps only the window between messages, no zlib stream);
 * `zlibInflateOptions` and `concurrencyLimit` have nothing to tune in it.
 */
import type { DeflateOptions } from "../extensions/permessage-deflate.js";
import { wsError } from "./errors.js";

/** The `perMessageDeflate` object of `ws`: RFC 7692's parameters and tuning. */
export interface PerMessageDeflateOptions {
  /** Server: don't carry the compression window between messages; client: ask the server not to. */
  serverNoContextTakeover?: boolean;
  /** Client: don't carry ours; server: ask (acknowledge) the client not to. */
  clientNoContextTakeover?: boolean;
  /** The server's window bits, 8..15. */
  serverMaxWindowBits?: number;
  /** The client's window bits, 8..15, or `true` to offer the parameter without a value. */
  clientMaxWindowBits?: number | boolean;
  /** zlib options of the compressor: `level` and `memLevel` are used. */
  zlibDeflateOptions?: { level?: number; memLevel?: number; [option: string]: unknown };
  /** Accepted for `ws` code; wavesock's inflater has no options to set. */
  zlibInflateOptions?: object;
  /** Messages smaller than this many bytes go uncompressed. Default 1024, as in `ws`. */
  threshold?: number;
  /** Accepted for `ws` code; wavesock compresses synchronously, nothing is queued. */
  concurrencyLimit?: number;
}

/** `ws`'s default threshold: messages under 1 KiB go uncompressed. */
const WS_THRESHOLD = 1024;

/**
 * The wavesock options for a `perMessageDeflate` value, or null when
 * compression is off (`false`, `null`, `undefined` where off is the default).
 */
export function deflateOptions(value: unknown, byDefault: boolean): DeflateOptions | null {
  if (value === undefined) value = byDefault;
  if (value === false || value === null) return null;
  if (value === true) return { threshold: WS_THRESHOLD };
  if (typeof value !== "object") {
    throw wsError("TypeError", `perMessageDeflate must be a boolean or an object of permessage-deflate options; got ${typeof value}`);
  }
  const o = value as PerMessageDeflateOptions;
  const out: DeflateOptions = { threshold: o.threshold ?? WS_THRESHOLD };
  if (o.serverNoContextTakeover !== undefined) out.serverNoContextTakeover = o.serverNoContextTakeover;
  if (o.clientNoContextTakeover !== undefined) out.clientNoContextTakeover = o.clientNoContextTakeover;
  if (o.serverMaxWindowBits !== undefined) out.serverMaxWindowBits = o.serverMaxWindowBits;
  if (o.clientMaxWindowBits !== undefined) out.clientMaxWindowBits = o.clientMaxWindowBits;
  const z = o.zlibDeflateOptions;
  if (z?.level !== undefined) out.level = z.level;
  if (z?.memLevel !== undefined) out.memLevel = z.memLevel;
  return out;
}

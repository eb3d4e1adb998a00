/**
 * The `compression` option of `serve` and `connect`: permessage-deflate is on
 * by default on both sides, as in Python `websockets`.
 */
import type { ClientExtensionFactory, ServerExtensionFactory } from "../extensions/types.js";
import { clientDeflateFactory, serverDeflateFactory, type DeflateOptions } from "../extensions/permessage-deflate.js";

/** `"deflate"` (the default), `null` for no compression, or permessage-deflate parameters. */
export type CompressionOption = "deflate" | null | DeflateOptions;

/** The server's extension factories for a `compression` option. */
export function serverExtensions(option: CompressionOption | undefined): ServerExtensionFactory[] {
  if (option === null) return [];
  return [serverDeflateFactory(option === undefined || option === "deflate" ? {} : option)];
}

/** The client's extension factories for a `compression` option. */
export function clientExtensions(option: CompressionOption | undefined): ClientExtensionFactory[] {
  if (option === null) return [];
  return [clientDeflateFactory(option === undefined || option === "deflate" ? {} : option)];
}

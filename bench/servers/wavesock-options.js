// @ts-check
/**
 * The `serve()` options every wavesock bench server uses (the `for await`
 * and the callback servers measure the same configuration): no keepalive,
 * no logger, a limit above the largest row's message, and the compression
 * the row asks for.
 */

/**
 * @param {import("./control.js").ServerArgs} args
 * @returns {import("wavesock").ServerOptions}
 */
export function wavesockOptions(args) {
  return {
    host: args.host,
    port: args.port,
    // "takeover" is our default; "no-takeover" is the closest to uWS's SHARED_COMPRESSOR.
    compression:
      args.compression === null ? null
      : args.compression === "takeover" ? "deflate"
      : { serverNoContextTakeover: true, clientNoContextTakeover: true },
    pingInterval: null,
    maxSize: 64 * 1024 * 1024,
    logger: null,
  };
}

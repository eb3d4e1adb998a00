// @ts-check
/**
 * What the scenarios (websocket-scenarios.js, stream-scenarios.js) share:
 * logging events and values the same way in every engine, and waiting for
 * events (never for a delay) with a bound.
 */

/**
 * @typedef {{
 *   WebSocket: any,
 *   WebSocketStream?: any,
 *   WebSocketError?: any,
 *   base: string,
 *   closedUrl: string,
 * }} Ctx
 * @typedef {unknown[]} Log
 */


export const STEP_MS = 6000;

/** @param {unknown} data */
export function describeData(data) {
  if (typeof data === "string") return ["text", data];
  if (data instanceof ArrayBuffer) return ["ArrayBuffer", Array.from(new Uint8Array(data))];
  if (typeof Blob === "function" && data instanceof Blob) return ["Blob", data.size];
  if (ArrayBuffer.isView(data)) return ["view", Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))];
  return ["other", typeof data];
}

/** @param {unknown} e */
export function errorOf(e) {
  const err = /** @type {any} */ (e);
  if (err === null || typeof err !== "object") return { thrown: typeof err, value: String(err) };
  const out = /** @type {Record<string, unknown>} */ ({ name: err.name, dom: err instanceof DOMException });
  if ("closeCode" in err) out.closeCode = err.closeCode;
  if ("reason" in err && typeof err.reason === "string") out.reason = err.reason;
  return out;
}

/**
 * Log every event of `ws` as [type, readyState, details...].
 * @param {any} ws @param {Log} log
 */
export function record(ws, log) {
  ws.addEventListener("open", () => log.push(["open", ws.readyState, ws.protocol]));
  ws.addEventListener("message", (/** @type {any} */ e) => log.push(["message", ws.readyState, ...describeData(e.data)]));
  ws.addEventListener("error", (/** @type {any} */ e) => log.push(["error", ws.readyState, e.type]));
  ws.addEventListener("close", (/** @type {any} */ e) => log.push(["close", ws.readyState, e.code, e.reason, e.wasClean]));
}

/**
 * Resolves once `ws` fired close (or after STEP_MS, logged as a timeout).
 * @param {any} ws @param {Log} log
 */
export function closed(ws, log) {
  return new Promise((resolve) => {
    if (ws.readyState === 3) return resolve(undefined);
    const timer = setTimeout(() => {
      log.push("TIMEOUT waiting for close");
      resolve(undefined);
    }, STEP_MS);
    ws.addEventListener("close", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Resolves with the next `count` message events' data.
 * @param {any} ws @param {number} count
 * @returns {Promise<unknown[]>}
 */
export function messages(ws, count) {
  return new Promise((resolve) => {
    const got = /** @type {unknown[]} */ ([]);
    const timer = setTimeout(() => resolve([...got, "TIMEOUT"]), STEP_MS);
    const on = (/** @type {any} */ e) => {
      got.push(e.data);
      if (got.length === count) {
        clearTimeout(timer);
        ws.removeEventListener("message", on);
        resolve(got);
      }
    };
    ws.addEventListener("message", on);
  });
}

/**
 * Resolves once `ws` is open (or closed without opening).
 * @param {any} ws
 */
export function opened(ws) {
  return new Promise((resolve) => {
    ws.addEventListener("open", () => resolve(true));
    ws.addEventListener("close", () => resolve(false));
  });
}

/**
 * Run `fn`, logging [label, "ok", result] or [label, error].
 * @param {Log} log @param {string} label @param {() => unknown} fn
 */
export function attempt(log, label, fn) {
  try {
    const r = fn();
    log.push([label, "ok", r === undefined ? null : r]);
  } catch (e) {
    log.push([label, errorOf(e)]);
  }
}

/**
 * Settle `promise`, as ["resolved", value] or ["rejected", error].
 * @param {Promise<unknown>} promise
 */
export async function settle(promise) {
  const timeout = new Promise((r) => setTimeout(() => r(["TIMEOUT"]), STEP_MS));
  return Promise.race([promise.then((v) => ["resolved", v], (e) => ["rejected", errorOf(e)]), timeout]);
}

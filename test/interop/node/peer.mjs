/**
 * Node's built-in WebSocket client (undici), driven by the interop tests.
 * Run with `node --experimental-websocket` on Node 20 (the global is behind a flag there).
 *
 * Reads one JSON command per line on stdin, answers one JSON line on stdout
 * carrying the command's "id". One connection at a time: "connect" drops the
 * previous one, "abort" just drops it.
 *   {"op": "connect", "url", "protocols"} -> {"ok", "protocol", "extensions"}
 *   {"op": "send", text|b64|gen}          -> {"ok"}
 *   {"op": "recv"}                        -> {"type", "length", "sha256", "text"|"b64"} or {"closed": true, ...}
 *   {"op": "close", "code", "reason"}     -> {"closed": true, "code", "reason", "wasClean"}
 *   {"op": "wait_closed"}                 -> the same
 * Errors come back as {"error": name, "message": text}.
 */
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

const TIMEOUT_MS = 6000; // below the tests' 8 s, so a stuck step answers before the test gives up
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** @param {number} n */
function patternBytes(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

/** @param {number} n */
function patternText(n) {
  return ALPHABET.repeat(Math.ceil(n / ALPHABET.length)).slice(0, n);
}

/** @param {Record<string, any>} spec @returns {string | Buffer} */
function payload(spec) {
  if (typeof spec.text === "string") return spec.text;
  if (typeof spec.b64 === "string") return Buffer.from(spec.b64, "base64");
  return spec.gen.kind === "text" ? patternText(spec.gen.size) : patternBytes(spec.gen.size);
}

/** @param {string | Buffer} message */
function summary(message) {
  const data = typeof message === "string" ? Buffer.from(message, "utf8") : message;
  /** @type {Record<string, unknown>} */
  const out = {
    type: typeof message === "string" ? "text" : "binary",
    length: data.length,
    sha256: createHash("sha256").update(data).digest("hex"),
  };
  if (data.length <= 512) {
    if (typeof message === "string") out.text = message;
    else out.b64 = data.toString("base64");
  }
  return out;
}

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {string} what
 * @returns {Promise<T>}
 */
function timeout(promise, what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The current connection and what it received.
 * @typedef {{ ws: WebSocket, messages: (string | Buffer)[], closeInfo: { closed: true, code: number, reason: string, wasClean: boolean } | null }} Conn
 */
/** @type {Conn | null} */
let conn = null;
/** @type {(() => void)[]} */
let wake = [];

function notify() {
  const w = wake;
  wake = [];
  for (const f of w) f();
}

/** Resolve when `cond()` holds (checked on every event). @param {() => boolean} cond */
function until(cond) {
  return new Promise((resolve) => {
    const check = () => (cond() ? resolve(undefined) : wake.push(check));
    check();
  });
}

/** @returns {Conn} */
function current() {
  if (conn === null) throw new Error("not connected");
  return conn;
}

/** @param {Record<string, any>} command */
async function run(command) {
  switch (command.op) {
    case "abort":
    case "connect": {
      // One connection at a time: drop the previous one.
      if (conn !== null && conn.closeInfo === null) conn.ws.close();
      conn = null;
      if (command.op === "abort") return { ok: true };
      const socket = new WebSocket(command.url, command.protocols ?? []);
      socket.binaryType = "arraybuffer";
      /** @type {Conn} */
      const c = { ws: socket, messages: [], closeInfo: null };
      conn = c;
      socket.addEventListener("message", (ev) => {
        c.messages.push(typeof ev.data === "string" ? ev.data : Buffer.from(/** @type {ArrayBuffer} */ (ev.data)));
        notify();
      });
      socket.addEventListener("close", (ev) => {
        c.closeInfo = { closed: true, code: ev.code, reason: ev.reason, wasClean: ev.wasClean };
        notify();
      });
      await timeout(
        new Promise((resolve, reject) => {
          socket.addEventListener("open", resolve, { once: true });
          socket.addEventListener(
            "error",
            (ev) => reject(new Error(`connection failed: ${/** @type {{ message?: string }} */ (ev).message ?? "no reason given"}`)),
            { once: true },
          );
        }),
        "open",
      );
      return { ok: true, protocol: socket.protocol, extensions: socket.extensions };
    }
    case "send":
      current().ws.send(payload(command));
      return { ok: true };
    case "recv": {
      const c = current();
      await timeout(until(() => c.messages.length > 0 || c.closeInfo !== null), "a message");
      const m = c.messages.shift();
      return m === undefined ? c.closeInfo : summary(m);
    }
    case "close": {
      const c = current();
      if (command.code === undefined) c.ws.close();
      else c.ws.close(command.code, command.reason);
      await timeout(until(() => c.closeInfo !== null), "close");
      return c.closeInfo;
    }
    case "wait_closed": {
      const c = current();
      await timeout(until(() => c.closeInfo !== null), "close");
      return c.closeInfo;
    }
    default:
      return { error: "UnknownOp", message: String(command.op) };
  }
}

/** @param {unknown} obj */
function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const command = JSON.parse(line);
  /** @type {Record<string, unknown>} */
  let reply;
  try {
    reply = { ...(await run(command)) };
  } catch (err) {
    const e = /** @type {Error} */ (err);
    reply = { error: e.name, message: e.message };
  }
  emit({ ...reply, id: command.id });
}
/** @type {Conn | null} */ (conn)?.ws.close();
process.exit(0);

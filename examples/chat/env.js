// @ts-check
/**
 * The environment settings both chat deployments read (examples/chat/server.js
 * and examples/chat-cluster/worker.js), checked the same way: a bad value
 * stops the process with a message naming the variable.
 */
import process from "node:process";

/**
 * A positive integer from the environment.
 * @param {string} name  an environment variable
 * @param {number} fallback  its value when unset
 */
export function positiveInteger(name, fallback) {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** `ORIGINS`: comma-separated origins whose pages may connect (empty: the page's own). */
export function originsFromEnv() {
  return (process.env.ORIGINS || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

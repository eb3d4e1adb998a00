/**
 * A small schema language for checking options at runtime, once per call of
 * an entry point (`serve`, `attach`, `connect`, `broadcast`...): most users
 * write plain JavaScript, where a misspelt name or a string where an array
 * belongs would otherwise be silently accepted.
 *
 * A schema maps every option name to a {@link Check}. {@link validateOptions}
 * refuses unknown names (with "did you mean …?" for near misses and for the
 * names `ws` and Python `websockets` use), then runs each check on the value
 * given. Errors are {@link ArgumentError}s with code `WS_ERR_INVALID_OPTION`:
 * a `TypeError` when the value has the wrong type, a `RangeError` when it has
 * the right type but a value that is not allowed. Every message names the
 * entry point and the option, says what is allowed and what was given:
 *
 *     serve(): options.maxQueue must be an integer ≥ 1, or null for no limit; got -3
 *
 * Schemas are typed against the options interface they check
 * (`Schema<ServerOptions>` must have a check for every key), so an option
 * added to an interface without a check does not compile.
 *
 * Nothing here runs per message.
 */
import { argumentError } from "../../errors.js";

/** Where a check runs: the entry point (`"serve()"`), for messages. */
export interface CheckContext {
  /** The entry point, e.g. `serve()`. */
  readonly where: string;
}

/**
 * Checks one value (never `undefined`: an absent option is not checked) and
 * throws through {@link invalid} when it is not allowed. `path` names it,
 * e.g. `options.compression.level`.
 */
export type Check = (value: unknown, path: string, ctx: CheckContext) => void;

/** A check for every option of `T`, and nothing else. */
export type Schema<T> = { readonly [K in keyof T]-?: Check };

/** Throw the error for `value` at `path`, which should have been `expected`. */
export function invalid(ctx: CheckContext, path: string, expected: string, value: unknown, range = false): never {
  throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path} must be ${expected}; got ${describeValue(value)}`, range);
}

/**
 * Describe a value for an error message: `-3`, `NaN`, `the string "big"`,
 * `an array ["a"]`, `an object {a, b}`, `a Uint8Array of 3 bytes`...
 * Bounded in length whatever the value.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "string":
      return `the string ${quote(value)}`;
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "boolean":
      return String(value);
    case "bigint":
      return `the bigint ${value}n`;
    case "symbol":
      return "a symbol";
    case "function":
      return value.name ? `the function ${value.name}` : "a function";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array ${preview(value)}`;
  if (value instanceof RegExp) return `the RegExp ${String(value).slice(0, 60)}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === null || proto === Object.prototype) {
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, 6).join(", ") + (keys.length > 6 ? ", ..." : "");
    return keys.length === 0 ? "an empty object {}" : `an object {${shown}}`;
  }
  const name = (proto as { constructor?: { name?: string } }).constructor?.name;
  return name ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}` : "an object";
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

function preview(array: unknown[]): string {
  const items = array.slice(0, 4).map((v) => (typeof v === "string" ? quote(v) : describeValue(v)));
  return `[${items.join(", ")}${array.length > 4 ? ", ..." : ""}]`;
}

/** True for `{...}` and `Object.create(null)` objects (not arrays, class instances, functions). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype;
}

// ------------------------------------------------------------------ checks

/** Largest delay `setTimeout` honours (2^31 - 1 ms); a larger one fires at once, with a warning. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * An integer from `min` to `max`. `orNull` also allows null, and says what
 * null means (e.g. "no limit").
 */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER, orNull?: string): Check {
  const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  const expected = orNull === undefined ? range : `${range}, or null for ${orNull}`;
  return (value, path, ctx) => {
    if (value === null && orNull !== undefined) return;
    if (typeof value !== "number") invalid(ctx, path, expected, value);
    if (!Number.isInteger(value) || value < min || value > max) invalid(ctx, path, expected, value, true);
  };
}

/**
 * A delay in milliseconds: a finite number from `min` (inclusive, or
 * exclusive when `positive`) up to what a timer can wait.
 */
export function milliseconds(positive: boolean, orNull?: string): Check {
  const range = `a number of milliseconds ${positive ? "> 0" : "≥ 0"} (at most ${MAX_TIMER_MS})`;
  const expected = orNull === undefined ? range : `${range}, or null for ${orNull}`;
  return (value, path, ctx) => {
    if (value === null && orNull !== undefined) return;
    if (typeof value !== "number") invalid(ctx, path, expected, value);
    if (!(positive ? value > 0 : value >= 0) || value > MAX_TIMER_MS) invalid(ctx, path, expected, value, true);
  };
}

/** `true` or `false`. */
export const boolean: Check = (value, path, ctx) => {
  if (typeof value !== "boolean") invalid(ctx, path, "true or false", value);
};

/** A string; `nonEmpty` refuses "". `orNull` also allows null. */
export function string(nonEmpty: boolean, orNull?: string): Check {
  const base = nonEmpty ? "a non-empty string" : "a string";
  const expected = orNull === undefined ? base : `${base}, or null for ${orNull}`;
  return (value, path, ctx) => {
    if (value === null && orNull !== undefined) return;
    if (typeof value !== "string") invalid(ctx, path, expected, value);
    if (nonEmpty && value === "") invalid(ctx, path, expected, value, true);
  };
}

/** A function; `signature` says what it is called with, e.g. `(connection, request) => response | undefined`. */
export function func(signature: string): Check {
  const expected = `a function ${signature}`;
  return (value, path, ctx) => {
    if (typeof value !== "function") invalid(ctx, path, expected, value);
  };
}

/** Any non-null, non-array object (e.g. TLS options, whose keys belong to Node). `orNull` also allows null. */
export function object(what: string, orNull?: string): Check {
  const expected = orNull === undefined ? what : `${what}, or null for ${orNull}`;
  return (value, path, ctx) => {
    if (value === null && orNull !== undefined) return;
    if (typeof value !== "object" || value === null || Array.isArray(value)) invalid(ctx, path, expected, value);
  };
}

/** A plain object checked with its own schema (names and values), e.g. `headLimits`. */
export function nested<T>(what: string, schema: Schema<T>): Check {
  return (value, path, ctx) => {
    if (!isPlainObject(value)) invalid(ctx, path, `${what} (a plain object)`, value);
    checkKeys(value, path, schema as Record<string, Check>, ctx, {});
  };
}

/** The first check that accepts the value; or the error of `fallback` (a check that explains). */
export function either(checks: Check[], fallback: Check): Check {
  return (value, path, ctx) => {
    for (const check of checks) {
      try {
        check(value, path, ctx);
        return;
      } catch {
        // try the next one
      }
    }
    fallback(value, path, ctx);
  };
}

/** A check that always refuses: the option exists elsewhere but has no effect here; `why` says what to do. */
export function notHere(why: string): Check {
  return (_value, path, ctx) => {
    throw argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: ${path} has no effect here: ${why}`);
  };
}

// ------------------------------------------------------------ validation

/** What {@link validateOptions} knows besides the schema. */
export interface ValidateExtras {
  /** Names used elsewhere (`ws`, Python `websockets`) → the option to use, or advice. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Checks across options (e.g. low water mark ≤ high), run after each option is checked. */
  readonly cross?: (options: Record<string, unknown>, ctx: CheckContext) => void;
}

/**
 * Check `options` (an object, `undefined` or `null`) against `schema` for
 * the entry point `where`: unknown names first, then each value.
 */
export function validateOptions<T>(where: string, options: unknown, schema: Schema<T>, extras: ValidateExtras = {}): void {
  if (options === undefined || options === null) return;
  const ctx: CheckContext = { where };
  if (typeof options !== "object" || Array.isArray(options)) {
    throw argumentError("WS_ERR_INVALID_OPTION", `${where}: options must be an object; got ${describeValue(options)}`);
  }
  checkKeys(options as Record<string, unknown>, "options", schema as Record<string, Check>, ctx, extras.aliases ?? {});
  extras.cross?.(options as Record<string, unknown>, ctx);
}

function checkKeys(
  options: Record<string, unknown>,
  path: string,
  schema: Record<string, Check>,
  ctx: CheckContext,
  aliases: Readonly<Record<string, string>>,
): void {
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(schema, name)) throw unknownOption(ctx, path, name, Object.keys(schema), aliases);
  }
  for (const name of Object.keys(options)) {
    const value = options[name];
    if (value !== undefined) schema[name]!(value, `${path}.${name}`, ctx);
  }
}

function unknownOption(
  ctx: CheckContext,
  path: string,
  name: string,
  known: string[],
  aliases: Readonly<Record<string, string>>,
): Error {
  // "unknown option pingIntervall", "unknown option compression.levle"
  const label = path === "options" ? name : `${path.replace(/^options\./, "")}.${name}`;
  const alias = Object.hasOwn(aliases, name) ? aliases[name] : undefined;
  let hint: string;
  if (alias !== undefined) hint = known.includes(alias) ? ` (did you mean ${alias}?)` : ` (${alias})`;
  else {
    const near = nearest(name, known);
    hint = near !== null ? ` (did you mean ${near}?)` : `; the options are: ${known.join(", ")}`;
  }
  return argumentError("WS_ERR_INVALID_OPTION", `${ctx.where}: unknown option ${label}${hint}`);
}

/**
 * The known name closest to `name`, if close enough to be a slip: same
 * letters up to case, `_` and `-` (`ping_interval`, `maxsize`), or at most
 * one edit per four letters (`pingIntervall`, `subprotocol`).
 */
export function nearest(name: string, known: readonly string[]): string | null {
  const fold = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const target = fold(name);
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(target.length / 4)) + 1;
  for (const candidate of known) {
    const d = editDistance(target, fold(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 4) return Math.abs(a.length - b.length);
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push(new Array<number>(b.length + 1).fill(0));
    rows[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * Path patterns for `route()`: compiled once, matched against each request's
 * pathname.
 *
 * A pattern is `/` followed by segments separated by `/`. Each segment is
 *
 * - literal text, matched exactly (case-sensitive) against the request's
 *   segment once that is percent-decoded (`/café` and `/caf%C3%A9` are the
 *   same pattern, and match both spellings of the request);
 * - `:name` — a parameter: any one non-empty segment, percent-decoded
 *   (`%2F` gives a `/` inside the value, not a new segment);
 * - `*`, as the last segment only: the rest of the path after that slash,
 *   possibly empty, possibly with slashes (`/files/*` takes `/files/`,
 *   `/files/a/b.txt`, not `/files`), each segment decoded, given as the
 *   parameter `"*"`.
 *
 * Trailing slashes count (`/rooms` and `/rooms/` are two paths) unless the
 * router's `trailingSlash` is `"ignore"`. Nothing is normalised: `.` and
 * `..` segments are segments like others (a `*` or `:name` value may be
 * `..`: check it before using it as a file name). A request whose path has
 * malformed percent-encoding (or encodes bytes that are not UTF-8) matches
 * nothing and is answered 400.
 */
import { argumentError } from "../errors.js";

/** The parameters of a pattern, from its type: `PathParams<"/rooms/:room">` is `{ readonly room: string }`. */
export type PathParams<Pattern extends string> = string extends Pattern
  ? Readonly<Record<string, string>>
  : { readonly [K in PathParamNames<Pattern>]: string };

/** The parameter names in a pattern, from its type: `PathParamNames<"/a/:x/b/:y">` is `"x" | "y"` (`"*"` for a last `*`). */
export type PathParamNames<Pattern extends string> = Pattern extends `${infer Head}/${infer Tail}`
  ? PathParamNames<Head> | PathParamNames<Tail>
  : Pattern extends `:${infer Name}`
    ? Name
    : Pattern extends "*"
      ? "*"
      : never;

const LITERAL = 0;
const PARAM = 1;
const REST = 2;

type Part = { kind: typeof LITERAL; text: string } | { kind: typeof PARAM; name: string } | { kind: typeof REST };

const PARAM_NAME = /^[A-Za-z_$][\w$]*$/;

/** A compiled pattern. */
export class PathPattern {
  /** The pattern as written. */
  readonly source: string;
  private readonly parts: readonly Part[];
  /** A key equal for patterns that match the same paths (for duplicate detection). */
  readonly shape: string;

  constructor(source: string, ignoreTrailingSlash: boolean) {
    this.source = source;
    if (typeof source !== "string" || !source.startsWith("/")) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `route(): the pattern ${JSON.stringify(source)} must start with "/"`, typeof source === "string");
    }
    if (/[?#\s]/.test(source)) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `route(): the pattern ${JSON.stringify(source)} may not contain "?", "#" or spaces (the query string is given to the handler apart)`, true);
    }
    let texts = source.slice(1).split("/");
    if (ignoreTrailingSlash && texts.length > 1 && texts[texts.length - 1] === "") texts = texts.slice(0, -1);
    const seen = new Set<string>();
    this.parts = texts.map((text, i): Part => {
      if (text === "*") {
        if (i !== texts.length - 1) throw patternError(source, `"*" may only be the last segment`);
        return { kind: REST };
      }
      if (text.includes("*")) throw patternError(source, `"*" must be a whole segment ("/files/*")`);
      if (text.startsWith(":")) {
        const name = text.slice(1);
        if (!PARAM_NAME.test(name)) throw patternError(source, `the parameter ${JSON.stringify(text)} needs a name of letters, digits, _ or $ (":room")`);
        if (seen.has(name)) throw patternError(source, `the parameter :${name} appears twice`);
        seen.add(name);
        return { kind: PARAM, name };
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(text);
      } catch {
        throw patternError(source, `the segment ${JSON.stringify(text)} has malformed percent-encoding`);
      }
      return { kind: LITERAL, text: decoded };
    });
    this.shape = this.parts.map((p) => (p.kind === LITERAL ? `=${p.text}` : p.kind === PARAM ? ":" : "*")).join("/");
  }

  /** The parameters when `segments` (decoded) match; null otherwise. */
  match(segments: readonly string[], ignoreTrailingSlash: boolean): Record<string, string> | null {
    const parts = this.parts;
    const last = parts.length - 1;
    const rest = parts[last]!.kind === REST;
    let n = segments.length;
    if (ignoreTrailingSlash && n > 1 && segments[n - 1] === "") n--;
    // "/files/*" takes "/files/" and below, and "/files" too when trailing slashes are ignored.
    if (rest ? n < (ignoreTrailingSlash ? last : parts.length) : n !== parts.length) return null;
    // Empty when the pattern has no parameters; made on the first one.
    let params: Record<string, string> | null = null;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.kind === REST) {
        params ??= {};
        params["*"] = segments.slice(i, n).join("/");
        break;
      }
      const segment = segments[i]!;
      if (part.kind === LITERAL) {
        if (segment !== part.text) return null;
      } else {
        if (segment === "") return null;
        params ??= {};
        params[part.name] = segment;
      }
    }
    return params ?? EMPTY_PARAMS;
  }

  /**
   * Order of precedence: compared segment by segment from the left, a
   * literal beats a parameter, which beats `*`; the first difference decides.
   */
  static compare(a: PathPattern, b: PathPattern): number {
    const n = Math.min(a.parts.length, b.parts.length);
    for (let i = 0; i < n; i++) {
      const d = a.parts[i]!.kind - b.parts[i]!.kind;
      if (d !== 0) return d;
    }
    // Same kinds as far as both go: only "/a/:x" and "/a/:x/*" can then overlap, and the shorter is the more specific.
    return a.parts.length - b.parts.length;
  }
}

const EMPTY_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function patternError(source: string, why: string): Error {
  return argumentError("WS_ERR_INVALID_ARGUMENT", `route(): in the pattern ${JSON.stringify(source)}, ${why}`, true);
}

/**
 * The decoded segments of a request target's pathname (`/a/b%20c?x` →
 * `["a", "b c"]`), with its raw pathname and query; null segments when
 * the percent-encoding is malformed or not UTF-8.
 */
export function splitTarget(target: string): { pathname: string; query: string; segments: string[] | null } {
  const q = target.indexOf("?");
  const pathname = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q + 1);
  if (!pathname.startsWith("/")) return { pathname, query, segments: null };
  const raw = pathname.slice(1).split("/");
  const segments: string[] = [];
  for (const s of raw) {
    if (!s.includes("%")) {
      segments.push(s);
      continue;
    }
    try {
      segments.push(decodeURIComponent(s));
    } catch {
      return { pathname, query, segments: null };
    }
  }
  return { pathname, query, segments };
}

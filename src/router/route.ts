/**
 * `route()`: one server, several paths, a handler for each — Python
 * `websockets`' `route(url_map)` in TypeScript idiom.
 *
 * ```ts
 * const router = route({
 *   "/": lobby,
 *   "/rooms/:room": (ws, { params, query }) => chat(ws, params.room, query.get("nick")),
 *   "/admin": { handler: admin, processRequest: basicAuth({ realm: "admin", credentials: { root: "..." } }) },
 * });
 * await serve(router, { port: 8765 });   // or attach(httpServer, router)
 * ```
 *
 * What it owns: the route table (patterns in `pattern.ts`), the answer to
 * a request no route takes (404, before any upgrade; 400 for a path with
 * malformed percent-encoding), each route's own `processRequest`, and the
 * dispatch of an open connection to its route's handler with the match
 * (`params`, `query`). The router is a handler that carries
 * `RequestRouting` — the small interface `src/node` defines — so the
 * adapters never import this room.
 *
 * Order of the hooks for a request: the server's `processRequest` option
 * (health checks, auth for every route), the server's `path` if any, then
 * the router (404 / 400), then the route's `processRequest`, then the
 * handshake. With `attach`, a request no route takes is left to the HTTP
 * server's other `'upgrade'` listeners, as for a server with a `path`.
 */
import { argumentError } from "../errors.js";
import type { HttpRequest } from "../handshake/http.js";
import { rejectResponse } from "../handshake/server.js";
import type { Connection } from "../node/connection.js";
import { describeValue, invalid, validateOptions, type Check, type Schema } from "../node/options/schema.js";
import type { PendingConnection } from "../node/pending.js";
import type { ProcessRequestResult, RequestRouting } from "../node/server-options.js";
import { PathPattern, splitTarget, type PathParams } from "./pattern.js";

/** What a route's handler learns of the request: the pattern that matched, its parameters, the query string. */
export interface RouteMatch<Params = Readonly<Record<string, string>>> {
  /** The pattern that matched, as written in the route table (`"/rooms/:room"`). */
  readonly pattern: string;
  /** The parameters, percent-decoded: `{ room: "lobby" }`; `"*"` for a trailing `*`. */
  readonly params: Params;
  /** The query string, parsed (`query.get("token")`). */
  readonly query: URLSearchParams;
  /** The request's pathname as sent (not decoded, no query string). */
  readonly path: string;
}

/** A route's handler: the connection, and what the router matched (typed from the pattern: `params.room`). */
export type RouteHandler<Pattern extends string = string> = (connection: Connection, match: RouteMatch<PathParams<Pattern>>) => unknown;

/** A route's own `processRequest`: as the server option, with the match as a third argument. */
export type RouteProcessRequest<Pattern extends string = string> = (
  connection: PendingConnection,
  request: HttpRequest,
  match: RouteMatch<PathParams<Pattern>>,
) => ProcessRequestResult | Promise<ProcessRequestResult>;

/** A route with more than a handler. */
export interface RouteEntry<Pattern extends string = string> {
  /** The handler. */
  handler: RouteHandler<Pattern>;
  /** Runs before the handshake for this route only, after the server's `processRequest`: answer to refuse (401, 403...), nothing to go on. */
  processRequest?: RouteProcessRequest<Pattern>;
}

/** A route table: pattern → handler, or → `{ handler, processRequest }`. The handler's `match.params` is typed from its pattern. */
export type Routes<T> = { [Pattern in keyof T]: RouteHandler<Pattern & string> | RouteEntry<Pattern & string> };

/** Options of {@link route}. */
export interface RouteOptions {
  /** `"strict"` (default): `/rooms` and `/rooms/` are different paths. `"ignore"`: one trailing slash makes no difference. */
  trailingSlash?: "strict" | "ignore";
}

/**
 * What {@link route} returns: a connection handler for `serve` / `attach`
 * that also tells the server which requests it takes (`routing`).
 */
export interface Router {
  /** Run the handler of the connection's route. */
  (connection: Connection): unknown;
  /** Read by `serve` / `attach`: which requests the router takes, and its hook before the handshake. */
  readonly routing: RequestRouting;
  /** The route a request target (`/rooms/1?nick=a`) goes to, with its parameters; null if none (or malformed percent-encoding). */
  match(target: string): RouteMatch | null;
}

interface CompiledRoute {
  readonly pattern: PathPattern;
  readonly handler: RouteHandler;
  readonly processRequest: RouteProcessRequest | undefined;
}

interface Found {
  readonly route: CompiledRoute;
  readonly match: RouteMatch;
}

const ROUTE_OPTIONS: Schema<RouteOptions> = {
  trailingSlash: ((value, path, ctx) => {
    if (value !== "strict" && value !== "ignore") invalid(ctx, path, '"strict" or "ignore"', value, typeof value === "string");
  }) satisfies Check,
};

const BAD_PATH = "bad path";

/**
 * Serve each path with its handler. Patterns: literal segments, `:name`
 * (one segment), and a last `*` (the rest) — see `docs/routing.md`.
 * The most specific pattern wins, whatever the order of the table: from the
 * left, a literal segment beats a parameter, which beats `*`.
 *
 * Throws a `TypeError` / `RangeError` (code `WS_ERR_INVALID_ARGUMENT`) for
 * a malformed pattern, two patterns that take the same paths, or a route
 * that is not a handler or `{ handler, processRequest? }`.
 */
export function route<T>(routes: Routes<T>, options?: RouteOptions): Router {
  validateOptions("route()", options, ROUTE_OPTIONS);
  const ignoreSlash = options?.trailingSlash === "ignore";
  const table = compile(routes as Record<string, unknown>, ignoreSlash);
  const matched = new WeakMap<HttpRequest, Found>();

  const find = (target: string): Found | null | typeof BAD_PATH => {
    const { pathname, query, segments } = splitTarget(target);
    if (segments === null) return BAD_PATH;
    for (const r of table) {
      const params = r.pattern.match(segments, ignoreSlash);
      if (params !== null) return { route: r, match: { pattern: r.pattern.source, params, query: new URLSearchParams(query), path: pathname } };
    }
    return null;
  };

  const routing: RequestRouting = {
    takes: (target) => {
      const found = find(target);
      return found !== null && found !== BAD_PATH;
    },
    processRequest: (connection, request) => {
      const found = find(request.path);
      if (found === BAD_PATH) return rejectResponse(400, "Bad Request: malformed percent-encoding in the path.\n");
      if (found === null) return rejectResponse(404, "Not Found\n");
      matched.set(request, found);
      return found.route.processRequest?.(connection, request, found.match);
    },
  };

  const router = (connection: Connection): unknown => {
    let found: Found | null | typeof BAD_PATH | undefined = matched.get(connection.request);
    if (found === undefined) found = find(connection.request.path);
    else matched.delete(connection.request);
    if (found === null || found === BAD_PATH) {
      // Only when the server did not run routing.processRequest (the router wrapped in another function).
      throw argumentError(
        "WS_ERR_INVALID_ARGUMENT",
        `route(): no route for ${JSON.stringify(splitTarget(connection.request.path).pathname)}; pass the router itself to serve() / attach(), so that other paths are answered 404 before the handshake`,
      );
    }
    return found.route.handler(connection, found.match);
  };
  return Object.assign(router, {
    routing,
    match: (target: string): RouteMatch | null => {
      const found = find(target);
      return found === null || found === BAD_PATH ? null : found.match;
    },
  });
}

function compile(routes: Record<string, unknown>, ignoreSlash: boolean): CompiledRoute[] {
  if (typeof routes !== "object" || routes === null || Array.isArray(routes)) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `route(routes, options?): routes must be an object of pattern: handler; got ${describeValue(routes)}`);
  }
  const table: CompiledRoute[] = [];
  const shapes = new Map<string, string>();
  for (const [source, value] of Object.entries(routes)) {
    const pattern = new PathPattern(source, ignoreSlash);
    const twin = shapes.get(pattern.shape);
    if (twin !== undefined) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `route(): the patterns ${JSON.stringify(twin)} and ${JSON.stringify(source)} take the same paths`, true);
    }
    shapes.set(pattern.shape, source);
    table.push({ pattern, ...entryOf(source, value) });
  }
  if (table.length === 0) throw argumentError("WS_ERR_INVALID_ARGUMENT", "route(routes): routes has no route", true);
  // Sorted once by precedence: the first match is the most specific.
  return table.sort((a, b) => PathPattern.compare(a.pattern, b.pattern));
}

function entryOf(source: string, value: unknown): { handler: RouteHandler; processRequest: RouteProcessRequest | undefined } {
  if (typeof value === "function") return { handler: value as RouteHandler, processRequest: undefined };
  const where = `route(): the route ${JSON.stringify(source)}`;
  if (typeof value !== "object" || value === null || typeof (value as RouteEntry).handler !== "function") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where} must be a handler (connection, match) => ... or { handler, processRequest? }; got ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== "handler" && key !== "processRequest") {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where} has an unknown key ${JSON.stringify(key)}; a route is { handler, processRequest? }`);
    }
  }
  const { handler, processRequest } = value as RouteEntry;
  if (processRequest !== undefined && typeof processRequest !== "function") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${where}: processRequest must be a function (connection, request, match) => response | undefined; got ${describeValue(processRequest)}`);
  }
  return { handler, processRequest };
}

/**
 * Type-level test, compiled by `npm run typecheck` (never run): request
 * headers are keyed by lower-case names, so the mistake that is always
 * `undefined` at run time — `headers["Origin"]` — does not compile. Each
 * `@ts-expect-error` fails the type-check if the line below it compiles.
 */
import type { HttpRequest, HttpResponse, ServerOptions } from "../../src/index.js";

declare const request: HttpRequest;

// Lower-case names compile and read a string.
export const origin: string = request.headers["origin"];
export const protocols: string | undefined = request.headers["sec-websocket-protocol"];
export const host: string = request.headers.host;

// @ts-expect-error: header names are lower case
export const wrongCase = request.headers["Origin"];
// @ts-expect-error: header names are lower case
export const wrongCaseDot = request.headers.Origin;
// @ts-expect-error: header names are lower case
export const wrongCaseMixed = request.headers["Sec-WebSocket-Protocol"];

// A name in a `string` must be lower-cased (and said so) first.
declare const name: string;
// @ts-expect-error: a plain string may not be lower case
export const unchecked = request.headers[name];
export const checked: string | undefined = request.headers[name.toLowerCase() as Lowercase<string>];

// Read-only: changing the request would not change what the handshake sees.
// @ts-expect-error: request headers are read-only
request.headers["origin"] = "https://evil.example";

// Iterating gives every field.
for (const [field, value] of Object.entries(request.headers)) field.toUpperCase() + value.trim();

// In processRequest, where users meet them.
export const options: ServerOptions = {
  processRequest: (conn, req) => {
    // @ts-expect-error: header names are lower case
    if (req.headers["Authorization"] === undefined) return conn.respond(401, "");
    return req.headers["authorization"] === "Bearer t" ? undefined : conn.respond(403, "");
  },
  processResponse: (_conn, _req, response: HttpResponse) => {
    response.headers["x-served-by"] = "wavesock";
    return undefined;
  },
};

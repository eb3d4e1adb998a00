/**
 * The server's checks on what application code answers an opening
 * handshake with: a `processRequest` / `processResponse` (the option's or
 * the router's) that returns a response, edits the 101, or throws.
 *
 * A response that cannot be sent — a malformed one (`handshake/response.ts`
 * says what is wrong), a 1xx, a 101 from `processRequest`, a 101 whose
 * negotiated headers were changed — becomes a 500 and a log line naming the
 * mistake, once per distinct mistake (bounded), so that the same bug on
 * every request does not flood the log. A hook that throws becomes a 500 as
 * well, logged and published to `diagnostics_channel`. Nothing of the
 * application's error goes onto the wire.
 */
import { isArgumentError } from "../errors.js";
import type { HttpRequest, HttpResponse } from "../handshake/http.js";
import { checkResponse, isResponseProblem } from "../handshake/response.js";
import { rejectResponse } from "../handshake/server.js";
import { publishError, type ErrorSource } from "./diagnostics.js";
import { logLine, type Logger } from "./logging.js";
import type { PendingConnection } from "./pending.js";

/** Distinct bad responses logged per server; beyond, they are answered 500 silently (the log stays bounded). */
const MAX_LOGGED_MISTAKES = 64;

/** The headers of a 101 that the handshake negotiated: `processResponse` may not change them. */
const HANDSHAKE_HEADERS = ["upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions"];

/** What a 101 carries of {@link HANDSHAKE_HEADERS}, to compare after `processResponse`. */
export type NegotiatedHeaders = Record<string, string | undefined>;

/** The negotiated headers of the handshake's `response`. */
export function negotiatedHeaders(response: HttpResponse): NegotiatedHeaders {
  const out: NegotiatedHeaders = {};
  for (const name of HANDSHAKE_HEADERS) out[name] = response.headers[name];
  return out;
}

/** One server's checks, with its logger and the mistakes it has logged. */
export class HookAnswers {
  private readonly mistakes = new Set<string>();

  constructor(private readonly logger: Logger | null) {}

  /** Run a `processRequest` (the option's or the router's): its checked answer, or null to go on. */
  async processRequest(
    hook: (connection: PendingConnection, request: HttpRequest) => unknown,
    pc: PendingConnection,
    request: HttpRequest,
  ): Promise<HttpResponse | null> {
    try {
      const early: unknown = await hook(pc, request);
      return early === undefined || early === null ? null : this.check("processRequest", early, null);
    } catch (err) {
      return this.failed("processRequest", err, "processRequest");
    }
  }

  /**
   * A response from `processRequest` / `processResponse`, checked and
   * completed; a 500 (logged) when it cannot be sent. `negotiated` holds the
   * 101's handshake headers when the handshake made one, null otherwise.
   */
  check(hook: string, value: unknown, negotiated: NegotiatedHeaders | null): HttpResponse {
    const checked = checkResponse(value);
    if (isResponseProblem(checked)) return this.mistake(`${hook} returned a response that ${checked.problem}`, checked.detail);
    const status = checked.status;
    if (status === 101) {
      if (negotiated === null) {
        return this.mistake(
          hook === "processRequest"
            ? "processRequest returned a 101: only the WebSocket handshake answers 101 (return undefined to go on with it)"
            : "processResponse turned a refusal into a 101: only the WebSocket handshake answers 101",
          "",
        );
      }
      for (const name of HANDSHAKE_HEADERS) {
        if (checked.headers[name] !== negotiated[name]) {
          return this.mistake(`processResponse changed the "${name}" header of the 101, which the handshake negotiated`, "");
        }
      }
    } else if (status < 200) {
      return this.mistake(`${hook} returned status ${status}: a 1xx is not a final response`, "");
    }
    return checked;
  }

  /** `processRequest` / `processResponse` / a handshake callback threw: 500, logged. */
  failed(hook: string, err: unknown, source: ErrorSource): HttpResponse {
    publishError(null, source, err);
    // respond(99) and the like: a mistake in the code, the same on every request.
    if (isArgumentError(err)) return this.mistake(`${hook} failed: ${err.message}`, "");
    logLine(this.logger, "error", `${hook} failed`, undefined, err);
    return rejectResponse(500, "Internal Server Error\n");
  }

  /** Log a programming error once per distinct `message` (bounded), and answer 500. */
  private mistake(message: string, detail: string): HttpResponse {
    if (!this.mistakes.has(message) && this.mistakes.size < MAX_LOGGED_MISTAKES) {
      this.mistakes.add(message);
      logLine(this.logger, "error", `${message}${detail ? ` (${detail})` : ""}; answered 500 Internal Server Error instead (logged once)`);
    }
    return rejectResponse(500, "Internal Server Error\n");
  }
}

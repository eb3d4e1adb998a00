/**
 * The events of the standard `WebSocket` that Node has no global for
 * (`CloseEvent`, and the `ErrorEvent` its `error` events are), and the
 * `on…` attributes: HTML's event handler IDL attributes over Node's own
 * `EventTarget`. `open` is a plain `Event` and `message` Node's global
 * `MessageEvent`.
 */
import { toUSVString } from "./arguments.js";

/** What `new CloseEvent(type, init)` takes (with `EventInit`'s members). */
export interface CloseEventInit {
  /** Whether the event bubbles. Default false. */
  bubbles?: boolean;
  /** Whether `preventDefault()` may cancel it. Default false. */
  cancelable?: boolean;
  /** Whether it crosses shadow roots. Default false. */
  composed?: boolean;
  /** Whether the connection closed cleanly (the closing handshake completed, then TCP closed). Default false. */
  wasClean?: boolean;
  /** The close code. Default 0. */
  code?: number;
  /** The close reason. Default "". */
  reason?: string;
}

/**
 * The `close` event of a `WebSocket` (the WHATWG `CloseEvent`): `code` is
 * the code of the close frame received (1005 when it had none), 1006 when
 * the connection ended without one or was failed; `reason` its reason;
 * `wasClean` true when the closing handshake completed before TCP closed.
 */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  /** A close event of type `type` (normally "close"). */
  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = Boolean(init.wasClean);
    // Web IDL unsigned short: modulo 2^16.
    this.#code = init.code === undefined ? 0 : (Math.trunc(Number(init.code)) || 0) & 0xffff;
    this.#reason = init.reason === undefined ? "" : toUSVString(init.reason);
  }

  /** True when the closing handshake completed before the TCP connection closed. */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  /** The close code (RFC 6455 §7.1.5: 1005 for a close frame without one, 1006 for none or a failed connection). */
  get code(): number {
    return this.#code;
  }

  /** The close reason, as received. */
  get reason(): string {
    return this.#reason;
  }

  /** "CloseEvent", as in browsers. */
  get [Symbol.toStringTag](): string {
    return "CloseEvent";
  }
}

/** What `new ErrorEvent(type, init)` takes (with `EventInit`'s members). */
export interface ErrorEventInit {
  /** Whether the event bubbles. Default false. */
  bubbles?: boolean;
  /** Whether `preventDefault()` may cancel it. Default false. */
  cancelable?: boolean;
  /** Whether it crosses shadow roots. Default false. */
  composed?: boolean;
  /** A description. Default "". */
  message?: string;
  /** The error. Default undefined. */
  error?: unknown;
}

/**
 * The `error` event of a `WebSocket`. The standard fires a plain `Event`;
 * this one (like Node's built-in client's) also says what went wrong:
 * `error` is the cause (`ECONNREFUSED`, `InvalidStatus` with the
 * response, `ProtocolError` for invalid UTF-8...), `message` its message.
 */
export class ErrorEvent extends Event {
  readonly #message: string;
  readonly #error: unknown;

  /** An error event of type `type` (normally "error"). */
  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.#message = init.message === undefined ? "" : String(init.message);
    this.#error = init.error;
  }

  /** What went wrong, in words. */
  get message(): string {
    return this.#message;
  }

  /** The error that caused the event. */
  get error(): unknown {
    return this.#error;
  }

  /** "ErrorEvent", as in browsers. */
  get [Symbol.toStringTag](): string {
    return "ErrorEvent";
  }
}

/** One `on…` attribute: the handler, and the listener registered for it. */
interface HandlerSlot {
  value: object;
  readonly listener: (event: Event) => void;
}

/**
 * The event handler IDL attributes (`onopen`, `onmessage`...) of one
 * `EventTarget`, as HTML defines them: setting a handler registers one
 * listener, at that point of the listener list; setting another replaces
 * the handler but keeps its place; setting null (or anything that is not an
 * object, as Web IDL's `[LegacyTreatNonObjectAsNull]` reads it) removes
 * it, and the next handler is registered anew, last. The handler is called
 * with the target as `this`; an object that is not callable is kept (the
 * attribute returns it) and does nothing.
 */
export class EventHandlers {
  readonly #target: EventTarget;
  readonly #slots = new Map<string, HandlerSlot>();

  /** The attributes of `target`. */
  constructor(target: EventTarget) {
    this.#target = target;
  }

  /** The handler of `type`, or null. */
  get(type: string): unknown {
    return this.#slots.get(type)?.value ?? null;
  }

  /** Set (or, with null, remove) the handler of `type`. */
  set(type: string, value: unknown): void {
    const handler = (typeof value === "object" || typeof value === "function") && value !== null ? value : null;
    const slot = this.#slots.get(type);
    if (handler === null) {
      if (slot !== undefined) {
        this.#target.removeEventListener(type, slot.listener);
        this.#slots.delete(type);
      }
      return;
    }
    if (slot !== undefined) {
      slot.value = handler;
      return;
    }
    const target = this.#target;
    const created: HandlerSlot = {
      value: handler,
      listener: (event) => {
        const h = created.value;
        if (typeof h === "function") h.call(target, event);
      },
    };
    this.#slots.set(type, created);
    target.addEventListener(type, created.listener);
  }
}

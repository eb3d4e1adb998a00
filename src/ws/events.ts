/**
 * The EventTarget side of the `ws` API: the event objects `ws` hands to
 * `addEventListener` listeners and to the `onopen` / `onmessage` / `onclose`
 * / `onerror` attributes, and the two methods themselves. As in `ws`, they
 * sit on top of the `EventEmitter` events: a listener added with
 * `addEventListener("message", fn)` is an `'message'` listener that wraps
 * `(data, isBinary)` into a {@link MessageEvent} (text as a string).
 */
import type { EventEmitter } from "node:events";

/** Marks the wrapper that an `on…` attribute installed (one per event type). */
const kForAttribute = Symbol("wavesock.ws.forOnEventAttribute");
/** The user's listener a wrapper calls. */
const kListener = Symbol("wavesock.ws.listener");

/** A listener as `addEventListener` takes it: a function or an object with `handleEvent`. */
export type EventListenerLike<E> = ((this: unknown, event: E) => void) | { handleEvent(event: E): void };

/** The base event: `type` and `target` (the WebSocket). */
export class Event {
  /** The event type: "open", "message", "close" or "error". */
  readonly type: string;
  /** The WebSocket that emitted the event. */
  target: unknown = null;

  /** An event of `type`. */
  constructor(type: string) {
    this.type = type;
  }
}

/** The `close` event: the close code, the reason as a string, and whether both close frames went. */
export class CloseEvent extends Event {
  /** The close code (1006 when no close frame was received). */
  readonly code: number;
  /** The close reason. */
  readonly reason: string;
  /** True when a close frame was both sent and received. */
  readonly wasClean: boolean;

  /** A close event with the given fields (defaults 0, "", false). */
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

/** The `error` event: the error and its message. */
export class ErrorEvent extends Event {
  /** The error emitted. */
  readonly error: unknown;
  /** Its message. */
  readonly message: string;

  /** An error event with the given fields (defaults null, ""). */
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error ?? null;
    this.message = init.message ?? "";
  }
}

/** The `message` event: `data` is a string for text, the binary data (per `binaryType`) otherwise. */
export class MessageEvent extends Event {
  /** The message. */
  readonly data: unknown;

  /** A message event carrying `data` (default null). */
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data ?? null;
  }
}

type Wrapper = ((...args: unknown[]) => void) & { [kForAttribute]?: boolean; [kListener]?: unknown };

/** The WebSocket's getter for the `wasClean` of a close: both close frames went. */
export const kWasClean = Symbol("wavesock.ws.wasClean");

/** What the wrappers need of the WebSocket. */
interface Target extends EventEmitter {
  readonly [kWasClean]?: boolean;
}

function callListener(listener: unknown, target: unknown, event: Event): void {
  if (typeof listener === "function") (listener as (this: unknown, e: Event) => void).call(target, event);
  else (listener as { handleEvent(e: Event): void }).handleEvent(event);
}

function wrap(type: string, handler: unknown): Wrapper | null {
  switch (type) {
    case "message":
      return function onMessage(this: Target, data: unknown, isBinary: unknown) {
        const event = new MessageEvent("message", { data: isBinary ? data : String(data) });
        event.target = this;
        callListener(handler, this, event);
      } as Wrapper;
    case "close":
      return function onClose(this: Target, code: unknown, reason: unknown) {
        const event = new CloseEvent("close", { code: code as number, reason: String(reason), wasClean: this[kWasClean] === true });
        event.target = this;
        callListener(handler, this, event);
      } as Wrapper;
    case "error":
      return function onError(this: Target, error: unknown) {
        const event = new ErrorEvent("error", { error, message: (error as { message?: string } | null)?.message ?? "" });
        event.target = this;
        callListener(handler, this, event);
      } as Wrapper;
    case "open":
      return function onOpen(this: Target) {
        const event = new Event("open");
        event.target = this;
        callListener(handler, this, event);
      } as Wrapper;
    default:
      return null;
  }
}

/**
 * `addEventListener(type, listener, { once })`, as `ws` has it: only the
 * four WebSocket event types; adding the same listener twice adds it once.
 */
export function addEventListener(this: EventEmitter, type: string, handler: unknown, options: { once?: boolean } = {}): void {
  const forAttribute = (options as { [kForAttribute]?: boolean })[kForAttribute] === true;
  if (typeof handler !== "function" && (typeof handler !== "object" || handler === null)) return;
  if (!forAttribute) {
    for (const l of this.listeners(type) as Wrapper[]) if (l[kListener] === handler && !l[kForAttribute]) return;
  }
  const wrapper = wrap(type, handler);
  if (wrapper === null) return;
  wrapper[kForAttribute] = forAttribute;
  wrapper[kListener] = handler;
  if (options.once === true) this.once(type, wrapper);
  else this.on(type, wrapper);
}

/** `removeEventListener(type, listener)`: removes a listener added with `addEventListener` (not an `on…` attribute). */
export function removeEventListener(this: EventEmitter, type: string, handler: unknown): void {
  for (const l of this.listeners(type) as Wrapper[]) {
    if (l[kListener] === handler && !l[kForAttribute]) {
      this.removeListener(type, l);
      return;
    }
  }
}

/** Define `onopen`, `onmessage`, `onclose`, `onerror` on `proto`: one listener each, replaced on assignment. */
export function defineEventAttributes(proto: object): void {
  for (const type of ["open", "error", "close", "message"]) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: EventEmitter) {
        for (const l of this.listeners(type) as Wrapper[]) if (l[kForAttribute]) return l[kListener];
        return null;
      },
      set(this: EventEmitter, handler: unknown) {
        for (const l of this.listeners(type) as Wrapper[]) {
          if (l[kForAttribute]) {
            this.removeListener(type, l);
            break;
          }
        }
        if (typeof handler !== "function") return;
        addEventListener.call(this, type, handler, { [kForAttribute]: true } as { once?: boolean });
      },
    });
  }
}

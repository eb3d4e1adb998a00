/**
 * Topics: `ws.subscribe(topic)`, `server.publish(topic, message)` — and the
 * {@link PubSubBackplane} interface through which a server's publishes reach
 * the subscribers of every server instance.
 *
 * This file owns the subscriptions of one server (which connection listens to
 * which topic), the fan-out to local subscribers (framed once through
 * {@link SharedMessage}, never awaiting a slow peer), the slow-subscriber
 * policy and the resume protocol. It does not know how messages travel
 * between instances: that is the backplane's job. The default backplane is
 * in-process (`./local-pubsub.ts`); a Redis one lives above the adapters in
 * `src/pubsub/` and is passed in as the `pubsub` server option, so this
 * adapter never imports it (DESIGN.md, "Rooms above the adapters").
 *
 * Theory of operation. `publish` validates and hands the message to the
 * backplane; the backplane calls {@link BackplaneSink.deliver} exactly once
 * per instance for every message — on the publishing instance too — and the
 * registry writes it to that instance's subscribers. So a message is
 * delivered once per subscriber whatever the backplane, and the order a
 * backplane delivers in is the order every subscriber sees.
 */
import { InvalidState, argumentError } from "../errors.js";
import { SharedMessage } from "./broadcast.js";
import type { Connection, Data } from "./connection.js";
import { compareMessageIds, isMessageId, localPubSub } from "./local-pubsub.js";

/** What a publish carries besides the message, handed back by the backplane on the publishing instance. */
export interface PublishMeta {
  /** The connection that must not receive the message (`ws.publish`), or null. */
  readonly exclude: Connection | null;
  /** False to send uncompressed. */
  readonly compress: boolean;
}

/** A message kept in a topic's history. */
export interface HistoryEntry {
  /** The message id, `"<milliseconds>-<sequence>"` (the Redis Streams format). */
  readonly id: string;
  /** The message as published: a string is text, bytes are binary. */
  readonly message: Data;
}

/** The messages of a topic after some id, as a backplane's history returns them. */
export interface HistoryReply {
  /** The messages after the id, oldest first, at most the history's count, none older than its age. */
  readonly entries: readonly HistoryEntry[];
  /** True when the history still held the id asked about, so nothing after it is missing from `entries`. */
  readonly complete: boolean;
}

/** Where a backplane delivers the messages it carries: the server's topic registry. */
export interface BackplaneSink {
  /**
   * Write `message` to this instance's subscribers of `topic`. Called exactly
   * once per instance for each published message, in the order subscribers
   * must see them. `id` is the message's history id (null when the backplane
   * keeps no history for it); `meta` is what `publish` was given when the
   * message was published on this instance, null when it came from another.
   */
  deliver(topic: string, message: Data, id: string | null, meta: PublishMeta | null): void;
}

/**
 * Carries publishes between server instances. The registry calls
 * `subscribe` when a topic gets its first local subscriber and `unsubscribe`
 * when its last one leaves, so a backplane listens only to topics somebody
 * on this instance listens to.
 */
export interface PubSubBackplane {
  /** Bind to the server that uses this backplane; called once, before anything else. */
  start(sink: BackplaneSink): void;
  /**
   * `topic` has its first local subscriber. The promise (if any) resolves
   * once messages published from then on are sure to be delivered (resume
   * waits for it before reading the history).
   */
  subscribe(topic: string): void | Promise<void>;
  /** `topic` has no local subscriber any more. */
  unsubscribe(topic: string): void;
  /** Carry a message to every instance, this one included (through `sink.deliver`, with `meta` here). */
  publish(topic: string, message: Data, meta: PublishMeta): void;
  /** The messages of `topic` after `lastId` (null: the whole history kept). Absent: the backplane keeps none. */
  history?(topic: string, lastId: string | null): HistoryReply | Promise<HistoryReply>;
  /** Stop: the server is closing. */
  close(): Promise<void>;
}

/** The `topics` server option: how messages are framed and what happens to slow subscribers. */
export interface TopicOptions {
  /**
   * Frame a published message for the wire, with its history id (null when
   * the backplane keeps no history, or the message was published while the
   * backplane was down): how ids reach clients, which send the last one they
   * saw to `ws.resume`. Runs once per message per instance (and per replayed
   * message), on every instance alike.
   */
  envelope?: ((message: Data, meta: { id: string | null; topic: string }) => Data) | null;
  /**
   * A subscriber with more than this many bytes waiting to be written is
   * over its limit (as uWebSockets.js's `maxBackpressure`). Default: the
   * connection's `writeHighWaterMark` (64 KiB).
   */
  maxBackpressure?: number | null;
  /**
   * What happens to a subscriber over its limit: false (default) skips it for
   * this message and counts it (`server.topicStats.skipped`); true closes it
   * with 1013 (try again later) and counts it (`closed`). Memory stays
   * bounded either way.
   */
  closeOnBackpressureLimit?: boolean;
  /** Most live messages held for one connection while `resume` reads the history. Default 10 000. */
  maxResumeBuffer?: number;
}

/** What `ws.resume` did. */
export interface ResumeResult {
  /** Messages replayed from the history. */
  readonly replayed: number;
  /** True when nothing published after `lastId` is missing (the history reached back to it). */
  readonly complete: boolean;
}

/** Counters of the slow-subscriber policy. */
export interface TopicStats {
  /** Deliveries skipped: the subscriber was over `maxBackpressure` (or not open). */
  skipped: number;
  /** Subscribers closed with 1013 under `closeOnBackpressureLimit`. */
  closed: number;
}

/** A topic name: a non-empty string of at most this many characters. */
const MAX_TOPIC_LENGTH = 1024;
/** §7.4.1 registry (IANA): 1013 "Try Again Later". */
const TRY_AGAIN_LATER = 1013;

/** Live messages held for one connection and topic while its resume reads the history. */
interface Held {
  items: { message: Data; id: string | null; meta: PublishMeta | null }[];
  overflow: boolean;
}

/** Check a topic name (programmer input: TypeError). */
export function checkTopic(topic: unknown, what = "topic"): asserts topic is string {
  if (typeof topic !== "string" || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `${what} must be a non-empty string of at most ${MAX_TOPIC_LENGTH} characters, got ${describe(topic)}`);
  }
}

/** A message to publish as a string or bytes (an ArrayBuffer becomes bytes). */
function checkMessage(message: unknown): Data {
  if (typeof message === "string" || message instanceof Uint8Array) return message;
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  throw argumentError("WS_ERR_INVALID_ARGUMENT", `message must be a string, a Uint8Array or an ArrayBuffer, got ${describe(message)}`);
}

function checkPublishOptions(options: unknown): boolean {
  if (options === undefined) return true;
  if (options === null || typeof options !== "object") throw argumentError("WS_ERR_INVALID_ARGUMENT", `publish options must be an object, got ${describe(options)}`);
  const compress = (options as { compress?: unknown }).compress;
  if (compress !== undefined && typeof compress !== "boolean") {
    throw argumentError("WS_ERR_INVALID_ARGUMENT", `publish option compress must be a boolean, got ${describe(compress)}`);
  }
  return compress !== false;
}

/** A short description of a wrong value for an error message (never its whole content). */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "undefined") return String(value);
  if (typeof value === "function") return "a function";
  return (value as object).constructor?.name ?? typeof value;
}

function checkOptions(options: TopicOptions | undefined): Required<Omit<TopicOptions, "envelope" | "maxBackpressure">> & TopicOptions {
  if (options === undefined || options === null) return { closeOnBackpressureLimit: false, maxResumeBuffer: 10_000 };
  if (typeof options !== "object") throw argumentError("WS_ERR_INVALID_OPTION", `topics must be an object, got ${describe(options)}`);
  const { envelope, maxBackpressure, closeOnBackpressureLimit, maxResumeBuffer } = options;
  if (envelope !== undefined && envelope !== null && typeof envelope !== "function") {
    throw argumentError("WS_ERR_INVALID_OPTION", `topics.envelope must be a function (message, { id, topic }) => string | Uint8Array, got ${describe(envelope)}`);
  }
  if (maxBackpressure !== undefined && maxBackpressure !== null && !(Number.isSafeInteger(maxBackpressure) && maxBackpressure >= 0)) {
    throw argumentError("WS_ERR_INVALID_OPTION", `topics.maxBackpressure must be a byte count (an integer >= 0) or null, got ${describe(maxBackpressure)}`);
  }
  if (closeOnBackpressureLimit !== undefined && typeof closeOnBackpressureLimit !== "boolean") {
    throw argumentError("WS_ERR_INVALID_OPTION", `topics.closeOnBackpressureLimit must be a boolean, got ${describe(closeOnBackpressureLimit)}`);
  }
  if (maxResumeBuffer !== undefined && !(Number.isSafeInteger(maxResumeBuffer) && maxResumeBuffer > 0)) {
    throw argumentError("WS_ERR_INVALID_OPTION", `topics.maxResumeBuffer must be a positive integer, got ${describe(maxResumeBuffer)}`);
  }
  return { ...options, closeOnBackpressureLimit: closeOnBackpressureLimit ?? false, maxResumeBuffer: maxResumeBuffer ?? 10_000 };
}

function checkBackplane(pubsub: unknown): PubSubBackplane {
  if (pubsub === undefined || pubsub === null) return localPubSub();
  const b = pubsub as Partial<PubSubBackplane>;
  for (const method of ["start", "subscribe", "unsubscribe", "publish", "close"] as const) {
    if (typeof b[method] !== "function") {
      throw argumentError("WS_ERR_INVALID_OPTION", `pubsub must be a backplane (localPubSub(), redisPubSub({...})) with a ${method}() method, got ${describe(pubsub)}`);
    }
  }
  return b as PubSubBackplane;
}

/**
 * The topics of one server: its subscriptions, and the sink its backplane
 * delivers to. Created by the server; connections reach it through their
 * `topicHub` field.
 * @internal
 */
export class TopicHub implements BackplaneSink {
  /** Local subscribers of each topic. */
  private readonly subscribers = new Map<string, Set<Connection>>();
  /** Topics of each subscribed connection. */
  private readonly byConnection = new Map<Connection, Set<string>>();
  /** Connections whose resume is reading the history: live messages wait here. */
  private readonly holding = new Map<Connection, Map<string, Held>>();
  private readonly backplane: PubSubBackplane;
  private readonly options: ReturnType<typeof checkOptions>;
  /** Counters of the slow-subscriber policy. */
  readonly stats: TopicStats = { skipped: 0, closed: 0 };
  private closing: Promise<void> | null = null;

  constructor(pubsub: PubSubBackplane | null | undefined, options: TopicOptions | undefined) {
    this.options = checkOptions(options);
    this.backplane = checkBackplane(pubsub);
    this.backplane.start(this);
  }

  // ------------------------------------------------------------ subscriptions

  /** Subscribe `conn` to `topic`; false if it already was. */
  subscribe(conn: Connection, topic: string): boolean {
    checkTopic(topic);
    const result = this.subscribeChecked(conn, topic);
    if (result instanceof Promise) result.catch(() => undefined); // the backplane reports its own failures
    return result !== false;
  }

  /** Subscribe; false if already subscribed, else what the backplane's subscribe returned when the topic is new here. */
  private subscribeChecked(conn: Connection, topic: string): void | Promise<void> | false {
    if (conn.state !== "open") throw new InvalidState("cannot subscribe a connection that is not open");
    let topics = this.byConnection.get(conn);
    if (topics === undefined) this.byConnection.set(conn, (topics = new Set()));
    if (topics.has(topic)) return false;
    topics.add(topic);
    let subs = this.subscribers.get(topic);
    if (subs === undefined) {
      this.subscribers.set(topic, (subs = new Set()));
      subs.add(conn);
      return this.backplane.subscribe(topic);
    }
    subs.add(conn);
    return undefined;
  }

  /** Unsubscribe `conn` from `topic`; false if it was not subscribed. */
  unsubscribe(conn: Connection, topic: string): boolean {
    checkTopic(topic);
    const topics = this.byConnection.get(conn);
    if (topics === undefined || !topics.delete(topic)) return false;
    if (topics.size === 0) this.byConnection.delete(conn);
    this.holding.get(conn)?.delete(topic);
    this.leave(conn, topic);
    return true;
  }

  private leave(conn: Connection, topic: string): void {
    const subs = this.subscribers.get(topic)!;
    subs.delete(conn);
    if (subs.size === 0) {
      this.subscribers.delete(topic);
      this.backplane.unsubscribe(topic);
    }
  }

  /** Whether `conn` is subscribed to `topic`. */
  isSubscribed(conn: Connection, topic: string): boolean {
    checkTopic(topic);
    return this.byConnection.get(conn)?.has(topic) ?? false;
  }

  /** The topics `conn` is subscribed to. */
  topicsOf(conn: Connection): string[] {
    const topics = this.byConnection.get(conn);
    return topics === undefined ? [] : [...topics];
  }

  /** How many connections of this server are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    checkTopic(topic);
    return this.subscribers.get(topic)?.size ?? 0;
  }

  /** `conn` closed: its subscriptions end. */
  connectionClosed(conn: Connection): void {
    const topics = this.byConnection.get(conn);
    if (topics === undefined) return;
    this.byConnection.delete(conn);
    this.holding.delete(conn);
    for (const topic of topics) this.leave(conn, topic);
  }

  // --------------------------------------------------------------- publishing

  /** Publish to every subscriber of `topic` on every instance (but `exclude`). */
  publish(topic: string, message: unknown, options: unknown, exclude: Connection | null): void {
    checkTopic(topic);
    const data = checkMessage(message);
    const compress = checkPublishOptions(options);
    if (this.closing !== null) throw new InvalidState("the server is closed: cannot publish");
    this.backplane.publish(topic, data, { exclude, compress });
  }

  /** {@inheritDoc BackplaneSink.deliver} */
  deliver(topic: string, message: Data, id: string | null, meta: PublishMeta | null): void {
    const subs = this.subscribers.get(topic);
    if (subs === undefined) return;
    const envelope = this.options.envelope;
    const framed = envelope ? this.frame(envelope, message, id, topic) : message;
    if (framed === null) return;
    const shared = new SharedMessage(framed, meta === null ? true : meta.compress);
    const exclude = meta === null ? null : meta.exclude;
    const holding = this.holding.size !== 0;
    for (const conn of subs) {
      if (conn === exclude) continue;
      if (holding) {
        const held = this.holding.get(conn)?.get(topic);
        if (held !== undefined) {
          this.hold(held, message, id, meta);
          continue;
        }
      }
      this.sendTo(conn, shared);
    }
  }

  /** Write one message to one subscriber under the slow-subscriber policy. */
  private sendTo(conn: Connection, shared: SharedMessage): void {
    const limit = this.options.maxBackpressure ?? conn.writeHighWaterMark;
    if (conn.bufferedAmount > limit) {
      if (this.options.closeOnBackpressureLimit) {
        if (conn.state === "open") {
          this.stats.closed++;
          conn.fail(TRY_AGAIN_LATER, "too slow");
        }
      } else {
        this.stats.skipped++;
      }
      return;
    }
    if (!shared.sendTo(conn)) this.stats.skipped++;
  }

  private frame(envelope: NonNullable<TopicOptions["envelope"]>, message: Data, id: string | null, topic: string): Data | null {
    let framed: unknown;
    try {
      framed = envelope(message, { id, topic });
    } catch (err) {
      // The application's bug must not stop delivery to other topics, nor crash the process.
      console.error("wavesock: topics.envelope threw; message not delivered:", err);
      return null;
    }
    if (typeof framed === "string" || framed instanceof Uint8Array) return framed;
    console.error(`wavesock: topics.envelope must return a string or a Uint8Array, got ${describe(framed)}; message not delivered`);
    return null;
  }

  private hold(held: Held, message: Data, id: string | null, meta: PublishMeta | null): void {
    if (held.items.length >= this.options.maxResumeBuffer) held.overflow = true;
    else held.items.push({ message, id, meta });
  }

  // ------------------------------------------------------------------ resume

  /**
   * Subscribe `conn` to `topic` (if it is not) and send it what it missed
   * since `lastId`, from the backplane's history, then the live messages
   * that came meanwhile — each once, in order.
   */
  async resume(conn: Connection, topic: string, lastId: string | null): Promise<ResumeResult> {
    checkTopic(topic);
    if (lastId !== null && !isMessageId(lastId)) {
      throw argumentError("WS_ERR_INVALID_ARGUMENT", `lastId must be a message id ("<milliseconds>-<sequence>") or null, got ${describe(lastId)}`);
    }
    const history = this.backplane.history;
    if (history === undefined) throw new InvalidState("this pubsub backplane keeps no history: configure history to resume");
    let held = this.holding.get(conn);
    if (held === undefined) this.holding.set(conn, (held = new Map()));
    if (held.has(topic)) throw new InvalidState(`a resume of ${JSON.stringify(topic)} is already under way on this connection`);
    const mine: Held = { items: [], overflow: false };
    held.set(topic, mine);
    try {
      // Live messages are held from now on; once the backplane listens, the
      // history covers everything before and the held messages everything after.
      let reply: HistoryReply;
      try {
        await this.subscribeChecked(conn, topic);
        reply = await history.call(this.backplane, topic, lastId);
      } catch (err) {
        if (err instanceof InvalidState || err instanceof TypeError) throw err;
        // The backplane could not answer (Redis down): go live, and say that something may be missing.
        reply = { entries: [], complete: false };
      }
      if (this.holding.get(conn)?.get(topic) !== mine) return { replayed: 0, complete: false }; // closed or unsubscribed meanwhile
      let last = lastId;
      let replayed = 0;
      const envelope = this.options.envelope;
      for (const entry of reply.entries) {
        const framed = envelope ? this.frame(envelope, entry.message, entry.id, topic) : entry.message;
        if (framed !== null && new SharedMessage(framed, true).sendTo(conn)) replayed++;
        last = entry.id;
      }
      this.releaseHeld(conn, topic, mine, last);
      return { replayed, complete: reply.complete && !mine.overflow };
    } finally {
      const map = this.holding.get(conn);
      if (map?.get(topic) === mine) {
        map.delete(topic);
        if (map.size === 0) this.holding.delete(conn);
      }
    }
  }

  /** Send the live messages held during a resume, dropping those the history already had. */
  private releaseHeld(conn: Connection, topic: string, held: Held, last: string | null): void {
    const map = this.holding.get(conn)!;
    map.delete(topic);
    if (map.size === 0) this.holding.delete(conn);
    const envelope = this.options.envelope;
    for (const item of held.items) {
      if (item.id !== null && last !== null && compareMessageIds(item.id, last) <= 0) continue;
      if (item.meta?.exclude === conn) continue;
      const framed = envelope ? this.frame(envelope, item.message, item.id, topic) : item.message;
      if (framed !== null) this.sendTo(conn, new SharedMessage(framed, item.meta?.compress ?? true));
    }
  }

  /** Close the backplane (the server is closing). */
  close(): Promise<void> {
    this.closing ??= this.backplane.close();
    return this.closing;
  }
}

/**
 * The hub of a connection, or the error a client connection gets.
 * @internal
 */
export function hubOf(conn: { topicHub: TopicHub | null }): TopicHub {
  if (conn.topicHub === null) throw new InvalidState("topics belong to a server: this connection was not accepted by serve() or attach()");
  return conn.topicHub;
}

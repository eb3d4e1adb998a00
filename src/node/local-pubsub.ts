/**
 * The default, in-process pub/sub backplane — topics within one server —
 * with an optional bounded in-memory history for resume, and the message-id
 * format that every backplane shares.
 *
 * Message ids have the Redis Streams form `"<milliseconds>-<sequence>"`, so a
 * client's last-seen id means the same thing whether the history lives in
 * this process or in Redis, and ids order by time first.
 */
import { InvalidState, argumentError } from "../errors.js";
import type { Data } from "./connection.js";
import type { BackplaneSink, HistoryEntry, HistoryReply, PubSubBackplane, PublishMeta } from "./topics.js";

/** Bounds of a topic's history: both apply. */
export interface HistoryOptions {
  /** Messages kept per topic. Default 1000. */
  maxCount?: number;
  /** Milliseconds a message is kept. Default 300 000 (5 minutes). */
  maxAge?: number;
}

/** Options of {@link localPubSub}. */
export interface LocalPubSubOptions {
  /** Keep the last messages of each topic in memory so that `ws.resume(topic, lastId)` can replay them. Default: no history. */
  history?: HistoryOptions | boolean | null;
}

const ID = /^(\d{1,16})-(\d{1,16})$/;

/** True for a message id, `"<milliseconds>-<sequence>"`. */
export function isMessageId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

/** Order two message ids (negative, 0, positive). */
export function compareMessageIds(a: string, b: string): number {
  const da = a.indexOf("-");
  const db = b.indexOf("-");
  const ma = Number(a.slice(0, da));
  const mb = Number(b.slice(0, db));
  if (ma !== mb) return ma - mb;
  return Number(a.slice(da + 1)) - Number(b.slice(db + 1));
}

/** The milliseconds part of a message id. */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** Check and default history bounds (programmer input: TypeError naming the option). */
export function checkHistory(history: unknown, option: string): Required<HistoryOptions> | null {
  if (history === undefined || history === null || history === false) return null;
  if (history === true) return { maxCount: 1000, maxAge: 300_000 };
  if (typeof history !== "object") throw argumentError("WS_ERR_INVALID_OPTION", `${option} must be an object { maxCount, maxAge }, true or null, got ${String(history)}`);
  const { maxCount = 1000, maxAge = 300_000 } = history as HistoryOptions;
  if (!(Number.isSafeInteger(maxCount) && maxCount > 0)) throw argumentError("WS_ERR_INVALID_OPTION", `${option}.maxCount must be a positive integer, got ${String(maxCount)}`);
  if (!(Number.isSafeInteger(maxAge) && maxAge > 0)) throw argumentError("WS_ERR_INVALID_OPTION", `${option}.maxAge must be a positive number of milliseconds, got ${String(maxAge)}`);
  return { maxCount, maxAge };
}

/** A topic's messages in memory: a ring of at most `maxCount`, none older than `maxAge`. */
class TopicHistory {
  private readonly entries: (HistoryEntry | undefined)[];
  private head = 0;
  private size = 0;

  constructor(private readonly bounds: Required<HistoryOptions>) {
    this.entries = [];
  }

  add(entry: HistoryEntry): void {
    const max = this.bounds.maxCount;
    if (this.size < max) {
      this.entries[(this.head + this.size) % max] = entry;
      this.size++;
    } else {
      this.entries[this.head] = entry;
      this.head = (this.head + 1) % max;
    }
  }

  /** Entries after `lastId` that are still young enough. */
  after(lastId: string | null, now: number): HistoryReply {
    const oldest = now - this.bounds.maxAge;
    const max = this.bounds.maxCount;
    const out: HistoryEntry[] = [];
    let found = lastId === null;
    for (let i = 0; i < this.size; i++) {
      const e = this.entries[(this.head + i) % max]!;
      if (idTime(e.id) < oldest) continue;
      if (lastId !== null) {
        const c = compareMessageIds(e.id, lastId);
        if (c < 0) continue;
        if (c === 0) {
          found = true;
          continue;
        }
      }
      out.push(e);
    }
    return { entries: out, complete: lastId !== null && found };
  }

  /** True once every entry is older than `maxAge` (the topic can be forgotten). */
  expired(now: number): boolean {
    if (this.size === 0) return true;
    const newest = this.entries[(this.head + this.size - 1) % this.bounds.maxCount]!;
    return idTime(newest.id) < now - this.bounds.maxAge;
  }
}

/**
 * The in-process backplane: a publish is delivered at once, synchronously,
 * to this server's subscribers. With `history`, each topic keeps its last
 * messages (bounded by count and age) and every message gets an id.
 */
class LocalPubSub implements PubSubBackplane {
  private sink: BackplaneSink | null = null;
  private readonly bounds: Required<HistoryOptions> | null;
  private readonly histories = new Map<string, TopicHistory>();
  private lastMs = 0;
  private seq = 0;

  constructor(options: LocalPubSubOptions) {
    this.bounds = checkHistory(options.history, "localPubSub history");
  }

  start(sink: BackplaneSink): void {
    if (this.sink !== null) throw new InvalidState("this pubsub backplane is already used by another server: make one per server");
    this.sink = sink;
  }

  subscribe(): void {}

  unsubscribe(): void {}

  publish(topic: string, message: Data, meta: PublishMeta): void {
    let id: string | null = null;
    if (this.bounds !== null) {
      const now = Date.now();
      if (now > this.lastMs) {
        this.lastMs = now;
        this.seq = 0;
      } else {
        this.seq++;
      }
      id = `${this.lastMs}-${this.seq}`;
      let history = this.histories.get(topic);
      if (history === undefined) {
        if (this.histories.size > 0 && this.histories.size % 1024 === 0) this.sweep(now);
        this.histories.set(topic, (history = new TopicHistory(this.bounds)));
      }
      // Bytes are copied: the caller may reuse its buffer once publish returns.
      history.add({ id, message: typeof message === "string" ? message : message.slice() });
    }
    this.sink!.deliver(topic, message, id, meta);
  }

  /** The history of a topic; only on backplanes made with `history` (see {@link localPubSub}). */
  topicHistory(topic: string, lastId: string | null): HistoryReply {
    return this.histories.get(topic)?.after(lastId, Date.now()) ?? { entries: [], complete: false };
  }

  /** Forget topics whose every message is older than `maxAge` (bounds memory with many short-lived topics). */
  private sweep(now: number): void {
    for (const [topic, history] of this.histories) if (history.expired(now)) this.histories.delete(topic);
  }

  async close(): Promise<void> {
    this.histories.clear();
  }
}

/**
 * The in-process backplane, the default of `serve` / `attach`: topics within
 * one server. Pass one with `history` to let clients resume:
 *
 * ```ts
 * serve(handler, { pubsub: localPubSub({ history: { maxCount: 500, maxAge: 60_000 } }) });
 * ```
 */
export function localPubSub(options: LocalPubSubOptions = {}): PubSubBackplane {
  if (options === null || typeof options !== "object") throw argumentError("WS_ERR_INVALID_OPTION", `localPubSub options must be an object, got ${String(options)}`);
  const backplane = new LocalPubSub(options);
  if (options.history === undefined || options.history === null || options.history === false) return backplane;
  // Only a backplane that keeps history offers it (resume says so otherwise).
  return Object.assign(backplane, { history: backplane.topicHistory });
}

/**
 * pub/sub across processes and machines: a {@link PubSubBackplane} over
 * Redis, for `serve(handler, { pubsub: redisPubSub({ url }) })`.
 *
 * This room owns what Redis does for topics: one channel per topic,
 * subscribed while this instance has local subscribers; the wire format of a
 * message on that channel; the history of a topic in a Redis Stream (resume
 * across instances); and what happens while Redis is away. The adapters know
 * nothing of it: `src/node/topics.ts` defines the interface, the server takes
 * an implementation as an option.
 *
 * The Redis client is node-redis (the `redis` package), an optional peer
 * dependency imported only when a backplane is made from a URL — a user who
 * passes their own client, or who never uses Redis, loads nothing. Why
 * node-redis rather than ioredis: it is the client Redis itself maintains
 * and recommends for new code (ioredis is in best-effort maintenance); it has
 * sharded pub/sub (`sSubscribe`, routed to the shard owning the channel) in
 * its cluster client; typed Streams commands; Buffer replies on request (any
 * command, and pub/sub listeners in buffer mode), so binary messages travel
 * untouched; and it re-subscribes every channel by itself after a reconnect,
 * with a reconnect strategy we set (exponential backoff, capped).
 *
 * Theory of operation.
 * - Every instance delivers every message — its own included — when Redis
 *   hands it back on the channel, so all subscribers on all instances see
 *   one order per topic (Redis's) and message ids (Stream ids) that mean the
 *   same everywhere. The publishing instance recognises its own messages
 *   (an 8-byte origin and a sequence number in each message) and delivers
 *   them in the order it published them.
 * - While Redis cannot carry a message (either connection down, or the echo
 *   does not come back within `echoTimeout`), the publishing instance
 *   delivers it to its own subscribers only, without an id: nothing is
 *   buffered for later, nothing is delivered twice. Other instances never
 *   get it — Redis pub/sub is at-most-once. `dropped` is emitted.
 * - With `history`, a publish is one Lua script: XADD to the topic's Stream
 *   (MAXLEN ~ count, PEXPIRE age) and PUBLISH with the new id, atomically, so
 *   Stream order is channel order and `resume` replays exactly what a
 *   client missed.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { BackplaneError, InvalidState } from "../errors.js";
import type { Data } from "../node/connection.js";
import { checkHistory, compareMessageIds, idTime, type HistoryOptions } from "../node/local-pubsub.js";
import type { BackplaneSink, HistoryEntry, HistoryReply, PublishMeta } from "../node/topics.js";
import { checkRedisOptions, type RedisClientLike, type RedisPubSub, type RedisPubSubOptions, type RedisPubSubStats } from "./redis-options.js";

export type { RedisClientLike, RedisPubSub, RedisPubSubEvents, RedisPubSubOptions, RedisPubSubStats } from "./redis-options.js";

const MAGIC = 0x57; // "W"
const FLAG_BINARY = 1;
const FLAG_NO_COMPRESS = 2;
/** magic, flags, origin (8), sequence (4). */
const HEADER = 14;
/** RESP blob strings as Buffers (node-redis type mapping: RESP_TYPES.BLOB_STRING). */
const BUFFERS = { typeMapping: { 36: Buffer } };

/**
 * XADD + PUBLISH, atomically: the Stream's order is the channel's, and the
 * published message carries its Stream id. KEYS[1] the Stream; ARGV: count,
 * age in ms, PUBLISH or SPUBLISH, the channel, the message (header + payload).
 */
const PUBLISH_WITH_HISTORY = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call(ARGV[3], ARGV[4], string.char(#id) .. id .. ARGV[5])
return id`;

interface Pending {
  readonly seq: number;
  readonly topic: string;
  readonly message: Data;
  readonly meta: PublishMeta;
  readonly sentAt: number;
  /** The Stream id Redis gave it, once it came back; null: came back without history. */
  echoId: string | null | undefined;
  /** Delivered locally only: Redis did not (or may not) hand it back. */
  lost: boolean;
}

class RedisBackplane extends EventEmitter implements RedisPubSub {
  private readonly options: RedisPubSubOptions;
  private readonly prefix: string;
  private readonly sharded: boolean;
  private readonly bounds: Required<HistoryOptions> | null;
  private readonly echoTimeout: number;
  private readonly maxPending: number;
  private readonly origin = randomBytes(8);
  private readonly origin0: number;
  private readonly origin1: number;
  private sink: BackplaneSink | null = null;
  private cmd: RedisClientLike | null = null;
  private sub: RedisClientLike | null = null;
  private ownsCmd = false;
  private cmdReady = false;
  private subReady = false;
  private scriptSha: string | null = null;
  private up = false;
  private closed = false;
  private seq = 0;
  /** Topics subscribed here → their channel; and channel → topic. */
  private readonly channels = new Map<string, string>();
  /** Channels whose SUBSCRIBE Redis confirmed (only their echoes are awaited). */
  private readonly confirmed = new Set<string>();
  /** Own publishes in publish order, until delivered. */
  private fifo: Pending[] = [];
  private fifoHead = 0;
  private readonly bySeq = new Map<number, Pending>();
  private echoTimer: NodeJS.Timeout | null = null;
  private readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private startError: Error | null = null;
  readonly stats: RedisPubSubStats = { published: 0, received: 0, localOnly: 0, foreign: 0 };

  constructor(options: RedisPubSubOptions) {
    super();
    this.options = options;
    this.prefix = options.prefix ?? "wavesock:";
    this.sharded = options.sharded ?? false;
    this.bounds = checkHistory(options.history, "redisPubSub history");
    this.echoTimeout = options.echoTimeout ?? 2000;
    this.maxPending = options.maxPending ?? 10_000;
    this.origin0 = this.origin.readUInt32BE(0);
    this.origin1 = this.origin.readUInt32BE(4);
    this.onMessage = this.onMessage.bind(this);
  }

  get connected(): boolean {
    return this.up;
  }

  ready(): Promise<void> {
    if (this.up) return Promise.resolve();
    if (this.startError !== null) return Promise.reject(this.startError);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  // ---------------------------------------------------------------- connections

  start(sink: BackplaneSink): void {
    if (this.sink !== null) throw new InvalidState("this redisPubSub backplane is already used by another server: make one per server");
    this.sink = sink;
    void this.open().catch((err: unknown) => this.failStart(err instanceof Error ? err : new BackplaneError(String(err))));
  }

  private async open(): Promise<void> {
    let cmd = this.options.client;
    if (cmd === undefined) {
      const redis = await importRedis();
      const base = {
        url: this.options.url,
        ...this.options.clientOptions,
        socket: { reconnectStrategy: backoff, ...(this.options.clientOptions?.["socket"] as object | undefined) },
      };
      cmd = redis.createClient({ ...base, disableOfflineQueue: true }) as RedisClientLike;
      this.ownsCmd = true;
    }
    if (this.closed) return;
    this.cmd = cmd;
    this.sub = cmd.duplicate();
    this.watch(cmd, "cmd");
    this.watch(this.sub, "sub");
    if (!cmd.isOpen) await cmd.connect();
    // A RedisCluster emits no 'ready' of its own: look once connected.
    if (cmd.isReady && !this.cmdReady) this.onReady("cmd");
    await this.sub.connect();
    if (this.sub.isReady && !this.subReady) this.onReady("sub");
  }

  private failStart(err: Error): void {
    this.startError = err;
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
    this.emit("disconnected", err);
  }

  private watch(client: RedisClientLike, which: "cmd" | "sub"): void {
    // node-redis emits 'error' for every failed (re)connection attempt: a
    // listener is required (an EventEmitter without one throws).
    client.on("error", (err: Error) => this.onDown(which, err));
    client.on("end", () => this.onDown(which, new BackplaneError("connection to Redis closed")));
    client.on("reconnecting", () => this.onDown(which, new BackplaneError("reconnecting to Redis")));
    client.on("ready", () => this.onReady(which));
    // A RedisCluster reports per node.
    client.on("node-ready", () => {
      if (client.isReady && !(which === "cmd" ? this.cmdReady : this.subReady)) this.onReady(which);
    });
    client.on("node-reconnecting", () => {
      if (!client.isReady) this.onDown(which, new BackplaneError("reconnecting to a Redis Cluster node"));
    });
  }

  private onReady(which: "cmd" | "sub"): void {
    if (this.closed) return;
    if (which === "sub") {
      // node-redis re-sent every SUBSCRIBE before 'ready'.
      this.subReady = true;
      for (const channel of this.channels.values()) this.confirmed.add(channel);
      this.checkUp();
      return;
    }
    this.cmdReady = true;
    if (this.bounds === null) {
      this.checkUp();
      return;
    }
    if (isCluster(this.cmd!)) {
      // A script must be loaded on every master: a cluster sends it whole (EVAL) instead.
      this.scriptSha = "";
      this.checkUp();
      return;
    }
    // A restarted Redis has no scripts: load ours before the first publish.
    this.scriptSha = null;
    this.cmd!.sendCommand(["SCRIPT", "LOAD", PUBLISH_WITH_HISTORY]).then(
      (sha) => {
        this.scriptSha = String(sha);
        this.checkUp();
      },
      (err: unknown) => this.onDown("cmd", err instanceof Error ? err : new BackplaneError(String(err))),
    );
  }

  private checkUp(): void {
    if (this.up || !this.cmdReady || !this.subReady || (this.bounds !== null && this.scriptSha === null)) return;
    this.up = true;
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.emit("connected");
  }

  private onDown(which: "cmd" | "sub", err: Error): void {
    if (which === "cmd") this.cmdReady = this.cmd?.isReady ?? false;
    else {
      this.subReady = this.sub?.isReady ?? false;
      if (!this.subReady) {
        this.confirmed.clear();
        // Nothing published before now can come back on a dead subscription.
        for (let i = this.fifoHead; i < this.fifo.length; i++) {
          const p = this.fifo[i]!;
          if (p.echoId === undefined) p.lost = true;
        }
      }
    }
    if (this.up && !(this.cmdReady && this.subReady)) {
      this.up = false;
      this.emit("disconnected", err);
    }
    this.drain();
  }

  // --------------------------------------------------------------- subscriptions

  private channelOf(topic: string): string {
    // The hash tag puts the channel and the Stream of a topic in one cluster slot (sharded pub/sub, scripts).
    return `${this.prefix}{${topic}}`;
  }

  private streamOf(topic: string): string {
    return `${this.prefix}history:{${topic}}`;
  }

  subscribe(topic: string): Promise<void> {
    const channel = this.channelOf(topic);
    this.channels.set(topic, channel);
    const sub = this.sub;
    if (sub === null) return Promise.reject(new BackplaneError("Redis is not connected yet"));
    const done = (this.sharded ? sub.sSubscribe(channel, this.onMessage, true) : sub.subscribe(channel, this.onMessage, true)).then(() => {
      if (this.channels.get(topic) === channel) this.confirmed.add(channel);
    });
    if (!sub.isReady) {
      // Queued until Redis is back (node-redis restores it then); the caller need not wait that long.
      done.catch(() => undefined);
      return Promise.reject(new BackplaneError("Redis is not connected"));
    }
    return done;
  }

  unsubscribe(topic: string): void {
    const channel = this.channels.get(topic);
    if (channel === undefined) return;
    this.channels.delete(topic);
    this.confirmed.delete(channel);
    // Own publishes to this topic can no longer come back: nobody here listens anyway.
    for (let i = this.fifoHead; i < this.fifo.length; i++) {
      const p = this.fifo[i]!;
      if (p.topic === topic && p.echoId === undefined) p.echoId = null;
    }
    this.drain();
    const sub = this.sub;
    if (sub === null) return;
    const done = this.sharded ? sub.sUnsubscribe(channel, this.onMessage, true) : sub.unsubscribe(channel, this.onMessage, true);
    done.catch(() => undefined); // a dead connection has no subscriptions to end
  }

  // ------------------------------------------------------------------ publishing

  publish(topic: string, message: Data, meta: PublishMeta): void {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const channel = this.channelOf(topic);
    const awaitEcho = this.confirmed.has(channel);
    const pending: Pending = { seq, topic, message, meta, sentAt: Date.now(), echoId: awaitEcho ? undefined : null, lost: !awaitEcho };
    const cmd = this.cmd;
    if (!this.up || cmd === null) {
      pending.lost = true;
      this.enqueue(pending);
      this.drop(topic, "disconnected");
      return;
    }
    const body = this.encode(message, meta.compress, seq);
    this.stats.published++;
    const sent =
      this.bounds !== null
        ? this.send(cmd, this.streamOf(topic), [...(this.scriptSha === "" ? ["EVAL", PUBLISH_WITH_HISTORY] : ["EVALSHA", this.scriptSha!]), "1", this.streamOf(topic), String(this.bounds.maxCount), String(this.bounds.maxAge), this.sharded ? "SPUBLISH" : "PUBLISH", channel, body])
        : this.send(cmd, channel, [this.sharded ? "SPUBLISH" : "PUBLISH", channel, Buffer.concat([ZERO, body])]);
    sent.catch(() => {
      if (pending.echoId === undefined && !pending.lost) {
        pending.lost = true;
        this.drop(topic, "failed");
        this.drain();
      }
    });
    // Not subscribed here (or not confirmed yet): no echo to wait for, deliver in order now.
    this.enqueue(pending);
  }

  /** Send a command on a client or a cluster (whose sendCommand takes the routing key first). */
  private send(client: RedisClientLike, key: string, args: (string | Buffer)[], options?: object): Promise<unknown> {
    return isCluster(client) ? client.sendCommand(key, false, args, options) : client.sendCommand(args, options);
  }

  private encode(message: Data, compress: boolean, seq: number): Buffer {
    const text = typeof message === "string";
    const length = text ? Buffer.byteLength(message) : message.length;
    const out = Buffer.allocUnsafe(HEADER + length);
    out[0] = MAGIC;
    out[1] = (text ? 0 : FLAG_BINARY) | (compress ? 0 : FLAG_NO_COMPRESS);
    this.origin.copy(out, 2);
    out.writeUInt32BE(seq, 10);
    if (text) out.write(message, HEADER, "utf8");
    else out.set(message, HEADER);
    return out;
  }

  private drop(topic: string, reason: "disconnected" | "timeout" | "failed" | "overflow"): void {
    this.stats.localOnly++;
    this.emit("dropped", topic, reason);
  }

  private enqueue(p: Pending): void {
    if (this.fifo.length - this.fifoHead >= this.maxPending) {
      const oldest = this.fifo[this.fifoHead]!;
      if (oldest.echoId === undefined && !oldest.lost) {
        oldest.lost = true;
        this.drop(oldest.topic, "overflow");
      }
    }
    this.fifo.push(p);
    this.bySeq.set(p.seq, p);
    this.drain();
  }

  /** Deliver own publishes from the front, in publish order, each once. */
  private drain(): void {
    const fifo = this.fifo;
    while (this.fifoHead < fifo.length) {
      const p = fifo[this.fifoHead]!;
      if (p.echoId === undefined && !p.lost) break;
      fifo[this.fifoHead++] = undefined as unknown as Pending;
      this.bySeq.delete(p.seq);
      this.sink!.deliver(p.topic, p.message, p.lost ? null : p.echoId!, p.meta);
    }
    if (this.fifoHead === fifo.length) {
      this.fifo = [];
      this.fifoHead = 0;
    } else if (this.fifoHead > 1024 && this.fifoHead * 2 > fifo.length) {
      this.fifo = fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    this.armEchoTimer();
  }

  private armEchoTimer(): void {
    if (this.fifoHead === this.fifo.length) {
      if (this.echoTimer !== null) clearTimeout(this.echoTimer);
      this.echoTimer = null;
      return;
    }
    if (this.echoTimer !== null) return;
    const front = this.fifo[this.fifoHead]!;
    const wait = Math.max(0, front.sentAt + this.echoTimeout - Date.now());
    this.echoTimer = setTimeout(() => {
      this.echoTimer = null;
      const now = Date.now();
      for (let i = this.fifoHead; i < this.fifo.length; i++) {
        const p = this.fifo[i]!;
        if (p.sentAt + this.echoTimeout > now) break;
        if (p.echoId === undefined && !p.lost) {
          p.lost = true;
          this.drop(p.topic, "timeout");
        }
      }
      this.drain();
    }, wait + 1);
    this.echoTimer.unref();
  }

  /** A message on one of our channels. */
  private onMessage(raw: Buffer, channelBuf: Buffer): void {
    const idLength = raw[0];
    const start = 1 + (idLength ?? 0);
    if (idLength === undefined || raw.length < start + HEADER || raw[start] !== MAGIC) {
      this.stats.foreign++;
      return;
    }
    const id = idLength === 0 ? null : raw.toString("latin1", 1, start);
    const flags = raw[start + 1]!;
    if (raw.readUInt32BE(start + 2) === this.origin0 && raw.readUInt32BE(start + 6) === this.origin1) {
      const p = this.bySeq.get(raw.readUInt32BE(start + 10));
      // Unknown: already delivered locally (it came back too late), or published before we listened.
      if (p === undefined || p.lost || p.echoId !== undefined) return;
      this.stats.received++;
      p.echoId = id;
      this.drain();
      return;
    }
    const topic = this.topicOf(channelBuf);
    if (topic === undefined) return;
    this.stats.received++;
    const payload = raw.subarray(start + HEADER);
    const message = flags & FLAG_BINARY ? payload : payload.toString("utf8");
    this.sink!.deliver(topic, message, id, flags & FLAG_NO_COMPRESS ? NO_COMPRESS_META : null);
  }

  private topicOf(channelBuf: Buffer): string | undefined {
    const channel = channelBuf.toString("utf8");
    const open = this.prefix.length;
    if (!channel.startsWith(this.prefix) || channel[open] !== "{" || !channel.endsWith("}")) return undefined;
    const topic = channel.slice(open + 1, -1);
    return this.channels.has(topic) ? topic : undefined;
  }

  // --------------------------------------------------------------------- history

  async history(topic: string, lastId: string | null): Promise<HistoryReply> {
    const bounds = this.bounds;
    const cmd = this.cmd;
    if (bounds === null) throw new InvalidState("this redisPubSub keeps no history: pass history to resume");
    if (cmd === null || !this.up) throw new BackplaneError("Redis is not connected: no history");
    const key = this.streamOf(topic);
    const newest = (await this.send(cmd, key, ["XREVRANGE", key, "+", lastId === null ? "-" : `(${lastId}`, "COUNT", String(bounds.maxCount + 1)], BUFFERS)) as [Buffer, Buffer[]][];
    const found =
      lastId === null ? [] : ((await this.send(cmd, key, ["XRANGE", key, lastId, lastId])) as unknown[]);
    const oldest = Date.now() - bounds.maxAge;
    const entries: HistoryEntry[] = [];
    for (let i = Math.min(newest.length, bounds.maxCount) - 1; i >= 0; i--) {
      const [idRaw, fields] = newest[i]!;
      const id = String(idRaw);
      if (idTime(id) < oldest) continue;
      const body = fields[1];
      if (!(body instanceof Uint8Array) || body.length < HEADER || body[0] !== MAGIC) continue;
      const payload = Buffer.from(body.buffer, body.byteOffset + HEADER, body.length - HEADER);
      entries.push({ id, message: body[1]! & FLAG_BINARY ? payload : payload.toString("utf8") });
    }
    const complete =
      lastId !== null && found.length === 1 && newest.length <= bounds.maxCount && idTime(lastId) >= oldest;
    if (lastId !== null) {
      // XREVRANGE's exclusive bound already drops lastId; keep the order strict anyway.
      while (entries.length > 0 && compareMessageIds(entries[0]!.id, lastId) <= 0) entries.shift();
    }
    return { entries, complete };
  }

  // ----------------------------------------------------------------------- close

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.up = false;
    if (this.echoTimer !== null) clearTimeout(this.echoTimer);
    // Whatever still waits for Redis is delivered here, in order.
    for (let i = this.fifoHead; i < this.fifo.length; i++) this.fifo[i]!.lost ||= this.fifo[i]!.echoId === undefined;
    this.drain();
    for (const w of this.readyWaiters.splice(0)) w.reject(new BackplaneError("redisPubSub closed"));
    this.sub?.destroy();
    if (this.ownsCmd) this.cmd?.destroy();
  }
}

const ZERO = Buffer.alloc(1);
const NO_COMPRESS_META: PublishMeta = { exclude: null, compress: false };

function isCluster(client: RedisClientLike): boolean {
  // node-redis's RedisCluster routes by key and has these; a RedisClient has neither.
  return typeof (client as { getSlotMaster?: unknown }).getSlotMaster === "function" || "masters" in client;
}

/** Reconnect after 50 ms, doubling up to 2 s, with ±20 % jitter (so instances do not stampede a restarted Redis). */
function backoff(retries: number): number {
  const base = Math.min(50 * 2 ** Math.min(retries, 10), 2000);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

async function importRedis(): Promise<{ createClient(options: object): unknown }> {
  try {
    // A variable specifier: the `redis` package is an optional peer dependency.
    const name = "redis";
    return (await import(name)) as { createClient(options: object): unknown };
  } catch (err) {
    throw new BackplaneError("redisPubSub({ url }) needs the `redis` package (node-redis): npm install redis", { cause: err });
  }
}

/**
 * A Redis backplane for topics across processes and machines:
 *
 * ```ts
 * const pubsub = redisPubSub({ url: "redis://127.0.0.1:6379", history: { maxCount: 500, maxAge: 60_000 } });
 * pubsub.on("disconnected", (err) => console.warn("Redis down:", err.message));
 * const server = await serve(handler, { pubsub, topics: { envelope } });
 * ```
 *
 * Every instance subscribes to a topic's channel only while it has local
 * subscribers. See docs/pubsub.md for what is and is not guaranteed.
 */
export function redisPubSub(options: RedisPubSubOptions): RedisPubSub {
  checkRedisOptions(options);
  return new RedisBackplane(options);
}

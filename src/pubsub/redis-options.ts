/**
 * The public face of the Redis backplane (src/pubsub/redis.ts): its options,
 * events and counters, the parts of a node-redis client it uses, and the
 * validation of what a user passes to `redisPubSub()`.
 */
import type { Buffer } from "node:buffer";
import { argumentError } from "../errors.js";
import type { HistoryOptions } from "../node/local-pubsub.js";
import { describe, type PubSubBackplane } from "../node/topics.js";

/** The parts of a node-redis client (`createClient()` / `createCluster()`) this backplane uses. */
export interface RedisClientLike {
  /** True once the socket is open. */
  readonly isOpen: boolean;
  /** True once the client is ready for commands. */
  readonly isReady: boolean;
  /** Open the connection. */
  connect(): Promise<unknown>;
  /** A new client with the same options (the subscriber connection). */
  duplicate(): RedisClientLike;
  /** Listen for a client event (`error`, `ready`, `end`...). */
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Stop listening for a client event. */
  off(event: string, listener: (...args: any[]) => void): unknown;
  /** Send a raw command. */
  sendCommand(...args: any[]): Promise<unknown>;
  /** SUBSCRIBE, with Buffer messages. */
  subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  /** UNSUBSCRIBE. */
  unsubscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  /** SSUBSCRIBE (sharded pub/sub), with Buffer messages. */
  sSubscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  /** SUNSUBSCRIBE. */
  sUnsubscribe(channel: string, listener: (message: Buffer, channel: Buffer) => void, bufferMode: true): Promise<void>;
  /** Close the connection at once. */
  destroy(): void;
}

/** Options of {@link redisPubSub}: give a client, or a URL / client options to make one. */
export interface RedisPubSubOptions {
  /**
   * Your node-redis client (`createClient()` or `createCluster()`), connected
   * or not. It publishes and reads history; a `duplicate()` of it subscribes.
   * It stays yours: `server.close()` closes only the duplicate.
   */
  client?: RedisClientLike;
  /** `redis://[[user]:[password]@]host[:port][/db]`: the backplane makes and owns its two clients. */
  url?: string;
  /** More node-redis `createClient` options for the clients made from `url` (socket, TLS, credentials...). */
  clientOptions?: Record<string, unknown>;
  /** Prefix of every channel and key. Default `"wavesock:"`; must not contain `{` or `}`. */
  prefix?: string;
  /** Sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7+): with Redis Cluster, each channel lives on one shard. Default false. */
  sharded?: boolean;
  /** Keep each topic's last messages in a Redis Stream for `ws.resume` (count and age). Default: no history. */
  history?: HistoryOptions | boolean | null;
  /** Milliseconds to wait for Redis to hand an own publish back before delivering it locally. Default 2000. */
  echoTimeout?: number;
  /** Own publishes awaiting Redis at most; beyond, the oldest is delivered locally. Default 10 000. */
  maxPending?: number;
}

/** Events of a {@link RedisPubSub}. */
export interface RedisPubSubEvents {
  /** Both connections are up, subscriptions restored: publishes travel again. */
  connected: [];
  /** A connection to Redis was lost (or could not be made): publishes reach this instance's subscribers only. */
  disconnected: [error: Error];
  /** A message that did not reach other instances (Redis down, or no echo in time). */
  dropped: [topic: string, reason: "disconnected" | "timeout" | "failed" | "overflow"];
}

/** What a Redis backplane counted. */
export interface RedisPubSubStats {
  /** Messages sent to Redis. */
  published: number;
  /** Messages delivered from Redis (own and others'). */
  received: number;
  /** Own messages delivered locally only (see `dropped`). */
  localOnly: number;
  /** Messages on our channels that were not ours to read (no wavesock header): ignored. */
  foreign: number;
}

/** A Redis pub/sub backplane: pass it as the `pubsub` option of `serve` / `attach`. */
export interface RedisPubSub extends PubSubBackplane {
  /** True while both connections are up and subscriptions are restored. */
  readonly connected: boolean;
  /** Counters. */
  readonly stats: Readonly<RedisPubSubStats>;
  /** Resolves once connected the first time; rejects if the `redis` package is missing. */
  ready(): Promise<void>;
  /** Listen for an event (`connected`, `disconnected`, `dropped`...). */
  on<E extends keyof RedisPubSubEvents>(event: E, listener: (...args: RedisPubSubEvents[E]) => void): this;
  /** Stop listening for an event. */
  off<E extends keyof RedisPubSubEvents>(event: E, listener: (...args: RedisPubSubEvents[E]) => void): this;
  /** Listen for the next occurrence of an event only. */
  once<E extends keyof RedisPubSubEvents>(event: E, listener: (...args: RedisPubSubEvents[E]) => void): this;
}

/** Check `redisPubSub` options (programmer input: TypeError naming the option). */
export function checkRedisOptions(options: RedisPubSubOptions): void {
  if (options === null || typeof options !== "object") throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub options must be an object, got ${describe(options)}`);
  const { client, url, prefix, sharded, echoTimeout, maxPending, clientOptions } = options;
  if (client === undefined && url === undefined) throw argumentError("WS_ERR_INVALID_OPTION", "redisPubSub needs a client (node-redis createClient()) or a url");
  if (client !== undefined && url !== undefined) throw argumentError("WS_ERR_INVALID_OPTION", "redisPubSub takes a client or a url, not both");
  if (client !== undefined && (client === null || typeof (client as RedisClientLike).duplicate !== "function" || typeof (client as RedisClientLike).sendCommand !== "function")) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub client must be a node-redis client (createClient() / createCluster()), got ${describe(client)}`);
  }
  if (url !== undefined && (typeof url !== "string" || !/^rediss?:\/\//.test(url))) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub url must be a redis:// or rediss:// URL, got ${describe(url)}`);
  }
  if (clientOptions !== undefined && (clientOptions === null || typeof clientOptions !== "object")) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub clientOptions must be an object, got ${describe(clientOptions)}`);
  }
  if (prefix !== undefined && (typeof prefix !== "string" || /[{}]/.test(prefix))) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub prefix must be a string without { or }, got ${describe(prefix)}`);
  }
  if (sharded !== undefined && typeof sharded !== "boolean") throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub sharded must be a boolean, got ${describe(sharded)}`);
  if (echoTimeout !== undefined && !(Number.isFinite(echoTimeout) && echoTimeout > 0)) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub echoTimeout must be a positive number of milliseconds, got ${describe(echoTimeout)}`);
  }
  if (maxPending !== undefined && !(Number.isSafeInteger(maxPending) && maxPending > 0)) {
    throw argumentError("WS_ERR_INVALID_OPTION", `redisPubSub maxPending must be a positive integer, got ${describe(maxPending)}`);
  }
}

// @ts-check
/**
 * The chat room's seat registry in Redis, shared by every worker (and every
 * machine) of examples/chat-cluster, so that a name is held once in the whole
 * room and a page that comes back on another worker takes its seat back.
 * Same interface as the in-process registry (examples/chat/seats.js).
 *
 * In Redis (prefix `wavesock-chat:`):
 *   seats    a hash: name key -> the seat as JSON { member, name, tokenHash, owner }.
 *            Every change is one Lua script, so two workers never both get a name.
 *   servers  a sorted set: server instance -> when its heartbeat runs out (ms).
 *   evict    a channel: "drop the connection <owner>", for the worker holding it,
 *            when its seat moved to a newer connection on another worker.
 *
 * Each server beats every `ttl / 3` ms. A server that stops beating (killed,
 * its machine gone) loses its seats `ttl` ms later to whichever server beats
 * next, which announces their leave — until then their names stay taken.
 * The beat also puts back this server's seats if Redis lost them (restarted
 * without persistence), unless someone took the name meanwhile.
 *
 * One Redis, not Redis Cluster: the scripts touch keys they don't declare.
 */

const CLAIM = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then return {'taken', cjson.decode(held).name} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {'full'} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {'ok'}`;

const TAKE_BACK = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return {'free'} end
local seat = cjson.decode(held)
if seat.tokenHash ~= ARGV[2] then return {'taken', seat.name} end
seat.owner = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(seat))
return {'moved', held}`;

const RELEASE = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held or cjson.decode(held).owner ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

/**
 * KEYS: seats, servers. ARGV: instance, ttl, then name key / seat pairs this
 * server holds. Returns the seats freed: those of the servers whose beat ran
 * out (a server Redis does not know at all — one that has not beaten since
 * Redis lost its data — is not dead: it will beat).
 *
 * This server's seats are put back only when Redis does not know this server
 * (it lost its data, or took this server for dead): at other times a seat of
 * ours that is not there was released by a newer connection whose eviction
 * notice has not reached us yet.
 */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  for i = 3, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
local dead = {}
local any = false
for _, server in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  dead[server] = true
  any = true
end
if not any then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local freed = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if dead[string.match(cjson.decode(all[i + 1]).owner, '^([^/]*)/')] then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(freed, all[i + 1])
  end
end
return freed`;

/**
 * @typedef {import("../chat/seats.js").SeatRecord} SeatRecord
 * @typedef {import("../chat/seats.js").SeatRegistry} SeatRegistry
 * @typedef {import("../chat/seats.js").RegistryHooks} RegistryHooks
 */

/**
 * @param {object} options
 * @param {import("redis").RedisClientType<any, any, any, any, any>} options.client
 *   a connected node-redis client (best with `disableOfflineQueue`, so that a
 *   join fails at once while Redis is away instead of waiting)
 * @param {string} [options.prefix]  of the keys and the channel (default "wavesock-chat:")
 * @param {number} [options.ttl]  ms without a heartbeat after which a server's seats are freed (default 30 000)
 * @param {(line: string) => void} [options.log]
 * @returns {SeatRegistry}
 */
export function redisSeats({ client, prefix = "wavesock-chat:", ttl = 30_000, log = console.log }) {
  const SEATS = `${prefix}seats`;
  const SERVERS = `${prefix}servers`;
  const EVICT = `${prefix}evict`;
  /** @type {RegistryHooks | null} */
  let hooks = null;
  /** @type {ReturnType<typeof client.duplicate> | null} */
  let subscriber = null;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  /** Releases that failed (Redis away): retried at each beat. */
  /** @type {[string, string][]} */
  let unreleased = [];
  let beatFailing = false;

  /**
   * @param {string} script
   * @param {string[]} keys
   * @param {string[]} args
   * @returns {Promise<unknown>}
   */
  const run = (script, keys, args) => client.sendCommand(["EVAL", script, String(keys.length), ...keys, ...args]);

  /** @param {string} owner */
  const serverOf = (owner) => owner.slice(0, owner.indexOf("/"));

  async function beat() {
    const h = hooks;
    if (h === null) return;
    try {
      const retry = unreleased;
      unreleased = [];
      for (const [key, owner] of retry) await run(RELEASE, [SEATS], [key, owner]);
      const held = h.held().flatMap(([key, record]) => [key, JSON.stringify(record)]);
      const freed = /** @type {string[]} */ (await run(BEAT, [SEATS, SERVERS], [h.instance, String(ttl), ...held]));
      if (beatFailing) log("seat registry reachable again");
      beatFailing = false;
      if (freed.length > 0) h.gone(freed.map((json) => /** @type {SeatRecord} */ (JSON.parse(json))));
    } catch (err) {
      if (!beatFailing) log(`seat registry heartbeat failed: ${/** @type {Error} */ (err).message}`);
      beatFailing = true;
    }
  }

  return {
    async start(h) {
      hooks = h;
      subscriber = client.duplicate();
      subscriber.on("error", () => undefined); // node-redis reconnects by itself; the heartbeat reports outages
      await subscriber.connect();
      await subscriber.subscribe(EVICT, (owner) => {
        if (serverOf(owner) === h.instance) h.evict(owner);
      });
      await beat();
      timer = setInterval(beat, Math.max(100, Math.floor(ttl / 3)));
      timer.unref();
    },
    async claim(key, record, maxMembers) {
      const [status, name] = /** @type {string[]} */ (await run(CLAIM, [SEATS], [key, JSON.stringify(record), String(maxMembers)]));
      if (status === "taken") return { status, name: String(name) };
      return status === "full" ? { status } : { status: "ok" };
    },
    async takeBack(key, tokenHash, owner) {
      const [status, value] = /** @type {string[]} */ (await run(TAKE_BACK, [SEATS], [key, tokenHash, owner]));
      if (status === "moved") return { status, previous: /** @type {SeatRecord} */ (JSON.parse(String(value))) };
      if (status === "taken") return { status, name: String(value) };
      return { status: "free" };
    },
    async release(key, owner) {
      try {
        return Number(await run(RELEASE, [SEATS], [key, owner])) === 1;
      } catch (err) {
        // Redis away: this server lets the seat go now and tells Redis at a later beat.
        unreleased.push([key, owner]);
        throw err;
      }
    },
    async list() {
      const values = /** @type {string[]} */ (/** @type {unknown} */ (await client.sendCommand(["HVALS", SEATS])));
      return values.map((json) => /** @type {SeatRecord} */ (JSON.parse(json)));
    },
    async count() {
      return Number(await client.sendCommand(["HLEN", SEATS]));
    },
    evict(owner) {
      if (hooks !== null && serverOf(owner) === hooks.instance) hooks.evict(owner);
      else void client.sendCommand(["PUBLISH", EVICT, owner]).catch(() => undefined);
    },
    async close() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      const instance = hooks?.instance;
      hooks = null;
      for (const [key, owner] of unreleased.splice(0)) await run(RELEASE, [SEATS], [key, owner]).catch(() => undefined);
      if (instance !== undefined) await client.sendCommand(["ZREM", SERVERS, instance]).catch(() => undefined);
      subscriber?.destroy();
      subscriber = null;
    },
  };
}

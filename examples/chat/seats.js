// @ts-check
/**
 * Who sits in the chat room: the seat registry, in this process.
 *
 * A seat is a name held by one connection at a time. The room (room.js)
 * asks a registry to claim a name, to move a seat to a newer connection of
 * the same page (the token proves it is the same page), and to release it;
 * the registry is the one place that knows every name, so names stay unique.
 * This file is the in-memory registry of `npm start` (one process);
 * examples/chat-cluster/seats.js implements the same interface in Redis, so
 * that names stay unique across every worker.
 *
 * Owners. Every connection has an owner string, `"<instance>/<connection>"`:
 * the instance (one server process) and a connection id, both random. A seat
 * records its owner, so that "release only if it is still mine" and "drop
 * the connection that held it" work whichever process holds what.
 */

/**
 * A seat as the registry keeps it.
 * @typedef {object} SeatRecord
 * @property {string} member     public identity, sent as `from` on room events
 * @property {string} name       the name as the room tidied it
 * @property {string} tokenHash  SHA-256 (base64url) of the seat's secret token: the token itself is never stored
 * @property {string} owner      the connection that holds the seat, `"<instance>/<connection>"`
 */

/**
 * What a registry does; both registries implement it.
 * @typedef {object} SeatRegistry
 * @property {(hooks: RegistryHooks) => Promise<void>} start
 *   once, before the first join
 * @property {(key: string, record: SeatRecord, maxMembers: number) => Promise<{ status: "ok" } | { status: "taken", name: string } | { status: "full" }>} claim
 *   take a free name; atomic: two claims of one name never both succeed
 * @property {(key: string, tokenHash: string, owner: string) => Promise<{ status: "moved", previous: SeatRecord } | { status: "taken", name: string } | { status: "free" }>} takeBack
 *   move the seat under `key` to `owner` if `tokenHash` is its token's
 * @property {(key: string, owner: string) => Promise<boolean>} release
 *   free the seat if `owner` still holds it (false: it moved to a newer connection)
 * @property {() => Promise<SeatRecord[]>} list
 *   every seat taken
 * @property {() => Promise<number>} count
 *   how many seats are taken
 * @property {(owner: string) => void} evict
 *   drop the connection `owner` (its seat moved): whichever instance holds it does
 * @property {() => Promise<void>} close
 *   after the server closed
 */

/**
 * What the room gives a registry.
 * @typedef {object} RegistryHooks
 * @property {string} instance  this server's part of the owner strings
 * @property {() => [string, SeatRecord][]} held  the seats this server's connections hold now, by name key
 * @property {(owner: string) => void} evict
 *   drop this instance's connection `owner`, if it still has it
 * @property {(records: SeatRecord[]) => void} gone
 *   these seats were freed because the instance that held them is gone (announce their leaving)
 */

/**
 * The registry of one process: a Map.
 * @returns {SeatRegistry}
 */
export function localSeats() {
  /** @type {Map<string, SeatRecord>} */
  const seats = new Map();
  /** @type {RegistryHooks | null} */
  let hooks = null;
  return {
    async start(h) {
      hooks = h;
    },
    // Each operation runs to its end before the next starts (no await inside): atomic.
    async claim(key, record, maxMembers) {
      const held = seats.get(key);
      if (held !== undefined) return { status: "taken", name: held.name };
      if (seats.size >= maxMembers) return { status: "full" };
      seats.set(key, record);
      return { status: "ok" };
    },
    async takeBack(key, tokenHash, owner) {
      const held = seats.get(key);
      if (held === undefined) return { status: "free" };
      // Hashes compared, not secrets: timing tells nothing about the token.
      if (held.tokenHash !== tokenHash) return { status: "taken", name: held.name };
      seats.set(key, { ...held, owner });
      return { status: "moved", previous: held };
    },
    async release(key, owner) {
      if (seats.get(key)?.owner !== owner) return false;
      seats.delete(key);
      return true;
    },
    async list() {
      return [...seats.values()];
    },
    async count() {
      return seats.size;
    },
    evict(owner) {
      hooks?.evict(owner);
    },
    async close() {
      seats.clear();
    },
  };
}

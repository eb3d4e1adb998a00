// @ts-check
/**
 * The chat room: one room, on the library's topics, for one process
 * (examples/chat/server.js, `npm start`) or for N processes sharing it over
 * Redis (examples/chat-cluster/worker.js). The two differ only in what they
 * pass in: the pub/sub backplane (`localPubSub` or `redisPubSub`, both with
 * history) and the seat registry (./seats.js or ../chat-cluster/seats.js).
 *
 * Every member's connection is subscribed to the topic `chat`; room events
 * are published to it (`server.publish`), framed once for everyone, and the
 * backplane's history gives each one an id (the `topics.envelope` below puts
 * it in the message). A page that loses its connection sends the id of the
 * last room event it saw when it joins again, and `ws.resume` sends it what
 * it missed — in order, once, before anything new.
 *
 * ---------------------------------------------------------------- wire format
 * The room speaks JSON objects in text messages, one per message.
 *
 * From a client:
 *   {"type":"join","name":"ada"}                   take a seat under a name
 *   {"type":"join","name":"ada","token":"…","since":"1700000000000-3"}
 *                                                  coming back after a drop: `token` takes
 *                                                  your seat back; `since` is the id of the
 *                                                  last room event you saw (null: none), and
 *                                                  asks for what you missed
 *   {"type":"message","text":"hello"}              say something (after joining)
 *
 * From the server, to one client only (no `id`):
 *   {"type":"joined","member":"Jx3…","name":"ada","token":"…","online":2,"members":["bob"],
 *    "lastId":"1700000000000-3","rejoined":false,"text":"Welcome, ada! Also here: bob.","time":"…"}
 *     `member`  your identity in the room: room events you caused carry it as `from`
 *               (names are for people; this is how a client recognises its own messages)
 *     `token`   a secret: send it with a later join to take this seat (same name, same
 *               `member`) back, even while the server still holds your old connection
 *     `name`    the name as the server tidied it
 *     `lastId`  where your room events start: the room events after this id come next
 *               (your `since`, or the newest room event when you joined; null: none kept).
 *               Remember it, then the id of each room event you get.
 *     `online`  how many are in the room (absent if the server could not count)
 *     `server`  which server took you (only in a cluster: "worker 2")
 *   {"type":"resumed","replayed":3,"complete":true,"time":"…"}
 *     after a join with `since`: the `replayed` room events you missed came just before
 *     this; `complete` false means the history no longer reached back to `since` (or
 *     `since` was null, or the history could not be read): some may be missing.
 *   {"type":"error","code":"…","text":"…"}   a request refused; the connection stays open.
 *     code: "name-empty" | "name-taken" | "room-full" | "already-joined" | "not-joined"
 *           | "not-json" | "unknown-type" | "unavailable"; `text` says it for a person.
 *
 * From the server, to everyone in the room (room events):
 *   {"id":"1700000000000-4","type":"message","from":"Jx3…","name":"ada","text":"hello","time":"…"}
 *   {"id":"…","type":"system","event":"join","from":"K2a…","name":"bob","text":"bob joined","online":3,"time":"…"}
 *   {"id":"…","type":"system","event":"leave","from":"K2a…","name":"bob","text":"bob left","online":2,"time":"…"}
 *   `id`: the backplane's history id, `"<milliseconds>-<sequence>"`, increasing; absent on
 *   an event the history could not keep (a cluster whose Redis is unreachable). `time`:
 *   ISO 8601, UTC.
 *
 * The history is the room's, and the room is public: any client may ask for
 * what it holds (with an old `since`).
 *
 * Names are unique in the room (on every server of a cluster), ignoring case
 * and Unicode normalisation. Messages are cut to 2000 characters and names to
 * 32; control characters are dropped.
 *
 * Close codes from the server: 1001 going away (shutdown: reconnect later),
 * 1009 a message over 16 KiB, 4000 replaced (the same seat was taken back by
 * a newer connection: don't reconnect, or the two would take turns).
 */
import { createHash, randomBytes } from "node:crypto";
import { chatRequests } from "./requests.js";

/** The topic of the room. */
export const ROOM = "chat";
/** The room's history, in memory or in Redis: what a page that comes back can get. */
export const HISTORY = { maxCount: 500, maxAge: 600_000 };

const MAX_NAME = 32;
const MAX_TEXT = 2000;
/** Close code (private use, RFC 6455 §7.4.2) for a connection whose seat a newer one took. */
const REPLACED = 4000;
const ID = /^\d{1,16}-\d{1,16}$/;

/**
 * @typedef {import("./seats.js").SeatRecord} SeatRecord
 * @typedef {import("./seats.js").SeatRegistry} SeatRegistry
 * @typedef {import("wavesock").Connection} Connection
 */

/**
 * A seat held by a connection of this process.
 * @typedef {object} LocalSeat
 * @property {string} key        the name's key in the registry
 * @property {SeatRecord} record
 * @property {number} missed     room events not sent because the member was not keeping up
 * @property {boolean} announced whether the room was told of the join (so it must be told of the leave)
 */

/**
 * What a deployment gives the room.
 * @typedef {object} RoomConfig
 * @property {import("wavesock").PubSubBackplane} pubsub  the backplane, with history
 * @property {SeatRegistry} seats  who sits where
 * @property {number} [maxMembers]  most people in the room at once (default 100)
 * @property {string[]} [origins]  origins whose pages may connect (default: the host's own pages)
 * @property {string | null} [label]  this server's name for its members ("worker 2"), or null
 * @property {(line: string) => void} [log]  default console.log
 * @property {() => Promise<string | null>} [latestId]
 *   the id of the newest room event kept (null: none); default: read the backplane's history
 */

/** Names compare equal ignoring case and Unicode normalisation. @param {string} name */
const nameKey = (name) => name.normalize("NFKC").toLowerCase();

/** @param {string} token */
const hashToken = (token) => createHash("sha256").update(token).digest("base64url");

/** @param {unknown} value @returns {value is string} */
const isId = (value) => typeof value === "string" && ID.test(value);

/** Order two history ids. @param {string} a @param {string} b */
function compareIds(a, b) {
  const [ma, sa] = a.split("-").map(Number);
  const [mb, sb] = b.split("-").map(Number);
  return /** @type {number} */ (ma) - /** @type {number} */ (mb) || /** @type {number} */ (sa) - /** @type {number} */ (sb);
}

/**
 * The message as an object, or null if it is not a JSON object.
 * @param {string | Uint8Array} raw
 * @returns {Record<string, unknown> | null}
 */
function parse(raw) {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * A string with control characters removed and whitespace trimmed, cut to `max` characters.
 * @param {unknown} value
 * @param {number} max
 */
function clean(value, max) {
  if (typeof value !== "string") return "";
  // eslint-disable-next-line no-control-regex
  return [...value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim()].slice(0, max).join("");
}

/** @param {Connection} ws @param {Record<string, unknown>} fields */
function reply(ws, fields) {
  return ws.send(JSON.stringify({ ...fields, time: new Date().toISOString() }));
}

/** @param {Connection} ws @param {string} code @param {string} text */
function refuse(ws, code, text) {
  return ws.send(JSON.stringify({ type: "error", code, text }));
}

/**
 * The room, for one server: its handler, the `serve()` options it needs,
 * and `start(server)` / `close()` around the server's life.
 * @param {RoomConfig} config
 */
export function chatRoom(config) {
  const { pubsub, seats, maxMembers = 100, origins = [], label = null, log = console.log } = config;
  const latestId =
    config.latestId ??
    (async () => {
      const history = await pubsub.history?.(ROOM, null);
      if (history === undefined) throw new Error("the backplane keeps no history");
      return history.entries.at(-1)?.id ?? null;
    });
  /** This process among the room's servers. */
  const instance = randomBytes(6).toString("base64url");
  /** @type {import("wavesock").Server | null} */
  let server = null;
  /** This process's connections by owner string (joined or not), for evictions. */
  /** @type {Map<string, Connection>} */
  const connections = new Map();
  /** The seat each of this process's connections holds. */
  /** @type {Map<Connection, LocalSeat>} */
  const members = new Map();
  /** The newest id the envelope has seen: replayed (older) messages don't count as deliveries. */
  /** @type {string | null} */
  let newestSeen = null;

  /** How many are in the room, or null if the registry can't say. */
  const online = () => seats.count().catch(() => null);

  /**
   * Publish a room event, stamped with the time (the envelope adds the id).
   * @param {Record<string, unknown>} event
   * @param {number | null} count  `online`, when known
   */
  function toRoom(event, count) {
    const message = JSON.stringify({ ...event, ...(count !== null && { online: count }), time: new Date().toISOString() });
    try {
      server?.publish(ROOM, message);
    } catch (err) {
      log(`could not tell the room: ${/** @type {Error} */ (err).message}`);
    }
  }

  /**
   * Notice members that are not keeping up, as the topic is about to skip
   * them. A publish frames the message once and never waits for anyone: a
   * subscriber whose write buffer is over its high water mark (a peer that
   * has stopped reading) is left out of that message until it catches up
   * (the library's default slow-subscriber policy, counted in
   * `server.topicStats`). Checked here with the library's own test, just
   * before it applies it, so that the log says exactly who is left out: once
   * when they fall behind, once when they catch up. Members whose connection
   * is closing are left out silently: their leave is announced when their
   * handler ends.
   */
  function noteSlowMembers() {
    for (const [ws, seat] of members) {
      if (ws.state !== "open") continue;
      if (ws.bufferedAmount > ws.writeHighWaterMark) {
        if (seat.missed++ === 0) {
          log(`${seat.record.name} is not keeping up (${Math.round(ws.bufferedAmount / 1024)} KiB unsent): skipping them until they catch up`);
        }
      } else if (seat.missed > 0) {
        log(`${seat.record.name} caught up after missing ${seat.missed} message(s)`);
        seat.missed = 0;
      }
    }
  }

  /**
   * `topics.envelope`: a room event as it goes on the wire, with its history
   * id first. It runs once per message on each server that has members (and
   * again for messages replayed to one member, which are older than what it
   * has seen).
   * @param {string | Uint8Array} message
   * @param {{ id: string | null }} meta
   */
  function envelope(message, { id }) {
    if (typeof message !== "string") return message;
    if (id === null || newestSeen === null || compareIds(id, newestSeen) > 0) {
      if (id !== null) newestSeen = id;
      noteSlowMembers();
    }
    return id === null ? message : `{"id":${JSON.stringify(id)},${message.slice(1)}`;
  }

  /**
   * The id to resume a fresh member from (the newest kept), or undefined if the history can't be read.
   * @returns {Promise<string | null | undefined>}
   */
  async function latest() {
    try {
      return await latestId();
    } catch (err) {
      log(`history unavailable: ${/** @type {Error} */ (err).message}`);
      return undefined;
    }
  }

  /**
   * Seat this connection under the name it asks for (or give it its seat
   * back), or say why not; then subscribe it to the room from where it
   * stands, and announce it.
   * @param {Connection} ws
   * @param {string} owner
   * @param {Record<string, unknown>} message
   * @returns {Promise<void>}
   */
  async function join(ws, owner, message) {
    const name = clean(message["name"], MAX_NAME).replace(/\s+/g, " ");
    if (name === "") return refuse(ws, "name-empty", "Pick a name first: it can't be empty.");
    const key = nameKey(name);
    const returning = Object.hasOwn(message, "since");
    const since = isId(message["since"]) ? /** @type {string} */ (message["since"]) : null;
    const token = typeof message["token"] === "string" && message["token"] !== "" ? message["token"] : null;

    /** @type {SeatRecord | null} */
    let record = null;
    let secret = "";
    let rejoined = false;
    try {
      if (token !== null) {
        const moved = await seats.takeBack(key, hashToken(token), owner);
        if (moved.status === "taken") return refuse(ws, "name-taken", `The name ${moved.name} is taken: pick another one.`);
        if (moved.status === "moved") {
          // The same page, back on a new connection: the seat moved over;
          // drop the old connection (most often one whose peer vanished),
          // quietly, wherever it is.
          record = { ...moved.previous, owner };
          secret = token;
          rejoined = true;
          seats.evict(moved.previous.owner);
        }
      }
      if (record === null) {
        secret = randomBytes(18).toString("base64url");
        const fresh = { member: randomBytes(9).toString("base64url"), name, tokenHash: hashToken(secret), owner };
        const claimed = await seats.claim(key, fresh, maxMembers);
        if (claimed.status === "taken") return refuse(ws, "name-taken", `The name ${claimed.name} is taken: pick another one.`);
        if (claimed.status === "full") return refuse(ws, "room-full", `The room is full (${maxMembers} people): try again in a while.`);
        record = fresh;
      }
    } catch (err) {
      log(`seat registry unavailable: ${/** @type {Error} */ (err).message}`);
      return refuse(ws, "unavailable", "The room can't seat anyone right now: try again in a moment.");
    }
    /** @type {LocalSeat} */
    const seat = { key, record, missed: 0, announced: false };
    members.set(ws, seat);

    const all = await seats.list().catch(() => null);
    const others = (all ?? []).filter((r) => r.member !== seat.record.member).map((r) => r.name);
    const count = all === null ? null : all.length;
    log(`${seat.record.name} ${rejoined ? "is back" : "joined"} (${count ?? "?"} online)`);

    // Where this member's room events start: what it saw last, or (new here)
    // the newest event kept. Events published after that reach it through
    // the history until its subscription is live, then live: each once.
    const anchor = since !== null ? since : await latest();
    const text = rejoined
      ? `Welcome back, ${seat.record.name}!`
      : all === null
        ? `Welcome, ${seat.record.name}!`
        : others.length > 0
          ? `Welcome, ${seat.record.name}! Also here: ${others.join(", ")}.`
          : `Welcome, ${seat.record.name}! You are the first one here.`;
    await reply(ws, {
      type: "joined",
      member: seat.record.member,
      name: seat.record.name,
      token: secret,
      ...(count !== null && { online: count }),
      members: others,
      lastId: anchor ?? null,
      rejoined,
      ...(label !== null && { server: label }),
      text: label === null ? text : `${text} You are on ${label}.`,
    });
    if (ws.state !== "open" || members.get(ws) !== seat) return; // gone, or its seat moved on meanwhile

    let resumed = { replayed: 0, complete: false };
    try {
      if (anchor !== undefined) resumed = await ws.resume(ROOM, anchor);
      else ws.subscribe(ROOM);
    } catch (err) {
      if (ws.state !== "open") return; // closed while the history was read
      throw err;
    }
    if (returning) await reply(ws, { type: "resumed", replayed: resumed.replayed, complete: since !== null && resumed.complete });
    if (rejoined || members.get(ws) !== seat) return;
    seat.announced = true;
    toRoom({ type: "system", event: "join", from: seat.record.member, name: seat.record.name, text: `${seat.record.name} joined` }, await online());
  }

  /**
   * The connection ended: its seat is free, unless a newer connection took
   * it over (here or on another server).
   * @param {Connection} ws
   */
  async function leave(ws) {
    const seat = members.get(ws);
    if (seat === undefined) return;
    members.delete(ws);
    const { name, member, owner } = seat.record;
    let released = true;
    try {
      released = await seats.release(seat.key, owner);
    } catch (err) {
      log(`could not free the seat of ${name}: ${/** @type {Error} */ (err).message}`);
    }
    if (!released) return;
    const count = await online();
    log(`${name} left (${count ?? "?"} online)`);
    // (A connection lost before its join was announced leaves quietly too.)
    if (seat.announced) toRoom({ type: "system", event: "leave", from: member, name, text: `${name} left` }, count);
  }

  /** @param {Connection} ws */
  async function handler(ws) {
    const owner = `${instance}/${randomBytes(6).toString("base64url")}`;
    connections.set(owner, ws);
    try {
      for await (const raw of ws) {
        const message = parse(raw);
        // Looked up each time: a newer connection may have taken the seat over.
        const seat = members.get(ws);
        if (message === null) {
          await refuse(ws, "not-json", "Messages must be JSON objects.");
        } else if (message["type"] === "join") {
          if (seat === undefined) await join(ws, owner, message);
          else await refuse(ws, "already-joined", `You are already in the room as ${seat.record.name}.`);
        } else if (message["type"] === "message") {
          if (seat === undefined) {
            await refuse(ws, "not-joined", "Pick a name first.");
            continue;
          }
          const text = clean(message["text"], MAX_TEXT);
          if (text === "") continue;
          const { name, member } = seat.record;
          log(`${name}: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}`);
          toRoom({ type: "message", from: member, name, text }, null);
        } else {
          await refuse(ws, "unknown-type", `Unknown message type ${JSON.stringify(message["type"])}.`);
        }
      }
    } finally {
      connections.delete(owner);
      await leave(ws);
    }
  }

  return {
    /** The connection handler, for `serve()`. */
    handler,
    /** The options `serve()` needs for the room (add `host`, `port`, `maxConnections`). */
    options: {
      processRequest: chatRequests({ origins, log }),
      maxSize: 16 * 1024, // chat messages are short (the page's 2000 characters stay under this)
      pingInterval: 20_000, // keepalive: notice vanished browsers within ~40 s
      pubsub,
      topics: { envelope },
    },
    /**
     * Bind the room to the server `serve()` returned, and start the seat registry.
     * @param {import("wavesock").Server} s
     */
    async start(s) {
      server = s;
      await seats.start({
        instance,
        held: () => Array.from(members.values(), (seat) => /** @type {[string, SeatRecord]} */ ([seat.key, seat.record])),
        evict(owner) {
          const ws = connections.get(owner);
          if (ws === undefined) return;
          // Its seat is someone else's now: it leaves without a word.
          members.delete(ws);
          ws.fail(REPLACED, "replaced by a newer connection");
        },
        gone(records) {
          void online().then((count) => {
            for (const { name, member } of records) {
              log(`${name} left (their server went away; ${count ?? "?"} online)`);
              toRoom({ type: "system", event: "leave", from: member, name, text: `${name} left` }, count);
            }
          });
        },
      });
    },
    /** After `server.close()`: stop the seat registry. */
    close() {
      return seats.close();
    },
  };
}

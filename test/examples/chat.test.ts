import { afterEach, describe, expect, it } from "vitest";
import { InvalidStatus, connect, type Connection } from "../../src/index.js";
import { RawPeer, clientFrame } from "../node/helpers.js";
import { Example, closeQuietly, killAll, recvJSONUntil, withTimeout } from "./helpers.js";

/** Any message from the chat server (see the wire format at the top of examples/chat/server.js). */
interface RoomMessage {
  type: "message" | "system" | "joined" | "resumed" | "error";
  id?: string;
  from?: string;
  member?: string;
  token?: string;
  name?: string;
  text?: string;
  code?: string;
  event?: "join" | "leave";
  online?: number;
  members?: string[];
  lastId?: string | null;
  rejoined?: boolean;
  replayed?: number;
  complete?: boolean;
  server?: string;
  time?: string;
}

const clients: Connection[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  await killAll();
});

async function open(port: number, options: { origin?: string } = {}): Promise<Connection> {
  const ws = await connect(`ws://127.0.0.1:${port}/chat`, options);
  clients.push(ws);
  return ws;
}

/** Order two history ids ("<milliseconds>-<sequence>"). */
function compareIds(a: string, b: string): number {
  const [ma, sa] = a.split("-").map(Number);
  const [mb, sb] = b.split("-").map(Number);
  return ma! - mb! || sa! - sb!;
}

const next = (ws: Connection, accept: (m: RoomMessage) => boolean = () => true) => recvJSONUntil<RoomMessage>(ws, accept);

/** The very next message, whatever it is. */
async function recvJSON(ws: Connection): Promise<RoomMessage> {
  return JSON.parse((await withTimeout(ws.recv(), 10_000, "timed out waiting for a message")) as string) as RoomMessage;
}

async function joinAs(ws: Connection, name: string, token?: string): Promise<RoomMessage> {
  await ws.send(JSON.stringify(token === undefined ? { type: "join", name } : { type: "join", name, token }));
  return recvJSON(ws);
}

/** A connection seated under `name`, with its `joined` reply; its own join event is read. */
async function member(port: number, name: string): Promise<{ ws: Connection; joined: RoomMessage }> {
  const ws = await open(port);
  const joined = await joinAs(ws, name);
  expect(joined).toMatchObject({ type: "joined", name });
  await next(ws, (m) => m.event === "join" && m.from === joined.member);
  return { ws, joined };
}

describe("examples/chat/server.js: the web page", () => {
  it("serves the page and its files on one port, and 404 for anything else", async () => {
    const { example, port } = await Example.server("chat/server.js");
    expect(example.stdout).toContain(`listening on http://127.0.0.1:${port}/ (WebSocket: ws://127.0.0.1:${port}/chat)`);
    const base = `http://127.0.0.1:${port}`;

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await page.text();
    expect(html).toContain('<ol id="messages"');
    expect(html).toContain('<script type="module" src="/chat.js">');

    for (const [path, type] of [
      ["/index.html", "text/html; charset=utf-8"],
      ["/chat.js", "text/javascript; charset=utf-8"],
      ["/chat.css", "text/css; charset=utf-8"],
      ["/?utm=x", "text/html; charset=utf-8"],
    ]) {
      const res = await fetch(base + path!);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe(type);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }

    const head = await fetch(`${base}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(Buffer.byteLength(html));

    for (const path of ["/missing", "/server.js", "/../package.json", "/favicon.ico"]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
    const post = await fetch(`${base}/`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    await post.arrayBuffer();

    // A WebSocket anywhere but /chat is refused.
    const err = await connect(`ws://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
  });

  it("refuses a WebSocket opened by a page from another origin, and says so to a plain request too", async () => {
    const { port } = await Example.server("chat/server.js");
    const err = await connect(`ws://127.0.0.1:${port}/chat`, { origin: "http://evil.example" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(403);
    const ws = await open(port, { origin: `http://127.0.0.1:${port}` });
    expect(await joinAs(ws, "ada")).toMatchObject({ type: "joined", name: "ada", online: 1 });

    // What the page asks after a failed handshake (browsers hide the status of one).
    const refused = await fetch(`http://127.0.0.1:${port}/chat`, { method: "POST", headers: { origin: "http://evil.example" } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("pages from http://evil.example may not join this chat");
    const welcome = await fetch(`http://127.0.0.1:${port}/chat`, { method: "POST", headers: { origin: `http://127.0.0.1:${port}` } });
    expect(welcome.status).toBe(426);
    expect(welcome.headers.get("upgrade")).toBe("websocket");
    await welcome.arrayBuffer();
  });

  it("takes pages from the origins in ORIGINS instead (behind a proxy that rewrites Host)", async () => {
    const { port } = await Example.server("chat/server.js", { ORIGINS: "https://chat.example, https://www.chat.example" });
    const ws = await open(port, { origin: "https://chat.example" });
    expect(await joinAs(ws, "ada")).toMatchObject({ type: "joined" });
    const err = await connect(`ws://127.0.0.1:${port}/chat`, { origin: `http://127.0.0.1:${port}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStatus);
    expect((err as InvalidStatus).response.status).toBe(403);
    expect(new TextDecoder().decode((err as InvalidStatus).response.body)).toContain("allowed: https://chat.example, https://www.chat.example");
  });
});

describe("examples/chat/server.js: the room", () => {
  it("joins, broadcasts messages with ids and identities, counts who is online and announces departures", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const alice = await open(port);

    // Nothing is said before a name is chosen.
    await alice.send(JSON.stringify({ type: "message", text: "anyone?" }));
    expect(await recvJSON(alice)).toEqual({ type: "error", code: "not-joined", text: "Pick a name first." });
    await alice.send("not json");
    expect(await recvJSON(alice)).toMatchObject({ type: "error", code: "not-json" });
    expect(await joinAs(alice, " \u0007 ")).toMatchObject({ type: "error", code: "name-empty" });

    const aliceJoined = await joinAs(alice, "  alice ");
    // Nothing said yet: no room event to start from.
    expect(aliceJoined).toMatchObject({ type: "joined", name: "alice", online: 1, members: [], lastId: null, rejoined: false, text: "Welcome, alice! You are the first one here." });
    expect(aliceJoined.member).toMatch(/^[\w-]{12}$/);
    expect(aliceJoined.token).toMatch(/^[\w-]{24}$/);
    expect(aliceJoined.id).toBeUndefined(); // only room events carry ids
    const ids: string[] = [];
    /** A room event's id: the backplane's history id, each one after the one before. */
    const idOf = (m: RoomMessage) => {
      expect(m.id).toMatch(/^\d+-\d+$/);
      if (ids.length > 0) expect(compareIds(m.id!, ids.at(-1)!)).toBeGreaterThan(0);
      ids.push(m.id!);
      return m.id!;
    };
    const aliceJoin = await recvJSON(alice);
    expect(aliceJoin).toMatchObject({ type: "system", event: "join", from: aliceJoined.member, name: "alice", text: "alice joined", online: 1 });
    idOf(aliceJoin);
    expect(await joinAs(alice, "alice again")).toMatchObject({ type: "error", code: "already-joined" });

    const bob = await open(port);
    const bobJoined = await joinAs(bob, "bob\u0007");
    // bob's room events start after the newest one kept: alice's join.
    expect(bobJoined).toMatchObject({ name: "bob", text: "Welcome, bob! Also here: alice.", members: ["alice"], lastId: aliceJoin.id });
    expect(bobJoined.member).not.toBe(aliceJoined.member);
    const bobJoin = await recvJSON(alice);
    expect(bobJoin).toMatchObject({ event: "join", from: bobJoined.member, name: "bob", online: 2 });
    idOf(bobJoin);
    expect(await recvJSON(bob)).toMatchObject({ id: bobJoin.id, event: "join" });

    await bob.send(JSON.stringify({ type: "message", text: "hi alice" }));
    const hi = [await recvJSON(alice), await recvJSON(bob)];
    for (const m of hi) {
      expect(m).toMatchObject({ type: "message", id: hi[0]!.id, from: bobJoined.member, name: "bob", text: "hi alice" });
      expect(Number.isNaN(Date.parse(m.time!))).toBe(false);
    }
    idOf(hi[0]!);
    await example.waitFor(/bob: hi alice/);

    // Empty messages are dropped; long ones are cut.
    await alice.send(JSON.stringify({ type: "message", text: "   " }));
    await alice.send(JSON.stringify({ type: "message", text: "x".repeat(5000) }));
    const long = await recvJSON(bob);
    expect(long).toMatchObject({ from: aliceJoined.member });
    expect(long.text).toHaveLength(2000);
    idOf(long);

    await alice.close();
    const left = await recvJSON(bob);
    expect(left).toMatchObject({ type: "system", event: "leave", from: aliceJoined.member, name: "alice", text: "alice left", online: 1 });
    idOf(left);
    await example.waitFor(/alice left \(1 online\)/);

    // The name is free again once its holder left.
    const alice2 = await open(port);
    expect(await joinAs(alice2, "Alice")).toMatchObject({ type: "joined", name: "Alice", lastId: left.id });

    expect(await example.stop()).toEqual({ code: 0, signal: null });
    expect(bob.closeCode).toBe(1001);
  });

  it("keeps names unique: a taken name is refused, ignoring case, and the connection can pick another", async () => {
    const { port } = await Example.server("chat/server.js");
    const ada = await member(port, "Ada");
    const other = await open(port);
    for (const name of ["Ada", "ada", " ADA "]) {
      expect(await joinAs(other, name)).toEqual({ type: "error", code: "name-taken", text: "The name Ada is taken: pick another one." });
    }
    const joined = await joinAs(other, "Ada L.");
    expect(joined).toMatchObject({ type: "joined", name: "Ada L.", members: ["Ada"] });
    expect(await next(ada.ws)).toMatchObject({ event: "join", name: "Ada L.", online: 2 });
  });

  it("gives a seat back to the token's holder on a new connection; the old one is dropped without a leave", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const carol = await member(port, "carol");
    const dave = await member(port, "dave");
    await next(carol.ws, (m) => m.event === "join" && m.name === "dave");

    // Someone else with a wrong token cannot take it.
    const thief = await open(port);
    expect(await joinAs(thief, "carol", "x".repeat(24))).toMatchObject({ type: "error", code: "name-taken" });

    // carol's page reconnects while the server still holds her old connection.
    const back = await open(port);
    const rejoined = await joinAs(back, "carol", carol.joined.token);
    expect(rejoined).toMatchObject({ type: "joined", name: "carol", member: carol.joined.member, token: carol.joined.token, rejoined: true, online: 2 });
    await carol.ws.closed;
    expect(carol.ws.closeCode).toBe(4000);
    expect(carol.ws.closeReason).toBe("replaced by a newer connection");
    await example.waitFor(/carol is back \(2 online\)/);

    await back.send(JSON.stringify({ type: "message", text: "still me" }));
    // dave saw no leave or join in between: the next thing is the message, from the same identity.
    expect(await recvJSON(dave.ws)).toMatchObject({ type: "message", from: carol.joined.member, name: "carol", text: "still me" });
    expect(example.stdout).not.toContain("carol left");
  });

  it("refuses joins beyond MAX_MEMBERS and takes them once someone left", async () => {
    const { example, port } = await Example.server("chat/server.js", { MAX_MEMBERS: "2" });
    const first = await member(port, "one");
    await member(port, "two");
    const third = await open(port);
    expect(await joinAs(third, "three")).toEqual({ type: "error", code: "room-full", text: "The room is full (2 people): try again in a while." });
    await first.ws.close();
    await example.waitFor(/one left/);
    expect(await joinAs(third, "three")).toMatchObject({ type: "joined", online: 2 });
  });
});

describe("examples/chat/server.js: coming back after a drop", () => {
  /** Say `texts` as `ws`, and wait until `listener` heard the last one. */
  async function sayAll(ws: Connection, listener: Connection, texts: string[]): Promise<RoomMessage[]> {
    for (const text of texts) await ws.send(JSON.stringify({ type: "message", text }));
    const heard: RoomMessage[] = [];
    await next(listener, (m) => {
      if (m.type === "message" && texts.includes(m.text!)) heard.push(m);
      return m.text === texts.at(-1);
    });
    return heard;
  }

  /** Everything up to and including the `resumed` reply. */
  async function untilResumed(ws: Connection): Promise<{ before: RoomMessage[]; resumed: RoomMessage }> {
    const before: RoomMessage[] = [];
    const resumed = await next(ws, (m) => {
      if (m.type === "resumed") return true;
      before.push(m);
      return false;
    });
    return { before, resumed };
  }

  it("a page that takes its seat back with the id it saw last gets exactly what it missed, in order, then the new", async () => {
    const { port } = await Example.server("chat/server.js");
    const ivy = await member(port, "ivy");
    const jon = await member(port, "jon");
    const [seen] = await sayAll(jon.ws, ivy.ws, ["seen by ivy"]);
    // ivy's connection goes quiet (the server still holds it), and jon goes on.
    const missed = await sayAll(jon.ws, jon.ws, ["one", "two", "three"]);

    const back = await open(port);
    await back.send(JSON.stringify({ type: "join", name: "ivy", token: ivy.joined.token, since: seen!.id }));
    const joined = await recvJSON(back);
    expect(joined).toMatchObject({ type: "joined", rejoined: true, member: ivy.joined.member, lastId: seen!.id });
    const { before, resumed } = await untilResumed(back);
    expect(before).toEqual(missed);
    expect(resumed).toMatchObject({ type: "resumed", replayed: 3, complete: true });
    await ivy.ws.closed;
    expect(ivy.ws.closeCode).toBe(4000);
    // Then live, from where the replay ended.
    const [now] = await sayAll(jon.ws, back, ["four"]);
    expect(compareIds(now!.id!, missed.at(-1)!.id!)).toBeGreaterThan(0);
  });

  it("a page whose seat is gone comes back as a new seat and still gets what it missed (its own leave included)", async () => {
    const { port } = await Example.server("chat/server.js");
    const kim = await member(port, "kim");
    const lee = await member(port, "lee");
    const [seen] = await sayAll(lee.ws, kim.ws, ["hello kim"]);
    await kim.ws.close();
    await next(lee.ws, (m) => m.event === "leave" && m.name === "kim");
    const missed = await sayAll(lee.ws, lee.ws, ["kim?", "gone"]);

    const back = await open(port);
    await back.send(JSON.stringify({ type: "join", name: "kim", token: kim.joined.token, since: seen!.id }));
    const joined = await recvJSON(back);
    expect(joined).toMatchObject({ type: "joined", rejoined: false, name: "kim" });
    expect(joined.member).not.toBe(kim.joined.member);
    const { before, resumed } = await untilResumed(back);
    expect(before.map((m) => m.text)).toEqual(["kim left", "kim?", "gone"]);
    expect(before.slice(1)).toEqual(missed);
    expect(resumed).toMatchObject({ replayed: 3, complete: true });
    // Its new join comes after, to everyone.
    expect(await recvJSON(back)).toMatchObject({ event: "join", from: joined.member });
    expect(await next(lee.ws, (m) => m.event === "join")).toMatchObject({ from: joined.member, name: "kim" });
  });

  it("says when the history can't tell: an id it no longer holds, or none", async () => {
    const { port } = await Example.server("chat/server.js");
    const max = await member(port, "max");
    await sayAll(max.ws, max.ws, ["something"]);

    // An id from before this server's history (another run, or too old): everything kept is sent, and it may not be all.
    const old = await open(port);
    await old.send(JSON.stringify({ type: "join", name: "ned", since: "1000-0" }));
    expect(await recvJSON(old)).toMatchObject({ type: "joined", lastId: "1000-0" });
    const fromOld = await untilResumed(old);
    expect(fromOld.before.map((m) => m.text)).toEqual(["max joined", "something"]);
    expect(fromOld.resumed).toMatchObject({ replayed: 2, complete: false });

    // Coming back without an id (nothing seen): nothing to replay, and it can't be sure nothing is missing.
    const none = await open(port);
    await none.send(JSON.stringify({ type: "join", name: "olga", since: null }));
    const joined = await recvJSON(none);
    expect(joined.lastId).toMatch(/^\d+-\d+$/);
    expect(await untilResumed(none)).toMatchObject({ before: [], resumed: { replayed: 0, complete: false } });

    // Not an id: treated as none.
    const junk = await open(port);
    await junk.send(JSON.stringify({ type: "join", name: "pia", since: "yesterday" }));
    expect(await recvJSON(junk)).toMatchObject({ type: "joined", name: "pia" });
    expect((await untilResumed(junk)).resumed).toMatchObject({ replayed: 0, complete: false });
  });
});

describe("examples/chat/server.js: slow members", () => {
  it("logs nothing about slow members when people leave or the server shuts down", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const people: Connection[] = [];
    for (const name of ["ann", "ben", "cat", "dan"]) {
      const ws = await open(port);
      await ws.send(JSON.stringify({ type: "join", name }));
      await example.waitFor(new RegExp(`${name} joined`));
      people.push(ws);
    }
    await people[0]!.close();
    await example.waitFor(/ann left \(3 online\)/);
    await people[1]!.send(JSON.stringify({ type: "message", text: "bye" }));
    await example.waitFor(/ben: bye/);
    expect(await example.stop()).toEqual({ code: 0, signal: null });
    expect(example.stdout).toContain("server closed");
    expect(example.stdout).toMatch(/left \(0 online\)/);
    expect(example.stdout).not.toMatch(/skipped|slow|keeping up/);
  });

  it("leaves out a member that stopped reading, says so once, and once more when it caught up", async () => {
    const { example, port } = await Example.server("chat/server.js");
    // A peer that joins and then stops reading: its socket is paused, so the
    // server's write buffer for it fills.
    const slow = await RawPeer.connect(port);
    expect(await slow.handshake("/chat")).toMatch(/^HTTP\/1\.1 101 /);
    slow.write(clientFrame(0x1, JSON.stringify({ type: "join", name: "slowpoke" })));
    await example.waitFor(/slowpoke joined/);
    slow.socket.pause();

    const talker = await member(port, "talker");
    let heard = 0;
    const reading = (async () => {
      try {
        for await (const message of talker.ws) if (typeof message === "string" && message.includes('"talker"')) heard++;
      } catch {
        // closed at the end of the test
      }
    })();
    const text = "y".repeat(2000);
    let said = 0;
    /**
     * Talk until the log matches, 20 messages (40 KiB to every member) at a
     * time: below the server's high water mark (64 KiB), so that a member
     * that reads (the talker hears everything before the next round) is
     * never left out.
     */
    const talkUntil = async (pattern: RegExp) => {
      for (let round = 0; round < 2000 && !pattern.test(example.stdout); round++) {
        for (let i = 0; i < 20; i++, said++) await talker.ws.send(JSON.stringify({ type: "message", text }));
        // The talker hears its own messages once the server has broadcast them.
        await withTimeout(
          (async () => {
            while (heard < said) await new Promise((r) => setTimeout(r, 20));
          })(),
          30_000,
          `the talker heard ${heard} of its ${said} messages`,
        );
      }
      return example.waitFor(pattern, 30_000);
    };
    await talkUntil(/slowpoke is not keeping up \(\d+ KiB unsent\): skipping them until they catch up/);
    expect(example.stdout.match(/not keeping up/g)).toHaveLength(1);
    expect(example.stdout).not.toMatch(/talker is not keeping up/);

    // It reads again (and throws the bytes away): the next broadcast reaches it again.
    slow.socket.removeAllListeners("data");
    slow.socket.on("data", () => undefined);
    slow.socket.resume();
    const caughtUp = await talkUntil(/slowpoke caught up after missing (\d+) message\(s\)/);
    expect(Number(caughtUp[1])).toBeGreaterThan(0);
    // Once per episode: falling behind and catching up alternate.
    const episodes = example.stdout.match(/slowpoke (is not keeping up|caught up)/g)!;
    expect(episodes.slice(0, 2)).toEqual(["slowpoke is not keeping up", "slowpoke caught up"]);
    episodes.forEach((line, i) => expect(line).toBe(episodes[i % 2]));
    expect(example.stdout).not.toMatch(/talker (is not keeping up|caught up)/);

    await talker.ws.close();
    await reading;
    slow.destroy();
  }, 120_000);
});

/**
 * The chat demo in a real browser: headless Chromium, driven with
 * playwright-core, talking to examples/chat/server.js — and, at the end, to
 * the same room on worker processes over Redis (examples/chat-cluster).
 */
import { existsSync } from "node:fs";
import net from "node:net";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
import { haveRedis } from "../pubsub/redis.js";
import { Example, closeQuietly, killAll, recvJSONUntil } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`chat-browser tests skipped: no Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`);
}

let browser: Browser | undefined;
const clients: Connection[] = [];
/** Uncaught exceptions in the pages, and errors logged to their consoles (CSP violations...). */
let pageErrors: string[] = [];
let consoleErrors: string[] = [];

/**
 * A TCP relay between the browser and the server whose `cut()` drops the
 * browser's side of every connection and keeps the server's side open: the
 * page sees its connection fail while the server still holds it, as when a
 * laptop loses its network. While `blocked`, new connections are dropped at
 * once (the network is still down).
 */
class Relay {
  blocked = false;

  private constructor(
    private readonly server: net.Server,
    private readonly pairs: Set<[net.Socket, net.Socket]>,
    private readonly all: Set<net.Socket>,
  ) {}

  static async start(port: number): Promise<Relay> {
    const pairs = new Set<[net.Socket, net.Socket]>();
    const all = new Set<net.Socket>();
    // eslint-disable-next-line prefer-const
    let relay: Relay;
    const server = net.createServer((browserSide) => {
      if (relay.blocked) {
        browserSide.destroy();
        return;
      }
      const serverSide = net.connect(port, "127.0.0.1");
      const pair: [net.Socket, net.Socket] = [browserSide, serverSide];
      pairs.add(pair);
      for (const s of pair) {
        all.add(s);
        s.on("error", () => undefined).on("close", () => {
          all.delete(s);
          pairs.delete(pair);
        });
      }
      browserSide.pipe(serverSide);
      serverSide.pipe(browserSide);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    relay = new Relay(server, pairs, all);
    return relay;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    for (const [browserSide, serverSide] of this.pairs) {
      browserSide.unpipe(serverSide);
      serverSide.unpipe(browserSide);
      serverSide.on("data", () => undefined); // the server's writes go nowhere
      browserSide.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const s of this.all) s.destroy();
    await closed;
  }
}
let relay: Relay | undefined;
/** A running examples/chat-cluster: stopped with SIGTERM, so that its primary stops the redis-server it started. */
let cluster: Example | undefined;

afterEach(async () => {
  await relay?.close();
  relay = undefined;
  await cluster?.stop("SIGTERM").catch(() => undefined);
  cluster = undefined;
  await Promise.all(clients.splice(0).map(closeQuietly));
  // Every page lives in its own context: closing the contexts closes the pages.
  await Promise.all((browser?.contexts() ?? []).map((c) => c.close()));
  await killAll();
});

beforeEach(() => {
  pageErrors = [];
  consoleErrors = [];
});

afterAll(async () => {
  await browser?.close();
  browser = undefined;
});

/** One browser for the whole file (a fresh profile); each test opens its own contexts. */
async function launch(): Promise<Browser> {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return browser;
}

/** WebSockets each page opened (connection attempts). */
const sockets = new WeakMap<Page, number>();

/** A page in its own browser context (its own storage), opened on the chat. */
async function openChat(b: Browser, port: number, state: "open" | "refused" = "open"): Promise<Page> {
  const context = await b.newContext({ viewport: { width: 820, height: 620 } });
  const page = await context.newPage();
  sockets.set(page, 0);
  page.on("websocket", () => sockets.set(page, sockets.get(page)! + 1));
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator(`#connection[data-state="${state}"]`).waitFor({ timeout: 10_000 });
  return page;
}

/**
 * The page opens no other WebSocket for a while: longer than its first
 * retry delays (0.5 s, then 1 s), so a page that retries would have.
 */
async function expectNoRetry(page: Page): Promise<void> {
  const before = sockets.get(page);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  expect(sockets.get(page)).toBe(before);
}

async function join(page: Page, name: string): Promise<void> {
  await page.locator("#name").fill(name);
  await page.getByRole("button", { name: "Join" }).click();
  await page.locator("#messages li.system", { hasText: `Welcome, ${name}!` }).waitFor({ timeout: 10_000 });
  expect(await page.locator("#message-form").isVisible()).toBe(true);
  expect(await page.locator("#join-form").isVisible()).toBe(false);
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

/** The chat message (not a system line) that contains `text`, once it is shown. */
async function shown(page: Page, text: string) {
  const item = page.locator("#messages li.message", { hasText: text });
  await item.waitFor({ timeout: 10_000 });
  return item;
}

const online = (page: Page) => page.locator("#online").textContent();
const status = (page: Page) => page.locator("#connection").textContent();

// Starting Chromium and its renderers takes seconds on a busy machine.
const BROWSER_TEST_TIMEOUT = 60_000;

describe("examples/chat in headless Chromium", () => {
  it.skipIf(!haveChromium)("two pages and a Node client talk in one room; joins and leaves show up", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const b = await launch();
    const alice = await openChat(b, port);
    const bob = await openChat(b, port);
    expect(await alice.title()).toBe("wavesock chat");
    // Nobody has joined yet: no count rather than a wrong "0 online".
    expect(await alice.locator("#online").isVisible()).toBe(false);

    await join(alice, "alice");
    await join(bob, "bob");
    await expect.poll(() => online(alice), { timeout: 10_000 }).toBe("2 online");
    await expect.poll(() => online(bob), { timeout: 10_000 }).toBe("2 online");
    await alice.locator("#messages li.system", { hasText: "bob joined" }).waitFor({ timeout: 10_000 });

    // alice → bob, with the button.
    await say(alice, "Hello from Alice");
    const received = await shown(bob, "Hello from Alice");
    expect(await received.locator(".name").textContent()).toBe("alice");
    expect(await received.getAttribute("class")).toBe("message");
    expect(await (await shown(alice, "Hello from Alice")).getAttribute("class")).toBe("message mine");
    expect(await alice.getByLabel("Message").inputValue()).toBe("");

    // bob → alice, with the Enter key.
    await bob.getByLabel("Message").fill("Hi Alice!");
    await bob.getByLabel("Message").press("Enter");
    await shown(alice, "Hi Alice!");

    // A Node client joins the same room and talks to both pages.
    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await recvJSONUntil(node, (m) => m["event"] === "join" && m["name"] === "node");
    await node.send(JSON.stringify({ type: "message", text: "Hello from Node" }));
    for (const page of [alice, bob]) {
      const item = await shown(page, "Hello from Node");
      expect(await item.locator(".name").textContent()).toBe("node");
      await expect.poll(() => online(page), { timeout: 10_000 }).toBe("3 online");
    }
    // ...and hears the pages.
    await say(bob, "Hello, Node");
    expect(await recvJSONUntil(node, (m) => m["type"] === "message" && m["name"] === "bob")).toMatchObject({ text: "Hello, Node" });

    // Markup in a message is shown as text, never run.
    const markup = '<img src=x onerror="document.title=1">';
    await node.send(JSON.stringify({ type: "message", text: markup }));
    expect(await (await shown(alice, "onerror")).locator(".text").textContent()).toBe(markup);
    expect(await alice.locator("#messages img").count()).toBe(0);
    expect(await alice.title()).toBe("wavesock chat");

    await alice.screenshot({ path: "/tmp/chat.png" });

    // bob closes his page: the others see him leave.
    await bob.context().close();
    await alice.locator("#messages li.system", { hasText: "bob left" }).waitFor({ timeout: 10_000 });
    await expect.poll(() => online(alice), { timeout: 10_000 }).toBe("2 online");
    expect(await recvJSONUntil(node, (m) => m["event"] === "leave")).toMatchObject({ name: "bob", online: 2 });

    expect(example.stdout).toContain("alice: Hello from Alice");
    expect(example.stdout).toContain("bob left (2 online)");
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a page reconnects and rejoins after the server restarts, with one welcome and a marker where it dropped", async () => {
    const first = await Example.server("chat/server.js");
    const port = first.port;
    const b = await launch();
    const page = await openChat(b, port);
    await join(page, "carol");
    await expect.poll(() => online(page), { timeout: 10_000 }).toBe("1 online");
    await say(page, "before the restart");
    await shown(page, "before the restart");

    // The server goes away: the page says so and keeps the name.
    expect(await first.example.stop()).toEqual({ code: 0, signal: null });
    await page.locator('#connection[data-state="closed"]').waitFor({ timeout: 10_000 });
    expect(await status(page)).toMatch(/^The server went away \(restarting or shutting down\)\. Reconnecting in \d+ s…$/);
    expect(await page.getByRole("button", { name: "Send" }).isDisabled()).toBe(true);
    expect(await page.locator("#online").isVisible()).toBe(false);
    const gap = page.locator("#messages li.gap");
    expect(await gap.textContent()).toMatch(/^Disconnected at [^—]+$/);
    // The next attempts find nobody listening: the page asks, and says so.
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/^Can't reach the server\. Reconnecting in \d+ s…$/);

    // It comes back on the same port: the page reconnects and takes its seat again.
    const second = await Example.server("chat/server.js", { PORT: String(port) });
    expect(second.port).toBe(port);
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 30_000 });
    await expect.poll(() => online(page), { timeout: 10_000 }).toBe("1 online");
    await second.example.waitFor(/carol joined \(1 online\)/);
    // The new server's history (in memory) does not reach back to the last message the page saw: the marker says so.
    await expect
      .poll(() => gap.textContent(), { timeout: 10_000 })
      .toMatch(/^Disconnected at [^—]+ — reconnected at [^—]+ — history incomplete: some messages may be missing$/);

    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await say(page, "back again");
    expect(await recvJSONUntil(node, (m) => m["type"] === "message")).toMatchObject({ name: "carol", text: "back again" });
    expect(await (await shown(page, "back again")).getAttribute("class")).toBe("message mine");

    // One welcome for one join; the marker sits between the messages before and after.
    expect(await page.locator("#messages li.system", { hasText: "Welcome" }).count()).toBe(1);
    expect(await page.locator("#messages li.system", { hasText: "carol joined" }).count()).toBe(1);
    const transcript = await page.locator("#messages li").evaluateAll((items) => items.map((li) => `${li.className}: ${li.textContent}`));
    const at = (pattern: RegExp) => transcript.findIndex((line) => pattern.test(line));
    expect(at(/before the restart/)).toBeLessThan(at(/^gap: Disconnected/));
    expect(at(/^gap: Disconnected/)).toBeLessThan(at(/back again/));
    // (The console does show the failed reconnection attempts: that is expected.)
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a page whose connection dropped takes its seat back from the connection the server still holds", async () => {
    const { example, port } = await Example.server("chat/server.js");
    relay = await Relay.start(port);
    const b = await launch();
    const page = await openChat(b, relay.port);
    await join(page, "fay");
    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await recvJSONUntil(node, (m) => m["event"] === "join" && m["name"] === "node");
    await say(page, "before the cut");
    const before = await recvJSONUntil(node, (m) => m["type"] === "message");

    relay.cut();
    await page.locator("#messages li.gap").waitFor({ timeout: 10_000 });
    // The page comes back (through the relay) while the server still holds
    // the old connection under fay's name: the token takes the seat back.
    await example.waitFor(/fay is back \(2 online\)/, 30_000);
    await expect.poll(() => page.locator("#messages li.gap").textContent(), { timeout: 10_000 }).toMatch(/ — reconnected at [^—]+ — nothing missed$/);
    await say(page, "after the cut");
    expect(await (await shown(page, "after the cut")).getAttribute("class")).toBe("message mine");
    // The room saw no one leave or join: the next thing it hears is fay, with the same identity.
    const after = JSON.parse((await node.recv()) as string) as Record<string, unknown>;
    expect(after).toMatchObject({ type: "message", name: "fay", text: "after the cut", from: before["from"] });
    expect(await page.locator("#messages li.system", { hasText: /Welcome|fay joined|fay left/ }).count()).toBe(2);
    expect(example.stdout).not.toContain("fay left");
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a page whose connection dropped gets what was said meanwhile: in order, once, before anything new, and the marker says how many", async () => {
    const { example, port } = await Example.server("chat/server.js");
    relay = await Relay.start(port);
    const b = await launch();
    const page = await openChat(b, relay.port);
    await join(page, "hal");
    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await recvJSONUntil(node, (m) => m["event"] === "join" && m["name"] === "node");
    await say(page, "before the drop");
    await shown(page, "before the drop");

    // The network goes away and stays away while node says three things.
    relay.blocked = true;
    relay.cut();
    const gap = page.locator("#messages li.gap");
    await gap.waitFor({ timeout: 10_000 });
    for (const text of ["missed 1", "missed 2", "missed 3"]) await node.send(JSON.stringify({ type: "message", text }));
    await recvJSONUntil(node, (m) => m["text"] === "missed 3");
    expect(await page.locator("#messages li.message", { hasText: "missed" }).count()).toBe(0);

    relay.blocked = false;
    await expect.poll(() => gap.textContent(), { timeout: 30_000 }).toMatch(/^Disconnected at [^—]+ — reconnected at [^—]+ — 3 missed messages restored$/);
    await example.waitFor(/hal is back \(2 online\)/);
    await node.send(JSON.stringify({ type: "message", text: "after the drop" }));
    await shown(page, "after the drop");

    // After the marker: exactly the three, in order, then the new one; each once, none marked "mine".
    const transcript = await page.locator("#messages li").evaluateAll((items) => items.map((li) => ({ kind: li.className, text: li.querySelector(".text")?.textContent ?? li.textContent })));
    const at = transcript.findIndex((line) => line.kind === "gap");
    expect(transcript.slice(at + 1)).toEqual([
      { kind: "message", text: "missed 1" },
      { kind: "message", text: "missed 2" },
      { kind: "message", text: "missed 3" },
      { kind: "message", text: "after the drop" },
    ]);
    expect(transcript.slice(0, at).map((line) => line.text)).toContain("before the drop");
    expect(example.stdout).not.toContain("hal left");
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a full server (503) is explained and retried until there is room", async () => {
    // Room for the page's own loads (a page and two files at once), then
    // for its WebSocket and two Node clients.
    const { example, port } = await Example.server("chat/server.js", { MAX_CONNECTIONS: "3" });
    relay = await Relay.start(port);
    const b = await launch();
    const page = await openChat(b, relay.port);
    await join(page, "gus");
    const idle = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(idle);
    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await example.waitFor(/node joined/);

    // gus's old connection still holds its place: the server is full.
    relay.cut();
    await expect.poll(() => status(page), { timeout: 10_000 }).toMatch(/^The server is busy or unavailable \(HTTP 503\)\. Reconnecting in \d+ s…$/);
    const tries = sockets.get(page)!;
    await expect.poll(() => sockets.get(page), { timeout: 20_000 }).toBeGreaterThan(tries); // it keeps trying
    await node.close();
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 30_000 });
    await example.waitFor(/gus is back/);
    await say(page, "room at last");
    expect(await (await shown(page, "room at last")).getAttribute("class")).toBe("message mine");
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a taken name is refused on the page; 'mine' follows the server's identity, not the name", async () => {
    const { port } = await Example.server("chat/server.js");
    const b = await launch();
    const alice = await openChat(b, port);
    const other = await openChat(b, port);
    await join(alice, "alice");

    await other.locator("#name").fill("alice");
    await other.getByRole("button", { name: "Join" }).click();
    const error = other.getByRole("alert");
    await error.waitFor({ timeout: 10_000 });
    expect(await error.textContent()).toBe("The name alice is taken: pick another one.");
    expect(await other.locator("#join-form").isVisible()).toBe(true);
    expect(await other.locator("#message-form").isVisible()).toBe(false);
    expect(await other.locator("#online").isVisible()).toBe(false);
    await join(other, "alice2");
    expect(await error.isVisible()).toBe(false);

    await say(alice, "only alice wrote this");
    expect(await (await shown(other, "only alice wrote this")).getAttribute("class")).toBe("message");
    expect(await (await shown(alice, "only alice wrote this")).getAttribute("class")).toBe("message mine");
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a page from an origin the server refuses says why and does not retry", async () => {
    const { example, port } = await Example.server("chat/server.js", { ORIGINS: "https://chat.example" });
    const b = await launch();
    const page = await openChat(b, port, "refused");
    expect(await status(page)).toBe(
      `The server refused the connection (HTTP 403: Forbidden: pages from http://127.0.0.1:${port} may not join this chat (allowed: https://chat.example)).`,
    );
    expect(await page.getByRole("button", { name: "Join" }).isDisabled()).toBe(true);
    await expectNoRetry(page);
    expect(sockets.get(page)).toBe(1);
    expect(example.stdout.match(/refused a WebSocket/g)).toHaveLength(1);

    // The user may try again; the answer is the same.
    await page.getByRole("button", { name: "Reconnect" }).click();
    await expect.poll(() => sockets.get(page), { timeout: 10_000 }).toBe(2);
    await page.locator('#connection[data-state="refused"]').waitFor({ timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium)("a message too big for the server: the page says so, waits for the user, then takes its seat back", async () => {
    const { port } = await Example.server("chat/server.js");
    const b = await launch();
    const page = await openChat(b, port);
    await join(page, "erin");
    // The box holds 2000 characters, which stay under the server's 16 KiB;
    // a page changed to send more is closed with 1009.
    await page.locator("#text").evaluate((input) => input.removeAttribute("maxlength"));
    await say(page, "z".repeat(20_000));
    await page.locator('#connection[data-state="refused"]').waitFor({ timeout: 10_000 });
    expect(await status(page)).toMatch(/^Your message was too big for the server\. \(1009: .+\)$/);
    expect(await page.locator("#messages li.gap").textContent()).toMatch(/^Disconnected at [^—]+$/);
    await expectNoRetry(page);
    expect(sockets.get(page)).toBe(1);

    await page.getByRole("button", { name: "Reconnect" }).click();
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 10_000 });
    // What the room saw meanwhile — erin's own leave, when the server closed her connection — comes back first.
    await expect
      .poll(() => page.locator("#messages li.gap").textContent(), { timeout: 10_000 })
      .toMatch(/ — reconnected at [^—]+ — 1 missed message restored$/);
    expect(await page.locator("#messages li.system").last().textContent()).toMatch(/^erin left/);
    expect(await page.locator("#message-form").isVisible()).toBe(true);
    await say(page, "smaller now");
    expect(await (await shown(page, "smaller now")).getAttribute("class")).toBe("message mine");
    expect(await page.locator("#messages li.system", { hasText: "Welcome" }).count()).toBe(1);
    expect(await page.locator("#messages li.system", { hasText: "erin joined" }).count()).toBe(1);
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);

  it.skipIf(!haveChromium || !haveRedis)(
    "the cluster: pages on two workers; one drops while the other says three things, and gets exactly those back wherever it reconnects",
    async () => {
      const example = (cluster = Example.start("chat-cluster/main.js", { WORKERS: "2" }));
      const port = Number((await example.waitFor(/listening on \w+:\/\/\S+?:(\d+)/, 30_000))[1]);
      relay = await Relay.start(port);
      const b = await launch();
      /** Join, and say which worker the welcome names. */
      const joinOn = async (page: Page, name: string) => {
        await join(page, name);
        const welcome = await page.locator("#messages li.system", { hasText: `Welcome, ${name}!` }).textContent();
        return /You are on (worker \d)\./.exec(welcome ?? "")![1]!;
      };
      const hal = await openChat(b, relay.port);
      const halWorker = await joinOn(hal, "hal");
      // A second page, on the other worker (the primary spreads connections: open until one lands there).
      let bea: { page: Page; name: string } | undefined;
      for (let i = 1; i <= 20 && bea === undefined; i++) {
        const page = await openChat(b, port);
        const name = `bea${i}`;
        if ((await joinOn(page, name)) !== halWorker) bea = { page, name };
        else {
          await page.context().close();
          await hal.locator("#messages li.system", { hasText: `${name} left` }).waitFor({ timeout: 10_000 });
        }
      }
      expect(bea, "no page landed on the other worker").toBeDefined();
      const { page: other, name } = bea!;
      // Best effort, to have hal come back on the other worker: the primary hands
      // connections to the workers in turn, so after one that landed on hal's, the
      // next (hal's, once the network is back) likely goes to the other.
      for (let i = 1; i <= 10; i++) {
        const probe = await connect(`ws://127.0.0.1:${port}/chat`);
        await probe.send(JSON.stringify({ type: "join", name: `probe${i}` }));
        const joined = await recvJSONUntil(probe, (m) => m["type"] === "joined");
        await probe.close();
        await hal.locator("#messages li.system", { hasText: `probe${i} left` }).waitFor({ timeout: 10_000 });
        if (joined["server"] === halWorker) break;
      }
      await say(other, "before the drop");
      await shown(hal, "before the drop");

      relay.blocked = true;
      relay.cut();
      const gap = hal.locator("#messages li.gap");
      await gap.waitFor({ timeout: 10_000 });
      for (const text of ["missed 1", "missed 2", "missed 3"]) await say(other, text);
      await shown(other, "missed 3");

      relay.blocked = false;
      await expect.poll(() => gap.textContent(), { timeout: 30_000 }).toMatch(/^Disconnected at [^—]+ — reconnected at [^—]+ — 3 missed messages restored$/);
      const back = await example.waitFor(/(worker \d): hal is back \(2 online\)/, 10_000);
      await say(other, "after the drop");
      await shown(hal, "after the drop");
      const transcript = await hal.locator("#messages li").evaluateAll((items) => items.map((li) => ({ kind: li.className, text: li.querySelector(".text")?.textContent ?? li.textContent })));
      const at = transcript.findIndex((line) => line.kind === "gap");
      expect(transcript.slice(at + 1)).toEqual([
        { kind: "message", text: "missed 1" },
        { kind: "message", text: "missed 2" },
        { kind: "message", text: "missed 3" },
        { kind: "message", text: "after the drop" },
      ]);
      expect(await (await shown(other, "after the drop")).getAttribute("class")).toBe("message mine");
      expect(example.stdout).not.toContain("hal left");
      expect(example.stdout).not.toContain(`${name} left`);
      console.log(`chat-browser (cluster): hal on ${halWorker}, ${name} on the other, hal came back on ${back[1]}`);
      expect(pageErrors).toEqual([]);
    },
    BROWSER_TEST_TIMEOUT,
  );
});

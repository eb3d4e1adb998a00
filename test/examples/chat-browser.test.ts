/**
 * The chat demo in a real browser: headless Chromium, driven with
 * playwright-core, talking to examples/chat/server.js.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { connect, type Connection } from "../../src/index.js";
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

afterEach(async () => {
  await Promise.all(clients.splice(0).map(closeQuietly));
  // Every page lives in its own context: closing the contexts closes the pages.
  await Promise.all((browser?.contexts() ?? []).map((c) => c.close()));
  await killAll();
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

/** A page in its own browser context (its own storage), opened on the chat. */
async function openChat(b: Browser, port: number): Promise<Page> {
  const context = await b.newContext({ viewport: { width: 820, height: 620 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('#connection[data-state="open"]').waitFor({ timeout: 10_000 });
  return page;
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

// Starting Chromium and its renderers takes seconds on a busy machine.
const BROWSER_TEST_TIMEOUT = 60_000;

describe("examples/chat in headless Chromium", () => {
  it.skipIf(!haveChromium)("two pages and a Node client talk in one room; joins and leaves show up", async () => {
    const { example, port } = await Example.server("chat/server.js");
    const b = await launch();
    const alice = await openChat(b, port);
    const bob = await openChat(b, port);
    expect(await alice.title()).toBe("wavesock chat");

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

  it.skipIf(!haveChromium)("a page reconnects and rejoins after the server restarts", async () => {
    const first = await Example.server("chat/server.js");
    const port = first.port;
    const b = await launch();
    const page = await openChat(b, port);
    await join(page, "carol");
    await expect.poll(() => online(page), { timeout: 10_000 }).toBe("1 online");

    // The server goes away: the page says so and keeps the name.
    expect(await first.example.stop()).toEqual({ code: 0, signal: null });
    await page.locator('#connection[data-state="closed"]').waitFor({ timeout: 10_000 });
    expect(await page.locator("#connection").textContent()).toMatch(/^Disconnected/);
    expect(await page.getByRole("button", { name: "Send" }).isDisabled()).toBe(true);

    // It comes back on the same port: the page reconnects and takes its seat again.
    const second = await Example.server("chat/server.js", { PORT: String(port) });
    expect(second.port).toBe(port);
    await page.locator('#connection[data-state="open"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => online(page), { timeout: 10_000 }).toBe("1 online");
    await second.example.waitFor(/carol joined \(1 online\)/);

    const node = await connect(`ws://127.0.0.1:${port}/chat`);
    clients.push(node);
    await node.send(JSON.stringify({ type: "join", name: "node" }));
    await say(page, "back again");
    expect(await recvJSONUntil(node, (m) => m["type"] === "message")).toMatchObject({ name: "carol", text: "back again" });
    // (The console does show the failed reconnection attempts: that is expected.)
    expect(pageErrors).toEqual([]);
  }, BROWSER_TEST_TIMEOUT);
});

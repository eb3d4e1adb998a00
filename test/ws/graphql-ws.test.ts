/**
 * A second real dependent of `ws` (issue #10): graphql-ws, whose server
 * (`graphql-ws/use/ws`'s `useServer`) drives a `WebSocketServer` and whose
 * client (`createClient`) takes a WebSocket class (`webSocketImpl`). Every
 * pairing of a server (the `ws` package, `wavesock/ws`) with a client (the
 * `ws` package, `wavesock/ws`, wavesock's standard `WebSocket`) runs the same
 * assertions over real loopback sockets; the `ws` × `ws` row is the
 * reference the others must match.
 */
import type * as http from "node:http";
import { createRequire } from "node:module";
import type * as GraphQL from "graphql";
import { createClient, type Client, type SubscribePayload } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type * as wsTypes from "ws";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket as StandardWebSocket } from "../../src/index.js";
import { IMPLS, PEER, cleanup, closed, documented, httpServer, listen, runCleanup } from "./impls.js";

afterEach(runCleanup);

// graphql must be the instance graphql-ws loads (Node's resolution of
// "graphql": its CommonJS main), not the ESM build a bundler's resolution
// would pick: graphql refuses a schema "from another module or realm".
const { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } = createRequire(import.meta.url)("graphql") as typeof GraphQL;

const PROTOCOL = "graphql-transport-ws";

/** What the schema's resolvers saw, per server. */
interface Probe {
  /** `connectionParams` given to `onConnect`, in order. */
  params: unknown[];
  /** The subprotocol of the server's socket, per connection. */
  serverProtocols: string[];
  /** Subscription generators whose `finally` ran, by name. */
  finished: string[];
  /** Values yielded by the endless `ticks` generator. */
  ticksYielded: number;
  /** Resolves when the `ticks` generator's `finally` runs. */
  ticksDone: Promise<void>;
  /** The close codes `onClose` saw (the server's view of each socket's end). */
  serverCloses: number[];
  /** The URL and the `x-probe` header of each upgrade request. */
  requests: { url: string | undefined; probe: string | undefined }[];
  /** Pongs each server socket received (graphql-ws's keep-alive). */
  pongs: number;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Compressible but not trivially so: words with a counter. */
function bigText(size: number): string {
  let out = "";
  for (let i = 0; out.length < size; i++) out += `word${i % 977} `;
  return out.slice(0, size);
}

function schemaFor(probe: Probe, markTicksDone: () => void): GraphQL.GraphQLSchema {
  let total = 0;
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: "Query",
      fields: {
        hello: {
          type: GraphQLString,
          args: { name: { type: new GraphQLNonNull(GraphQLString) } },
          resolve: (_root, args: { name: string }) => `hello, ${args.name}`,
        },
        big: {
          type: GraphQLString,
          args: { size: { type: new GraphQLNonNull(GraphQLInt) } },
          resolve: (_root, args: { size: number }) => bigText(args.size),
        },
      },
    }),
    mutation: new GraphQLObjectType({
      name: "Mutation",
      fields: {
        add: {
          type: GraphQLInt,
          args: { by: { type: new GraphQLNonNull(GraphQLInt) } },
          resolve: (_root, args: { by: number }) => (total += args.by),
        },
      },
    }),
    subscription: new GraphQLObjectType({
      name: "Subscription",
      fields: {
        count: {
          type: GraphQLInt,
          args: { to: { type: new GraphQLNonNull(GraphQLInt) } },
          subscribe: async function* (_root, args: { to: number }) {
            try {
              for (let i = 1; i <= args.to; i++) {
                yield { count: i };
                await turn();
              }
            } finally {
              probe.finished.push("count");
            }
          },
        },
        ticks: {
          type: GraphQLInt,
          subscribe: async function* () {
            try {
              for (let i = 1; ; i++) {
                probe.ticksYielded = i;
                yield { ticks: i };
                await turn();
              }
            } finally {
              probe.finished.push("ticks");
              markTicksDone();
            }
          },
        },
      },
    }),
  });
}

/** The server implementations: a `WebSocketServer` class each. */
const SERVERS = IMPLS;

const STANDARD = "wavesock WebSocket (standard)";
const STANDARD_IMPL: unknown = StandardWebSocket;

/** The client implementations given to `createClient` as `webSocketImpl`. */
const CLIENTS: { name: string; impl: unknown }[] = [
  ...IMPLS.map((impl) => ({ name: impl.name, impl: impl.WebSocket })),
  { name: STANDARD, impl: STANDARD_IMPL },
];

const ROWS = SERVERS.flatMap((server) => CLIENTS.map((client) => ({ label: `${server.name} server × ${client.name} client`, server, client })));

/** A `WebSocketServer` on the caller's HTTP server (`serverOptions.server`), closed after the test. */
function attached(server: (typeof SERVERS)[number], serverOptions: Record<string, unknown>) {
  const wss = new server.WebSocketServer(serverOptions);
  cleanup.push(() => new Promise<void>((r) => wss.close(() => r())));
  return { wss, url: "" };
}

/**
 * A graphql-ws server on a listening `server.WebSocketServer` (with
 * `serverOptions`), pinging every `keepAlive` ms (graphql-ws's default: 12 s).
 */
async function startServer(server: (typeof SERVERS)[number], serverOptions: Record<string, unknown> = {}, keepAlive?: number) {
  let markTicksDone!: () => void;
  const probe: Probe = {
    params: [],
    serverProtocols: [],
    finished: [],
    ticksYielded: 0,
    ticksDone: new Promise<void>((r) => (markTicksDone = r)),
    serverCloses: [],
    requests: [],
    pongs: 0,
  };
  const { wss, url } = serverOptions["server"] ? attached(server, serverOptions) : await listen(server.WebSocketServer, serverOptions);
  const disposable = useServer(
    {
      schema: schemaFor(probe, markTicksDone),
      onConnect: (ctx) => {
        probe.params.push(ctx.connectionParams);
        const extra = ctx.extra as { socket: { protocol: string }; request: http.IncomingMessage };
        probe.serverProtocols.push(extra.socket.protocol);
        probe.requests.push({ url: extra.request.url, probe: extra.request.headers["x-probe"] as string | undefined });
        (extra.socket as unknown as wsTypes.WebSocket).on("pong", () => void probe.pongs++);
        return (ctx.connectionParams as { token?: string } | undefined)?.token === "letmein";
      },
      onClose: (_ctx, code) => void probe.serverCloses.push(code ?? -1),
    },
    wss as unknown as wsTypes.WebSocketServer,
    keepAlive ?? 12_000,
  );
  cleanup.push(() => disposable.dispose());
  return { probe, url, wss, disposable };
}

/** What a client saw of its connection. */
interface ClientLog {
  /** The subprotocol of the client's socket, once connected. */
  protocols: string[];
  /** The close codes of `closed` events. */
  closeCodes: number[];
  /** The negotiated extensions of the client's socket, once connected. */
  extensions: string[];
}

function client(impl: unknown, url: string, connectionParams: Record<string, unknown>, extra: { lazy?: boolean } = {}): { c: Client; log: ClientLog } {
  const log: ClientLog = { protocols: [], closeCodes: [], extensions: [] };
  const c = createClient({
    url,
    webSocketImpl: impl,
    connectionParams,
    retryAttempts: 0,
    lazy: extra.lazy ?? true,
    // A non-lazy client's close is logged by default; the tests read `closed` instead.
    onNonLazyError: () => undefined,
    on: {
      connected: (socket) => {
        log.protocols.push((socket as { protocol: string }).protocol);
        log.extensions.push((socket as { extensions: string }).extensions);
      },
      closed: (event) => void log.closeCodes.push((event as { code: number }).code),
    },
  });
  cleanup.push(() => c.dispose());
  return { c, log };
}

/** Runs one operation to its end: every `next` value, then complete or error. */
function run(c: Client, payload: SubscribePayload): Promise<{ values: unknown[]; error?: unknown }> {
  return new Promise((resolve) => {
    const values: unknown[] = [];
    c.subscribe(payload, {
      next: (v) => void values.push(v),
      error: (error) => resolve({ values, error }),
      complete: () => resolve({ values }),
    });
  });
}

const OK = { token: "letmein", user: "ada" };

describe.each(ROWS)("graphql-ws: $label", ({ server, client: clientRow }) => {
  it("a query and a mutation; connectionParams reach onConnect; the subprotocol is graphql-transport-ws on both sides", async () => {
    const { probe, url } = await startServer(server);
    const { c, log } = client(clientRow.impl, url, OK, { lazy: false });
    expect(await run(c, { query: "query ($n: String!) { hello(name: $n) }", variables: { n: "wavesock" } })).toEqual({
      values: [{ data: { hello: "hello, wavesock" } }],
    });
    expect(await run(c, { query: "mutation { add(by: 2) }" })).toEqual({ values: [{ data: { add: 2 } }] });
    expect(await run(c, { query: "mutation { add(by: 40) }" })).toEqual({ values: [{ data: { add: 42 } }] });
    // A validation error is a GraphQL error, not a closed connection.
    const bad = await run(c, { query: "{ nope }" });
    expect(bad.values).toEqual([]);
    expect((bad.error as { message: string }[])[0]!.message).toMatch(/nope/);
    expect(await run(c, { query: "{ hello(name: \"again\") }" })).toEqual({ values: [{ data: { hello: "hello, again" } }] });
    expect(probe.params).toEqual([OK]);
    expect(probe.serverProtocols).toEqual([PROTOCOL]);
    expect(log.protocols).toEqual([PROTOCOL]);
    expect(log.closeCodes).toEqual([]);
  });

  it("a subscription yields every value in order, then completes (its generator's finally runs)", async () => {
    const { probe, url } = await startServer(server);
    const { c } = client(clientRow.impl, url, OK);
    const result = await run(c, { query: "subscription { count(to: 7) }" });
    expect(result).toEqual({ values: [1, 2, 3, 4, 5, 6, 7].map((count) => ({ data: { count } })) });
    expect(probe.finished).toEqual(["count"]);
  });

  it("two subscriptions at once on one connection, each in order", async () => {
    const { probe, url } = await startServer(server);
    const { c } = client(clientRow.impl, url, OK);
    const [a, b] = await Promise.all([run(c, { query: "subscription { count(to: 5) }" }), run(c, { query: "subscription { count(to: 3) }" })]);
    expect(a.values).toEqual([1, 2, 3, 4, 5].map((count) => ({ data: { count } })));
    expect(b.values).toEqual([1, 2, 3].map((count) => ({ data: { count } })));
    expect(probe.finished).toEqual(["count", "count"]);
    expect(probe.params).toEqual([OK]);
  });

  it("unsubscribing mid-way stops the server's generator (its finally runs) while the connection stays open", async () => {
    const { probe, url } = await startServer(server);
    const { c, log } = client(clientRow.impl, url, OK, { lazy: false });
    const got: unknown[] = [];
    let completed = false;
    await new Promise<void>((resolve, reject) => {
      const unsubscribe = c.subscribe(
        { query: "subscription { ticks }" },
        {
          next: (v) => {
            got.push(v);
            if (got.length === 3) {
              unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: () => (completed = true),
        },
      );
    });
    await probe.ticksDone;
    expect(probe.finished).toEqual(["ticks"]);
    expect(got).toEqual([1, 2, 3].map((ticks) => ({ data: { ticks } })));
    expect(completed).toBe(true); // graphql-ws completes the sink on unsubscribe
    // The generator was stopped, not run on: it yielded at most a few more.
    const yielded = probe.ticksYielded;
    expect(yielded).toBeLessThan(50);
    // The same connection still answers.
    expect(await run(c, { query: "{ hello(name: \"still here\") }" })).toEqual({ values: [{ data: { hello: "hello, still here" } }] });
    expect(probe.ticksYielded).toBe(yielded);
    expect(probe.params).toEqual([OK]);
    expect(log.closeCodes).toEqual([]);
  });

  it("onConnect returning false closes with 4403 Forbidden, seen by the client", async () => {
    const { probe, url } = await startServer(server);
    const { c, log } = client(clientRow.impl, url, { token: "wrong" });
    const result = await run(c, { query: "{ hello(name: \"x\") }" });
    expect(result.values).toEqual([]);
    const event = result.error as { code: number; reason: string };
    expect(event.code).toBe(4403);
    expect(event.reason).toBe("Forbidden");
    expect((event as unknown as { wasClean: boolean }).wasClean).toBe(true);
    expect(log.closeCodes).toEqual([4403]);
    await until(() => probe.serverCloses.length > 0);
    expect(probe.serverCloses).toEqual([4403]);
    expect(log.protocols).toEqual([]); // never acknowledged
    expect(probe.params).toEqual([{ token: "wrong" }]);
  });

  it("lazy: the last operation's end closes with 1000; terminate() closes with 4499; the server's onClose sees each code", async () => {
    const { probe, url } = await startServer(server);
    const lazy = client(clientRow.impl, url, OK);
    expect(await run(lazy.c, { query: "subscription { count(to: 2) }" })).toEqual({ values: [1, 2].map((count) => ({ data: { count } })) });
    await until(() => probe.serverCloses.length === 1);
    expect(lazy.log.closeCodes).toEqual([1000]);
    const t = client(clientRow.impl, url, OK);
    const ended = new Promise<unknown>((resolve) => {
      t.c.subscribe({ query: "subscription { ticks }" }, { next: () => t.c.terminate(), error: resolve, complete: () => resolve("completed") });
    });
    expect((await ended) as { code: number }).toMatchObject({ code: 4499, reason: "Terminated" });
    await probe.ticksDone;
    await until(() => probe.serverCloses.length === 2);
    expect(probe.serverCloses).toEqual([1000, 4499]);
  });

  it("a refused upgrade (verifyClient: 401): the operation fails with the socket's error event, then closed 1006", async () => {
    const { probe, url } = await startServer(server, { verifyClient: () => false });
    const { c, log } = client(clientRow.impl, url, OK);
    const result = await run(c, { query: "{ hello(name: \"x\") }" });
    const event = result.error as { type: string; message: string };
    expect(event.type).toBe("error");
    // The standard client's message is its own (docs/standard-websocket.md); the ws API's is ws's.
    if (clientRow.name !== STANDARD) expect(event.message).toBe("Unexpected server response: 401");
    await until(() => log.closeCodes.length > 0);
    expect(log.closeCodes).toEqual([1006]);
    expect(probe.params).toEqual([]);
  });

  it("compression (perMessageDeflate on the server): a 200 KB result arrives whole, and small ones too", async () => {
    const { url } = await startServer(server, { perMessageDeflate: true });
    const { c, log } = client(clientRow.impl, url, OK, { lazy: false });
    const { values } = await run(c, { query: "{ big(size: 200000) }" });
    expect(log.extensions).toHaveLength(1);
    expect(log.extensions[0]).toMatch(/^permessage-deflate/);
    expect((values[0] as { data: { big: string } }).data.big).toBe(bigText(200_000));
    expect(await run(c, { query: "{ hello(name: \"small\") }" })).toEqual({ values: [{ data: { hello: "hello, small" } }] });
  });

  it("the server's keep-alive pings are answered: the connection stays open across several", async () => {
    // Each ping must be answered within the interval: generous, for a loaded machine.
    const { probe, url } = await startServer(server, {}, 250);
    const { c, log } = client(clientRow.impl, url, OK, { lazy: false });
    expect(await run(c, { query: "{ hello(name: \"before\") }" })).toEqual({ values: [{ data: { hello: "hello, before" } }] });
    await until(() => probe.pongs >= 2);
    expect(await run(c, { query: "{ hello(name: \"after\") }" })).toEqual({ values: [{ data: { hello: "hello, after" } }] });
    expect(log.closeCodes).toEqual([]);
    expect(probe.serverCloses).toEqual([]);
  });

  it("dispose(): an active subscription ends with 1001 Going away at the client; the server's generator stops", async () => {
    const { probe, url, disposable } = await startServer(server);
    const { c, log } = client(clientRow.impl, url, OK);
    let first!: () => void;
    const gotOne = new Promise<void>((r) => (first = r));
    const ended = new Promise<unknown>((resolve) => {
      c.subscribe({ query: "subscription { ticks }" }, { next: () => first(), error: resolve, complete: () => resolve("completed") });
    });
    await gotOne;
    await disposable.dispose();
    const event = (await ended) as { code: number; reason: string };
    expect(event.code).toBe(1001);
    expect(event.reason).toBe("Going away");
    expect(log.closeCodes).toEqual([1001]);
    await probe.ticksDone;
    expect(probe.finished).toEqual(["ticks"]);
  });
});

/** Resolves once `cond()` holds (polled every few ms: it waits on a condition, not a time). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe.each(SERVERS)("graphql-ws: $name server, keep-alive and requests", (server) => {
  it("a client that does not answer the keep-alive ping is terminated (1006 both sides)", async () => {
    const { probe, url } = await startServer(server, {}, 40);
    const ws = new PEER.WebSocket(url, PROTOCOL, { autoPong: false } as never);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    let pings = 0;
    ws.on("ping", () => void pings++);
    await new Promise((r) => ws.once("open", r));
    const ack = new Promise<string>((r) => ws.once("message", (data) => r(String(data))));
    ws.send(JSON.stringify({ type: "connection_init", payload: OK }));
    expect(JSON.parse(await ack)).toEqual({ type: "connection_ack" });
    const [code] = await closed(ws);
    expect(code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    await until(() => probe.serverCloses.length > 0);
    expect(probe.serverCloses).toEqual([1006]);
  });

  it("subprotocols: graphql-ws's handleProtocols (set on wss.options after construction) picks graphql-transport-ws; none offered: 4406", async () => {
    const { probe, url } = await startServer(server);
    // Offered second: the default choice (the first offered) would be "chat".
    const ws = new PEER.WebSocket(url, ["chat", PROTOCOL]);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    expect(ws.protocol).toBe(PROTOCOL);
    // No subprotocol at all: the socket opens, and graphql-ws closes it.
    const bare = new PEER.WebSocket(url);
    bare.on("error", () => undefined);
    cleanup.push(() => bare.terminate());
    const [code, reason] = await closed(bare);
    expect(code).toBe(4406);
    expect(reason.toString()).toBe("Subprotocol not acceptable");
    await until(() => probe.serverCloses.length > 0);
    expect(probe.serverCloses).toEqual([4406]);
    // Only another subprotocol offered: handleProtocols answers false, the
    // server selects none, and the client refuses the 101 (as ws does).
    const other = new PEER.WebSocket(url, ["chat"]);
    const failed = new Promise<Error>((r) => other.once("error", r));
    cleanup.push(() => other.terminate());
    expect((await failed).message).toBe("Server sent no subprotocol");
  });

  it("on an HTTP server (`server` + `path`), as graphql-ws's docs set it up: dispose() leaves the HTTP server serving, and no longer upgrading", async () => {
    const { server: http1, port } = await httpServer((_req, res) => res.end("plain http"));
    const { probe, disposable } = await startServer(server, { server: http1, path: "/graphql" });
    const url = `ws://127.0.0.1:${port}/graphql`;
    const { c, log } = client(STANDARD_IMPL, url, OK, { lazy: false });
    expect(await run(c, { query: "subscription { count(to: 3) }" })).toEqual({ values: [1, 2, 3].map((count) => ({ data: { count } })) });
    await disposable.dispose();
    expect(probe.serverCloses).toEqual([1001]);
    await until(() => log.closeCodes.length > 0);
    expect(log.closeCodes).toEqual([1001]);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("plain http");
    const late = new PEER.WebSocket(url, PROTOCOL);
    const failed = new Promise<Error>((r) => late.once("error", r));
    cleanup.push(() => late.terminate());
    expect((await failed).message).toMatch(/socket hang up|Unexpected server response/);
  });

  it("`path` and the upgrade request reach onConnect (ctx.extra.request)", async () => {
    const { probe, url } = await startServer(server, { path: "/graphql" });
    const ws = new PEER.WebSocket(`${url}/graphql?room=7`, PROTOCOL, { headers: { "x-probe": "yes" } });
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    const ack = new Promise<string>((r) => ws.once("message", (data) => r(String(data))));
    ws.send(JSON.stringify({ type: "connection_init", payload: OK }));
    expect(JSON.parse(await ack)).toEqual({ type: "connection_ack" });
    expect(probe.requests).toEqual([{ url: "/graphql?room=7", probe: "yes" }]);
    // Another path is not this server's: ws answers 400.
    const other = new PEER.WebSocket(`${url}/elsewhere`, PROTOCOL);
    const refused = new Promise<number>((r) => other.once("unexpected-response", (_req, res) => r(res.statusCode!)));
    other.on("error", () => undefined);
    cleanup.push(() => other.terminate());
    expect(await refused).toBe(400);
  });
});

describe.each(SERVERS)("graphql-ws: $name server, a bad message", (server) => {
  it("a text message that is not JSON closes with 4400, before any connection_init", async () => {
    const { probe, url } = await startServer(server);
    const ws = new PEER.WebSocket(url, PROTOCOL);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    expect(ws.protocol).toBe(PROTOCOL);
    const done = closed(ws);
    ws.send("this is {not json");
    const [code, reason] = await done;
    expect(code).toBe(4400);
    expect(reason.toString()).toBe("Invalid message received");
    expect(probe.params).toEqual([]);
  });

  it("a text message that is not UTF-8: 1007 (wavesock's core puts a reason on the wire), and onClose sees 1006", async () => {
    const { probe, url } = await startServer(server);
    // graphql-ws logs the server socket's 'error' with console.error.
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    cleanup.push(() => logged.mockRestore());
    const ws = new PEER.WebSocket(url, PROTOCOL);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    const ack = new Promise<string>((r) => ws.once("message", (data) => r(String(data))));
    ws.send(JSON.stringify({ type: "connection_init", payload: OK }));
    expect(JSON.parse(await ack)).toEqual({ type: "connection_ack" });
    const done = closed(ws);
    // ws sends a Buffer as a text frame unchecked: the bytes reach the server as they are.
    ws.send(Buffer.from([0x7b, 0xff, 0xfe]), { binary: false });
    const [code, reason] = await done;
    expect(code).toBe(1007);
    expect(reason.toString()).toBe(documented(server, "failure-reason", { ws: "", wavesock: "invalid UTF-8 in a text message" }));
    // The server socket's 'error' reached graphql-ws, whose close(1011) in
    // its handler comes too late to change anything (the socket is closing).
    await until(() => probe.serverCloses.length > 0);
    expect(probe.serverCloses).toEqual([1006]);
    expect(logged).toHaveBeenCalledTimes(1);
    expect((logged.mock.calls[0]![1] as { code: string }).code).toBe("WS_ERR_INVALID_UTF8");
  });

  it("a text message that is not JSON, after the connection is acknowledged, closes with 4400", async () => {
    const { probe, url } = await startServer(server);
    const ws = new PEER.WebSocket(url, PROTOCOL);
    ws.on("error", () => undefined);
    cleanup.push(() => ws.terminate());
    await new Promise((r) => ws.once("open", r));
    const ack = new Promise<string>((r) => ws.once("message", (data) => r(String(data))));
    ws.send(JSON.stringify({ type: "connection_init", payload: OK }));
    expect(JSON.parse(await ack)).toEqual({ type: "connection_ack" });
    const done = closed(ws);
    ws.send("}{");
    const [code, reason] = await done;
    expect(code).toBe(4400);
    expect(reason.toString()).toBe("Invalid message received");
    expect(probe.params).toEqual([OK]);
  });
});

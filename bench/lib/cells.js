// @ts-check
/**
 * One cell: one implementation on one row, once. Each kind of row has its
 * cell here (KINDS): a server under the C load generator, idle connections
 * held by the generator, or a client library as the generator against the
 * fixed C echo server. Every cell says when it is "not a result" (the wrong
 * side was the bottleneck, the echo was wrong, compression was not on).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { opts } from "./options.js";
import { GEN_CORE, Proc, SERVER_CORE, launch, loadgen, serverStats, startServer } from "./proc.js";
import { fanoutCell } from "./fanout.js";

/**
 * @typedef {import("./rows.js").Row} Row
 * @typedef {import("./registry.js").Impl} Impl
 * @typedef {{
 *   row: string, impl: string, rep: number, ok: boolean, error?: string,
 *   value?: number | number[], gen?: Record<string, any>, server?: Record<string, any>,
 *   serverCpuPct?: number, genCpuPct?: number, cpuUsPerOp?: number, flags: string[], info?: Record<string, any>,
 * }} Run
 * @typedef {{ idleConns: number }} Context
 * @typedef {(row: Row, impl: Impl, rep: number, ctx: Context) => Promise<Run>} Cell
 */

/** @param {Record<string, any>} r @param {Row} row @returns {number | number[]} */
function figureOf(r, row) {
  switch (row.figure) {
    case "mb":
      return r["mb_per_s"];
    case "latency":
      return [r["lat_p50_us"], r["lat_p99_us"]];
    case "handshakes":
      return r["handshakes_per_s"];
    default:
      return r["msgs_per_s"];
  }
}

/** @param {unknown} err */
const message = (err) => String(err instanceof Error ? err.message : err);

/**
 * Server under test + C generator.
 * @type {Cell}
 */
async function serverCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  /** @type {Awaited<ReturnType<typeof startServer>> | null} */
  let server = null;
  /** @type {Proc | null} */
  let gen = null;
  try {
    server = await startServer(impl, row);
    run.info = server.info;
    const raw = impl.raw === true ? ["--raw"] : [];
    gen = new Proc("load generator", loadgen, [
      ...(row.gen ?? []), ...raw, "--port", String(server.port),
      "--warmup", String(opts.warmupMs), "--duration", String(opts.durationMs),
    ], { core: GEN_CORE });
    await gen.waitLine("MEASURE_START", opts.warmupMs + 60_000);
    const s0 = await serverStats(server.proc);
    await gen.waitLine("MEASURE_END", opts.durationMs + 30_000);
    const s1 = await serverStats(server.proc);
    const result = JSON.parse((await gen.waitLine("RESULT ", 30_000)).slice(7));
    await gen.exited;
    run.gen = result;
    run.server = { start: s0, end: s1 };
    run.serverCpuPct = (100 * (s1.user + s1.system - s0.user - s0.system)) / 1000 / (s1.t - s0.t);
    run.genCpuPct = result.cpu_pct;
    // CPU per operation: far steadier than throughput on a shared machine.
    run.cpuUsPerOp = (s1.user + s1.system - s0.user - s0.system) / Math.max(1, result.msgs + result.handshakes);
    run.value = figureOf(result, row);
    if (row.figure === "deflate") run.value = [result.msgs_per_s, s1.rss / 1048576];
    judge(run, row, result);
  } catch (err) {
    run.error = message(err);
  } finally {
    if (gen !== null) await gen.stop();
    if (server !== null) await server.proc.stop();
  }
  return run;
}

/**
 * Flags that make a run "not a result", or that the reader must know (also
 * used by the fanout cell, lib/fanout.js).
 * @param {Run} run @param {Row} row @param {Record<string, any>} result
 */
export function judge(run, row, result) {
  run.ok = true;
  if (result.errors > 0) {
    run.ok = false;
    run.flags.push(`WRONG: ${result.errors} bad echoes (${result.first_error})`);
  }
  if (result.conn_errors > 0) run.flags.push(`${result.conn_errors} connection errors`);
  if (result.lost > 0) run.flags.push(`${result.lost} deliveries skipped`);
  if (row.compression !== undefined && result.deflate_negotiated < result.conns) {
    run.flags.push(`not compressed: permessage-deflate negotiated on ${result.deflate_negotiated}/${result.conns} connections`);
  } else if (row.compression !== undefined && result.compressed < result.msgs) {
    // Negotiated, yet a server may still send any message uncompressed (RFC 7692 §6): then it is not the same work.
    run.flags.push(`not compressed: ${result.msgs - result.compressed}/${result.msgs} answers came uncompressed`);
  }
  if (result.msgs === 0 && result.handshakes === 0) {
    run.ok = false;
    run.flags.push("no traffic");
  }
  const server = run.serverCpuPct ?? 0;
  const gen = run.genCpuPct ?? 0;
  if (gen >= 90 && server < 85) run.flags.push("generator-bound");
  else if (row.figure !== "latency") starved(run, server, gen);
}

/**
 * On a throughput row one side should use its whole core. When neither does,
 * the processes were waiting: for a core shared with other work (a busy
 * machine), or on each other (latency-bound). Worth knowing, not fatal.
 * @param {Run} run @param {number} server @param {number} gen
 */
function starved(run, server, gen) {
  if (server < 70 && gen < 70) run.flags.push(`neither side CPU-bound (server ${server.toFixed(0)}%, generator ${gen.toFixed(0)}%): busy machine?`);
}

/** Flags (by prefix) that make a run "not a result". */
export const NOT_A_RESULT = ["generator-bound", "server-bound", "not compressed"];
/** @param {Run} r */
export const notAResult = (r) => r.flags.some((f) => NOT_A_RESULT.some((p) => f.startsWith(p)));

/**
 * Idle connections: server RSS per connection, after a GC.
 * @type {Cell}
 */
async function idleCell(row, impl, rep, ctx) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  /** @type {Awaited<ReturnType<typeof startServer>> | null} */
  let server = null;
  /** @type {Proc | null} */
  let gen = null;
  try {
    server = await startServer(impl, row);
    run.info = server.info;
    await sleep(200);
    const before = await serverStats(server.proc, true);
    gen = new Proc("load generator", loadgen, ["idle", "--conns", String(ctx.idleConns), "--port", String(server.port)], { core: GEN_CORE });
    const line = await gen.waitLine("IDLE_READY", 120_000);
    await sleep(500);
    const after = await serverStats(server.proc, true);
    gen.child.stdin.end();
    const result = JSON.parse((await gen.waitLine("RESULT ", 30_000)).slice(7));
    const n = Number(line.split(" ")[1]);
    run.gen = result;
    run.server = { before, after };
    run.value = (after.rss - before.rss) / 1024 / n;
    run.info = {
      ...run.info,
      conns: n,
      gc: after.gc,
      heapKiBPerConn: (after.heapUsed - before.heapUsed) / 1024 / n,
      externalKiBPerConn: (after.external - before.external) / 1024 / n,
    };
    run.ok = result.errors === 0 && n === ctx.idleConns;
    if (!run.ok) run.flags.push(`opened ${n}/${ctx.idleConns}, ${result.errors} errors ${result.first_error}`);
  } catch (err) {
    run.error = message(err);
  } finally {
    if (gen !== null) await gen.stop();
    if (server !== null) await server.proc.stop();
  }
  return run;
}

/**
 * The client library as load generator against the C echo server
 * (`loadgen serve`, on the server core). Here the client is what is
 * measured: the fixed server must not be the limit ("server-bound").
 * @type {Cell}
 */
async function clientCell(row, impl, rep) {
  /** @type {Run} */
  const run = { row: row.name, impl: impl.name, rep, ok: false, flags: [] };
  const server = new Proc("C echo server", loadgen, ["serve"], { core: SERVER_CORE });
  /** @type {Proc | null} */
  let client = null;
  try {
    const port = Number((await server.waitLine("LISTEN ", 10_000)).split(" ")[1]);
    client = launch(impl, row, [
      "--url", `ws://127.0.0.1:${port}/`, ...(row.gen ?? []),
      "--warmup", String(opts.warmupMs), "--duration", String(opts.durationMs),
    ], GEN_CORE);
    await client.waitLine("MEASURE_START", opts.warmupMs + 60_000);
    const c0 = server.procCpu();
    const t0 = performance.now();
    await client.waitLine("MEASURE_END", opts.durationMs + 30_000);
    const c1 = server.procCpu();
    const t1 = performance.now();
    const result = JSON.parse((await client.waitLine("RESULT ", 30_000)).slice(7));
    run.gen = result;
    run.serverCpuPct = (100 * (c1 - c0)) / ((t1 - t0) / 1000);
    run.genCpuPct = result.cpu_pct;
    run.cpuUsPerOp = (result.cpu_s * 1e6) / Math.max(1, result.msgs); // the client's: it is what is measured here
    run.value = figureOf(result, row);
    run.ok = result.errors === 0 && result.msgs > 0;
    if (result.errors > 0) run.flags.push(`WRONG: ${result.errors} bad echoes (${result.first_error})`);
    if (result.msgs === 0) run.flags.push("no traffic");
    if (run.serverCpuPct >= 90) run.flags.push("server-bound");
    else starved(run, run.serverCpuPct, result.cpu_pct);
  } catch (err) {
    run.error = message(err);
  } finally {
    if (client !== null) await client.stop();
    await server.stop();
  }
  return run;
}

/**
 * The cell of each kind of row (micro rows are run by run.js: one process,
 * its output printed as is).
 * @type {Record<Exclude<import("./rows.js").Kind, "micro">, Cell>}
 */
export const KINDS = { server: serverCell, idle: idleCell, client: clientCell, fanout: fanoutCell };

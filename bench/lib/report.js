// @ts-check
/**
 * What comes out of a run: medians and spreads of the cells, the Markdown
 * tables (one per side: servers, clients — each implementation a column,
 * then the ratio columns its `vs` asks for), and the JSON of every run.
 */
import { IMPLS } from "./registry.js";
import { SIDE } from "./rows.js";
import { NOT_A_RESULT, notAResult } from "./cells.js";
import { fanoutNotes } from "./fanout.js";

/**
 * @typedef {import("./rows.js").Row} Row
 * @typedef {import("./cells.js").Run} Run
 * @typedef {import("./registry.js").Side} Side
 * @typedef {{ runs: Run[], values: (number | number[])[], median: number[], bad: boolean, note: string }} Cell
 * @typedef {Map<string, Map<string, Cell>>} Table  row name → implementation name → cell
 */

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? /** @type {number} */ (s[m]) : (/** @type {number} */ (s[m - 1]) + /** @type {number} */ (s[m])) / 2;
}

/** @param {number} x */
export function num(x) {
  if (!Number.isFinite(x)) return "?";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** @param {number[]} xs */
function withSpread(xs) {
  if (xs.length === 1) return num(/** @type {number} */ (xs[0]));
  return `${num(median(xs))} (${num(Math.min(...xs))}–${num(Math.max(...xs))})`;
}

/** @param {number} r */
const ratio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "—");

/** @type {Record<import("./rows.js").Figure, string>} */
const FIGURE_LABEL = {
  msgs: "msgs/s ↑",
  mb: "MB/s ↑",
  latency: "µs p50 / p99 ↓",
  handshakes: "handshakes/s ↑",
  deliveries: "deliveries/s ↑",
  idle: "KiB/conn ↓",
  deflate: "msgs/s ↑; RSS MiB ↓",
};

/** The cell of a set of runs: median per component, and whether it is a result. @param {Run[]} runs @returns {Cell} */
export function cellOf(runs) {
  const good = runs.filter((r) => r.ok && r.value !== undefined);
  const values = good.map((r) => /** @type {number | number[]} */ (r.value));
  const parts = values.length === 0 ? 0 : Array.isArray(values[0]) ? values[0].length : 1;
  const med = Array.from({ length: parts }, (_, i) => median(values.map((v) => (Array.isArray(v) ? /** @type {number} */ (v[i]) : v))));
  const flagged = runs.filter(notAResult);
  const notes = [];
  if (good.length < runs.length) notes.push(`${runs.length - good.length}/${runs.length} failed`);
  if (flagged.length * 2 > runs.length) {
    const why = NOT_A_RESULT.find((p) => flagged.some((r) => r.flags.some((f) => f.startsWith(p))));
    notes.push(`${why} — not a result`);
  }
  return { runs, values, median: med, bad: good.length === 0 || flagged.length * 2 > runs.length, note: notes.join("; ") };
}

/** @param {Row} row @param {Cell | undefined} cell */
function showCell(row, cell) {
  if (cell === undefined) return "";
  if (cell.values.length === 0) return `✗ ${cell.note || "failed"}`;
  const comp = (/** @type {number} */ i) => cell.values.map((v) => (Array.isArray(v) ? /** @type {number} */ (v[i]) : v));
  let text;
  if (row.figure === "latency") text = `${withSpread(comp(0))} / ${withSpread(comp(1))}`;
  else if (row.figure === "deflate") text = `${withSpread(comp(0))}; RSS ${num(median(comp(1)))}`;
  else text = withSpread(comp(0));
  return cell.note ? `${text} ⚠ ${cell.note}` : text;
}

/** @param {Row} row @param {Cell | undefined} a @param {Cell | undefined} b */
function showRatio(row, a, b) {
  if (a === undefined || b === undefined || a.median.length === 0 || b.median.length === 0) return "—";
  if (a.bad || b.bad) return "— (not a result)";
  const r = a.median.map((x, i) => x / /** @type {number} */ (b.median[i]));
  if (row.figure === "latency") return `${ratio(/** @type {number} */ (r[0]))} / ${ratio(/** @type {number} */ (r[1]))}`;
  if (row.figure === "deflate") return `${ratio(/** @type {number} */ (r[0]))}; RSS ${ratio(/** @type {number} */ (r[1]))}`;
  return ratio(/** @type {number} */ (r[0]));
}

/** @param {Cell | undefined} c @param {"serverCpuPct" | "genCpuPct" | "cpuUsPerOp"} key */
function medianOf(c, key) {
  const xs = (c?.runs ?? []).filter((r) => r.ok && r[key] !== undefined).map((r) => /** @type {number} */ (r[key]));
  return xs.length ? median(xs) : NaN;
}

/**
 * The columns of one side's tables: the implementations that ran on its
 * rows (registry order), and the ratio pairs their `vs` ask for among them.
 * @param {Side} side @param {Row[]} rows @param {Table} table
 */
function columnsOf(side, rows, table) {
  const ran = new Set(rows.flatMap((r) => [...(table.get(r.name)?.keys() ?? [])]));
  const impls = IMPLS.filter((i) => i.side === side && ran.has(i.name));
  const names = impls.map((i) => i.name);
  const pairs = impls.flatMap((i) => (i.vs ?? []).filter((b) => names.includes(b)).map((b) => /** @type {[string, string]} */ ([i.name, b])));
  return { names, pairs };
}

const SECTION = {
  server: {
    title: "Servers — the C load generator against each server",
    cpu: "server % / generator % of one core; CPU µs per operation (message, delivery or handshake) of the server",
  },
  client: {
    title: "Clients — each client library as the load generator, against the fixed C echo server (`loadgen serve`)",
    cpu: "C server % / client % of one core; CPU µs per message of the client",
  },
  fanout: {
    title:
      "Across processes — two server processes sharing a room through redis-server (publisher on A, subscribers over A and B), " +
      "the C load generator (socket.io: engine.io's websocket framing)",
    cpu:
      "servers A + B + redis-server % / generator % of one core (the three share the server core when pinned); " +
      "CPU µs per delivery of A + B + redis-server",
  },
};

/**
 * The whole Markdown report.
 * @param {{ header: string[], rows: Row[], table: Table, runs: Run[], micro: string }} r
 */
export function markdown({ header, rows, table, runs, micro }) {
  const lines = [...header, ""];
  for (const side of /** @type {Side[]} */ (["server", "client", "fanout"])) {
    const mine = rows.filter((r) => SIDE[r.kind] === side && table.has(r.name));
    if (mine.length === 0) continue;
    const { names, pairs } = columnsOf(side, mine, table);
    lines.push(`### ${SECTION[side].title}`, "");
    lines.push(`| row | figure | ${names.join(" | ")} | ${pairs.map(([a, b]) => `${a}/${b}`).join(" | ")} |`);
    lines.push(`|---|---|${names.map(() => "---:|").join("")}${pairs.map(() => "---:|").join("")}`);
    for (const row of mine) {
      const cells = /** @type {Map<string, Cell>} */ (table.get(row.name));
      lines.push(
        `| ${row.name} | ${FIGURE_LABEL[row.figure]} | ${names.map((n) => showCell(row, cells.get(n))).join(" | ")} | ` +
          `${pairs.map(([a, b]) => showRatio(row, cells.get(a), cells.get(b))).join(" | ")} |`,
      );
    }
    lines.push("");
    lines.push(`CPU during the measured period (medians): ${SECTION[side].cpu}.`, "");
    lines.push(`| row | ${names.join(" | ")} | ${pairs.map(([a, b]) => `µs/op ${a}/${b}`).join(" | ")} |`);
    lines.push(`|---|${names.map(() => "---:|").join("")}${pairs.map(() => "---:|").join("")}`);
    for (const row of mine) {
      if (row.kind === "idle") continue;
      const cells = /** @type {Map<string, Cell>} */ (table.get(row.name));
      /** @param {Cell | undefined} c */
      const cpu = (c) => {
        if (c === undefined || Number.isNaN(medianOf(c, "serverCpuPct"))) return "";
        return `${medianOf(c, "serverCpuPct").toFixed(0)} / ${medianOf(c, "genCpuPct").toFixed(0)}; ${num(medianOf(c, "cpuUsPerOp"))} µs`;
      };
      const per = (/** @type {string} */ a, /** @type {string} */ b) =>
        ratio(medianOf(cells.get(a), "cpuUsPerOp") / medianOf(cells.get(b), "cpuUsPerOp"));
      lines.push(`| ${row.name} | ${names.map((n) => cpu(cells.get(n))).join(" | ")} | ${pairs.map(([a, b]) => per(a, b)).join(" | ")} |`);
    }
    lines.push("");
    if (side === "fanout") lines.push(...fanoutNotes(mine, table), "");
  }
  lines.push(
    "Medians of the repeats, (min–max) when repeated. ↑ higher is better, ↓ lower is better: a ratio above 1 " +
      "is a win on ↑ rows and a loss on ↓ rows. Ratios are measured side by side in this run; absolute figures move " +
      "20–100 % between runs on a shared machine, ratios far less. TCP echo: a plain `net` echo server with the same " +
      "generator, the ceiling for a Node server on this machine. µs/op is far steadier than throughput on a busy machine.",
  );
  const notes = runs.filter((r) => r.flags.length > 0 || r.error);
  if (notes.length > 0) {
    lines.push("", "Notes:", "");
    for (const r of notes) lines.push(`- ${r.row} #${r.rep} ${r.impl}: ${[...r.flags, ...(r.error ? [r.error] : [])].join("; ")}`);
  }
  const idle = runs.filter((r) => r.row === "idle" && r.ok);
  if (idle.length > 0) {
    const per = IMPLS.filter((i) => i.side === "server")
      .map((i) => {
        const xs = idle.filter((r) => r.impl === i.name).map((r) => Number(r.info?.["heapKiBPerConn"]));
        return xs.length ? `${i.name} ${num(median(xs))}` : "";
      })
      .filter(Boolean);
    lines.push("", `Idle, JS heap KiB/conn after GC (median; Bun's heap is JavaScriptCore's): ${per.join(", ")}`);
  }
  if (micro) lines.push("", micro.trim());
  return lines.join("\n");
}

/**
 * The medians of every cell, for the JSON file.
 * @param {Table} table
 */
export function summary(table) {
  return Object.fromEntries(
    [...table].map(([row, cells]) => [row, Object.fromEntries([...cells].map(([impl, c]) => [impl, { median: c.median, note: c.note }]))]),
  );
}

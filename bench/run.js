// @ts-check
/**
 * wavesock's benchmark runner: the matrix of /work/shared/BENCH.md, wavesock
 * beside `ws` (plain, and with its native addons), uWebSockets.js and Bun
 * (when `npm run bench:anchors` has installed them), in one run, printed as
 * Markdown tables of medians and ratios, every run saved as JSON under
 * bench/results/.
 *
 *   npm run bench                         # full run (~20-25 min)
 *   npm run bench -- --quick              # smoke run (a few minutes)
 *   npm run bench -- --only echo-small,broadcast
 *
 * Options: --quick, --only <rows>, --repeats N, --warmup MS, --duration MS,
 * --idle-conns N, --impls <names> (only these implementations), --no-pin (do not use taskset), --cpu-prof (profile the
 * wavesock processes — or --cpu-prof=wavesock,ws,uWS — into
 * bench/results/prof/*.cpuprofile; summarise with bench/prof-summary.js),
 * --list (print the rows and the implementations, and exit).
 *
 * The pieces: lib/registry.js (the implementations), lib/rows.js (the rows),
 * lib/cells.js (measuring one cell), lib/proc.js (processes, pinning, the C
 * generator), lib/report.js (tables and JSON). See bench/README.md.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { anchors, shownDir } from "./lib/anchors.js";
import { KINDS } from "./lib/cells.js";
import { opts } from "./lib/options.js";
import { GEN_CORE, SERVER_CORE, benchDir, buildLoadgen, canPin, resultsDir } from "./lib/proc.js";
import { IMPLS, unavailable } from "./lib/registry.js";
import { cellOf, markdown, num, summary } from "./lib/report.js";
import { ROWS, implsFor } from "./lib/rows.js";

if (opts.list) {
  for (const r of ROWS) console.log(`${r.name.padEnd(19)} ${r.what}`);
  console.log("");
  for (const i of IMPLS) console.log(`${i.side.padEnd(7)} ${i.name.padEnd(16)} ${i.about}`);
  process.exit(0);
}
if (opts.only !== null) {
  const unknown = opts.only.filter((n) => !ROWS.some((r) => r.name === n));
  if (unknown.length > 0) {
    console.error(`unknown row(s): ${unknown.join(", ")}; rows: ${ROWS.map((r) => r.name).join(", ")}`);
    process.exit(2);
  }
}
const rows = ROWS.filter((r) => opts.only === null || opts.only.includes(r.name));

mkdirSync(resultsDir, { recursive: true }); // before the generator is compiled into it
buildLoadgen();

let idleConns = opts.idleConns;
const hardLimit = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout.trim());
if (Number.isFinite(hardLimit) && hardLimit < idleConns + 256) {
  console.error(`open-file limit ${hardLimit}: idle row uses ${hardLimit - 256} connections instead of ${idleConns}`);
  idleConns = hardLimit - 256;
}

// The anchors, said plainly: which ran, and why the others were skipped.
const found = anchors();
const where = shownDir();
const anchorLines = [
  found.uws.ok ? `uWS = uWebSockets.js ${found.uws.version} (${where})` : `**uWebSockets.js skipped**: ${found.uws.why}`,
  found.bun.ok ? `Bun = Bun ${found.bun.version} (${where})` : `**Bun skipped**: ${found.bun.why}`,
];
const skipped = IMPLS.filter((i) => i.anchor === undefined && unavailable(i) !== null).map((i) => `**${i.name} (${i.side}) skipped**: ${unavailable(i)}`);

const started = new Date();
const cpu0 = os.cpus()[0];
const machine = `${cpu0?.model.trim() ?? "unknown CPU"}, ${os.cpus().length} cores`;
const title =
  `wavesock bench — ${machine}; Node ${process.version}; ${started.toISOString()}; ` +
  `${opts.quick ? "--quick; " : ""}${opts.repeats} repeat(s) × ${opts.durationMs} ms after ${opts.warmupMs} ms warm-up; ` +
  `idle: ${idleConns} conns; ${canPin ? `pinned: servers on core ${SERVER_CORE}, generator / client under test on core ${GEN_CORE}` : "not pinned (no taskset)"}`;
console.error(title);
for (const l of [...anchorLines, ...skipped]) console.error(l.replace(/\*\*/g, ""));

/** @type {import("./lib/cells.js").Run[]} */
const allRuns = [];
/** @type {import("./lib/report.js").Table} */
const table = new Map();
let microOutput = "";

/** @param {import("./lib/cells.js").Run} r */
function progress(r) {
  const v = r.value === undefined ? "" : Array.isArray(r.value) ? r.value.map(num).join(" / ") : num(r.value);
  const cpu = r.serverCpuPct !== undefined ? ` (server ${r.serverCpuPct.toFixed(0)}% / gen ${r.genCpuPct?.toFixed(0)}% CPU)` : "";
  const extra = [...r.flags, ...(r.error ? [r.error] : [])].join("; ");
  console.error(`  ${r.row} #${r.rep} ${r.impl}: ${v}${cpu}${extra ? ` — ${extra}` : ""}`);
}

for (const row of rows) {
  if (row.kind === "micro") {
    console.error(`micro: node bench/micro.js${opts.quick ? " --quick" : ""}`);
    const r = spawnSync(process.execPath, [path.join(benchDir, "micro.js"), ...(opts.quick ? ["--quick"] : [])], {
      encoding: "utf8",
      timeout: 10 * 60_000,
    });
    microOutput = r.status === 0 ? r.stdout : `micro.js failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`;
    continue;
  }
  console.error(`${row.name}: ${row.what}`);
  const impls = implsFor(row).filter((i) => unavailable(i) === null && (opts.impls === null || opts.impls.includes(i.name)));
  const cell = KINDS[row.kind];
  /** @type {Map<string, import("./lib/cells.js").Run[]>} */
  const byImpl = new Map(impls.map((i) => [i.name, []]));
  for (let rep = 1; rep <= opts.repeats; rep++) {
    // Rotate the order from one repeat to the next: no implementation always goes first.
    const order = impls.map((_, i) => /** @type {import("./lib/registry.js").Impl} */ (impls[(i + rep - 1) % impls.length]));
    for (const impl of order) {
      const run = await cell(row, impl, rep, { idleConns });
      progress(run);
      allRuns.push(run);
      byImpl.get(impl.name)?.push(run);
    }
  }
  table.set(row.name, new Map([...byImpl].map(([k, v]) => [k, cellOf(v)])));
}

const report = markdown({
  header: [`**${title}**`, "", ...anchorLines.map((l) => `- ${l}`), ...skipped.map((l) => `- ${l}`)],
  rows,
  table,
  runs: allRuns,
  micro: microOutput,
});
console.log(report);

const stamp = started.toISOString().replace(/[:.]/g, "-");
const jsonFile = path.join(resultsDir, `bench-${stamp}.json`);
writeFileSync(
  jsonFile,
  JSON.stringify(
    {
      machine: { cpu: cpu0?.model.trim(), cores: os.cpus().length, platform: `${os.platform()}/${os.arch()}`, release: os.release() },
      node: process.version,
      date: started.toISOString(),
      options: { ...opts, idleConns, pinned: canPin },
      anchors: found,
      runs: allRuns,
      summary: summary(table),
      micro: microOutput,
    },
    null,
    1,
  ),
);
writeFileSync(path.join(resultsDir, "latest.md"), `${report}\n`);
console.error(`\nevery run: ${path.relative(process.cwd(), jsonFile)}; this table: ${path.relative(process.cwd(), path.join(resultsDir, "latest.md"))}`);

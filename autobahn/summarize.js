// @ts-check
/**
 * Summarise Autobahn|Testsuite reports and fail on anything but OK.
 *
 *   node autobahn/summarize.js [--reports autobahn/reports]
 *                              [--expected autobahn/expected-results.json | --no-expected]
 *                              [--write-expected]
 *
 * Reads `<reports>/servers/index.json` (wstest fuzzingclient against our
 * server) and `<reports>/clients/index.json` (wstest fuzzingserver against
 * our client), whichever exist. Their format, written by wstest:
 *
 *   { "<agent>": { "<case id>": { "behavior": "OK", "behaviorClose": "OK",
 *                                 "duration": 2, "remoteCloseCode": 1000,
 *                                 "reportfile": "..." }, ... } }
 *
 * Prints, per side and agent, the count of each result per category (the
 * first number of the case id), then every case that is not OK.
 *
 * Exit status: 0 when every case's `behavior` and `behaviorClose` is OK, or
 * is a result on the ALLOWED list below for that case; 1 otherwise, or when
 * the results differ from the expected-results file (when there is one);
 * 2 when there are no reports or they cannot be read.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "./args.js";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The allow-list: results other than OK that do not fail the run, each with
 * the cases it applies to (a case id, or a prefix ending in `.*`) and why.
 *
 * - INFORMATIONAL is what wstest reports for cases the RFC leaves open; they
 *   have no right answer:
 *   7.1.6   a large message, a ping and a close sent back to back: whether the
 *           echo still goes out after the close is the testee's choice;
 *   7.13.x  close codes ≥ 5000 (7.13.1: 5000, 7.13.2: 65535), which §7.4
 *           does not define; wavesock refuses them with 1002.
 * - UNIMPLEMENTED is what wstest reports for 12.x / 13.x when the testee
 *   does not negotiate permessage-deflate. wavesock implements it (on by
 *   default in server.js and client.js), so no case is allowed to be
 *   UNIMPLEMENTED. A run with compression turned off would have to list
 *   "12.*" and "13.*" here, on purpose.
 *
 * @type {{ result: string; cases: string[]; why: string }[]}
 */
const ALLOWED = [
  { result: "INFORMATIONAL", cases: ["7.1.6"], why: "RFC 6455 leaves the outcome open (wstest: informational)" },
  { result: "INFORMATIONAL", cases: ["7.13.*"], why: "close codes >= 5000 are undefined (wstest: informational)" },
  { result: "UNIMPLEMENTED", cases: [], why: "none: permessage-deflate is implemented" },
];

/**
 * @param {string} result
 * @param {string} id
 */
function isAllowed(result, id) {
  return ALLOWED.some(
    (a) => a.result === result && a.cases.some((c) => (c.endsWith(".*") ? id.startsWith(c.slice(0, -1)) : id === c)),
  );
}

/** @typedef {{ behavior: string; behaviorClose: string; duration?: number; remoteCloseCode?: number | null; reportfile?: string }} CaseResult */
/** @typedef {Record<string, Record<string, CaseResult>>} Index */

/** Compare case ids numerically, part by part ("2.10" after "2.9"). @param {string} a @param {string} b */
function byCaseId(a, b) {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** @param {CaseResult} r */
function label(r) {
  if (r.behavior === r.behaviorClose) return r.behavior;
  if (r.behaviorClose === "OK") return r.behavior;
  if (r.behavior === "OK") return `close ${r.behaviorClose}`;
  return `${r.behavior} / close ${r.behaviorClose}`;
}

const SIDES = /** @type {const} */ ([
  ["servers", "wavesock server, tested by wstest -m fuzzingclient"],
  ["clients", "wavesock client, tested by wstest -m fuzzingserver"],
]);

function main() {
  const args = parseArgs(process.argv.slice(2), {
    reports: join(here, "reports"),
    expected: join(here, "expected-results.json"),
    "no-expected": false,
    "write-expected": false,
  });
  const reportsDir = resolve(String(args["reports"]));

  /** @type {Record<string, Index>} */
  const indexes = {};
  for (const [side] of SIDES) {
    const file = join(reportsDir, side, "index.json");
    if (!existsSync(file)) continue;
    try {
      indexes[side] = /** @type {Index} */ (JSON.parse(readFileSync(file, "utf8")));
    } catch (err) {
      console.error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
  }
  if (Object.keys(indexes).length === 0) {
    console.error(`no Autobahn|Testsuite reports in ${reportsDir} (expected servers/index.json and/or clients/index.json)`);
    return 2;
  }

  /** @type {string[]} */
  const failures = [];
  /** @type {string[]} */
  const allowed = [];
  for (const [side, title] of SIDES) {
    const index = indexes[side];
    if (index === undefined) continue;
    for (const [agent, cases] of Object.entries(index)) {
      const ids = Object.keys(cases).sort(byCaseId);
      console.log(`\n${side}: ${title} — agent ${agent}, ${ids.length} cases`);
      /** @type {Map<string, Map<string, number>>} */
      const perCategory = new Map();
      for (const id of ids) {
        const r = /** @type {CaseResult} */ (cases[id]);
        const category = id.split(".")[0] ?? id;
        const counts = perCategory.get(category) ?? new Map();
        perCategory.set(category, counts);
        const l = label(r);
        counts.set(l, (counts.get(l) ?? 0) + 1);
        const bad = [r.behavior, r.behaviorClose].filter((b) => b !== "OK");
        if (bad.length === 0) continue;
        const where = `${side} ${agent} ${id}: ${l}${r.remoteCloseCode != null ? ` (remote close code ${r.remoteCloseCode})` : ""}`;
        if (bad.every((b) => isAllowed(b, id))) allowed.push(where);
        else failures.push(where);
      }
      for (const [category, counts] of [...perCategory].sort((a, b) => Number(a[0]) - Number(b[0]))) {
        const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`);
        console.log(`  ${category.padStart(2)}: ${parts.join(", ")}`);
      }
    }
  }

  if (allowed.length > 0) {
    console.log(`\nallowed (see ALLOWED in autobahn/summarize.js):`);
    for (const a of allowed) console.log(`  ${a}`);
  }
  if (failures.length > 0) {
    console.log(`\nnot OK:`);
    for (const f of failures) console.log(`  ${f}`);
  }

  // The expected results: each side's agents and cases with their two results.
  /** @type {Record<string, Record<string, Record<string, { behavior: string; behaviorClose: string }>>>} */
  const actual = {};
  for (const [side, index] of Object.entries(indexes)) {
    actual[side] = {};
    for (const [agent, cases] of Object.entries(index)) {
      /** @type {Record<string, { behavior: string; behaviorClose: string }>} */
      const slim = {};
      for (const id of Object.keys(cases).sort(byCaseId)) {
        const r = /** @type {CaseResult} */ (cases[id]);
        slim[id] = { behavior: r.behavior, behaviorClose: r.behaviorClose };
      }
      /** @type {Record<string, Record<string, { behavior: string; behaviorClose: string }>>} */ (actual[side])[agent] = slim;
    }
  }
  const expectedFile = resolve(String(args["expected"]));
  if (args["write-expected"]) {
    writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + "\n");
    console.log(`\nwrote ${expectedFile}`);
  }
  let changed = 0;
  if (!args["no-expected"] && !args["write-expected"] && existsSync(expectedFile)) {
    /** @type {typeof actual} */
    let expected;
    try {
      expected = JSON.parse(readFileSync(expectedFile, "utf8"));
    } catch (err) {
      console.error(`cannot read ${expectedFile}: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
    /** @type {string[]} */
    const diffs = [];
    const sides = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    for (const side of sides) {
      // A side that was not run this time is not compared.
      if (actual[side] === undefined) continue;
      const e = expected[side] ?? {};
      const a = actual[side] ?? {};
      for (const agent of new Set([...Object.keys(e), ...Object.keys(a)])) {
        const ec = e[agent] ?? {};
        const ac = a[agent] ?? {};
        for (const id of [...new Set([...Object.keys(ec), ...Object.keys(ac)])].sort(byCaseId)) {
          const x = ec[id];
          const y = ac[id];
          const fmt = (/** @type {{ behavior: string; behaviorClose: string } | undefined} */ r) =>
            r === undefined ? "(absent)" : `${r.behavior}/${r.behaviorClose}`;
          if (fmt(x) !== fmt(y)) diffs.push(`${side} ${agent} ${id}: expected ${fmt(x)}, got ${fmt(y)}`);
        }
      }
    }
    changed = diffs.length;
    if (diffs.length > 0) {
      console.log(`\nchanged from ${expectedFile}:`);
      for (const d of diffs) console.log(`  ${d}`);
    } else {
      console.log(`\nsame results as ${expectedFile}`);
    }
  }

  const ok = failures.length === 0 && changed === 0;
  console.log(
    `\n${ok ? "PASS" : "FAIL"}: ${failures.length} case(s) not OK, ${allowed.length} allowed, ${changed} changed from the expected results`,
  );
  return ok ? 0 : 1;
}

process.exitCode = main();

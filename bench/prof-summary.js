// @ts-check
/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`), e.g. the
 * ones `node bench/run.js --cpu-prof` writes under bench/results/prof/.
 *
 *   node bench/prof-summary.js [--top N] file.cpuprofile [more.cpuprofile...]
 *
 * Self time is the time a function was on top of the stack; samples of
 * several files are added up. Functions are keyed by name and place, so the
 * same function in two profiles counts once.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const args = process.argv.slice(2);
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else files.push(/** @type {string} */ (args[i]));
}
if (files.length === 0) {
  console.error("usage: node bench/prof-summary.js [--top N] file.cpuprofile...");
  process.exit(2);
}

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number },
 *   children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} Profile
 */

/** @type {Map<string, number>} self time in µs by function */
const self = new Map();
let total = 0;
const cwd = process.cwd();

for (const file of files) {
  /** @type {Profile} */
  const profile = JSON.parse(readFileSync(file, "utf8"));
  /** @type {Map<number, string>} */
  const keyOf = new Map();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    let where = f.url.replace(/^file:\/\//, "");
    if (where.startsWith(cwd)) where = path.relative(cwd, where);
    where = where.replace(/^.*node_modules\//, "node_modules/");
    const name = f.functionName || "(anonymous)";
    keyOf.set(node.id, where ? `${name}  ${where}:${f.lineNumber + 1}` : name);
  }
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
    const dt = profile.timeDeltas[i] ?? 0;
    const key = keyOf.get(/** @type {number} */ (profile.samples[i])) ?? "?";
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
}

const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${files.length} profile(s), ${(total / 1e6).toFixed(2)} s sampled; top ${rows.length} by self time:\n`);
console.log("| self % | self ms | function  place |");
console.log("|---:|---:|---|");
for (const [key, us] of rows) {
  console.log(`| ${((100 * us) / total).toFixed(1)} | ${(us / 1000).toFixed(0)} | \`${key}\` |`);
}

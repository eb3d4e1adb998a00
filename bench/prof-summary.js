// @ts-check
/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`), e.g. the
 * ones `node bench/run.js --cpu-prof` writes under bench/results/prof/.
 *
 *   node bench/prof-summary.js [--top N] file.cpuprofile [more.cpuprofile...]
 *
 * Self time is the time a function was on top of the stack; samples of
 * several files are added up. Functions are keyed by name and place, so the
 * same function in two profiles counts once. A second table adds self time
 * up by where it was spent — wavesock, Node's own JavaScript (node:…),
 * native code called from JS (syscall wrappers such as `writev`: libuv and
 * the kernel), the garbage collector, V8 itself, WebAssembly, the bench's
 * script, dependencies — as a share of the busy (non-idle) time.
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
/** @type {Map<string, number>} self time in µs by origin */
const origins = new Map();

/**
 * Where a function's self time goes, by the place V8 gives it.
 * @param {string} name @param {string} url
 */
function originOf(name, url) {
  if (name === "(idle)") return "(idle)";
  if (name === "(garbage collector)") return "garbage collector";
  if (name === "(program)") return "V8 / native, unattributed (program)";
  if (url.startsWith("wasm://")) return "WebAssembly";
  if (url === "") return "native functions called from JS (libuv, syscalls, crypto, ...)";
  if (url.startsWith("node:")) return "Node's JavaScript (node:*: streams, net, events, buffer)";
  if (url.includes("/node_modules/")) return "dependencies (node_modules)";
  if (url.includes("/dist/") || url.includes("/src/")) return "wavesock (dist/)";
  if (url.includes("/bench/")) return "the bench's server / client script";
  return "other";
}
let total = 0;
const cwd = process.cwd();

for (const file of files) {
  /** @type {Profile} */
  const profile = JSON.parse(readFileSync(file, "utf8"));
  /** @type {Map<number, string>} */
  const keyOf = new Map();
  /** @type {Map<number, string>} */
  const originOfNode = new Map();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    let where = f.url.replace(/^file:\/\//, "");
    if (where.startsWith(cwd)) where = path.relative(cwd, where);
    where = where.replace(/^.*node_modules\//, "node_modules/");
    const name = f.functionName || "(anonymous)";
    keyOf.set(node.id, where ? `${name}  ${where}:${f.lineNumber + 1}` : name);
    originOfNode.set(node.id, originOf(name, f.url));
  }
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
    const dt = profile.timeDeltas[i] ?? 0;
    const key = keyOf.get(/** @type {number} */ (profile.samples[i])) ?? "?";
    self.set(key, (self.get(key) ?? 0) + dt);
    const origin = originOfNode.get(/** @type {number} */ (profile.samples[i])) ?? "other";
    origins.set(origin, (origins.get(origin) ?? 0) + dt);
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

const idle = origins.get("(idle)") ?? 0;
const busy = total - idle;
console.log(`\nBy origin, share of the busy time (${(busy / 1e6).toFixed(2)} s; idle ${((100 * idle) / Math.max(1, total)).toFixed(0)} % of all):\n`);
console.log("| busy % | ms | origin |");
console.log("|---:|---:|---|");
for (const [origin, us] of [...origins].filter(([o]) => o !== "(idle)").sort((a, b) => b[1] - a[1])) {
  console.log(`| ${((100 * us) / Math.max(1, busy)).toFixed(1)} | ${(us / 1000).toFixed(0)} | ${origin} |`);
}

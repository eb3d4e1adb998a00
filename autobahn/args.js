// @ts-check
/**
 * A tiny `--name value` / `--name=value` / `--flag` parser shared by the
 * Autobahn scripts (no dependency, no surprises).
 */

/**
 * @param {readonly string[]} argv - arguments after the script name
 * @param {Record<string, string | boolean>} defaults - every accepted option with its default;
 *   a boolean default makes the option a flag
 * @returns {Record<string, string | boolean>}
 */
export function parseArgs(argv, defaults) {
  /** @type {Record<string, string | boolean>} */
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    if (arg === "--help" || arg === "-h") {
      const names = Object.entries(defaults).map(([k, v]) => (typeof v === "boolean" ? `[--${k}]` : `[--${k} ${v === "" ? "VALUE" : v}]`));
      console.log(`options: ${names.join(" ")}`);
      process.exit(0);
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (m === null || !(/** @type {string} */ (m[1]) in defaults)) {
      console.error(`unknown argument: ${arg}`);
      process.exit(2);
    }
    const name = /** @type {string} */ (m[1]);
    if (typeof defaults[name] === "boolean") {
      out[name] = m[2] === undefined ? true : m[2] !== "false";
    } else if (m[2] !== undefined) {
      out[name] = m[2];
    } else if (i + 1 < argv.length) {
      out[name] = /** @type {string} */ (argv[++i]);
    } else {
      console.error(`--${name} needs a value`);
      process.exit(2);
    }
  }
  return out;
}

/**
 * The reference tables of the guides cannot fall behind the code: every
 * option the entry points accept is in docs/options.md, and every `code`
 * string of the `WebSocketErrorCode` union is in docs/errors.md. (Their
 * ```ts blocks are type-checked by package.test.ts; their links are checked
 * here too, so a renamed guide or heading is noticed.)
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ATTACH_OPTIONS, CONNECT_OPTIONS, DEFLATE_OPTIONS, SERVE_OPTIONS } from "../../src/node/options/entry-points.js";
import { checkedMarkdown } from "./readme.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

/** Names written as inline code in a table row's first cell: "| `maxSize` | ...". */
function tableNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split("\n")) {
    const cell = /^\|\s*([^|]+)\|/.exec(line)?.[1];
    if (cell === undefined) continue;
    for (const m of cell.matchAll(/`([A-Za-z]+)`/g)) names.add(m[1]!);
  }
  return names;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");
}

/**
 * Guides that other branches write at the same time (docs/README.md links
 * them by their expected names); a link to one of these may dangle until
 * they are merged.
 */
const EXPECTED_ELSEWHERE = new Set(
  ["auth", "client", "messages", "migrating-from-ws", "observability", "routing", "standard-websocket"].map((n) => `docs/${n}.md`),
);

describe("docs/options.md", () => {
  it("has a table row for every option of serve(), attach() and connect(), and every compression parameter", () => {
    const names = tableNames(read("docs/options.md"));
    const options = new Set([...Object.keys(SERVE_OPTIONS), ...Object.keys(ATTACH_OPTIONS), ...Object.keys(CONNECT_OPTIONS), ...Object.keys(DEFLATE_OPTIONS)]);
    expect([...options].filter((name) => !names.has(name)).sort()).toEqual([]);
  });
});

describe("docs/errors.md", () => {
  it("lists every code of the WebSocketErrorCode union", () => {
    const source = read("src/errors.ts");
    const union = source.slice(source.indexOf("export type WebSocketErrorCode"), source.indexOf("export function argumentError"));
    const codes = [...new Set([...union.matchAll(/"(WS_ERR_[A-Z0-9_]+)"/g)].map((m) => m[1]!))];
    expect(codes.length).toBeGreaterThan(40);
    const guide = read("docs/errors.md");
    expect(codes.filter((code) => !guide.includes(`\`${code}\``))).toEqual([]);
  });
});

describe("links between the guides", () => {
  it("point at files and headings that exist", () => {
    const files = [...checkedMarkdown(ROOT), "examples/README.md"];
    expect(readdirSync(join(ROOT, "docs")).length).toBeGreaterThan(10);
    const broken: string[] = [];
    for (const file of files) {
      const text = read(file).replace(/```[\s\S]*?```/g, "");
      for (const [, link] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(link!)) continue; // https:, mailto:
        const [target, hash] = link!.split("#") as [string, string | undefined];
        const path = target === "" ? file : normalize(join(dirname(file), target));
        if (!existsSync(join(ROOT, path))) {
          if (!EXPECTED_ELSEWHERE.has(path)) broken.push(`${file}: ${link} (no such file)`);
          continue;
        }
        if (hash !== undefined && path.endsWith(".md")) {
          const headings = [...read(path).matchAll(/^#+ (.*)$/gm)].map((m) => anchor(m[1]!));
          if (!headings.includes(hash)) broken.push(`${file}: ${link} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

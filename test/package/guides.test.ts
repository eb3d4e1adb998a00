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
import ts from "typescript";
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
          broken.push(`${file}: ${link} (no such file)`);
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

describe("the indexes", () => {
  it("docs/README.md links every guide in docs/", () => {
    const index = read("docs/README.md");
    const guides = checkedMarkdown(ROOT)
      .filter((f) => f.startsWith("docs/") && f !== "docs/README.md")
      .map((f) => f.slice("docs/".length));
    expect(guides.length).toBeGreaterThan(20);
    expect(guides.filter((g) => !index.includes(`](${g})`) && !index.includes(`](${g}#`))).toEqual([]);
  });
});

/**
 * The names each entry point exports, read with the TypeScript checker from
 * the sources (aliases kept under the exported name; `@internal` ones left
 * out, as the build strips their declarations).
 */
function exportNames(entries: readonly string[]): Map<string, string[]> {
  const files = entries.map((e) => join(ROOT, e));
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const internal = (symbol: ts.Symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return (target.declarations ?? []).some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === "internal"));
  };
  const out = new Map<string, string[]>();
  for (const [i, file] of files.entries()) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    out.set(entries[i]!, checker.getExportsOfModule(module).filter((s) => !internal(s)).map((s) => s.name));
  }
  return out;
}

describe("docs/api.md", () => {
  it("names every export of every entry point, in that entry point's section", () => {
    const page = read("docs/api.md");
    const section = (heading: string) => {
      const start = page.indexOf(`\n## \`${heading}\`\n`);
      expect(start, `docs/api.md has a "## \`${heading}\`" section`).toBeGreaterThan(-1);
      const end = page.indexOf("\n## ", start + 1);
      return page.slice(start, end === -1 ? undefined : end);
    };
    const named = (text: string, name: string) => new RegExp(`\`${name}[\`(<]`).test(text);
    const exports = exportNames(["src/index.ts", "src/core.ts", "src/ws/index.ts"]);
    const main = exports.get("src/index.ts")!;
    expect(main).toEqual(expect.arrayContaining(["serve", "WebSocket", "route", "basicAuth", "MessageStream"]));
    expect(exports.get("src/core.ts")).not.toContain("argumentError"); // @internal
    const missing: string[] = [];
    for (const name of main) if (!named(section("wavesock"), name)) missing.push(`wavesock: ${name}`);
    // The core re-exports some of the main entry's names (the errors, HttpRequest...): named there, they count.
    for (const name of exports.get("src/core.ts")!) {
      if (!named(section("wavesock/core"), name) && !(main.includes(name) && named(section("wavesock"), name))) missing.push(`wavesock/core: ${name}`);
    }
    for (const name of exports.get("src/ws/index.ts")!) {
      if (name !== "default" && !named(section("wavesock/ws"), name)) missing.push(`wavesock/ws: ${name}`);
    }
    expect(missing).toEqual([]);
  });
});

/**
 * The TypeScript examples of the README and of the guides in docs/ as files a
 * compiler can check against the installed package: every ```ts block becomes
 * one module. A block may use the package's exports without importing them
 * (the README shows them imported once, in the quick tour), so each file
 * starts with an import of every value export the block does not import or
 * declare itself. Names a snippet uses but never defines (`handler`, `key`...)
 * get a `declare const` from {@link DECLARED} — the only names allowed to be
 * undefined.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The Markdown files whose ```ts blocks are checked, relative to the
 * repository: the README and every guide directly under docs/ (not docs/api/,
 * which TypeDoc generates from the JSDoc that is compiled anyway).
 */
export function checkedMarkdown(root: string): string[] {
  const guides = readdirSync(join(root, "docs"), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".md"))
    .map((e) => `docs/${e.name}`)
    .sort();
  return ["README.md", ...guides];
}

/** Undefined names a snippet may use, with the type they stand for. */
export const DECLARED: Readonly<Record<string, string>> = {
  handler: `import("wavesock").Handler`,
  handle: `(message: import("wavesock").Data) => void`,
  ws: `import("wavesock").Connection`,
  key: "string",
  cert: "string",
  myCA: "string",
  app: `import("node:http").RequestListener`,
  processRequest: `NonNullable<import("wavesock").ServerOptions["processRequest"]>`,
  subprotocols: "string[]",
  uri: "string",
  alreadyCompressedBytes: "Uint8Array",
  // docs/pubsub.md, docs/scaling.md
  log: "Pick<Console, \"info\" | \"warn\">",
  metrics: "{ increment(name: string): void }",
  envelope: `NonNullable<import("wavesock").TopicOptions["envelope"]>`,
  // docs/authentication.md, docs/routing.md, docs/servers.md, docs/observability.md
  server: `import("wavesock").Server`,
  userOf: "(token: string | null) => string | undefined",
  timeout: "(ms: number) => Promise<never>",
  lobby: `import("wavesock").Handler`,
  room: `(ws: import("wavesock").Connection, match: { params: { room: string } }) => Promise<void>`,
  admin: `import("wavesock").Handler`,
  healthCheck: `NonNullable<import("wavesock").ServerOptions["processRequest"]>`,
  credentials: "Record<string, string>",
  sendFile: `(ws: import("wavesock").Connection, path: string) => Promise<void>`,
  mayEnter: `(request: import("wavesock").HttpRequest, room: string) => boolean`,
  net: `typeof import("node:net")`,
};

/** One ```ts block of a Markdown text. */
export interface Snippet {
  /** 1-based line of the Markdown file where the code starts (after the fence). */
  line: number;
  code: string;
}

/** The ```ts (and ```typescript) blocks of a Markdown text, in order. */
export function tsBlocks(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}

/**
 * Whether `code` binds `name` at its top level (a declaration or an import),
 * so that a `declare const` or an import of the same name would clash.
 * (Parameters are not looked for: a declaration they shadow is harmless.)
 */
export function binds(code: string, name: string): boolean {
  const n = `\\b${name}\\b`;
  const patterns = [
    new RegExp(`\\b(?:const|let|var|function|class|interface|type|enum)\\s+${name}\\b`),
    new RegExp(`\\b(?:const|let|var)\\s*[{[][^=]*${n}[^=]*[}\\]]\\s*=`),
    new RegExp(`\\bimport\\s+(?:type\\s+)?(?:${name}\\b|\\*\\s+as\\s+${name}\\b|[^;]*\\{[^}]*${n}[^}]*\\})`),
  ];
  return patterns.some((p) => p.test(code));
}

/** Whether `code` mentions `name` as a word outside comments and strings (near enough). */
export function uses(code: string, name: string): boolean {
  // Strings first: a "//" inside one ("ws://…") is not a comment.
  const stripped = code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, '""').replace(/\/\/.*$/gm, "");
  return new RegExp(`(?<![.\\w$])${name}\\b`).test(stripped);
}

/**
 * A compilable module for `snippet`, and how many lines come before the
 * snippet's. `typeExports` are the package's type-only exports: a guide may
 * name them (`Data`, `HttpRequest`) without importing them, as it may the
 * value exports.
 */
export function moduleFor(
  snippet: Snippet,
  valueExports: readonly string[],
  typeExports: readonly string[] = [],
): { text: string; prelude: number } {
  const { code } = snippet;
  const free = (name: string) => uses(code, name) && !binds(code, name);
  const imports = valueExports.filter(free);
  const types = typeExports.filter((name) => !valueExports.includes(name) && free(name));
  const declared = Object.keys(DECLARED).filter(free);
  const head = [
    ...(imports.length > 0 ? [`import { ${imports.join(", ")} } from "wavesock";`] : []),
    ...(types.length > 0 ? [`import type { ${types.join(", ")} } from "wavesock";`] : []),
    ...declared.map((name) => `declare const ${name}: ${DECLARED[name]};`),
  ];
  return { text: `${[...head, code].join("\n")}\nexport {};\n`, prelude: head.length };
}

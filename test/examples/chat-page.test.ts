import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { EXAMPLES } from "./helpers.js";

describe("examples/chat/chat.js", () => {
  // The project's tsconfig has no DOM types, so the browser script opts out
  // of it with @ts-nocheck; here it is checked on its own, as browser code.
  it("type-checks as browser code (strict, DOM library)", () => {
    const file = `${EXAMPLES}chat/chat.js`;
    const original = readFileSync(file, "utf8");
    expect(original.startsWith("// @ts-nocheck")).toBe(true);
    const source = original.replace(/^\/\/ @ts-nocheck[^\n]*/, "// @ts-check");
    const options: ts.CompilerOptions = {
      allowJs: true,
      checkJs: true,
      noEmit: true,
      strict: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
      types: [],
      skipLibCheck: true,
    };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, source, language) : read(name, language, ...rest);
    const program = ts.createProgram([file], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
      return `${where ? `chat.js:${where.line + 1}:${where.character + 1} ` : ""}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(problems).toEqual([]);
  });
});

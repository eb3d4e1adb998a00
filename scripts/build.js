// @ts-check
/**
 * Builds dist/ from src/: the ES module build in dist/ and the CommonJS build
 * in dist/cjs/ (marked by its own package.json, `"type": "commonjs"`), each
 * with `.d.ts` declarations, source maps and declaration maps that point
 * into the shipped src/.
 *
 * Why a script and not two `tsc -p` calls: declarations must show the public
 * API only. `stripInternal` removes every member tagged `@internal`, but a
 * class whose constructor is stripped gets TypeScript's implicit public
 * no-argument constructor in the `.d.ts`, so `new Server()` would type-check
 * for users and fail at run time. The emit below therefore puts
 * `private constructor();` in place of each `@internal` constructor: the class
 * still works with `instanceof`, and constructing it does not compile.
 *
 * Usage: `node scripts/build.js` (what `npm run build` and `prepare` run).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** True when a node carries an `@internal` JSDoc tag. */
function isInternal(/** @type {ts.Node} */ node) {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === "internal");
}

/**
 * A declaration transformer for `stripInternal`'s two blind spots:
 * - a class whose source constructor is tagged `@internal` gets
 *   `private constructor();` as its first member (see the module comment);
 * - an `implements` clause whose interface is met only through members tagged
 *   `@internal` (the core's `Protocol implements FrameSink`) is dropped: the
 *   `.d.ts` would otherwise declare a class that fails its own `implements`
 *   check, an error for every user who compiles without `skipLibCheck`.
 * @param {ts.TypeChecker} checker
 * @returns {ts.TransformerFactory<ts.SourceFile | ts.Bundle>}
 */
const hideInternals = (checker) => (context) => {
  const { factory } = context;
  /** @type {ts.Visitor} */
  const visit = (node) => {
    if (!ts.isClassDeclaration(node)) return ts.visitEachChild(node, visit, context);
    const source = ts.getOriginalNode(node);
    if (!ts.isClassDeclaration(source)) return node;
    const internalNames = new Set(
      source.members.filter((m) => m.name !== undefined && isInternal(m)).map((m) => m.name?.getText()),
    );
    const hiddenCtor = source.members.some((m) => ts.isConstructorDeclaration(m) && isInternal(m));
    let members = node.members;
    if (hiddenCtor && !members.some((m) => ts.isConstructorDeclaration(m))) {
      const ctor = factory.createConstructorDeclaration([factory.createModifier(ts.SyntaxKind.PrivateKeyword)], [], undefined);
      members = factory.createNodeArray([ctor, ...members]);
    }
    /** True when the interface named by `type` has a member that is internal in this class. */
    const metInternally = (/** @type {ts.ExpressionWithTypeArguments} */ type) => {
      const original = ts.getOriginalNode(type);
      return checker
        .getTypeAtLocation(original)
        .getProperties()
        .some((p) => internalNames.has(p.name));
    };
    const heritage = (node.heritageClauses ?? [])
      .map((clause) =>
        clause.token === ts.SyntaxKind.ImplementsKeyword
          ? factory.updateHeritageClause(clause, clause.types.filter((t) => !metInternally(t)))
          : clause,
      )
      .filter((clause) => clause.types.length > 0);
    return factory.updateClassDeclaration(node, node.modifiers, node.name, node.typeParameters, heritage, members);
  };
  return (file) => (ts.isSourceFile(file) ? ts.visitEachChild(file, visit, context) : file);
};

/**
 * Type-check and emit one tsconfig; throws with the diagnostics on any error.
 * @param {string} configFile
 */
function emit(configFile) {
  const path = join(root, configFile);
  const config = ts.getParsedCommandLineOfConfigFile(path, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (config === undefined) throw new Error(`cannot read ${configFile}`);
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, projectReferences: config.projectReferences });
  const result = program.emit(undefined, undefined, undefined, false, { afterDeclarations: [hideInternals(program.getTypeChecker())] });
  const diagnostics = [...config.errors, ...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (diagnostics.length > 0) {
    const host = { getCanonicalFileName: (/** @type {string} */ f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
    throw new Error(`${configFile}:\n${ts.formatDiagnostics(diagnostics, host)}`);
  }
}

rmSync(join(root, "dist"), { recursive: true, force: true });
emit("tsconfig.build.json");
emit("tsconfig.cjs.json");
// Node reads dist/cjs/*.js as CommonJS, and TypeScript reads dist/cjs/*.d.ts
// as CommonJS declarations, because of this file (the root package.json says
// "type": "module").
mkdirSync(join(root, "dist/cjs"), { recursive: true });
writeFileSync(join(root, "dist/cjs/package.json"), `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);

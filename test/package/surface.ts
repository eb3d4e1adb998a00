/**
 * What the emitted declarations of an entry point show, read with the
 * TypeScript checker: the type names its public signatures use that a user
 * cannot import from it, and the members it shows that the sources mark
 * `@internal`. Used by the package tests on the installed tarball.
 */
import { readFileSync } from "node:fs";
import { relative, sep } from "node:path";
import ts from "typescript";

/** A type used by a public declaration of `entry` that `entry` does not export. */
export interface Unexported {
  /** Where it is used, e.g. `ServerOptions.headLimits`. */
  usedBy: string;
  /** The type's name, e.g. `HeadLimits`. */
  name: string;
}

/** The export symbols of a module, aliases resolved. */
function exportsOf(checker: ts.TypeChecker, file: ts.SourceFile): Set<ts.Symbol> {
  const module = checker.getSymbolAtLocation(file);
  if (module === undefined) throw new Error(`${file.fileName} is not a module`);
  return new Set(checker.getExportsOfModule(module).map((s) => resolve(checker, s)));
}

function resolve(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function isPrivate(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Private) !== 0;
}

/** `Outer.member` for messages. */
function pathOf(node: ts.Node): string {
  const names: string[] = [];
  for (let n: ts.Node | undefined = node; n !== undefined && !ts.isSourceFile(n); n = n.parent) {
    const name = (n as ts.NamedDeclaration).name;
    if (name !== undefined && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name))) {
      if (ts.isClassElement(n) || ts.isTypeElement(n) || ts.isDeclarationStatement(n) || ts.isVariableDeclaration(n)) {
        names.unshift(name.text);
      }
    } else if (ts.isConstructorDeclaration(n)) names.unshift("constructor");
  }
  return names.join(".");
}

/**
 * Every named type that a public declaration exported by `entryFile` refers
 * to, is declared inside `packageDir`, and is not itself exported by
 * `entryFile`. Private members are skipped (their types are not emitted).
 */
export function unexportedTypes(program: ts.Program, entryFile: string, packageDir: string): Unexported[] {
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(entryFile);
  if (entry === undefined) throw new Error(`${entryFile} is not in the program`);
  const exported = exportsOf(checker, entry);
  const inside = (decl: ts.Declaration) => !relative(packageDir, decl.getSourceFile().fileName).startsWith("..");
  const found = new Map<string, Unexported>();

  const check = (nameNode: ts.Node) => {
    const symbol = checker.getSymbolAtLocation(nameNode);
    if (symbol === undefined) return;
    const target = resolve(checker, symbol);
    if (target.flags & ts.SymbolFlags.TypeParameter) return;
    const decls = target.declarations ?? [];
    if (decls.length === 0 || !decls.some(inside) || exported.has(target)) return;
    const usedBy = pathOf(nameNode);
    found.set(`${usedBy} ${target.name}`, { usedBy, name: target.name });
  };
  const visit = (node: ts.Node): void => {
    if (isPrivate(node) && (ts.isClassElement(node) || ts.isParameter(node))) return;
    if (ts.isTypeReferenceNode(node)) check(node.typeName);
    else if (ts.isExpressionWithTypeArguments(node)) check(node.expression);
    else if (ts.isTypeQueryNode(node)) check(node.exprName);
    ts.forEachChild(node, visit);
  };
  for (const symbol of exported) for (const decl of symbol.declarations ?? []) if (inside(decl)) visit(decl);
  return [...found.values()].sort((a, b) => (a.usedBy + a.name).localeCompare(b.usedBy + b.name));
}

/**
 * `Class.member` for every class member in `sourceFiles` tagged `@internal`
 * (constructors as `Class.constructor`).
 */
export function internalMembers(sourceFiles: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const file of sourceFiles) {
    const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if ((ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) && node.name !== undefined) {
        for (const member of node.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
          if (!ts.getJSDocTags(member).some((t) => t.tagName.text === "internal")) continue;
          const name = ts.isConstructorDeclaration(member) ? "constructor" : member.name?.getText(sf);
          if (name !== undefined) out.add(`${node.name.text}.${name}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/**
 * `Class.member` for every member a `.d.ts` file shows a user (not private),
 * constructors with parameters as `Class.constructor`. A `private
 * constructor();` is not shown.
 */
export function declaredMembers(dtsFile: string): Set<string> {
  const sf = ts.createSourceFile(dtsFile, readFileSync(dtsFile, "utf8"), ts.ScriptTarget.Latest, true);
  const out = new Set<string>();
  const visit = (node: ts.Node): void => {
    if ((ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) && node.name !== undefined) {
      for (const member of node.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>) {
        if (isPrivate(member)) continue;
        const name = ts.isConstructorDeclaration(member) ? "constructor" : member.name?.getText(sf);
        if (name !== undefined) out.add(`${node.name.text}.${name}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** `a/b.ts` with forward slashes, for messages. */
export function slashed(path: string): string {
  return path.split(sep).join("/");
}

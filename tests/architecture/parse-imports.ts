/**
 * Lists every module a source file refers to — static `import … from`, side-effect `import '…'`,
 * `export … from`, dynamic `import()`, `require()`, `import x = require()`, type-level `import('…')` and
 * `/// <reference types|path>` — using the TypeScript parser, so strings and comments never produce false hits.
 */
import ts from 'typescript';

export interface ImportRef {
  /** The module specifier as written; null when it is not a string literal and so cannot be checked. */
  specifier: string | null;
  /** 1-based line of the statement or expression that imports. */
  line: number;
}

export function parseImports(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind(fileName));
  const refs: ImportRef[] = [];
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const add = (node: ts.Node, specifier: ts.Node | undefined) =>
    refs.push({
      specifier: specifier && ts.isStringLiteralLike(specifier) ? specifier.text : null,
      line: lineOf(node.getStart(source)),
    });

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && isImportOrRequire(node.expression)) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      add(node, ts.isLiteralTypeNode(argument) ? argument.literal : undefined);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);

  for (const ref of source.typeReferenceDirectives) refs.push({ specifier: ref.fileName, line: lineOf(ref.pos) });
  for (const ref of source.referencedFiles) refs.push({ specifier: relativePath(ref.fileName), line: lineOf(ref.pos) });
  return refs.sort((a, b) => a.line - b.line);
}

function isImportOrRequire(callee: ts.Expression): boolean {
  return callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
}

/** `/// <reference path="x.d.ts" />` is relative to the file even without `./`. */
function relativePath(fileName: string): string {
  return fileName.startsWith('.') || fileName.startsWith('/') ? fileName : `./${fileName}`;
}

function scriptKind(fileName: string): ts.ScriptKind {
  if (fileName.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (fileName.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(fileName)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

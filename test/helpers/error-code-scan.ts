import path from 'node:path';
import ts from 'typescript';

/**
 * Every error code the source can answer, read from its syntax tree and types (not from regexes): each
 * `new AppError(status, code, …)` whose code is a literal, a literal-typed expression (`'A' | 'B'`), a constant, a
 * parameter of a helper (`notFound('X_NOT_FOUND', …)`: every call of the helper is read), or an entry of a constant
 * map (`CODES[reason]`). Anything else — a code computed at run time, a helper passed around as a value — is a
 * `problem` naming the place, so the scan never misses a code silently.
 */
export interface ErrorCodeSite {
  code: string;
  status: number;
  /** file:line (relative to the working directory) of the code: the literal, or the helper's call that passes it. */
  where: string;
}

export interface ErrorCodeScan {
  sites: ErrorCodeSite[];
  problems: string[];
}

/** A value the scan found, and the expression it was read from (a literal, or the call of a helper that passes it). */
interface Value {
  value: string | number;
  at: ts.Node;
}

class Unresolved extends Error {
  constructor(readonly node: ts.Node, reason: string) {
    super(reason);
  }
}

const MAX_DEPTH = 20;

const stripped = (e: ts.Expression): ts.Expression => {
  let cur = e;
  while (ts.isParenthesizedExpression(cur) || ts.isAsExpression(cur) || ts.isSatisfiesExpression(cur) || ts.isNonNullExpression(cur) || ts.isTypeAssertionExpression(cur)) cur = cur.expression;
  return cur;
};

const isConstDeclaration = (d: ts.VariableDeclaration): boolean => (ts.getCombinedNodeFlags(d) & ts.NodeFlags.Const) !== 0;

export function scanErrorCodes(program: ts.Program, isSource: (fileName: string) => boolean): ErrorCodeScan {
  const checker = program.getTypeChecker();
  const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile && isSource(f.fileName));
  const where = (node: ts.Node): string => {
    const sf = node.getSourceFile();
    return `${path.relative(process.cwd(), sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const symbolOf = (node: ts.Node): ts.Symbol | undefined => {
    const s = checker.getSymbolAtLocation(node);
    return s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  };

  const problems: string[] = [];
  const classes: ts.ClassDeclaration[] = [];
  const calls = new Map<ts.Symbol, ts.CallExpression[]>();
  const identifiers = new Map<string, ts.Identifier[]>();
  const news: ts.NewExpression[] = [];
  const heritage: ts.ExpressionWithTypeArguments[] = [];
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node) && node.name?.text === 'AppError') classes.push(node);
      if (ts.isNewExpression(node)) news.push(node);
      if (ts.isExpressionWithTypeArguments(node) && ts.isHeritageClause(node.parent)) heritage.push(node);
      if (ts.isCallExpression(node)) {
        const callee = symbolOf(node.expression);
        if (callee) calls.set(callee, calls.get(callee) ?? []).get(callee)?.push(node);
      }
      if (ts.isIdentifier(node)) identifiers.set(node.text, identifiers.get(node.text) ?? []).get(node.text)?.push(node);
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  const [appError] = classes;
  if (classes.length !== 1 || !appError?.name) return { sites: [], problems: [`expected one class AppError in the sources, found ${classes.length}`] };
  const appErrorSymbol = symbolOf(appError.name);
  const ctor = appError.members.find(ts.isConstructorDeclaration);
  const codeParam = ctor?.parameters[1];
  if (!appErrorSymbol || !codeParam) return { sites: [], problems: ['AppError has no constructor (status, code, …)'] };
  /** The declared type of AppError's `code` (the whole ErrorCode union): an expression of that type names no code by itself. */
  const anyCode = checker.getTypeAtLocation(codeParam);

  for (const h of heritage) {
    if (symbolOf(h.expression) === appErrorSymbol) problems.push(`${where(h)}: a subclass of AppError; the scan reads only \`new AppError(…)\``);
  }

  const literalValues = (expr: ts.Expression): Value[] | undefined => {
    const type = checker.getTypeAtLocation(expr);
    if (type === anyCode) return undefined;
    const parts = type.isUnion() ? type.types : [type];
    if (!parts.every((p) => p.isStringLiteral() || p.isNumberLiteral())) return undefined;
    return parts.map((p) => ({ value: (p as ts.LiteralType).value as string | number, at: expr }));
  };

  const functionSymbol = (fn: ts.SignatureDeclaration): ts.Symbol | undefined => {
    if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name) return symbolOf(fn.name);
    if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return symbolOf(fn.parent.name);
    return undefined;
  };

  /** A helper whose parameter carries a code is read at each call; passed around as a value, its calls cannot be found. */
  const callsOf = (fnSymbol: ts.Symbol, fn: ts.Node): ts.CallExpression[] => {
    for (const id of identifiers.get(fnSymbol.name) ?? []) {
      if (symbolOf(id) !== fnSymbol) continue;
      const parent = id.parent;
      const declared = parent === fn || ((ts.isFunctionDeclaration(parent) || ts.isMethodDeclaration(parent) || ts.isVariableDeclaration(parent)) && parent.name === id);
      const called = (ts.isCallExpression(parent) && parent.expression === id) || (ts.isPropertyAccessExpression(parent) && parent.name === id && ts.isCallExpression(parent.parent) && parent.parent.expression === parent);
      const moved = ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent) || ts.isImportClause(parent);
      if (!declared && !called && !moved) throw new Unresolved(id, `${fnSymbol.name} builds an AppError from its parameters and is used as a value here, so its codes cannot be read`);
    }
    return calls.get(fnSymbol) ?? [];
  };

  const objectLiteralOf = (e: ts.Expression): ts.ObjectLiteralExpression | undefined => {
    const inner = stripped(e);
    if (ts.isObjectLiteralExpression(inner)) return inner;
    if (!ts.isIdentifier(inner)) return undefined;
    const decl = symbolOf(inner)?.valueDeclaration;
    return decl && ts.isVariableDeclaration(decl) && isConstDeclaration(decl) && decl.initializer ? objectLiteralOf(decl.initializer) : undefined;
  };

  const propertyValues = (obj: ts.ObjectLiteralExpression, depth: number, name?: string): Value[] =>
    obj.properties.flatMap((p) => {
      if (!ts.isPropertyAssignment(p)) throw new Unresolved(p, 'a map entry that is not `key: value`');
      if (name !== undefined && p.name.getText() !== name) return [];
      return valuesOf(p.initializer, depth + 1);
    });

  function valuesOf(expr: ts.Expression, depth: number): Value[] {
    if (depth > MAX_DEPTH) throw new Unresolved(expr, 'too many helpers deep');
    const literal = literalValues(expr);
    if (literal) return literal;
    const e = stripped(expr);
    if (e !== expr) return valuesOf(e, depth + 1);
    if (ts.isConditionalExpression(e)) return [...valuesOf(e.whenTrue, depth + 1), ...valuesOf(e.whenFalse, depth + 1)];
    if (ts.isIdentifier(e)) {
      const decl = symbolOf(e)?.valueDeclaration;
      if (decl && ts.isParameter(decl) && ts.isFunctionLike(decl.parent)) {
        const fn = decl.parent;
        const index = fn.parameters.indexOf(decl);
        const fnSymbol = functionSymbol(fn);
        if (!fnSymbol) throw new Unresolved(e, `\`${e.text}\` is a parameter of a function that has no name to find its calls by`);
        return callsOf(fnSymbol, fn).flatMap((call) => {
          const arg = call.arguments[index];
          if (arg && ts.isSpreadElement(arg)) throw new Unresolved(arg, 'a spread argument');
          if (arg) return valuesOf(arg, depth + 1);
          if (decl.initializer) return valuesOf(decl.initializer, depth + 1);
          throw new Unresolved(call, `no argument for \`${e.text}\``);
        });
      }
      if (decl && ts.isVariableDeclaration(decl) && isConstDeclaration(decl) && decl.initializer) return valuesOf(decl.initializer, depth + 1);
    }
    if (ts.isElementAccessExpression(e)) {
      const obj = objectLiteralOf(e.expression);
      if (obj) return propertyValues(obj, depth);
    }
    if (ts.isPropertyAccessExpression(e)) {
      const obj = objectLiteralOf(e.expression);
      if (obj) return propertyValues(obj, depth, e.name.text);
    }
    throw new Unresolved(e, `cannot tell which value \`${e.getText()}\` has`);
  }

  const sites: ErrorCodeSite[] = [];
  for (const n of news) {
    if (symbolOf(n.expression) !== appErrorSymbol) continue;
    const [statusArg, codeArg] = n.arguments ?? [];
    try {
      if (!statusArg || !codeArg || ts.isSpreadElement(statusArg) || ts.isSpreadElement(codeArg)) throw new Unresolved(n, 'AppError without a plain status and code');
      const statuses = [...new Set(valuesOf(statusArg, 0).map((v) => v.value))];
      const codes = valuesOf(codeArg, 0);
      if (statuses.length > 1 && new Set(codes.map((c) => c.value)).size > 1) throw new Unresolved(n, 'both status and code vary: which status goes with which code is unknown');
      for (const status of statuses) if (typeof status !== 'number') throw new Unresolved(statusArg, 'a status that is not a number');
      for (const code of codes) if (typeof code.value !== 'string') throw new Unresolved(code.at, 'a code that is not a string');
      for (const code of codes) for (const status of statuses) sites.push({ code: code.value as string, status: status as number, where: where(code.at) });
    } catch (err) {
      if (!(err instanceof Unresolved)) throw err;
      problems.push(`${where(err.node)}: ${err.message} (new AppError at ${where(n)})`);
    }
  }
  return { sites, problems };
}

/**
 * A program over the project's `src/`, with the compiler options of its tsconfig.json. Packages are not loaded
 * (`noResolve`, no `types`): every code is written in src/, and the program is then a third of the size.
 */
export function sourceProgram(root: string): { program: ts.Program; isSource: (fileName: string) => boolean } {
  const configFile = ts.readConfigFile(path.join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent({ ...configFile.config, include: ['src'] }, ts.sys, root);
  const srcDir = `${path.join(root, 'src')}${path.sep}`;
  const options = { ...parsed.options, noResolve: true, types: [] };
  return { program: ts.createProgram(parsed.fileNames, options), isSource: (f) => path.resolve(f).startsWith(srcDir) };
}

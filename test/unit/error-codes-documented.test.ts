import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { scanErrorCodes, sourceProgram } from '../helpers/error-code-scan';
import type { ErrorCodeScan } from '../helpers/error-code-scan';
import { readmeErrorRows } from '../helpers/readme-error-codes';
import type { ReadmeRow } from '../helpers/readme-error-codes';

const ROOT = path.resolve(__dirname, '../..');

/** code → the statuses the source answers it with, sorted. */
function statusesByCode(scan: ErrorCodeScan): Map<string, number[]> {
  const by = new Map<string, Set<number>>();
  for (const s of scan.sites) by.set(s.code, (by.get(s.code) ?? new Set()).add(s.status));
  return new Map([...by].map(([code, set]) => [code, [...set].sort()]));
}

/** A program of in-memory files (absolute names) over the real standard library. */
function virtualProgram(files: Record<string, string>): ts.Program {
  const options: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile, directoryExists } = host;
  host.getSourceFile = (name, lang, ...rest) => (name in files ? ts.createSourceFile(name, files[name] ?? '', lang, true) : getSourceFile.call(host, name, lang, ...rest));
  host.fileExists = (name) => name in files || fileExists.call(host, name);
  host.readFile = (name) => files[name] ?? readFile.call(host, name);
  host.directoryExists = (dir) => Object.keys(files).some((f) => f.startsWith(`${dir}/`)) || (directoryExists?.call(host, dir) ?? true);
  return ts.createProgram(Object.keys(files), options, host);
}

describe('README "Error codes" and the codes the source answers', function () {
  // One type-checked program over src/ (a few seconds).
  this.timeout(60_000);
  let scan: ErrorCodeScan;
  let rows: ReadmeRow[];
  before(() => {
    const { program, isSource } = sourceProgram(ROOT);
    scan = scanErrorCodes(program, isSource);
    rows = readmeErrorRows(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  });

  it('reads every `new AppError` in src/ (no code it cannot trace to a literal)', () => {
    expect(scan.problems).to.deep.equal([]);
    expect(scan.sites.length).to.be.greaterThan(50);
    expect(scan.sites.map((s) => s.code)).to.include.members(['VALIDATION_ERROR', 'DEPENDENCY_UNAVAILABLE', 'SQL_NOT_READ_ONLY', 'DAILY_QUOTA_EXCEEDED', 'TENANT_NOT_FOUND']);
  });

  it('has a row for every code src/ can answer', () => {
    const documented = new Set(rows.map((r) => r.code));
    const missing = [...statusesByCode(scan)].filter(([code]) => !documented.has(code))
      .map(([code, statuses]) => `${statuses.join('/')} ${code} (${scan.sites.filter((s) => s.code === code).map((s) => s.where).join(', ')})`);
    expect(missing, 'codes the source answers that README "Error codes" lacks').to.deep.equal([]);
  });

  it('has no row for a code src/ no longer answers, and one row per code', () => {
    const answered = statusesByCode(scan);
    expect(rows.filter((r) => !answered.has(r.code)).map((r) => `README.md:${r.line} ${r.code}`), 'rows whose code no source answers').to.deep.equal([]);
    const seen = new Set<string>();
    expect(rows.filter((r) => seen.size === seen.add(r.code).size).map((r) => `README.md:${r.line} ${r.code}`), 'codes with two rows').to.deep.equal([]);
  });

  it('gives each HTTP row exactly the statuses the source answers its code with', () => {
    const answered = statusesByCode(scan);
    const wrong = rows.filter((r) => r.statuses !== null && answered.has(r.code) && r.statuses.join() !== answered.get(r.code)?.join())
      .map((r) => `README.md:${r.line} ${r.code}: README ${r.statuses?.join('/')}, source ${answered.get(r.code)?.join('/')}`);
    expect(wrong).to.deep.equal([]);
  });
});

describe('the error-code scan', () => {
  const dir = path.join(ROOT, 'virtual-src');
  const file = (name: string): string => path.join(dir, name);
  const ERRORS = `
    export type ErrorCode = 'TEAPOT' | 'X_NOT_FOUND' | 'MAP_A' | 'MAP_B' | 'IF_A' | 'IF_B' | 'CONST_CODE' | 'PICKED' | 'OTHER' | 'LOOSE';
    export class AppError extends Error {
      constructor(readonly status: number, readonly code: ErrorCode, detail: string) { super(detail); }
    }
    export const notFound = (code: ErrorCode, detail: string): AppError => new AppError(404, code, detail);
    export function withStatus(status: number, detail: string): AppError { return new AppError(status, 'OTHER', detail); }
  `;
  const scanOf = (source: string): ErrorCodeScan => {
    const program = virtualProgram({ [file('errors.ts')]: ERRORS, [file('a.ts')]: source });
    return scanErrorCodes(program, (f) => f.startsWith(dir));
  };
  const found = (s: ErrorCodeScan): string[] => s.sites.map((x) => `${x.status} ${x.code} ${x.where}`).sort();

  it('finds literal codes, helper calls, constants, conditionals and map entries, each where it is written', () => {
    const s = scanOf(`
      import { AppError, notFound, withStatus } from './errors';
      import type { ErrorCode } from './errors';
      const CODES: Record<'a' | 'b', ErrorCode> = { a: 'MAP_A', b: 'MAP_B' };
      const CONST: ErrorCode = 'CONST_CODE';
      const pick = (code: 'PICKED'): AppError => new AppError(409, code, 'x');
      export function f(k: 'a' | 'b', flag: boolean): AppError[] {
        return [
          new AppError(418, 'TEAPOT', 'x'),
          notFound('X_NOT_FOUND', 'y'),
          new AppError(422, CODES[k], 'z'),
          new AppError(400, flag ? 'IF_A' : 'IF_B', 'w'),
          new AppError(500, CONST, 'v'),
          pick('PICKED'),
          withStatus(401, 'u'),
          withStatus(403, 'u'),
        ];
      }
    `);
    expect(s.problems).to.deep.equal([]);
    expect(found(s)).to.deep.equal([
      '400 IF_A virtual-src/a.ts:12', '400 IF_B virtual-src/a.ts:12', '401 OTHER virtual-src/errors.ts:7', '403 OTHER virtual-src/errors.ts:7',
      '404 X_NOT_FOUND virtual-src/a.ts:10', '409 PICKED virtual-src/a.ts:6', '418 TEAPOT virtual-src/a.ts:9', '422 MAP_A virtual-src/a.ts:4',
      '422 MAP_B virtual-src/a.ts:4', '500 CONST_CODE virtual-src/a.ts:5',
    ].sort());
  });

  it('names the place of a code it cannot trace, instead of skipping it', () => {
    const s = scanOf(`
      import { AppError, notFound } from './errors';
      import type { ErrorCode } from './errors';
      const make = (code: ErrorCode): AppError => new AppError(400, code, 'x');
      export function f(loose: ErrorCode, some: ErrorCode[]): AppError[] {
        let code: ErrorCode = 'LOOSE';
        code = loose;
        return [new AppError(400, code, 'x'), ...['X_NOT_FOUND', 'OTHER'].map((c) => notFound(c as ErrorCode, 'y')), ...some.map(make)];
      }
    `);
    expect(s.sites).to.deep.equal([]);
    expect(s.problems.sort()).to.deep.equal([
      'virtual-src/a.ts:8: `c` is a parameter of a function that has no name to find its calls by (new AppError at virtual-src/errors.ts:6)',
      'virtual-src/a.ts:8: cannot tell which value `code` has (new AppError at virtual-src/a.ts:8)',
      'virtual-src/a.ts:8: make builds an AppError from its parameters and is used as a value here, so its codes cannot be read (new AppError at virtual-src/a.ts:4)',
    ]);
  });
});

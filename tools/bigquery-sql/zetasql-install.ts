import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Where the ZetaSQL tool lives and how it gets there. The npm package `@fivetrandevelopers/zetasql` ships
 * the GoogleSQL analyzer as a server binary for four platforms (about 350 MB installed), so it is a
 * package of its own in `tools/zetasql` (own lockfile, node_modules git-ignored) instead of a dependency
 * every `npm install` would download.
 */
export const TOOL_DIR = path.resolve(__dirname, '..', 'zetasql');
export const PACKAGE_DIR = path.join(TOOL_DIR, 'node_modules', '@fivetrandevelopers', 'zetasql');

export const isZetaSqlInstalled = (): boolean => fs.existsSync(path.join(PACKAGE_DIR, 'package.json'));

/** Installs the locked version (`npm ci` in tools/zetasql); output goes to stderr so stdout stays a report. */
export function installZetaSql(): void {
  process.stderr.write('zetasql: installing tools/zetasql (npm ci, one time, ~350 MB)…\n');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: TOOL_DIR, stdio: ['ignore', process.stderr, process.stderr] });
}

/** The server binary for this platform, as the package's own launcher picks it. */
export function serverBinary(): string {
  const arm = process.arch.startsWith('arm') ? '_arm' : '';
  const suffix = process.platform === 'darwin' ? '' : '.so';
  return path.join(PACKAGE_DIR, 'lib', 'zetasql', `remote_server${arm}${suffix}`);
}

import { BigQueryAnalyzer } from './analyzer';
import { isZetaSqlInstalled } from './zetasql-install';

/**
 * The analyzer a test run shares: one ZetaSQL server per process, started on first use.
 *
 * `ZETASQL_ANALYSIS` decides what happens when the tool is not installed (tools/zetasql is a separate
 * install, see README):
 *  - `auto` (default): analyze when installed; otherwise print one notice and run without analysis;
 *  - `required` (CI): a missing or broken install fails the run;
 *  - `off`: never analyze (e.g. to time the local BigQuery server without it).
 */
export type AnalysisMode = 'auto' | 'required' | 'off';

export function analysisMode(env: NodeJS.ProcessEnv = process.env): AnalysisMode {
  const value = (env['ZETASQL_ANALYSIS'] ?? 'auto').toLowerCase();
  if (value === 'auto' || value === 'required' || value === 'off') return value;
  throw new Error(`ZETASQL_ANALYSIS must be auto, required or off (got "${value}")`);
}

let shared: Promise<BigQueryAnalyzer | null> | null = null;

export function sharedAnalyzer(): Promise<BigQueryAnalyzer | null> {
  shared ??= startShared(analysisMode());
  return shared;
}

async function startShared(mode: AnalysisMode): Promise<BigQueryAnalyzer | null> {
  if (mode === 'off') return null;
  if (!isZetaSqlInstalled()) {
    if (mode === 'required') throw new Error('ZETASQL_ANALYSIS=required but tools/zetasql is not installed: run `npm run zetasql:install`');
    notice('not installed, so BigQuery SQL sent to the local BigQuery server is not analyzed in this run (install: npm run zetasql:install)');
    return null;
  }
  try {
    return await BigQueryAnalyzer.start();
  } catch (err) {
    if (mode === 'required') throw err;
    notice(`cannot start (${err instanceof Error ? err.message : String(err)}), so BigQuery SQL is not analyzed in this run`);
    return null;
  }
}

function notice(text: string): void {
  process.stderr.write(`zetasql: ${text}\n`);
}

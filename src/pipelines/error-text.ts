import { WarehouseError } from '../warehouse/types';
import type { RenderContext } from './render';
import { isUtcDay } from '../shared/clock';

/**
 * The one place an error becomes text a tenant reads: a step's error_message (step logs, GET run), the
 * run's error_message and the problems of POST /pipelines/validate all pass through tenantErrorText.
 *
 * Engine messages are the tenant's own SQL and tables, except for the engines' spelling help: DuckDB
 * answers a missing table with `Did you mean "beta_inc.gcp_billing_export_v1"?` — the nearest table in
 * the whole file, usually another tenant's — and lists `Candidate tables/bindings`; BigQuery adds
 * `Did you mean …?` too. Those suggestions are dropped. A missing source table gets a message that
 * names the tenant's own table and says how to fill it.
 */

const SUGGESTION = /[ \t]*[;,.]?[ \t]*(?:Did you mean\b[^\n?]*\??|Candidate (?:tables|bindings|functions)\b[^\n]*)/gi;

/** Removes the engine's guesses at what was meant; they can name any table of the warehouse. */
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, '').replace(/\n{3,}/g, '\n\n').trim();

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** `dataset.table` (or `project.dataset.table`) of the run's source table, when the template has one. */
function missingSourceTable(err: unknown, render: RenderContext | undefined): string | null {
  const source = render?.['source_table'];
  if (!source || !(err instanceof WarehouseError) || err.reason !== 'not_found') return null;
  const table = source.split('.').pop() ?? '';
  // The engines name the missing table on the first line (DuckDB "Table with name t does not exist!", BigQuery
  // "Not found: Table p:d.t …"); later lines quote the SQL, which mentions every table it reads.
  const headline = withoutSuggestions(err.message).split('\n')[0] ?? '';
  // Table names are [A-Za-z0-9_] (allow-listed before rendering), so they are safe inside a pattern.
  return table !== '' && new RegExp(`\\b${table}\\b`).test(headline) ? source : null;
}

/** The run's `date` parameter (the day a billing template reads), for the missing-table advice. */
export const runDayOf = (params: Record<string, unknown>): string | undefined => (typeof params['date'] === 'string' ? params['date'] : undefined);

/**
 * `runDay`: the run's `date` parameter, when it has one; the sample-data calls then load the days up to it
 * (sample data otherwise ends yesterday, so the guide's `2025-11-14` would still find no rows).
 */
export function tenantErrorText(err: unknown, render?: RenderContext, runDay?: string): string {
  const source = missingSourceTable(err, render);
  if (source !== null) {
    const tenantId = render?.['tenant_id'] ?? '{tenant_id}';
    const day = runDay !== undefined && isUtcDay(runDay) ? runDay : undefined;
    const body = day ? ` with {"end_date": "${day}"}` : '';
    const flag = day ? ` --end-date ${day}` : '';
    return (
      `Source table ${source} does not exist. Load billing export rows into it, or point billing_export_table in the ` +
      `tenant's gcp provider settings at an existing table. Sample data for ${tenantId}.gcp_billing_export_v1` +
      `${day ? ` ending on the run's date ${day}` : ''}: POST /api/v1/admin/tenants/${tenantId}/sample-data${body} (admin) ` +
      `or npm run sample-data -- --tenant ${tenantId}${flag}`
    );
  }
  return withoutSuggestions(errorMessage(err));
}

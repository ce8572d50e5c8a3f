import fs from 'node:fs';
import path from 'node:path';
import { parameterTypes } from '../../src/pipelines/parameters';
import { buildRenderContext, renderText } from '../../src/pipelines/render';
import { billingExportSpec } from '../../src/pipelines/sample-billing';
import { sqlParamNames } from '../../src/pipelines/sql-scan';
import { stepSql } from '../../src/pipelines/steps/query';
import type { Template } from '../../src/pipelines/types';
import type { SchemaField } from '../../src/warehouse/bigquery-values';
import { STANDARD_EXPORT_REF } from './billing-export-schema';
import { columnsAsFields, restParameterType, scalarType } from './catalog';
import type { RestParameterType } from './catalog';
import type { Recorded } from './drive';
import { GUIDE_SQL } from './guide-sql';
import type { NamedType } from './protos';
import { tableDdl } from './table-ddl';
import type { TableInsertBody } from './table-ddl';

/** One statement to analyze, with where it came from and what else it must satisfy. */
export interface Statement {
  source: string;
  sql: string;
  parameters: NamedType[];
  /** BigQuery rules it breaks that ZetaSQL does not check (table layout). */
  problems?: string[];
  /** The result columns it must produce (the flat billing view must give the layout the templates read). */
  expectColumns?: SchemaField[];
}

interface RestParameter {
  name?: string;
  parameterType?: RestParameterType;
}

const named = (list: RestParameter[] | undefined): NamedType[] =>
  (list ?? []).map((p) => ({ name: p.name ?? '', type: restParameterType(p.parameterType ?? {}) }));

/** Every query, dry run and tables.insert the drive recorded, as statements. */
export function recordedStatements(recorded: Recorded[]): Statement[] {
  const out: Statement[] = [];
  for (const { source, request } of recorded) {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (request.kind === 'queryJobs') {
      const configuration = (body['configuration'] ?? {}) as { query?: { query?: string; queryParameters?: RestParameter[] }; dryRun?: boolean };
      const sql = configuration.query?.query;
      if (sql) out.push({ source: configuration.dryRun ? `${source} [dry run]` : source, sql, parameters: named(configuration.query?.queryParameters) });
    } else if (request.kind === 'jobsQuery') {
      const sql = body['query'];
      if (typeof sql === 'string') out.push({ source, sql, parameters: named(body['queryParameters'] as RestParameter[] | undefined) });
    } else if (request.kind === 'tablesInsert') {
      const dataset = /\/datasets\/([^/]+)\/tables$/.exec(request.path)?.[1] ?? '';
      const ddl = tableDdl(dataset, body as TableInsertBody);
      out.push({ source: `${source} [tables.insert as CREATE TABLE]`, sql: ddl.sql, parameters: [], problems: ddl.problems });
    }
  }
  return out;
}

const REPO = path.resolve(__dirname, '..', '..');
export const FLAT_VIEW_FILE = path.join(REPO, 'configs', 'gcp', 'billing_export_flat_view.sql');

/** Statements taken from files rather than from a run: templates as written, the flat view, the guide. */
export function staticStatements(tenantId: string, templates: Template[]): Statement[] {
  const out: Statement[] = [];
  for (const template of templates) {
    const where = `${template.provider}/${template.domain}/${template.name}`;
    const ctx = buildRenderContext(template, { tenantId, provider: template.provider, domain: template.domain, templateName: template.name, pipelineLoggingId: '00000000-0000-4000-8000-000000000000' });
    const types = parameterTypes(template);
    const typed = (sql: string): NamedType[] => sqlParamNames(sql).map((name) => ({ name, type: scalarType(types[name] ?? 'STRING') }));
    for (const step of template.steps) {
      const texts = step.type === 'query' ? [stepSql(step, 'bigquery')] : step.type === 'data_quality' ? step.checks.flatMap((c) => (c.type === 'custom' ? [c.sql] : [])) : [];
      for (const text of texts) {
        const sql = renderText(text, ctx);
        out.push({ source: `template ${where} as written (BigQuery text, declared parameters typed)`, sql, parameters: typed(sql) });
      }
    }
  }
  const view = fs
    .readFileSync(FLAT_VIEW_FILE, 'utf8')
    .replace(/<tenant_id>/g, tenantId)
    .replace(/<billing_project>/g, STANDARD_EXPORT_REF.project)
    .replace(/<billing_dataset>/g, STANDARD_EXPORT_REF.dataset)
    .replace(/gcp_billing_export_v1_<BILLING_ACCOUNT_ID>/g, STANDARD_EXPORT_REF.table);
  out.push({ source: 'configs/gcp/billing_export_flat_view.sql over the standard billing export', sql: view, parameters: [], expectColumns: columnsAsFields(billingExportSpec.columns) });
  for (const g of GUIDE_SQL) out.push({ source: `user guide ${g.where}`, sql: g.sql, parameters: [] });
  return out;
}

/** One statement per distinct text and parameter types; the first source that produced it names it. */
export function distinct(statements: Statement[]): Statement[] {
  const seen = new Map<string, Statement>();
  for (const s of statements) {
    const key = `${s.sql}\u0000${JSON.stringify([...s.parameters].sort((a, b) => a.name.localeCompare(b.name)))}`;
    if (!seen.has(key)) seen.set(key, s);
  }
  return [...seen.values()];
}

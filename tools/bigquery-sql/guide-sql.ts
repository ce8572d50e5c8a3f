import fs from 'node:fs';
import path from 'node:path';

/**
 * Every SQL statement of the user guide (practical-guides.md), verbatim: the ```sql blocks and the
 * `bq query "…"` commands. The guide lives outside this repository (../shared/seed/ beside it), so the
 * check keeps this copy and test/unit/guide-sql-copy.test.ts fails when the copy and the guide drift
 * apart (where the guide is present; elsewhere that test is pending, never silently passing).
 */
export interface GuideStatement {
  where: string;
  sql: string;
}

export const GUIDE_SQL: GuideStatement[] = [
  {
    where: '§3 step 4, pipeline runs',
    sql: 'SELECT pipeline_logging_id, pipeline_id, tenant_id, user_id, status, start_time, duration_ms\nFROM `acme_corp.x_meta_pipeline_runs`\nORDER BY start_time DESC LIMIT 10',
  },
  {
    where: '§3 step 4, step logs',
    sql: "SELECT pipeline_logging_id, step_name, status, rows_processed, duration_ms\nFROM `acme_corp.x_meta_step_logs`\nWHERE pipeline_logging_id = 'f47ac10b...'\nORDER BY start_time",
  },
  {
    where: '§4 quota, query directly',
    sql: "SELECT tenant_id, pipelines_run_today, daily_limit,\n       (daily_limit - pipelines_run_today) as remaining\nFROM `tenants.tenant_usage_quotas`\nWHERE tenant_id = 'acme_corp' AND usage_date = CURRENT_DATE()",
  },
  { where: 'troubleshooting 401, bq query', sql: "SELECT tenant_id, is_active FROM tenants.tenant_api_keys WHERE tenant_id='acme_corp'" },
  {
    where: 'troubleshooting 429, bq query',
    sql: "SELECT pipelines_run_today, daily_limit FROM tenants.tenant_usage_quotas\n          WHERE tenant_id='acme_corp' AND usage_date=CURRENT_DATE()",
  },
];

/** The SQL statements a guide in markdown contains, in order. */
export function guideSqlIn(markdown: string): string[] {
  const found: Array<{ at: number; sql: string }> = [];
  for (const m of markdown.matchAll(/```sql\n([\s\S]*?)\n```/g)) found.push({ at: m.index ?? 0, sql: m[1] ?? '' });
  for (const m of markdown.matchAll(/\bbq query "([^"]*)"/g)) found.push({ at: m.index ?? 0, sql: m[1] ?? '' });
  return found.sort((a, b) => a.at - b.at).map((f) => f.sql);
}

/** The guide beside the repository (GUIDE_PATH overrides), or null where it is not on this machine. */
export function findGuide(env: NodeJS.ProcessEnv = process.env): string | null {
  const repo = path.resolve(__dirname, '..', '..');
  const candidates = [env['GUIDE_PATH'], path.join(repo, '..', 'shared', 'seed', 'practical-guides.md'), path.join(repo, '..', '..', 'shared', 'seed', 'practical-guides.md')];
  return candidates.find((p): p is string => p !== undefined && p !== '' && fs.existsSync(p)) ?? null;
}

import { AppError } from '../shared/errors';
import { AUDIT_LOG_TABLE, CENTRAL_DATASET } from '../warehouse/tables';
import type { ColumnType, QueryParams, Row, Warehouse } from '../warehouse/types';
import type { AuditAction, AuditOutcome } from './actions';
import type { AuditRow } from './audit-log';

export interface AuditFilters {
  tenantId?: string;
  action?: AuditAction;
  actor?: string;
  outcome?: AuditOutcome;
  /** Inclusive lower bound on event_time. */
  from?: Date;
  /** Exclusive upper bound on event_time. */
  to?: Date;
  limit: number;
  cursor?: string;
}

/** One page, newest first (event_time, then audit_id, both descending); `nextCursor` continues after its last row. */
export interface AuditPage {
  entries: AuditRow[];
  nextCursor: string | null;
}

export const AUDIT_PAGE_MAX = 500;

/**
 * One statement for every combination of filters: an absent filter is a NULL parameter, so the text never
 * changes (nothing is spliced, and the BigQuery SQL check analyzes exactly what runs). Rows a retried flush
 * repeated share their audit_id and are read once.
 */
export const AUDIT_LIST_SQL = [
  'SELECT audit_id, event_time, actor, key_id, user_id, request_id, tenant_id, action, target, outcome, outcome_code, http_status, source_ip, details',
  `FROM \`${CENTRAL_DATASET}.${AUDIT_LOG_TABLE}\``,
  'WHERE (@tenant_id IS NULL OR tenant_id = @tenant_id)',
  '  AND (@action IS NULL OR action = @action)',
  '  AND (@actor IS NULL OR actor = @actor)',
  '  AND (@outcome IS NULL OR outcome = @outcome)',
  '  AND (@from_time IS NULL OR event_time >= @from_time)',
  '  AND (@to_time IS NULL OR event_time < @to_time)',
  '  AND (@cursor_time IS NULL OR event_time < @cursor_time OR (event_time = @cursor_time AND audit_id < @cursor_id))',
  'QUALIFY ROW_NUMBER() OVER (PARTITION BY audit_id ORDER BY event_time) = 1',
  'ORDER BY event_time DESC, audit_id DESC',
  'LIMIT @row_limit',
].join('\n');

const PARAM_TYPES: Record<string, ColumnType> = {
  tenant_id: 'STRING',
  action: 'STRING',
  actor: 'STRING',
  outcome: 'STRING',
  from_time: 'TIMESTAMP',
  to_time: 'TIMESTAMP',
  cursor_time: 'TIMESTAMP',
  cursor_id: 'STRING',
  row_limit: 'INT64',
};

const encodeCursor = (row: AuditRow): string => Buffer.from(JSON.stringify([row.event_time, row.audit_id])).toString('base64url');

function decodeCursor(cursor: string): [Date, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string' && !Number.isNaN(Date.parse(value[0]))) {
      return [new Date(value[0]), value[1]];
    }
  } catch {
    // fall through
  }
  throw new AppError(422, 'VALIDATION_ERROR', 'Invalid cursor', { errors: [{ field: 'cursor', message: 'is not a cursor this API returned' }] });
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function rowOf(r: Row): AuditRow {
  const time = r['event_time'];
  return {
    audit_id: String(r['audit_id']),
    event_time: time instanceof Date ? time.toISOString() : new Date(String(time)).toISOString(),
    actor: String(r['actor']),
    key_id: text(r['key_id']),
    user_id: text(r['user_id']),
    request_id: text(r['request_id']),
    tenant_id: text(r['tenant_id']),
    action: String(r['action']),
    target: text(r['target']),
    outcome: String(r['outcome']),
    outcome_code: text(r['outcome_code']),
    http_status: r['http_status'] === null || r['http_status'] === undefined ? null : Number(r['http_status']),
    source_ip: text(r['source_ip']),
    details: (r['details'] ?? null) as Record<string, unknown> | null,
  };
}

/** Reads a page of the audit log through the warehouse adapter, every value a parameter. */
export async function listAudit(warehouse: Warehouse, filters: AuditFilters): Promise<AuditPage> {
  const limit = Math.min(Math.max(1, filters.limit), AUDIT_PAGE_MAX);
  const cursor = filters.cursor ? decodeCursor(filters.cursor) : null;
  const params: QueryParams = {
    tenant_id: filters.tenantId ?? null,
    action: filters.action ?? null,
    actor: filters.actor ?? null,
    outcome: filters.outcome ?? null,
    from_time: filters.from ?? null,
    to_time: filters.to ?? null,
    cursor_time: cursor?.[0] ?? null,
    cursor_id: cursor?.[1] ?? null,
    row_limit: limit + 1,
  };
  const { rows } = await warehouse.query(AUDIT_LIST_SQL, { params, paramTypes: PARAM_TYPES });
  const entries = rows.slice(0, limit).map(rowOf);
  const last = entries[entries.length - 1];
  return { entries, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

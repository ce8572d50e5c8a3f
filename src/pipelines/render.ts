import { AppError } from '../shared/errors';
import { PATH_SEGMENT_PATTERN, TENANT_ID_PATTERN, UUID_PATTERN, pipelineIdOf } from '../shared/ids';
import { ResolvedTable } from '../warehouse/tenant-table';
import { placeholderNames, replacePlaceholders } from './sql-scan';
import type { Template } from './types';

/**
 * Text substitution of SPEC §7. Only identity values and template constants are substituted, each
 * checked against an allow-list first; run parameters never pass through here (they are bound).
 */
export const BUILTIN_PLACEHOLDERS = ['tenant_id', 'pipeline_id', 'pipeline_logging_id', 'provider', 'domain', 'template_name'] as const;

/**
 * Variables a caller (the worker, from tenant provider settings) may override per run. Each is a table
 * reference and only a ResolvedTable is accepted — made by resolveTenantTable for this run's tenant —
 * so a tenant-supplied string can never reach SQL text unchecked (a type error, and a run-time refusal).
 */
export const CONTEXT_OVERRIDABLE = ['source_table'] as const;
export type RenderOverrides = Partial<Record<(typeof CONTEXT_OVERRIDABLE)[number], ResolvedTable>>;

/** What a variable's rendered value may contain: no quotes, backticks, semicolons, braces, `@` or comments. */
const SAFE_TEXT = /^[A-Za-z0-9 _.,:/-]*$/;
export const TABLE_NAME_PATTERN = /^[A-Za-z0-9_]{1,1024}$/;

export interface RunIdentity {
  tenantId: string;
  provider: string;
  domain: string;
  templateName: string;
  pipelineLoggingId: string;
}

export type RenderContext = Readonly<Record<string, string>>;

const renderError = (message: string): AppError => new AppError(422, 'VALIDATION_ERROR', message, { errors: [{ field: 'template', message }] });

function checkIdentity(id: RunIdentity): void {
  if (!TENANT_ID_PATTERN.test(id.tenantId)) throw renderError(`tenant_id "${id.tenantId}" is not a valid identifier`);
  for (const [k, v] of [['provider', id.provider], ['domain', id.domain], ['template_name', id.templateName]] as const) {
    if (!PATH_SEGMENT_PATTERN.test(v)) throw renderError(`${k} "${v}" is not a valid identifier`);
  }
  if (!UUID_PATTERN.test(id.pipelineLoggingId)) throw renderError('pipeline_logging_id is not a UUID v4');
}

/** The text of an override, if it is a reference resolved for this tenant; anything else is refused. */
function overrideText(name: string, value: unknown, tenantId: string): string {
  if (!(CONTEXT_OVERRIDABLE as readonly string[]).includes(name)) throw renderError(`${name} cannot be overridden`);
  if (!ResolvedTable.isResolved(value)) throw renderError(`${name} is not a table reference resolved by the platform`);
  if (value.tenantId !== tenantId) throw renderError(`${name} was resolved for another tenant`);
  return value.sqlReference;
}

/** Builds the placeholder values of one run: builtins, then template variables (which may use builtins), then overrides. */
export function buildRenderContext(template: Template, identity: RunIdentity, overrides: RenderOverrides = {}): RenderContext {
  checkIdentity(identity);
  const builtins: Record<string, string> = {
    tenant_id: identity.tenantId,
    pipeline_id: pipelineIdOf(identity.tenantId, identity.provider, identity.domain, identity.templateName),
    pipeline_logging_id: identity.pipelineLoggingId,
    provider: identity.provider,
    domain: identity.domain,
    template_name: identity.templateName,
  };
  const ctx: Record<string, string> = { ...builtins };
  for (const [name, raw] of Object.entries(template.variables)) {
    const value = replacePlaceholders(raw, builtins);
    if (!SAFE_TEXT.test(value)) throw renderError(`variable "${name}" renders to unsafe text`);
    ctx[name] = value;
  }
  for (const [name, value] of Object.entries(overrides) as [string, unknown][]) {
    if (value === undefined) continue;
    const text = overrideText(name, value, identity.tenantId);
    if (name in template.variables) ctx[name] = text; // else the template does not use it
  }
  return ctx;
}

/** Substitutes placeholders; an unknown one is an error (the registry already rejects them at load). */
export function renderText(text: string, ctx: RenderContext): string {
  const unknown = placeholderNames(text).filter((n) => !(n in ctx));
  if (unknown.length > 0) throw renderError(`unknown placeholder {${unknown.join('}, {')}}`);
  return replacePlaceholders(text, ctx);
}

/** Renders a table name (destination or checked table) and checks the result is a plain identifier. */
export function renderTableName(text: string, ctx: RenderContext): string {
  const name = renderText(text, ctx);
  if (!TABLE_NAME_PATTERN.test(name)) throw renderError(`table name "${name}" is not a valid identifier`);
  return name;
}

/** Names every placeholder a template could ever use, for load-time checks. */
export const knownPlaceholders = (template: Pick<Template, 'variables'>): Set<string> =>
  new Set<string>([...BUILTIN_PLACEHOLDERS, ...Object.keys(template.variables)]);

import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { AppError } from '../shared/errors';
import { PATH_SEGMENT_PATTERN } from '../shared/ids';
import { templateSchema } from './template-schema';
import { templateProblems } from './template-checks';
import type { ParameterDecl, Template, TemplateSummary } from './types';

/**
 * Loads every `configs/{provider}/{domain}/{name}.yml` once at boot. A broken template stops the
 * load with its file and the offending key named, so a bad deploy fails fast rather than at run time.
 */
export interface TemplateRegistry {
  get(provider: string, domain: string, name: string): Template | undefined;
  list(): TemplateSummary[];
}

export const templateError = (file: string, key: string, message: string): AppError =>
  new AppError(500, 'TEMPLATE_INVALID', `${file}: ${key ? `${key}: ` : ''}${message}`, { expose: false, extra: { file, key } });

/** The one 404 for a template path no file answers (trigger, validate, schedules). */
export const templateNotFound = (provider: string, domain: string, name: string): AppError =>
  new AppError(404, 'TEMPLATE_NOT_FOUND', `Template not found: configs/${provider}/${domain}/${name}.yml`);

interface TemplateLocation {
  provider: string;
  domain: string;
  name: string;
  file: string;
}

/** Parses and validates one template text; throws TEMPLATE_INVALID naming file and key. */
export function parseTemplate(text: string, where: TemplateLocation): Template {
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw templateError(where.file, '', `YAML syntax error: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw templateError(where.file, '', 'a template must be a YAML mapping');
  const { value, error } = templateSchema.validate(doc);
  if (error) {
    const detail = error.details[0];
    throw templateError(where.file, detail ? detail.path.join('.') : '', detail?.message ?? error.message);
  }
  const raw = value as Omit<Template, 'provider' | 'domain' | 'name' | 'file' | 'parameters' | 'variables' | 'version'> & {
    version: string | number;
    parameters: Record<string, Omit<ParameterDecl, 'name'>>;
    variables: Record<string, string | number>;
  };
  const template: Template = {
    ...raw,
    ...where,
    version: String(raw.version),
    parameters: Object.entries(raw.parameters).map(([name, decl]) => ({ name, ...decl })),
    variables: Object.fromEntries(Object.entries(raw.variables).map(([k, v]) => [k, String(v)])),
  };
  const problem = templateProblems(template)[0];
  if (problem) throw templateError(where.file, problem.key, problem.message);
  return template;
}

export function loadTemplateFile(file: string, provider: string, domain: string, name: string): Template {
  return parseTemplate(fs.readFileSync(file, 'utf8'), { provider, domain, name, file });
}

const subdirs = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

/** Walks `configsDir/{provider}/{domain}/*.yml`; files elsewhere (plans.yml) are not templates. */
export function loadTemplateRegistry(configsDir: string): TemplateRegistry {
  const templates = new Map<string, Template>();
  for (const provider of subdirs(configsDir)) {
    for (const domain of subdirs(path.join(configsDir, provider))) {
      const dir = path.join(configsDir, provider, domain);
      for (const entry of fs.readdirSync(dir).sort()) {
        const m = /^(.+)\.ya?ml$/.exec(entry);
        if (!m) continue;
        const file = path.join(dir, entry);
        const name = m[1] ?? '';
        for (const [what, seg] of [['provider', provider], ['domain', domain], ['template name', name]] as const) {
          if (!PATH_SEGMENT_PATTERN.test(seg)) throw templateError(file, '', `${what} "${seg}" must match ${PATH_SEGMENT_PATTERN.source}`);
        }
        const key = registryKey(provider, domain, name);
        if (templates.has(key)) throw templateError(file, '', `duplicate template ${provider}/${domain}/${name}`);
        templates.set(key, loadTemplateFile(file, provider, domain, name));
      }
    }
  }
  return createTemplateRegistry([...templates.values()]);
}

const registryKey = (provider: string, domain: string, name: string): string => `${provider}/${domain}/${name}`.toLowerCase();

export function createTemplateRegistry(templates: Template[]): TemplateRegistry {
  const byKey = new Map(templates.map((t) => [registryKey(t.provider, t.domain, t.name), t]));
  const summaries = templates.map(summarize).sort((a, b) => registryKey(a.provider, a.domain, a.name).localeCompare(registryKey(b.provider, b.domain, b.name)));
  return {
    get: (provider, domain, name) => byKey.get(registryKey(provider, domain, name)),
    list: () => summaries.map((s) => ({ ...s, parameters: s.parameters.map((p) => ({ ...p })) })),
  };
}

function summarize(t: Template): TemplateSummary {
  return {
    provider: t.provider,
    domain: t.domain,
    name: t.name,
    description: t.description,
    version: t.version,
    parameters: t.parameters.map((p) => ({
      name: p.name,
      type: p.type,
      required: p.required,
      default: p.default,
      ...(p.values ? { values: p.values } : {}),
      ...(p.description ? { description: p.description } : {}),
    })),
  };
}

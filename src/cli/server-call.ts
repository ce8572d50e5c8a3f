import fs from 'node:fs';
import type { Config } from '../config';
import { localUrl, readServerState, serverStatePath } from '../api/server-state';
import { isDuckDbLockError } from '../warehouse/duckdb-lock';

/**
 * How the operator CLIs reach a running server. DuckDB allows one process per file, so while the server
 * runs they must go through its admin endpoints; the server records its address in DATA_DIR/server.json,
 * so a server on another PORT is found too. No server answering: the CLI opens the warehouse itself.
 */
export interface ServerAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface ServerCall {
  url: string;
  answer: ServerAnswer;
}

/** The address to try: the one the running server recorded, else HOST:PORT of this configuration. */
export const serverUrl = (config: Config): string => readServerState(config.dataDir)?.url ?? localUrl(config.host, config.port);

const adminKeyOf = (config: Config): string =>
  config.auth.adminApiKey ?? (fs.existsSync(config.auth.adminKeyPath) ? fs.readFileSync(config.auth.adminKeyPath, 'utf8').trim() : '');

/** POSTs an admin call to the running server; null when no server answers there. */
export async function postToServer(config: Config, apiPath: string, body: unknown): Promise<ServerCall | null> {
  const url = serverUrl(config);
  const res = await fetch(`${url}${apiPath}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Admin-Key': adminKeyOf(config) },
    body: JSON.stringify(body),
  }).catch(() => null);
  if (!res) return null;
  const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { url, answer: { status: res.status, body: parsed } };
}

/** `422 CODE: detail` of an error answer. */
export const errorLine = (answer: ServerAnswer): string =>
  `${answer.status} ${String(answer.body.code ?? 'ERROR')}: ${String(answer.body.detail ?? 'request failed')}`;

/**
 * The warehouse file is held by a process that did not answer as a server here: say where we looked
 * and how the server is found, instead of DuckDB's advice about roles.
 */
export function explainLockedWarehouse(config: Config, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (!isDuckDbLockError(err) && !/already opened by process/.test(message)) return err instanceof Error ? err : new Error(message);
  return new Error(
    `${message}\nNo server answered at ${serverUrl(config)}. A server started with this DATA_DIR (${config.dataDir}) records its ` +
      `address in ${serverStatePath(config.dataDir)} and this command uses it; otherwise set PORT (and HOST) to where the server ` +
      'listens, or stop the process holding the file and run this command again.',
  );
}

/** What to do about a tenant that is not onboarded, naming the onboarding call. */
export function notOnboarded(config: Config, tenantId: string): Error {
  return new Error(
    `Tenant ${tenantId} is not onboarded. Onboard it first (admin key: ADMIN_API_KEY or ${config.auth.adminKeyPath}):\n` +
      `  curl -X POST ${serverUrl(config)}/api/v1/tenants/onboard -H "X-Admin-Key: $ADMIN_KEY" -H "Content-Type: application/json" \\\n` +
      `    -d '{"tenant_id":"${tenantId}","company_name":"…","admin_email":"…"}'`,
  );
}

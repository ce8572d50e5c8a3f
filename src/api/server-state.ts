import fs from 'node:fs';
import path from 'node:path';
import { pidAlive } from '../warehouse/duckdb-lock';

/**
 * Where a running API server listens, recorded in `DATA_DIR/server.json` so the operator CLIs
 * (`npm run sql`, `npm run sample-data`) find it whatever PORT it was started with. The server writes
 * the file once it listens and removes it on a clean stop; a file whose pid is dead is stale and ignored.
 */
export interface ServerState {
  pid: number;
  /** Base URL a process on this machine reaches the API at, e.g. `http://127.0.0.1:8080`. */
  url: string;
  startedAt: string;
}

export const SERVER_STATE_FILE = 'server.json';

export const serverStatePath = (dataDir: string): string => path.join(dataDir, SERVER_STATE_FILE);

/** The URL for a listener bound to `host`: a wildcard bind is reached through loopback. */
export function localUrl(host: string, port: number): string {
  const reach = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${reach.includes(':') ? `[${reach}]` : reach}:${port}`;
}

export function writeServerState(dataDir: string, state: ServerState): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = serverStatePath(dataDir);
  const tmp = `${file}.${state.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file); // readers never see half a file
}

/** Removes the file only if it is this process's own (another server may have replaced it). */
export function removeServerState(dataDir: string, pid: number): void {
  if (readRawState(dataDir)?.pid === pid) fs.rmSync(serverStatePath(dataDir), { force: true });
}

/** The recorded server, or null when there is none or its process is gone. */
export function readServerState(dataDir: string): ServerState | null {
  const state = readRawState(dataDir);
  return state !== null && pidAlive(state.pid) ? state : null;
}

function readRawState(dataDir: string): ServerState | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(serverStatePath(dataDir), 'utf8')) as Partial<ServerState>;
    if (typeof parsed.pid !== 'number' || typeof parsed.url !== 'string') return null;
    return { pid: parsed.pid, url: parsed.url, startedAt: String(parsed.startedAt ?? '') };
  } catch {
    return null;
  }
}

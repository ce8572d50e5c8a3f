import type { Config } from '../config';

/**
 * What a container healthcheck asks, following the role: the api (and `all`) answer on PORT like any client
 * sees them; a worker or scheduler only on its health listener, HEALTH_PORT.
 */
export function healthProbeUrl(config: Pick<Config, 'role' | 'host' | 'port' | 'healthPort'>): string {
  // A wildcard bind is probed on loopback; a specific address only answers there.
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  if (config.role === 'api' || config.role === 'all') return `http://${hostPart}:${config.port}/health/ready`;
  if (config.healthPort === undefined) {
    throw new Error(`HEALTH_PORT is not set: a ${config.role} process answers health probes only on HEALTH_PORT`);
  }
  return `http://${hostPart}:${config.healthPort}/health/ready`;
}

export interface ProbeResult {
  healthy: boolean;
  /** One line for the engine's health log: the URL and what answered (or why nothing did). */
  summary: string;
}

export async function probeHealth(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return { healthy: res.status === 200, summary: `${url} ${res.status} ${body}` };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    return { healthy: false, summary: `${url} no answer: ${cause}` };
  }
}

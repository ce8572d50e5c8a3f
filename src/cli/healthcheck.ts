/**
 * The image's HEALTHCHECK: `node dist/cli/healthcheck.js [role]`. Exits 0 when the process of this container
 * answers ready, 1 otherwise, printing one line the engine keeps in its health log. The role comes from the
 * argument or ROLE, as for `dist/main.js` (the image sets ROLE so that both agree).
 */
import 'dotenv/config';
import { loadConfig } from '../config';
import { healthProbeUrl, probeHealth } from '../observability/health-probe';

const PROBE_TIMEOUT_MS = 3000;

async function main(): Promise<void> {
  try {
    const url = healthProbeUrl(loadConfig(process.env, process.argv[2]));
    const result = await probeHealth(url, PROBE_TIMEOUT_MS);
    process.stdout.write(`${result.healthy ? 'healthy' : 'unhealthy'}: ${result.summary}\n`);
    process.exit(result.healthy ? 0 : 1);
  } catch (err) {
    process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

void main();

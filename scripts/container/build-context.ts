/**
 * What the image's build context must and must not carry. Shared by the unit test (which reads `.dockerignore`
 * with Docker's matching rules) and the container smoke test (which asks the engine itself what it sends).
 */

/** Paths that must never reach the engine, whether or not they exist right now. */
export const MUST_STAY_OUT: readonly string[] = [
  'node_modules/ioredis/package.json',
  'data/keyring.json',
  'data/admin-key',
  'data/warehouse.duckdb',
  'data/redis/appendonlydir/appendonly.aof.1.incr.aof',
  '.env',
  '.env.production',
  'secrets/sa.json',
  '.git/config',
  'dist/main.js',
  'test/api/onboarding.api.test.ts',
  'bench/run.ts',
  'bench/results/latest.json',
  '.ci/run',
  'server.log',
  // A secret that lands inside an allowed folder stays out too.
  'src/.env',
  'configs/.env.local',
];

/** The context sources of every COPY/ADD in a Dockerfile (those without --from), as written. */
export function dockerfileContextSources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const raw of dockerfile.split('\n')) {
    const words = raw.trim().split(/\s+/);
    const instruction = words[0]?.toUpperCase();
    if (instruction !== 'COPY' && instruction !== 'ADD') continue;
    const args = words.slice(1);
    if (args.some((a) => a.startsWith('--from='))) continue;
    const paths = args.filter((a) => !a.startsWith('--'));
    sources.push(...paths.slice(0, -1).map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')));
  }
  return [...new Set(sources)];
}

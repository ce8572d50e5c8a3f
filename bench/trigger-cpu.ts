/**
 * CPU per trigger only (no saturation runs): the compiled API on a private redis-server, Redis commands and
 * socket reads per trigger one at a time, then CPU µs per request under load of the API process and of
 * redis-server, for the product and the bare Koa + BullMQ add baseline. CPU, not wall time, so the figures
 * hold on a machine shared with other work.
 *
 *   npm run build && npx tsx bench/trigger-cpu.ts      (BENCH_CPU_REQUESTS, default 5000)
 */
import { benchConfigs } from './support';
import { redisCostPerTrigger } from './trigger-path';

async function main(): Promise<void> {
  const configs = benchConfigs();
  try {
    const { redisCost, cpuCost } = await redisCostPerTrigger(configs.dir);
    const r = (x: number): number => Math.round(x);
    console.log(JSON.stringify({ redisCost, cpuCost }, null, 2));
    console.log(
      `API ${r(cpuCost.ours.processCpuUsPerRequest)} µs + redis ${r(cpuCost.ours.redisCpuUsPerRequest)} µs per trigger ` +
        `(baseline ${r(cpuCost.baseline.processCpuUsPerRequest)} + ${r(cpuCost.baseline.redisCpuUsPerRequest)}); ` +
        `${redisCost.commandsPerTrigger.toFixed(1)} commands, ${redisCost.roundTripsPerTrigger.toFixed(1)} reads per trigger`,
    );
  } finally {
    configs.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

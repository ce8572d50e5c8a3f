/**
 * The trigger-path baseline: a bare Koa route that parses the JSON body and does one BullMQ `add`,
 * nothing else (no auth, limits, admission, run record or logging). Run as its own process so its
 * RSS and event loop are measured like the product's API process.
 *
 *   node --import tsx bench/baseline-koa-server.ts <redisUrl> <prefix>   → prints "listening <port>"
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';

async function main(): Promise<void> {
  const [redisUrl = 'redis://127.0.0.1:6379', prefix = 'benchbase'] = process.argv.slice(2);
  const connection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('baseline-runs', { connection, prefix });
  const app = new Koa();
  const router = new Router();
  router.post('/run/:tenant/:provider/:domain/:name', async (ctx) => {
    const job = await queue.add(ctx.params.name ?? 'run', { params: ctx.params, body: ctx.request.body as unknown }, { removeOnComplete: true });
    ctx.status = 202;
    ctx.body = { id: job.id, status: 'PENDING' };
  });
  app.use(bodyParser());
  app.use(router.routes());
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.close();
    void queue.close().then(() => connection.quit()).then(() => process.exit(0));
  });
}

void main();

import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { loadPlans, parsePlans } from '../../src/tenants/plans';
import { webhookBackoffMs } from '../../src/queues/webhook-deliveries';
import { signatureHeader } from '../../src/webhooks/signature';

describe('webhook configuration', () => {
  it('defaults: 10 s time-out, 15 attempts from 30 s capped at 4 h, disabled after 20, private addresses refused, 20 slots (2 per endpoint, 5 per tenant)', () => {
    expect(loadConfig({}).webhooks).to.deep.equal({
      timeoutMs: 10_000, allowPrivate: false, disableAfter: 20, maxAttempts: 15, retryBaseMs: 30_000, retryMaxMs: 14_400_000,
      concurrency: 20, endpointConcurrency: 2, tenantConcurrency: 5,
    });
    expect(loadConfig({ WEBHOOK_ENDPOINT_CONCURRENCY: '1', WEBHOOK_TENANT_CONCURRENCY: '3' }).webhooks).to.include({ endpointConcurrency: 1, tenantConcurrency: 3 });
    expect(() => loadConfig({ WEBHOOK_ENDPOINT_CONCURRENCY: '0' })).to.throw(ConfigError);
  });

  it('refuses WEBHOOK_ALLOW_PRIVATE=true when NODE_ENV=production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'x'.repeat(32), WEBHOOK_ALLOW_PRIVATE: 'true' }))
      .to.throw(ConfigError, 'WEBHOOK_ALLOW_PRIVATE=true is refused when NODE_ENV=production');
    expect(loadConfig({ NODE_ENV: 'test', WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivate).to.equal(true);
  });

  it('spreads the default retries over about a day', () => {
    const policy = { maxAttempts: 15, retryBaseMs: 30_000, retryMaxMs: 14_400_000 };
    const delays = Array.from({ length: policy.maxAttempts - 1 }, (_, i) => webhookBackoffMs(policy, i + 1));
    expect(delays.slice(0, 4)).to.deep.equal([30_000, 60_000, 120_000, 240_000]);
    expect(Math.max(...delays)).to.equal(14_400_000);
    const totalHours = delays.reduce((a, b) => a + b, 0) / 3_600_000;
    expect(totalHours).to.be.within(20, 28);
  });

  it('reads webhook_endpoints per plan (STARTER 2, PROFESSIONAL 5, SCALE 20), 0 when a plan file omits it', () => {
    const plans = loadPlans(path.resolve(__dirname, '../../configs'));
    expect(['STARTER', 'PROFESSIONAL', 'SCALE'].map((p) => plans.get(p)?.webhookEndpoints)).to.deep.equal([2, 5, 20]);
    const bare = parsePlans({ default: 'A', plans: { A: { daily_limit: 1, concurrent_limit: 1, team_limit: 1, provider_limit: 1 } } });
    expect(bare.defaultPlan.webhookEndpoints).to.equal(0);
  });
});

describe('the README signature-verification snippet', () => {
  it('accepts what the worker signs and refuses a wrong secret or a stale timestamp', () => {
    const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const snippet = /Verify a delivery[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).to.be.a('string');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const verify = new Function('require', `${snippet ?? ''}; return verifyConvergence;`)(require) as (body: string, header: string, secret: string) => boolean;
    const body = '{"id":"evt_1","type":"run.completed"}';
    const now = Math.floor(Date.now() / 1000);
    expect(verify(body, signatureHeader(['whsec_new', 'whsec_old'], now, body), 'whsec_old')).to.equal(true);
    expect(verify(body, signatureHeader(['whsec_new'], now, body), 'whsec_other')).to.equal(false);
    expect(verify(body, signatureHeader(['whsec_new'], now - 3600, body), 'whsec_new')).to.equal(false);
  });
});

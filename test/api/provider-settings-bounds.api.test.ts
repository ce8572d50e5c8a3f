import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { warehouseOutage } from '../helpers/warehouse-outage';
import type { WarehouseOutage } from '../helpers/warehouse-outage';

/**
 * PUT /tenants/{id}/providers/{provider} stores free-form `settings` and `credentials`. JSON.parse builds any depth
 * a 1 MiB body holds, but serializing ~5,000 levels overflows the stack: the schema bounds depth and size (422),
 * and a provider that was never stored holds no seat of the plan's provider_limit, whatever stopped the write.
 */
const deep = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('provider settings bounds', () => {
  let t: TestSystem;
  let duck: Awaited<ReturnType<typeof createTestDuckDb>>;
  let outage: WarehouseOutage;
  let key: string;
  let seatKey: string;
  before(async () => {
    duck = await createTestDuckDb();
    outage = warehouseOutage(duck.warehouse);
    t = await startTestSystem({ role: 'api', warehouse: outage.warehouse });
    key = await onboard(t, 'nest_corp');
    seatKey = await onboard(t, 'seat_corp'); // STARTER: provider_limit 3
  });
  after(async () => {
    await t.close();
    await duck.cleanup();
  });

  const putAs = (tenant: string, apiKey: string, provider: string, raw: string) =>
    t.request.put(`/api/v1/tenants/${tenant}/providers/${provider}`).set('X-API-Key', apiKey).set('Content-Type', 'application/json').send(raw);
  const put = (provider: string, raw: string) => putAs('nest_corp', key, provider, raw);
  const providersUsed = async (tenant: string, apiKey: string): Promise<unknown> =>
    (await t.request.get(`/api/v1/tenants/${tenant}/quota`).set('X-API-Key', apiKey)).body.providers_used;

  describe('when settings or credentials are nested 6,000 deep', () => {
    it('answers 422 VALIDATION_ERROR naming the field (never 500)', async () => {
      for (const field of ['settings', 'credentials']) {
        const res = await put('aws', `{"${field}":${deep(6000)}}`);
        expect([res.status, res.body.code], JSON.stringify(res.body)).to.deep.equal([422, 'VALIDATION_ERROR']);
        expect(res.body.errors[0].field).to.equal(field);
      }
    });
  });

  it('answers 422 VALIDATION_ERROR for settings over 64 KiB, and accepts 16 levels', async () => {
    const large = await put('aws', JSON.stringify({ settings: { note: 'x'.repeat(70_000) } }));
    expect([large.status, large.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
    const sixteen = await put('aws', `{"settings":${deep(16)}}`);
    expect(sixteen.status, JSON.stringify(sixteen.body)).to.equal(200);
    await t.request.delete('/api/v1/tenants/nest_corp/providers/aws').set('X-API-Key', key).expect(204);
  });

  it('takes no provider seat for a refused body: the tenant can still configure its real provider', async () => {
    for (const provider of ['aws', 'azure', 'oci']) await putAs('seat_corp', seatKey, provider, `{"settings":${deep(6000)}}`);
    expect(await providersUsed('seat_corp', seatKey), 'seats held by providers that were never stored').to.equal(0);
    const real = await putAs('seat_corp', seatKey, 'gcp', '{"settings":{}}');
    expect(real.status, JSON.stringify(real.body)).to.equal(200);
  });

  describe('when the warehouse write fails after the seat was taken', () => {
    it('gives the seat back', async () => {
      const before = await providersUsed('nest_corp', key);
      outage.down(['insertRows']);
      try {
        const res = await put('azure', '{"settings":{}}');
        expect(res.status, JSON.stringify(res.body)).to.be.at.least(500);
      } finally {
        outage.up();
      }
      expect(await providersUsed('nest_corp', key)).to.equal(before);
      await t.request.get('/api/v1/tenants/nest_corp/providers/azure').set('X-API-Key', key).expect(404);
    });
  });
});

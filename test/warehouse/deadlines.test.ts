import { expect } from 'chai';
import { withWarehouseDeadline, withWarehouseDeadlines } from '../../src/warehouse/deadlines';
import { WarehouseError } from '../../src/warehouse/types';
import type { InsertOptions, QueryOptions, SandboxOptions, Warehouse } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/**
 * A warehouse whose queries and inserts run until their signal aborts (a job that stays RUNNING, a request that never
 * answers), then answer `cancelled`; ping, operator queries and exports never answer.
 */
function stuckWarehouse(seen: { signals: Array<AbortSignal | undefined> }): Warehouse {
  const stuck = (options: { signal?: AbortSignal } = {}): Promise<never> => {
    seen.signals.push(options.signal);
    return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(new WarehouseError('Query cancelled', 'cancelled')), { once: true }));
  };
  const never = (): Promise<never> => new Promise(() => undefined);
  return {
    kind: 'bigquery',
    query: (_sql: string, options?: QueryOptions) => stuck(options),
    insertRows: (_ref: unknown, _rows: unknown, options?: InsertOptions) => stuck(options),
    sandboxQuery: (_sql: string, options: SandboxOptions) => stuck(options),
    exportTable: () => Promise.resolve({ kind: 'view' }),
    ping: never,
  } as unknown as Warehouse;
}

const within = <T>(work: Promise<T>, ms: number): Promise<T | 'still running'> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)))]).finally(() => clearTimeout(timer));
};

describe('warehouse deadlines', () => {
  describe('of API requests (API_WAREHOUSE_TIMEOUT_MS)', () => {
    it('cancels a query still running at the deadline and answers unavailable, naming API_WAREHOUSE_TIMEOUT_MS', async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen), { platformTimeoutMs: 60_000 });
      const err = await warehouseError(withWarehouseDeadline(50, () => warehouse.query('SELECT 1')));
      expect(err.reason).to.equal('unavailable');
      expect(err.message).to.contain('API_WAREHOUSE_TIMEOUT_MS');
      expect(seen.signals[0]?.aborted, 'the job was told to stop').to.equal(true);
    });

    it('answers a call that takes no signal at the deadline too', async () => {
      const warehouse = withWarehouseDeadlines(stuckWarehouse({ signals: [] }));
      const err = await warehouseError(withWarehouseDeadline(50, () => warehouse.ping()));
      expect(err.reason).to.equal('unavailable');
    });

    it("keeps the caller's own cancel: its signal still stops the query, as cancelled", async () => {
      const warehouse = withWarehouseDeadlines(stuckWarehouse({ signals: [] }));
      const controller = new AbortController();
      const running = withWarehouseDeadline(60_000, () => warehouse.query('SELECT 1', { signal: controller.signal }));
      controller.abort();
      expect((await warehouseError(running)).reason).to.equal('cancelled');
    });
  });

  describe('of calls outside a request (PLATFORM_WAREHOUSE_TIMEOUT_MS: scheduler, maintenance, log writer)', () => {
    it('cancels a query still running at the deadline and answers unavailable, naming PLATFORM_WAREHOUSE_TIMEOUT_MS', async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen), { platformTimeoutMs: 50 });
      const err = await warehouseError(warehouse.query('SELECT 1'));
      expect(err.reason).to.equal('unavailable');
      expect(err.message).to.contain('PLATFORM_WAREHOUSE_TIMEOUT_MS');
      expect(seen.signals[0]?.aborted, 'the job was told to stop').to.equal(true);
    });

    it('gives an insert up at the deadline: its signal aborts, so the adapter drops the request and retries nothing', async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen), { platformTimeoutMs: 50 });
      const err = await warehouseError(warehouse.insertRows({ dataset: 'd', table: 't' }, [{ a: 1 }], { insertIds: ['x'] }));
      expect(err.reason).to.equal('unavailable');
      expect(seen.signals[0]?.aborted).to.equal(true);
    });

    it("joins the deadline to the caller's own signal: either stops the query", async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen), { platformTimeoutMs: 60_000 });
      const controller = new AbortController();
      const running = warehouse.query('SELECT 1', { signal: controller.signal });
      controller.abort();
      expect((await warehouseError(running)).reason).to.equal('cancelled');
    });

    it('gives a request its own deadline, not the platform one', async () => {
      const warehouse = withWarehouseDeadlines(stuckWarehouse({ signals: [] }), { platformTimeoutMs: 60_000 });
      const err = await warehouseError(withWarehouseDeadline(50, () => warehouse.ping()));
      expect(err.message).to.contain('API_WAREHOUSE_TIMEOUT_MS');
    });

    it('leaves operator queries to ADMIN_QUERY_TIMEOUT_MS: their signal is the caller\'s alone', async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen), { platformTimeoutMs: 20 });
      const controller = new AbortController();
      const running = warehouse.sandboxQuery('SELECT 1', { maxRows: 1, maxBytesBilled: 1, signal: controller.signal });
      expect(await within(running.catch(() => 'failed'), 200)).to.equal('still running');
      expect(seen.signals[0]).to.equal(controller.signal);
      controller.abort();
      expect((await warehouseError(running)).reason).to.equal('cancelled');
    });
  });

  describe('without a platform deadline (what steps get: their own timeouts bound them)', () => {
    it('leaves calls outside a request alone: no deadline, the caller\'s signal as given', async () => {
      const seen = { signals: [] as Array<AbortSignal | undefined> };
      const warehouse = withWarehouseDeadlines(stuckWarehouse(seen));
      const controller = new AbortController();
      const running = warehouse.query('SELECT 1', { signal: controller.signal });
      expect(seen.signals[0]).to.equal(controller.signal);
      controller.abort();
      expect((await warehouseError(running)).reason).to.equal('cancelled');
    });
  });
});

import { expect } from 'chai';
import { withRequestDeadlines, withWarehouseDeadline } from '../../src/warehouse/request-deadline';
import { WarehouseError } from '../../src/warehouse/types';
import type { QueryOptions, Warehouse } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/** A warehouse whose queries run until their signal aborts (a job that stays RUNNING), then answer `cancelled`. */
function stuckWarehouse(seen: { signals: Array<AbortSignal | undefined> }): Warehouse {
  const query = (_sql: string, options: QueryOptions = {}): Promise<never> => {
    seen.signals.push(options.signal);
    return new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(new WarehouseError('Query cancelled', 'cancelled')), { once: true }));
  };
  return { kind: 'bigquery', query, ping: () => new Promise(() => undefined) } as unknown as Warehouse;
}

describe('warehouse deadlines of API requests', () => {
  it('cancels a query still running at the deadline and answers unavailable, naming API_WAREHOUSE_TIMEOUT_MS', async () => {
    const seen = { signals: [] as Array<AbortSignal | undefined> };
    const warehouse = withRequestDeadlines(stuckWarehouse(seen));
    const err = await warehouseError(withWarehouseDeadline(50, () => warehouse.query('SELECT 1')));
    expect(err.reason).to.equal('unavailable');
    expect(err.message).to.contain('API_WAREHOUSE_TIMEOUT_MS');
    expect(seen.signals[0]?.aborted, 'the job was told to stop').to.equal(true);
  });

  it('answers a call that takes no signal at the deadline too', async () => {
    const warehouse = withRequestDeadlines(stuckWarehouse({ signals: [] }));
    const err = await warehouseError(withWarehouseDeadline(50, () => warehouse.ping()));
    expect(err.reason).to.equal('unavailable');
  });

  it("keeps the caller's own cancel: its signal still stops the query, as cancelled", async () => {
    const warehouse = withRequestDeadlines(stuckWarehouse({ signals: [] }));
    const controller = new AbortController();
    const running = withWarehouseDeadline(60_000, () => warehouse.query('SELECT 1', { signal: controller.signal }));
    controller.abort();
    expect((await warehouseError(running)).reason).to.equal('cancelled');
  });

  it('leaves calls outside a request alone (workers, scheduler): no deadline, the caller\'s signal as given', async () => {
    const seen = { signals: [] as Array<AbortSignal | undefined> };
    const warehouse = withRequestDeadlines(stuckWarehouse(seen));
    const controller = new AbortController();
    const running = warehouse.query('SELECT 1', { signal: controller.signal });
    expect(seen.signals[0]).to.equal(controller.signal);
    controller.abort();
    expect((await warehouseError(running)).reason).to.equal('cancelled');
  });
});

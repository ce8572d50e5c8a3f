import { expect } from 'chai';
import type { Role } from '../../src/config';
import { startTestSystem } from '../helpers/system';

/** Each role builds only what it runs: a worker process has no HTTP layer, no Bull Board, no maintenance queue. */
describe('what each role builds', () => {
  const expected: Record<Role, string[]> = {
    worker: ['pipeline-worker', 'webhook-worker'],
    scheduler: ['batch-dispatch-worker', 'maintenance-queue', 'maintenance-worker'],
    api: ['api-deps', 'bull-board', 'http-server', 'maintenance-queue'],
    all: ['api-deps', 'batch-dispatch-worker', 'bull-board', 'http-server', 'maintenance-queue', 'maintenance-worker', 'pipeline-worker', 'webhook-worker'],
  };
  for (const [role, parts] of Object.entries(expected) as Array<[Role, string[]]>) {
    it(`the ${role} role builds ${parts.join(', ')}`, async () => {
      const t = await startTestSystem({ role });
      try {
        expect(t.system.built().sort()).to.deep.equal(parts);
        expect(t.system.server() === null).to.equal(!parts.includes('http-server'));
      } finally {
        await t.close();
      }
    });
  }

  it('a worker still answers readiness without the HTTP layer', async () => {
    const t = await startTestSystem({ role: 'worker' });
    try {
      expect(await t.system.readiness()).to.deep.equal({ redis: true, warehouse: true });
      expect(t.system.built()).to.not.include('api-deps');
    } finally {
      await t.close();
    }
  });
});

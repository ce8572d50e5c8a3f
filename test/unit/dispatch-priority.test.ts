import { expect } from 'chai';
import { PRIORITY_LIMIT } from 'bullmq';
import { loadConfig } from '../../src/config';
import { dispatchJobPriority, pipelineRunJobOptions } from '../../src/queues/pipeline-runs';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';

/** The job options fair dispatch sets from the admission's dispatch priority, and the FAIR_DISPATCH switch. */
const job = { pipelineLoggingId: 'run-1' } as PipelineRunJob;
const retention = { retentionSeconds: 60, retentionCount: 10 };

describe('dispatch priority → BullMQ job options', () => {
  it('leaves a tenant’s first queued run on the plain wait list (no priority) and prioritises its k-th (k ≥ 2) with k', () => {
    expect(pipelineRunJobOptions(job, retention, 1)).to.not.have.property('priority');
    expect(pipelineRunJobOptions(job, retention)).to.not.have.property('priority');
    expect(pipelineRunJobOptions(job, retention, 2)).to.include({ priority: 2, jobId: 'run-1' });
    expect(pipelineRunJobOptions(job, { ...retention, fairDispatch: true }, 7)).to.include({ priority: 7 });
  });

  it('caps the priority at BullMQ’s limit (2^21 − 1) and ignores what is not a position', () => {
    expect(PRIORITY_LIMIT).to.equal(2 ** 21 - 1);
    expect(dispatchJobPriority(2 ** 30)).to.equal(PRIORITY_LIMIT);
    expect(dispatchJobPriority(Number.NaN)).to.equal(undefined);
    expect(dispatchJobPriority(0)).to.equal(undefined);
  });

  it('with FAIR_DISPATCH=false enqueues every run without priority (one FIFO queue); on by default', () => {
    expect(pipelineRunJobOptions(job, { ...retention, fairDispatch: false }, 5)).to.not.have.property('priority');
    expect(loadConfig({}).fairDispatch).to.equal(true);
    expect(loadConfig({ FAIR_DISPATCH: 'false' }).fairDispatch).to.equal(false);
  });
});

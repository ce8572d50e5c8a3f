import { expect } from 'chai';
import { ReplyError } from 'ioredis';
import { toAppError } from '../../src/api/middleware/error-handler';
import type { RedisClient } from '../../src/redis/connection';
import { ScriptRunner } from '../../src/redis/scripts';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);

/** A client whose script commands answer from `answers`, in order (an Error is thrown), counting the calls. */
function scriptedClient(answers: unknown[]): { client: RedisClient; calls: () => number } {
  let calls = 0;
  const client = {
    defineCommand(name: string) {
      (this as unknown as Record<string, unknown>)[name] = async () => {
        const answer = answers[calls++];
        if (answer instanceof Error) throw answer;
        return answer;
      };
    },
  };
  return { client: client as unknown as RedisClient, calls: () => calls };
}

describe('Redis replies of a cluster that cannot serve a command for now', () => {
  describe('in the API', () => {
    for (const message of [
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'MOVED 3999 127.0.0.1:7002',
      'ASK 3999 127.0.0.1:7002',
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
      "READONLY You can't write against a read only replica.",
      'CLUSTERDOWN The cluster is down',
      'NOSCRIPT No matching script. Please use EVAL.',
    ]) {
      it(`answers "${message.split(' ')[0]}" with 503 DEPENDENCY_UNAVAILABLE`, () => {
        const err = toAppError(reply(message));
        expect([err.status, err.code, err.headers['Retry-After']]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE', '5']);
      });
    }

    it('keeps other replies (a script error) a 500', () => {
      expect(toAppError(reply('ERR Error running script: attempt to compare nil with number')).status).to.equal(500);
      expect(toAppError(new Error('ASK the admin')).status, 'not a Redis reply').to.equal(500);
    });
  });

  describe('in ScriptRunner', () => {
    const keys = Array.from({ length: 4 }, (_, i) => `{t:acme}:k${i}`);

    it('sends a script refused with TRYAGAIN (not run) once more', async () => {
      const { client, calls } = scriptedClient([reply('TRYAGAIN Multiple keys request during rehashing of slot'), 1]);
      expect(await new ScriptRunner(client).run('release', keys, ['run-1', 'COMPLETED', 0, 60])).to.equal(1);
      expect(calls()).to.equal(2);
    });

    it('sends a script refused with NOSCRIPT (not run: the master does not have it cached, e.g. just promoted) once more', async () => {
      const { client, calls } = scriptedClient([reply('NOSCRIPT No matching script. Please use EVAL.'), 1]);
      expect(await new ScriptRunner(client).run('release', keys, ['run-1', 'COMPLETED', 0, 60])).to.equal(1);
      expect(calls()).to.equal(2);
    });

    it('gives up after the second TRYAGAIN, and never resends after another error (it may have run)', async () => {
      const tryAgain = scriptedClient([reply('TRYAGAIN Multiple keys request during rehashing of slot'), reply('TRYAGAIN Multiple keys request during rehashing of slot'), 1]);
      const first = await new ScriptRunner(tryAgain.client).run('release', keys, ['run-1', 'COMPLETED', 0, 60]).catch((err: Error) => err);
      expect([(first as Error).message.split(' ')[0], tryAgain.calls()]).to.deep.equal(['TRYAGAIN', 2]);

      const timedOut = scriptedClient([new Error('Command timed out'), 1]);
      const second = await new ScriptRunner(timedOut.client).run('release', keys, ['run-1', 'COMPLETED', 0, 60]).catch((err: Error) => err);
      expect([(second as Error).message, timedOut.calls()]).to.deep.equal(['Command timed out', 1]);
    });
  });
});

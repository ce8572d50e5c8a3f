import { expect } from 'chai';
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Issue 11.5: without `exit: true`, a run that leaks a handle fails and names it instead of hanging. */
const ROOT = path.resolve(__dirname, '../..');

function runMocha(...args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/mocha/bin/mocha.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, TEST_EXIT_GRACE_MS: '500', TEST_FILE_TIMES: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the leak watchdog of the test run', function () {
  this.timeout(60_000);

  it('fails a passing run that leaves a server open, naming it', async () => {
    const { code, output } = await runMocha('test/fixtures/leaky/leaves-a-server-open.ts');
    expect(output).to.include('1 passing');
    expect(output).to.match(/stayed alive .* something was not closed/);
    expect(output).to.match(/open handles: server listening on 127\.0\.0\.1:\d+/);
    expect(code).to.equal(1);
  });

  it('lets a run that closes everything exit 0 by itself', async () => {
    const { code, output } = await runMocha('test/unit/recent-touches.test.ts');
    expect(output).not.to.include('something was not closed');
    expect(code).to.equal(0);
  });

  it('with --parallel (npm test), fails the spec file that leaves a server open, naming it and the server, and the run still ends', async () => {
    const { code, output } = await runMocha('--parallel', '--jobs', '2', 'test/fixtures/leaky/leaves-a-server-open.ts', 'test/unit/recent-touches.test.ts');
    expect(output).to.match(/test\/fixtures\/leaky\/leaves-a-server-open\.ts ended but what it opened stayed open 500 ms later/);
    expect(output).to.match(/open handles: server listening on 127\.0\.0\.1:\d+/);
    expect(output).not.to.include('recent-touches.test.ts ended');
    expect(output).to.match(/\d+ passing/);
    expect(code).to.equal(1);
  });
});

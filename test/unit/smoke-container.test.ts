import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { detectEngine } from '../../scripts/container/engine';

const ROOT = path.resolve(__dirname, '../..');

describe('npm run smoke:container', () => {
  describe('when no container engine can run here', () => {
    const env = { CONTAINER_ENGINE: '/nonexistent/container-engine' };

    it('finds no engine and says what it tried', () => {
      const detection = detectEngine(env);
      expect(detection.engine).to.equal(null);
      expect(detection.tried).to.deep.equal(['/nonexistent/container-engine: not found']);
    });

    it('says SKIPPED loudly and exits 77, never 0', async function () {
      this.timeout(30_000);
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'scripts/smoke-container.ts'], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout }),
        );
      });
      expect(result.code).to.equal(77);
      expect(result.stdout).to.include('smoke:container SKIPPED: no container engine can run here');
      expect(result.stdout).to.include('nothing was tested');
    });
  });

  describe('with podman', () => {
    it('adds the flags this machine needs unless told otherwise', function () {
      const detection = detectEngine({ CONTAINER_ENGINE: 'podman' });
      if (detection.engine === null) this.skip();
      expect(detection.engine?.runArgs).to.deep.equal(['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']);
      expect(detection.engine?.buildArgs).to.deep.equal(['--format', 'docker']);
      const custom = detectEngine({ CONTAINER_ENGINE: 'podman', CONTAINER_GLOBAL_ARGS: '', CONTAINER_RUN_ARGS: '--memory 1g' });
      expect(custom.engine?.globalArgs).to.deep.equal([]);
      expect(custom.engine?.runArgs).to.deep.equal(['--memory', '1g']);
    });
  });
});

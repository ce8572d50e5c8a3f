import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { dockerfileContextSources, MUST_STAY_OUT } from '../../scripts/container/build-context';
import { isIgnored, parseDockerignore } from '../helpers/dockerignore';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Every file under `dir` (relative to the repo), skipping the two trees too big to walk; MUST_STAY_OUT samples them. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== '.git') out.push(...filesUnder(rel));
    } else {
      out.push(rel);
    }
  }
  return out;
}

describe('the image build context (.dockerignore)', () => {
  const rules = parseDockerignore(read('.dockerignore'));
  const sources = dockerfileContextSources(read('Dockerfile'));

  it('leaves out node_modules, data/ (keyring, admin key, DuckDB), .env, secrets/, .git, dist, tests and bench', () => {
    const carried = MUST_STAY_OUT.filter((p) => !isIgnored(rules, p));
    expect(carried).to.deep.equal([]);
  });

  it('carries every file the Dockerfile copies from the context', () => {
    expect(sources).to.include.members(['package.json', 'package-lock.json', 'src', 'configs']);
    const copied = sources.flatMap((s) => (fs.statSync(path.join(ROOT, s)).isDirectory() ? filesUnder(s) : [s]));
    expect(copied.length).to.be.greaterThan(sources.length);
    expect(copied.filter((f) => isIgnored(rules, f))).to.deep.equal([]);
  });

  it('carries nothing else from this working copy', () => {
    const underASource = (f: string): boolean => sources.some((s) => f === s || f.startsWith(`${s}/`));
    const extra = filesUnder('').filter((f) => !isIgnored(rules, f) && !underASource(f));
    expect(extra).to.deep.equal([]);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('checks health with the role-following probe that the build compiles from src/', () => {
    expect(dockerfile).to.match(/^HEALTHCHECK .*CMD \["node", "dist\/cli\/healthcheck\.js"\]$/m);
    expect(fs.existsSync(path.join(ROOT, 'src/cli/healthcheck.ts'))).to.equal(true);
  });

  it('sets ROLE, PORT and HEALTH_PORT, which the probe reads to pick the port', () => {
    expect(dockerfile).to.match(/^ENV .*\bROLE=api\b.*\bPORT=\d+ HEALTH_PORT=\d+/m);
  });

  it('ships package.json next to dist/, where the compiled build reads its version', () => {
    expect(dockerfile).to.match(/^COPY package\.json \.\/$/m);
    expect(dockerfile).to.match(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });
});

describe('docker-compose.yml', () => {
  const text = read('docker-compose.yml');
  const compose = parse(text, { merge: true }) as { services: Record<string, Service> };
  const appServices = Object.entries(compose.services).filter(([name]) => name !== 'redis');
  const durationMs = (value: string): number => {
    const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
    expect(m, `a duration like 45s or 1m30s, not ${value}`).to.not.equal(null);
    return (Number(m?.[1] ?? 0) * 60 + Number(m?.[2] ?? 0)) * 1000;
  };

  it('declares the api, worker and scheduler roles, each through ROLE', () => {
    expect(appServices.map(([name, s]) => [name, s.environment['ROLE']])).to.deep.equal([
      ['api', 'api'],
      ['worker', 'worker'],
      ['scheduler', 'scheduler'],
    ]);
  });

  it('gives every role a healthcheck through the image probe, with no port written in it', () => {
    for (const [name, service] of appServices) {
      expect(service.healthcheck?.test, name).to.deep.equal(['CMD', 'node', 'dist/cli/healthcheck.js']);
    }
  });

  it('gives the worker and the scheduler a HEALTH_PORT, and runs and publishes the api on PORT', () => {
    for (const [name, service] of appServices) expect(service.environment['HEALTH_PORT'], name).to.match(/^\d+$/);
    const api = compose.services['api'];
    expect(api?.environment['PORT']).to.equal('${PORT:-8080}');
    expect(api?.ports).to.deep.equal(['${PORT:-8080}:${PORT:-8080}']);
  });

  it('waits longer than SHUTDOWN_TIMEOUT_MS before killing a stopping container', () => {
    for (const [name, service] of appServices) {
      const shutdownMs = Number(service.environment['SHUTDOWN_TIMEOUT_MS']);
      expect(shutdownMs, name).to.be.greaterThan(0);
      expect(durationMs(service.stop_grace_period ?? '10s'), name).to.be.greaterThan(shutdownMs);
    }
  });

  it('says in its header what it declares: one API, two worker replicas, one scheduler', () => {
    const header = text.split('\n').filter((l) => l.startsWith('#')).join(' ');
    expect(compose.services['api']?.deploy?.replicas ?? 1).to.equal(1);
    expect(compose.services['worker']?.deploy?.replicas).to.equal(2);
    expect(compose.services['scheduler']?.deploy?.replicas ?? 1).to.equal(1);
    expect(header).to.include('one API, two worker replicas and one scheduler');
  });
});

interface Service {
  environment: Record<string, string>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  ports?: string[];
  deploy?: { replicas?: number };
}

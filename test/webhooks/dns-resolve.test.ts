import { expect } from 'chai';
import crypto from 'node:crypto';
import { createDnsResolveAll } from '../../src/webhooks/dns-resolve';
import { checkTarget } from '../../src/webhooks/ssrf';
import { startDnsServer } from '../helpers/dns-server';
import type { TestDnsServer } from '../helpers/dns-server';

describe('webhook host resolution (c-ares on the event loop, bounded)', () => {
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer({
      'hooks.example.com': { A: ['93.184.216.34'], AAAA: ['2606:2800:220:1:248:1893:25c8:1946'] },
      'v4only.example.com': { A: ['93.184.216.35'] },
      'rebind.example.com': { A: ['93.184.216.36', '10.0.0.7'] },
    });
  });
  after(() => dns.close());
  beforeEach(() => {
    dns.hang = false;
  });

  const resolver = (timeoutMs = 2000) => createDnsResolveAll({ timeoutMs, servers: [dns.server] });

  it('answers every A and AAAA address of the host', async () => {
    const addresses = await resolver()('hooks.example.com');
    expect(addresses).to.deep.equal([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1:248:1893:25c8:1946', family: 6 },
    ]);
  });

  it('a host with A records only resolves to them', async () => {
    expect(await resolver()('v4only.example.com')).to.deep.equal([{ address: '93.184.216.35', family: 4 }]);
  });

  it('the guard sees every address: one private address among public ones refuses the URL', async () => {
    const check = await checkTarget('https://rebind.example.com/hook', { allowPrivate: false, resolveAll: resolver() });
    expect(check).to.deep.include({ ok: false, kind: 'blocked' });
  });

  it('an unknown name is a DNS failure, not a blocked address', async () => {
    const check = await checkTarget('https://nope.example.com/hook', { allowPrivate: false, resolveAll: resolver() });
    expect(check).to.deep.equal({ ok: false, reason: 'the host does not resolve', kind: 'dns' });
  });

  it('localhost names answer loopback without asking the nameserver (and the guard refuses them)', async () => {
    const before = dns.questions;
    expect(await resolver()('api.localhost')).to.deep.equal([{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    expect(dns.questions).to.equal(before);
    const check = await checkTarget('https://localhost/hook', { allowPrivate: false, resolveAll: resolver() });
    expect(check).to.deep.include({ ok: false, kind: 'blocked' });
  });

  it('a nameserver that never answers ends the lookup at the deadline, as a DNS failure', async () => {
    dns.hang = true;
    const check = await checkTarget('https://hooks.example.com/hook', { allowPrivate: false, resolveAll: resolver(300) });
    expect(check).to.deep.equal({ ok: false, reason: "the host's DNS lookup got no answer in time", kind: 'dns' });
    expect(dns.questions).to.be.greaterThan(0);
  });

  it('hanging lookups hold no thread-pool thread: thread-pool work finishes while they wait', async () => {
    dns.hang = true;
    const asked = dns.questions;
    const resolve = resolver(1500);
    // Eight hanging lookups: with getaddrinfo (dns.lookup) they would occupy libuv's four threads.
    const lookups = Array.from({ length: 8 }, (_, i) => resolve(`slow${i}.example.com`).then(() => 'resolved', () => 'failed'));
    const order: string[] = [];
    const poolWork = new Promise<void>((resolvePool, reject) =>
      crypto.pbkdf2('secret', 'salt', 1, 32, 'sha256', (err) => (err ? reject(err) : resolvePool())),
    ).then(() => order.push('thread-pool work'));
    const lookupsDone = Promise.all(lookups).then((outcomes) => {
      order.push('lookups');
      return outcomes;
    });
    const [outcomes] = await Promise.all([lookupsDone, poolWork]);
    expect(outcomes).to.deep.equal(new Array(8).fill('failed'));
    // Each lookup asked the test's nameserver (A and AAAA): they went over c-ares, which getaddrinfo cannot be pointed at.
    expect(dns.questions - asked, 'questions the hanging nameserver received').to.be.at.least(16);
    expect(order).to.deep.equal(['thread-pool work', 'lookups']);
  });
});

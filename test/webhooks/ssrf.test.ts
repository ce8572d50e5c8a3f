import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkTarget, isPublicAddress, pinnedLookup, unmapIpv4 } from '../../src/webhooks/ssrf';
import type { ResolvedAddress } from '../../src/webhooks/ssrf';
import { postWebhook } from '../../src/webhooks/deliver';
import { signatureHeader, verifySignature } from '../../src/webhooks/signature';

const resolvingTo = (...addresses: string[]) => async (): Promise<ResolvedAddress[]> =>
  addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const strict = (resolveAll = resolvingTo('93.184.216.34')) => ({ allowPrivate: false, resolveAll });

describe('webhook SSRF guard', () => {
  describe('isPublicAddress', () => {
    const refused = [
      '127.0.0.1', '127.8.9.10', '10.0.0.5', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.0.1',
      '100.64.0.1', '100.127.255.254', '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250', '255.255.255.255',
      '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%lo0', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.5', '::ffff:169.254.169.254', '0:0:0:0:0:ffff:a9fe:a9fe',
      '2002:7f00:1::1', '2002:a9fe:a9fe::', '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ];
    for (const address of refused) it(`refuses ${address}`, () => expect(isPublicAddress(address)).to.equal(false));
    const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:8.8.8.8'];
    for (const address of allowed) it(`allows ${address}`, () => expect(isPublicAddress(address)).to.equal(true));
    it('refuses what is not an address at all', () => expect(isPublicAddress('localhost')).to.equal(false));
    it('unmaps IPv4-mapped IPv6 in both spellings', () => {
      expect(unmapIpv4('::ffff:192.168.0.1')).to.equal('192.168.0.1');
      expect(unmapIpv4('::ffff:c0a8:1')).to.equal('192.168.0.1');
      expect(unmapIpv4('2001:db8::1')).to.equal('2001:db8::1');
    });
  });

  describe('checkTarget with WEBHOOK_ALLOW_PRIVATE=false', () => {
    it('accepts an https URL whose host resolves to public addresses only, and returns those addresses', async () => {
      const check = await checkTarget('https://hooks.example.com/x', strict());
      expect(check).to.deep.include({ ok: true });
      expect(check.ok && check.addresses.map((a) => a.address)).to.deep.equal(['93.184.216.34']);
    });
    const cases: Array<[string, string, string[]]> = [
      ['http (not https)', 'http://hooks.example.com/x', ['93.184.216.34']],
      ['a loopback literal', 'https://127.0.0.1/x', []],
      ['an IPv6 loopback literal', 'https://[::1]/x', []],
      ['a link-local literal', 'https://169.254.10.10/x', []],
      ['the metadata address', 'https://169.254.169.254/computeMetadata/v1/', []],
      ['the metadata host name', 'https://metadata.google.internal/computeMetadata/v1/', ['93.184.216.34']],
      ['a private range literal', 'https://10.1.2.3/x', []],
      ['a name resolving to loopback', 'https://sneaky.example.com/x', ['127.0.0.1']],
      ['a name resolving to a private address', 'https://sneaky.example.com/x', ['10.0.0.5']],
      ['a name with one private address among public ones', 'https://sneaky.example.com/x', ['93.184.216.34', '192.168.0.7']],
      ['a name resolving to IPv4-mapped loopback', 'https://sneaky.example.com/x', ['::ffff:127.0.0.1']],
      ['credentials in the URL', 'https://user:pw@hooks.example.com/x', ['93.184.216.34']],
      ['a non-http scheme', 'file:///etc/passwd', []],
    ];
    for (const [what, url, addresses] of cases) {
      it(`refuses ${what}`, async () => {
        const check = await checkTarget(url, strict(resolvingTo(...addresses)));
        expect(check.ok).to.equal(false);
      });
    }
    it('refuses a host that does not resolve', async () => {
      const check = await checkTarget('https://nowhere.invalid/x', strict(async () => { throw new Error('ENOTFOUND'); }));
      expect(check).to.deep.equal({ ok: false, reason: 'the host does not resolve', kind: 'dns' });
    });
  });

  describe('checkTarget with WEBHOOK_ALLOW_PRIVATE=true', () => {
    it('allows loopback and http (tests only)', async () => {
      const check = await checkTarget('http://127.0.0.1:9/x', { allowPrivate: true, resolveAll: resolvingTo() });
      expect(check.ok).to.equal(true);
    });
  });

  describe('pinnedLookup', () => {
    it('answers only the checked addresses, whatever name is asked', (done) => {
      const lookup = pinnedLookup([{ address: '93.184.216.34', family: 4 }]);
      lookup('rebound.example.com', {}, (err, address, family) => {
        expect(err).to.equal(null);
        expect([address, family]).to.deep.equal(['93.184.216.34', 4]);
        done();
      });
    });
    it('connects to the pinned address even when the URL names another host', async () => {
      const server = http.createServer((_req, res) => res.writeHead(204).end());
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const port = (server.address() as AddressInfo).port;
        // The name does not exist in DNS: only the pinned lookup can make this connection.
        const result = await postWebhook({
          url: new URL(`http://never-resolves.invalid:${port}/`), addresses: [{ address: '127.0.0.1', family: 4 }], headers: {}, body: '{}', timeoutMs: 5000,
        });
        expect(result).to.include({ ok: true, statusCode: 204 });
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
});

describe('webhook signatures', () => {
  const body = '{"id":"evt_1"}';
  it('verifies with the secret, in the tolerance window only', () => {
    const header = signatureHeader(['whsec_a'], 1_700_000_000, body);
    expect(verifySignature(header, body, 'whsec_a', 1_700_000_010)).to.equal(true);
    expect(verifySignature(header, body, 'whsec_a', 1_700_000_000 + 301)).to.equal(false);
    expect(verifySignature(header, body, 'whsec_b', 1_700_000_010)).to.equal(false);
    expect(verifySignature(header, `${body} `, 'whsec_a', 1_700_000_010)).to.equal(false);
  });
  it('carries one v1 per secret while a rotated secret is in its grace', () => {
    const header = signatureHeader(['whsec_new', 'whsec_old'], 1_700_000_000, body);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).to.have.length(2);
    expect(verifySignature(header, body, 'whsec_new', 1_700_000_000)).to.equal(true);
    expect(verifySignature(header, body, 'whsec_old', 1_700_000_000)).to.equal(true);
  });
  it('rejects a malformed v1 without throwing', () => {
    expect(verifySignature('t=1700000000,v1=zz', body, 'whsec_a', 1_700_000_000)).to.equal(false);
  });
});

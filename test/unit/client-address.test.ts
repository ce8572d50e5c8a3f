import { expect } from 'chai';
import { clientAddressKey } from '../../src/api/middleware/client-address';

describe('the client address a per-address limit counts', () => {
  it('is an IPv4 address as it is', () => {
    expect(clientAddressKey('203.0.113.7')).to.equal('203.0.113.7');
  });

  it('is the IPv4 address of an IPv4-mapped IPv6 address, dotted or in hex', () => {
    expect(clientAddressKey('::ffff:203.0.113.7')).to.equal('203.0.113.7');
    expect(clientAddressKey('::FFFF:cb00:7107')).to.equal('203.0.113.7');
  });

  it('is the /64 of an IPv6 address, whatever its spelling', () => {
    const key = clientAddressKey('2001:db8:abcd:12::1');
    expect(key).to.equal('2001:db8:abcd:12::/64');
    expect(clientAddressKey('2001:0DB8:ABCD:0012:ffff:1:2:3')).to.equal(key);
    expect(clientAddressKey('2001:db8:abcd:12::5%eth0')).to.equal(key);
    expect(clientAddressKey('2001:db8:abcd:13::1')).to.not.equal(key);
  });

  it('keeps text that is no address as it is', () => {
    expect(clientAddressKey('not an address')).to.equal('not an address');
    expect(clientAddressKey('')).to.equal('');
  });
});

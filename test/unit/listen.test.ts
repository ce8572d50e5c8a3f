import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '../../src/shared/listen';

describe('listening on a port (the API and the health listener)', () => {
  it('rejects a port already in use with an error naming the setting that moves it, and listens on a free one', async () => {
    const taken = http.createServer();
    await listen(taken, 0, '127.0.0.1', 'PORT');
    const port = (taken.address() as AddressInfo).port;
    const second = http.createServer();
    try {
      const err = await listen(second, port, '127.0.0.1', 'PORT').then(() => null, (e: Error) => e);
      expect(err?.message).to.equal(`127.0.0.1:${port} is already in use (another process listens there): stop it, or set PORT to a free port`);
      expect(second.listening).to.equal(false);
    } finally {
      taken.close();
    }
  });
});

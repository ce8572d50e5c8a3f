import { Resolver } from 'node:dns/promises';
import type { ResolveAll, ResolvedAddress } from './ssrf';

/**
 * How webhook hosts are resolved: a webhook URL's host is the tenant's choice, and so is its nameserver. Node's
 * `dns.lookup` runs getaddrinfo on libuv's thread pool (four threads, shared with file, crypto and zlib work and
 * with the lookups of Redis, BigQuery and KMS hosts), so a tenant whose nameserver never answers would hold those
 * threads for the system resolver's own time-outs, in every API and worker process. Webhook hosts are instead
 * asked of the system's nameservers (resolv.conf) over c-ares, on the event loop, with a deadline: nothing waits
 * on a thread, and an unanswered lookup ends after `timeoutMs` (WEBHOOK_TIMEOUT_MS) like an unanswered attempt.
 * `/etc/hosts` is not read, so a webhook host cannot be pointed at an internal name there; `localhost` names
 * answer loopback (RFC 6761) without asking anyone.
 */
export interface DnsResolveOptions {
  timeoutMs: number;
  /** Nameservers (`host:port`) instead of resolv.conf's: tests. */
  servers?: string[];
}

export class DnsTimeoutError extends Error {
  readonly code = 'ETIMEOUT';
}

const LOOPBACK: ResolvedAddress[] = [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];

export function createDnsResolveAll(options: DnsResolveOptions): ResolveAll {
  // c-ares asks again after `perTry` ms, twice; the deadline below ends the whole lookup whatever c-ares does.
  const perTry = Math.max(50, Math.min(2000, Math.floor(options.timeoutMs / 2)));
  return async (hostname) => {
    if (hostname === 'localhost' || hostname.endsWith('.localhost')) return LOOPBACK;
    const resolver = new Resolver({ timeout: perTry, tries: 2 });
    if (options.servers) resolver.setServers(options.servers);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        resolver.cancel();
        reject(new DnsTimeoutError(`DNS lookup of ${hostname} got no answer within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
    });
    try {
      const [v4, v6] = await Promise.race([Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]), deadline]);
      const addresses: ResolvedAddress[] = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
      ];
      if (addresses.length === 0 && v4.status === 'rejected') throw v4.reason;
      return addresses;
    } finally {
      clearTimeout(timer);
    }
  };
}

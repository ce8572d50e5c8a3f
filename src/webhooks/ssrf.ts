import net from 'node:net';
import type { LookupFunction } from 'node:net';

/**
 * The SSRF guard of webhook deliveries. A webhook URL is a tenant-chosen address our workers connect
 * to, so it must never reach the platform's own network: only https, and every address the host
 * resolves to must be public. The check runs when the URL is stored and again before each delivery,
 * and the delivery connects to the very addresses checked (`pinnedLookup`), so a DNS answer that
 * changes between check and connect (rebinding) cannot switch the target.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address (`createDnsResolveAll` in dns-resolve.ts; injected by tests). */
export type ResolveAll = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SsrfOptions {
  /** WEBHOOK_ALLOW_PRIVATE: tests deliver to loopback (and over http). Refused in production by config. */
  allowPrivate: boolean;
  resolveAll: ResolveAll;
}

export type TargetCheck =
  | { ok: true; url: URL; addresses: ResolvedAddress[] }
  /** `dns`: the host did not resolve (no answer in time, no such name, no address); `blocked`: the guard refused it. */
  | { ok: false; reason: string; kind: 'dns' | 'blocked' };

/** Host names that answer with cloud metadata whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.goog']);

const nonPublic = new net.BlockList();
for (const [subnet, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) nonPublic.addSubnet(subnet, prefix, 'ipv4');
for (const [subnet, prefix] of [
  // ::/96 covers :: and ::1 and the deprecated IPv4-compatible form; ::ffff:0:0/96 is unmapped below. 2002::/16
  // (6to4, deprecated) and 2001::/32 (Teredo) embed an IPv4 address a relay may reach: refused whole.
  ['::', 96], ['2002::', 16], ['2001::', 32], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) nonPublic.addSubnet(subnet, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 tail); null when not IPv6. */
function ipv6Groups(address: string): number[] | null {
  if (net.isIPv6(address) === false) return null;
  let text = address.toLowerCase().split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 address; otherwise the address unchanged. */
export function unmapIpv4(address: string): string {
  const g = ipv6Groups(address);
  if (!g || g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return address;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True when the address is a public unicast address (not loopback, private, link-local, CGNAT, multicast…). */
export function isPublicAddress(address: string): boolean {
  const plain = unmapIpv4(address.split('%')[0] ?? address);
  const family = net.isIP(plain);
  if (family === 0) return false;
  return !nonPublic.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** Parses and checks a URL's form only (scheme, host name); no DNS. Null when allowed, else the reason. */
export function urlFormProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) return 'only https URLs are allowed';
  if (url.username || url.password) return 'credentials in the URL are not allowed';
  const host = hostOf(url);
  if (host === '') return 'the URL has no host';
  if (!allowPrivate && METADATA_HOSTS.has(host)) return 'the host is a cloud metadata service';
  return null;
}

const hostOf = (url: URL): string => url.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');

/**
 * Checks a URL and resolves its host: every address must be public (unless allowPrivate). The answer's
 * addresses are the only ones a delivery may connect to.
 */
export async function checkTarget(raw: string, options: SsrfOptions): Promise<TargetCheck> {
  const problem = urlFormProblem(raw, options.allowPrivate);
  if (problem) return { ok: false, reason: problem, kind: 'blocked' };
  const url = new URL(raw);
  const host = hostOf(url);
  let addresses: ResolvedAddress[];
  const literal = net.isIP(host);
  if (literal !== 0) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await options.resolveAll(host);
    } catch (err) {
      const timedOut = (err as { code?: unknown }).code === 'ETIMEOUT';
      return { ok: false, reason: timedOut ? 'the host\'s DNS lookup got no answer in time' : 'the host does not resolve', kind: 'dns' };
    }
  }
  if (addresses.length === 0) return { ok: false, reason: 'the host does not resolve', kind: 'dns' };
  if (!options.allowPrivate && addresses.some((a) => !isPublicAddress(a.address))) {
    return { ok: false, reason: 'the host resolves to a loopback, private, link-local or otherwise non-public address', kind: 'blocked' };
  }
  return { ok: true, url, addresses };
}

/**
 * A `lookup` for http(s).request that answers only with the addresses already checked, whatever the
 * name: the socket connects where the guard looked, never where a second DNS answer points.
 */
export function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0];
    if (!first) {
      callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    if (all) (callback as unknown as (err: null, list: ResolvedAddress[]) => void)(null, addresses);
    else callback(null, first.address, first.family);
  };
}

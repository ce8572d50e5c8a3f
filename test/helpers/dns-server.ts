import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A nameserver for tests, on a UDP port of 127.0.0.1: answers A/AAAA questions from `records`, NXDOMAIN for names
 * it does not know, and never answers at all in `hang` mode (a tenant's nameserver that keeps lookups waiting).
 * Counts the questions it was asked.
 */
export interface TestDnsServer {
  server: string;
  questions: number;
  hang: boolean;
  close(): Promise<void>;
}

type Records = Record<string, { A?: string[]; AAAA?: string[] }>;

export async function startDnsServer(records: Records, options: { hang?: boolean } = {}): Promise<TestDnsServer> {
  const socket = dgram.createSocket('udp4');
  const state: TestDnsServer = {
    server: '',
    questions: 0,
    hang: options.hang ?? false,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, peer) => {
    state.questions += 1;
    if (state.hang) return;
    const answer = answerTo(msg, records);
    if (answer) socket.send(answer, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  state.server = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return state;
}

/** One question in, one answer out (RFC 1035 wire format, no compression but the answer's pointer to the question). */
function answerTo(query: Buffer, records: Records): Buffer | null {
  if (query.length < 17) return null;
  let offset = 12;
  const labels: string[] = [];
  while (offset < query.length && query[offset] !== 0) {
    const length = query[offset] ?? 0;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += 1 + length;
  }
  const questionEnd = offset + 5;
  const type = query.readUInt16BE(offset + 1);
  const name = labels.join('.').toLowerCase();
  const known = records[name];
  const addresses = type === 1 ? (known?.A ?? []) : type === 28 ? (known?.AAAA ?? []) : [];
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // response, recursion desired + available; rcode 0 or NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((address) => {
    const rdata = type === 1 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

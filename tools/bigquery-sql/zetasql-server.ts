import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { PACKAGE_DIR, serverBinary } from './zetasql-install';
import type { ZetaSqlClient, ZetaSqlPackage } from './protos';

/**
 * The ZetaSQL analyzer server (`remote_server.so localhost <port>`) as a child process on a free loopback
 * port, with the package's gRPC client connected to it. The package's client is a per-process singleton,
 * so there is at most one server per process; it is killed when the process exits.
 */
export class ZetaSqlServer {
  private static running: ZetaSqlServer | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly client: ZetaSqlClient,
  ) {}

  static async start(): Promise<ZetaSqlServer> {
    if (ZetaSqlServer.running) return ZetaSqlServer.running;
    let lastError: Error | null = null;
    // A free port can be taken between probing and binding; a second port settles that race.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort();
      try {
        ZetaSqlServer.running = await ZetaSqlServer.launch(port);
        return ZetaSqlServer.running;
      } catch (err) {
        lastError = err instanceof Error ? err : new Error(String(err));
      }
    }
    throw lastError ?? new Error('zetasql: server did not start');
  }

  private static async launch(port: number): Promise<ZetaSqlServer> {
    const child = spawn(serverBinary(), ['localhost', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      if (output.length < 4000) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_resolve, reject) => {
      child.once('error', (err) => reject(new Error(`zetasql: cannot run ${serverBinary()}: ${err.message}`)));
      child.once('exit', (code, signal) => reject(new Error(`zetasql: server exited (${signal ?? code}) before answering: ${output.trim()}`)));
    });
    // The package resolves its protos relative to itself, so it is loaded from its install folder.
    const pkg = require(PACKAGE_DIR) as ZetaSqlPackage;
    pkg.ZetaSQLClient.init(port);
    const client = pkg.ZetaSQLClient.getInstance();
    try {
      const ready = await Promise.race([client.testConnection(), exited]);
      if (!ready) throw new Error(`zetasql: server on port ${port} did not answer: ${output.trim()}`);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    exited.catch(() => undefined);
    // The server must never keep a finished test run or script alive, nor outlive it.
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as (Readable & { unref?: () => void }) | null)?.unref?.();
    process.once('exit', () => child.kill('SIGKILL'));
    return new ZetaSqlServer(child, port, client);
  }

  stop(): void {
    this.child.kill('SIGKILL');
    if (ZetaSqlServer.running === this) ZetaSqlServer.running = null;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

import type { Server } from 'node:net';

/**
 * Starts listening, or rejects with an error an operator can act on: a port already in use names the setting that
 * moves it (without a listener for 'error' Node throws the bare EADDRINUSE event and its stack instead).
 */
export function listen(server: Server, port: number, host: string, setting: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') reject(new Error(`${host}:${port} is already in use (another process listens there): stop it, or set ${setting} to a free port`));
      else if (err.code === 'EACCES') reject(new Error(`${host}:${port} may not be bound by this user: set ${setting} to a port above 1023`));
      else reject(err);
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * The container engine the smoke test drives, with the flags this machine needs. Podman from Debian runs here
 * only with `--runtime runc` (crun fails on the hybrid cgroup layout) and `--ulimit nofile=1024:1024 --ulimit
 * nproc=1024:1024` on `run` (runc may not raise the limits beyond what the sandbox allows); both are defaults for
 * podman and can be replaced through the environment:
 *   CONTAINER_ENGINE       podman | docker | a path (default: podman if it works, else docker if its daemon answers)
 *   CONTAINER_GLOBAL_ARGS  flags before the subcommand (default for podman: `--runtime runc` when runc is installed)
 *   CONTAINER_RUN_ARGS     flags for `run` (default for podman: the two ulimits above)
 */
export interface Engine {
  kind: 'podman' | 'docker';
  bin: string;
  version: string;
  globalArgs: string[];
  runArgs: string[];
  /** Podman writes OCI images by default, which have no HEALTHCHECK; the docker format keeps it. */
  buildArgs: string[];
}

export type Detection = { engine: Engine; tried: string[] } | { engine: null; tried: string[] };

const words = (value: string | undefined): string[] | undefined => (value === undefined ? undefined : value.split(/\s+/).filter(Boolean));
const onPath = (bin: string): boolean => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;

export function detectEngine(env: NodeJS.ProcessEnv): Detection {
  const candidates = env.CONTAINER_ENGINE ? [env.CONTAINER_ENGINE] : ['podman', 'docker'];
  const tried: string[] = [];
  for (const bin of candidates) {
    const kind = path.basename(bin).includes('podman') ? 'podman' : 'docker';
    if (!onPath(bin)) {
      tried.push(`${bin}: not found`);
      continue;
    }
    const globalArgs = words(env.CONTAINER_GLOBAL_ARGS) ?? (kind === 'podman' && onPath('runc') ? ['--runtime', 'runc'] : []);
    // A docker client without a daemon (or a podman that cannot start) is no engine: ask it for its server version.
    const info = spawnSync(bin, [...globalArgs, 'version', '--format', kind === 'podman' ? '{{.Client.Version}}' : '{{.Server.Version}}'], { encoding: 'utf8' });
    const probe = kind === 'podman' ? spawnSync(bin, [...globalArgs, 'info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8' }) : info;
    if (info.status !== 0 || probe.status !== 0) {
      const why = `${probe.stderr ?? ''}${info.stderr ?? ''}`.trim().split('\n')[0] ?? '';
      tried.push(`${bin}: present, but it cannot run containers (${why})`);
      continue;
    }
    const runDefault = kind === 'podman' ? ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'] : [];
    const engine: Engine = {
      kind,
      bin,
      version: info.stdout.trim(),
      globalArgs,
      runArgs: words(env.CONTAINER_RUN_ARGS) ?? runDefault,
      buildArgs: kind === 'podman' ? ['--format', 'docker'] : [],
    };
    return { engine, tried };
  }
  return { engine: null, tried };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `engine <global flags> <args>`, printing the command first (secrets go through `env`, never argv). */
export function engineCommand(engine: Engine, args: string[], options: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  const argv = [...engine.globalArgs, ...args];
  if (!options.quiet) process.stdout.write(`    $ ${[engine.bin, ...argv].join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(engine.bin, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function imageExists(engine: Engine, tag: string): Promise<boolean> {
  return (await engineCommand(engine, ['image', 'inspect', tag], { quiet: true })).code === 0;
}

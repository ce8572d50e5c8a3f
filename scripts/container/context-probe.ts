import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dockerfileContextSources, MUST_STAY_OUT } from './build-context';
import { engineCommand } from './engine';
import type { Engine } from './engine';

export interface ContextProbe {
  /** Planted paths that must stay out but reached the engine. */
  leaked: string[];
  /** Planted Dockerfile sources that did not reach it. */
  missing: string[];
  planted: number;
}

/**
 * Asks the engine itself what our `.dockerignore` lets through: a scratch context with a canary file at every
 * path that must stay out and at every source the Dockerfile copies, built with `COPY . /context/`, then listed
 * from inside the image. The engine's matcher is the one that counts, not ours.
 */
export async function probeBuildContext(engine: Engine, repoRoot: string, baseImage: string): Promise<ContextProbe> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-context-'));
  const context = path.join(work, 'context');
  const tag = `localhost/convergence-context-probe:${path.basename(work).replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
  const plant = (rel: string): void => {
    fs.mkdirSync(path.dirname(path.join(context, rel)), { recursive: true });
    fs.writeFileSync(path.join(context, rel), 'canary\n');
  };
  try {
    fs.mkdirSync(context);
    fs.copyFileSync(path.join(repoRoot, '.dockerignore'), path.join(context, '.dockerignore'));
    const sources = dockerfileContextSources(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
    // A folder source gets a file inside it, so the check covers what is under it, not just its name.
    const expected = sources.map((s) => (fs.statSync(path.join(repoRoot, s)).isDirectory() ? `${s}/canary.txt` : s));
    [...MUST_STAY_OUT, ...expected].forEach(plant);
    fs.writeFileSync(path.join(work, 'Containerfile'), `FROM ${baseImage}\nCOPY . /context/\n`);
    const built = await engineCommand(engine, ['build', '-q', '-f', path.join(work, 'Containerfile'), '-t', tag, context]);
    if (built.code !== 0) throw new Error(`context probe build failed: ${built.stderr.trim()}`);
    const listing = await engineCommand(engine, ['run', '--rm', ...engine.runArgs, tag, 'node', '-e', LIST_FILES]);
    if (listing.code !== 0) throw new Error(`context probe listing failed: ${listing.stderr.trim()}`);
    const present = new Set(JSON.parse(listing.stdout) as string[]);
    return {
      leaked: MUST_STAY_OUT.filter((p) => present.has(p)),
      missing: expected.filter((p) => !present.has(p)),
      planted: MUST_STAY_OUT.length + expected.length,
    };
  } finally {
    await engineCommand(engine, ['rmi', '-f', tag], { quiet: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Every file under /context, relative, as JSON (runs inside the probe image, which has node and little else). */
const LIST_FILES =
  "const fs=require('fs');const walk=(d)=>fs.readdirSync(d,{withFileTypes:true}).flatMap((e)=>e.isDirectory()?walk(d+'/'+e.name):[d+'/'+e.name]);" +
  "console.log(JSON.stringify(walk('/context').map((f)=>f.slice(9))))";

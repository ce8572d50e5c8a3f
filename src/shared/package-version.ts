import fs from 'node:fs';

/**
 * The version in the given package.json. The compiled build runs as `node dist/main.js`, where npm's
 * `npm_package_version` is absent, so the version is read from the file the image ships next to `dist/`.
 * A missing or version-less file throws: a wrong version on `/health` would be worse than no start.
 */
export function readPackageVersion(packageJsonPath: string): string {
  const parsed: unknown = JSON.parse(fs.readFileSync(packageJsonPath, 'utf8'));
  const version = typeof parsed === 'object' && parsed !== null && 'version' in parsed ? parsed.version : undefined;
  if (typeof version !== 'string' || version === '') throw new Error(`${packageJsonPath} has no "version"`);
  return version;
}

/**
 * Docker's `.dockerignore` rules, enough to check ours without an engine: comments and blank lines skipped,
 * `*` and `?` within one path segment, `**` across segments, `!` re-includes, the last matching line wins, and a
 * line matching a parent folder matches everything under it. (The container smoke test asks the real engine.)
 */
interface Rule {
  negate: boolean;
  pattern: RegExp;
}

function toRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else {
        source += '.*';
      }
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else {
      source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export function parseDockerignore(text: string): Rule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const glob = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, pattern: toRegExp(glob) };
    });
}

/** True when the engine would leave `filePath` (relative, `/`-separated) out of the build context. */
export function isIgnored(rules: Rule[], filePath: string): boolean {
  const segments = filePath.split('/');
  const selfAndParents = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) if (selfAndParents.some((p) => rule.pattern.test(p))) ignored = !rule.negate;
  return ignored;
}

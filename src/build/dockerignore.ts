/**
 * `.dockerignore`: which context paths a build may not see, with Docker's pattern rules: one
 * pattern a line, `#` comments, leading and trailing slashes dropped, paths cleaned, `*` `?` `[...]`
 * inside one path element, `**` for any number of elements, `!` re-including what an earlier line
 * excluded, and a directory's exclusion covering everything below it. The last matching line wins.
 *
 * Use: `const ignore = DockerIgnore.parse(text); ignore.excludes('src/a.txt')`.
 *
 * Beware: paths are relative to the context root, `/`-separated, without a leading `./`.
 */
import { posix } from 'node:path';

interface Pattern {
  re: RegExp;
  exclusion: boolean;
}

export class DockerIgnore {
  private constructor(private readonly patterns: readonly Pattern[]) {}

  static parse(text: string | undefined): DockerIgnore {
    const patterns: Pattern[] = [];
    for (const raw of (text ?? '').split(/\r?\n/)) {
      let p = raw.trim();
      if (!p || p.startsWith('#')) continue;
      const exclusion = p.startsWith('!');
      if (exclusion) p = p.slice(1).trim();
      p = posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
      if (!p || p === '.') continue;
      patterns.push({ re: globToRegExp(p), exclusion });
    }
    return new DockerIgnore(patterns);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when `path` (or one of its parent directories) is excluded. */
  excludes(path: string): boolean {
    const clean = posix.normalize(path).replace(/^\.?\/+/, '').replace(/\/+$/, '');
    if (!clean || clean === '.') return false;
    const parents: string[] = [];
    const parts = clean.split('/');
    for (let i = 1; i < parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let excluded = false;
    for (const p of this.patterns) {
      const hit = p.re.test(clean) || parents.some((d) => p.re.test(d));
      if (hit) excluded = !p.exclusion;
    }
    return excluded;
  }
}

/** Go's filepath.Match per element, plus `**` spanning elements (moby's patternmatcher). */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?'; // `**/` : zero or more leading elements
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRe(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end);
      out += body.startsWith('^') || body.startsWith('!') ? `[^/${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else out += escapeRe(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

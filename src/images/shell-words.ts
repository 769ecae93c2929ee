/**
 * The word rules of Dockerfile instructions: splitting arguments on unquoted whitespace, and
 * expanding one word (quotes removed, `\` escapes, `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR:+alternative}` and their forms without the colon) against an environment.
 *
 * Beware: this is the Dockerfile dialect, not POSIX sh: no command substitution, no globbing, and an
 * unset variable expands to nothing.
 */
import { invalidParameter } from '../util/index.js';

/** Split on whitespace outside quotes; quotes and escapes stay in the words for `expandWord`. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? '';
    if (!quote && /\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    cur += ch;
    if (ch === '\\' && quote !== "'" && i + 1 < s.length) cur += s[++i] ?? '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
  }
  if (inWord) words.push(cur);
  return words;
}

/** Expand one word: remove quotes, apply escapes, substitute variables from `env`. */
export function expandWord(word: string, env: ReadonlyMap<string, string>): string {
  const lex = new Lexer(word, env);
  return lex.word();
}

class Lexer {
  private pos = 0;
  constructor(
    private readonly s: string,
    private readonly env: ReadonlyMap<string, string>,
  ) {}

  word(stop = ''): string {
    let out = '';
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos] ?? '';
      if (stop && ch === stop) break;
      this.pos++;
      if (ch === "'") out += this.until("'", 'single');
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '\\') out += this.s[this.pos++] ?? '';
      else if (ch === '$') out += this.variable();
      else out += ch;
    }
    return out;
  }

  private until(end: string, what: string): string {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) throw invalidParameter('image.change', `unexpected end of statement while looking for matching ${what}-quote`);
    const text = this.s.slice(this.pos, i);
    this.pos = i + 1;
    return text;
  }

  private doubleQuoted(): string {
    let out = '';
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos++] ?? '';
      if (ch === '"') return out;
      if (ch === '$') out += this.variable();
      else if (ch === '\\' && ['"', '\\', '$'].includes(this.s[this.pos] ?? '')) out += this.s[this.pos++] ?? '';
      else out += ch;
    }
    throw invalidParameter('image.change', 'unexpected end of statement while looking for matching double-quote');
  }

  private variable(): string {
    if (this.s[this.pos] === '{') {
      this.pos++;
      const name = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.pos))?.[0] ?? '';
      this.pos += name.length;
      const op = /^:?[-+]/.exec(this.s.slice(this.pos))?.[0] ?? '';
      this.pos += op.length;
      const arg = op ? this.word('}') : '';
      if (this.s[this.pos] !== '}') throw invalidParameter('image.change', `missing '}' in "${this.s}"`);
      this.pos++;
      const value = this.env.get(name);
      const set = op.startsWith(':') ? !!value : value !== undefined;
      if (op.endsWith('-')) return set ? (value ?? '') : arg;
      if (op.endsWith('+')) return set ? arg : '';
      return value ?? '';
    }
    const name = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.pos))?.[0] ?? '';
    if (!name) return '$';
    this.pos += name.length;
    return this.env.get(name) ?? '';
  }
}

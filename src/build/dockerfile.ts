/**
 * Parsing a Dockerfile into instructions, as the classic builder reads it: parser directives
 * (`# escape=`), comments, line continuations, the keyword, `--flag[=value]` options and the JSON
 * (exec) form. No variable is expanded here: which instructions expand, and with what, is the
 * builder's business (see builder.ts).
 *
 * Use: `const { instructions } = parseDockerfile(text)`; errors carry Docker's texts
 * (`dockerfile parse error on line 3: unknown instruction: FOO`).
 *
 * Beware: `original` is the instruction as written with continuations joined (what Docker prints
 * after `Step N/M :`). Heredocs (`RUN <<EOF`) are not a classic-builder feature: the text is kept as
 * written, as dockerd does. Written for redes rather than taken from npm: the maintained parsers
 * there come with editor (LSP) dependencies and still leave the builder's rules to us.
 */
import { invalidParameter, type RedesError } from '../util/index.js';

export interface Flag {
  name: string;
  /** Undefined for a bare `--flag`. */
  value: string | undefined;
}

export interface Instruction {
  /** Upper-case keyword: `RUN`, `COPY`... */
  keyword: string;
  /** As written, continuations joined, trimmed. */
  original: string;
  /** 1-based line where the instruction starts. */
  line: number;
  flags: Flag[];
  /** The arguments after the flags, as written. */
  args: string;
  /** The exec form (`["a","b"]`) when `args` is a JSON array of strings. */
  json: string[] | undefined;
}

export interface Dockerfile {
  escape: string;
  instructions: Instruction[];
}

export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

/** Instructions that take `--flags` (the others keep a leading `--` as part of their arguments). */
const TAKES_FLAGS = new Set(['ADD', 'COPY', 'FROM', 'HEALTHCHECK', 'RUN']);

export function parseError(line: number, message: string): RedesError {
  return invalidParameter('dockerfile.parse', `dockerfile parse error on line ${line}: ${message}`);
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: `# key=value` lines at the very top, before any other line.
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i] ?? '');
    if (!m) break;
    const key = (m[1] ?? '').toLowerCase();
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(i + 1, `invalid escape token '${m[2] ?? ''}' does not match ` + '` or \\');
      escape = m[2];
    }
  }
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const raw = lines[i] ?? '';
    if (/^\s*$/.test(raw) || /^\s*#/.test(raw)) {
      i++;
      continue;
    }
    const start = i + 1;
    let joined = '';
    for (;;) {
      const line = lines[i++] ?? '';
      const cont = continued(line, escape);
      joined += cont === undefined ? line : cont;
      if (cont === undefined) break;
      // Comment and empty lines inside a continued instruction are skipped.
      while (i < lines.length && (/^\s*#/.test(lines[i] ?? '') || /^\s*$/.test(lines[i] ?? ''))) i++;
      if (i >= lines.length) break;
    }
    instructions.push(instruction(joined.trim(), start));
  }
  return { escape, instructions };
}

/** The line without its trailing escape character, or undefined when it does not continue. */
function continued(line: string, escape: string): string | undefined {
  const trimmed = line.replace(/\s+$/, '');
  if (!trimmed.endsWith(escape)) return undefined;
  // An escaped escape (`\\` at the end) does not continue the line.
  let n = 0;
  for (let j = trimmed.length - 1; j >= 0 && trimmed[j] === escape; j--) n++;
  return n % 2 === 1 ? trimmed.slice(0, -1) : undefined;
}

function instruction(original: string, line: number): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(original) ?? ['', '', ''];
  const word = m[1] ?? '';
  const keyword = word.toUpperCase();
  if (!(KEYWORDS as readonly string[]).includes(keyword)) throw parseError(line, `unknown instruction: ${word}${suggestion(keyword)}`);
  let rest = m[2] ?? '';
  const flags: Flag[] = [];
  if (TAKES_FLAGS.has(keyword)) {
    for (let f = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest); f; f = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest)) {
      flags.push({ name: f[1] ?? '', value: f[2] });
      rest = rest.slice(f[0].length);
    }
  }
  return { keyword, original, line, flags, args: rest.trim(), json: jsonForm(rest.trim()) };
}

function jsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) return v;
  } catch {
    // not JSON: the shell form, as Docker falls back
  }
  return undefined;
}

/** ` (did you mean FROM?)` when the word is a near miss of a keyword. */
function suggestion(word: string): string {
  let best = '';
  let bestDistance = Infinity;
  for (const k of KEYWORDS) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance > 0 && bestDistance <= 2 && word.length > 2 ? ` (did you mean ${best}?)` : '';
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The docs-as-tests extractor: turns a markdown page of the course (docs/curso, docs/course) into the
 * ordered list of steps the runner executes. The fence convention (also in docs/README.md):
 *
 *   ```sh                  commands to run, in order, one bash per block (variables and background
 *                          jobs live until the block ends). A line ending in `\` continues; blank
 *                          lines and `#` lines are skipped; a trailing `# exit N` says the command
 *                          must exit N (default 0).
 *   ```sh tty              the same, under a pseudo-terminal (for `docker run -it`); an ```input
 *                          block right after it is what is typed into it.
 *   ```sh timeout=SECONDS  the block may take that long (default: the runner's, 120 s), e.g. for
 *                          a first image build; combines with tty.
 *   ```sh not-run: REASON  shown but not run; the runner counts and reports it with REASON.
 *   ```output              right after a sh block (or its input block): what the whole block
 *                          prints, stdout and stderr together, checked by docs-match.ts.
 * Every other fence (text, nft, json...) is illustration. `bash`, `shell` and `console` fences are
 * refused, so that no command can sit on a page unnoticed by the runner.
 *
 * Use: `const page = extractPage(text, 'docs/curso/02-bridge.md')`; `pageSignature(page)` is equal
 * for two translations whose commands, attributes and expected outputs are the same.
 *
 * Beware: comments inside sh blocks are the translatable part; a comment starts at a `#` that begins
 * a word outside quotes, as in bash. Pure: no I/O.
 */

export interface Command {
  /** The command as written (continuation lines joined with their backslashes and newlines). */
  text: string;
  /** The command without comments, for comparing translations. */
  code: string;
  /** 1-based line of the page where it starts. */
  line: number;
  /** Expected exit status (`# exit N`), default 0. */
  exit: number;
}

export interface RunBlock {
  kind: 'run';
  line: number;
  commands: Command[];
  tty: boolean;
  /** What is typed into a tty block. */
  input?: string;
  /** Seconds the block may take (`timeout=N`), when it says. */
  timeoutS?: number;
  /** The expected output (the text of the ```output block), when one follows. */
  expected?: string;
  expectedLine?: number;
}

export interface NotRunBlock {
  kind: 'not-run';
  line: number;
  reason: string;
  commands: Command[];
}

export type Step = RunBlock | NotRunBlock;

export interface Page {
  path: string;
  steps: Step[];
}

interface Fence {
  lang: string;
  rest: string;
  body: string[];
  /** Line of the opening fence (1-based). */
  line: number;
  /** Line of the closing fence. */
  end: number;
}

const FORBIDDEN = new Set(['bash', 'shell', 'console', 'shell-session', 'zsh']);

function fencesOf(text: string, path: string): Fence[] {
  const lines = text.split('\n');
  const fences: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([A-Za-z0-9_-]*)\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', marker = '```', lang = '', rest = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (l.trim().startsWith(marker) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l);
    }
    if (j >= lines.length) throw new Error(`${path}:${i + 1}: fence not closed`);
    fences.push({ lang, rest: rest.trim(), body, line: i + 1, end: j + 1 });
    i = j;
  }
  return fences;
}

/**
 * Where the comment of a shell line starts (a `#` beginning a word outside quotes), or -1.
 * Handles '...', "..." and backslash escapes; enough for the pages' commands.
 */
export function commentStart(line: string): number {
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (c === '\\') {
      i++;
    } else if (quote === '"') {
      if (c === '"') quote = '';
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return i;
    }
  }
  return -1;
}

function commandsOf(f: Fence, path: string): Command[] {
  const out: Command[] = [];
  let parts: string[] = [];
  let start = 0;
  f.body.forEach((raw, k) => {
    const line = f.line + 1 + k;
    if (parts.length === 0) {
      if (raw.trim() === '' || raw.trim().startsWith('#')) return;
      start = line;
    }
    parts.push(raw);
    const at = commentStart(raw);
    const code = (at < 0 ? raw : raw.slice(0, at)).trimEnd();
    if (code.endsWith('\\') && at < 0) return;
    const text = parts.join('\n');
    const codes = parts.map((p) => {
      const c = commentStart(p);
      return (c < 0 ? p : p.slice(0, c)).trimEnd();
    });
    const comment = at < 0 ? '' : raw.slice(at);
    const exit = /^#\s*exit\s+(\d+)\b/.exec(comment);
    out.push({ text, code: codes.join('\n'), line: start, exit: exit ? Number(exit[1]) : 0 });
    parts = [];
  });
  if (parts.length) throw new Error(`${path}:${start}: command ends with a line continuation`);
  return out;
}

/** The steps of one page, in order. Throws on a malformed page (with path:line). */
export function extractPage(text: string, path: string): Page {
  const fences = fencesOf(text, path);
  const steps: Step[] = [];
  let last: RunBlock | undefined;
  let lastEnd = 0;
  const lines = text.split('\n');
  const adjacent = (f: Fence): boolean => lines.slice(lastEnd, f.line - 1).every((l) => l.trim() === '');
  for (const f of fences) {
    const at = `${path}:${f.line}`;
    if (FORBIDDEN.has(f.lang)) throw new Error(`${at}: a \`\`\`${f.lang} fence; write \`\`\`sh (run) or \`\`\`text (not a command)`);
    if (f.lang === 'sh') {
      const attrs = f.rest;
      const notRun = /^not-run:\s*(.+)$/.exec(attrs);
      const commands = commandsOf(f, path);
      if (commands.length === 0) throw new Error(`${at}: sh block without commands`);
      if (notRun?.[1]) {
        steps.push({ kind: 'not-run', line: f.line, reason: notRun[1].trim(), commands });
        last = undefined;
      } else {
        last = { kind: 'run', line: f.line, commands, tty: false };
        for (const a of attrs.split(/\s+/).filter(Boolean)) {
          const t = /^timeout=(\d+)$/.exec(a);
          if (a === 'tty') last.tty = true;
          else if (t) last.timeoutS = Number(t[1]);
          else throw new Error(`${at}: unknown sh fence attribute "${a}" (allowed: tty, timeout=SECONDS, not-run: REASON)`);
        }
        steps.push(last);
      }
    } else if (f.lang === 'input' || f.lang === 'output') {
      if (!last || !adjacent(f)) throw new Error(`${at}: an ${f.lang} block must follow a sh block directly`);
      if (f.lang === 'input') {
        if (!last.tty) throw new Error(`${at}: an input block belongs to a \`\`\`sh tty block`);
        if (last.input !== undefined || last.expected !== undefined) throw new Error(`${at}: input must come once, before output`);
        last.input = f.body.join('\n') + '\n';
      } else {
        if (last.expected !== undefined) throw new Error(`${at}: two output blocks for one sh block`);
        last.expected = f.body.join('\n');
        last.expectedLine = f.line;
        last = undefined;
      }
    } else {
      last = undefined;
    }
    lastEnd = f.end;
  }
  return { path, steps };
}

/** What two translations of a page must share: commands without comments, attributes, input, outputs. */
export function pageSignature(page: Page): string {
  return JSON.stringify(
    page.steps.map((s) =>
      s.kind === 'run'
        ? ['run', s.tty, s.timeoutS ?? null, s.commands.map((c) => [c.code, c.exit]), s.input ?? null, s.expected ?? null]
        : ['not-run', s.commands.map((c) => [c.code, c.exit])],
    ),
  );
}

/**
 * Expected output of the course pages (```output blocks) against what a block printed.
 *
 * Rules (also in docs/README.md):
 * - Lines are compared one by one after removing carriage returns and terminal escapes, collapsing
 *   runs of spaces and tabs into one space, and trimming both ends; empty lines at the start and end
 *   are ignored.
 * - A line that is only `...` stands for any number of lines (also none): shortened output.
 * - Placeholders inside a line: `<id>` hex id (12-64 digits), `<ip>` IPv4 address, `<ip6>` IPv6
 *   address, `<mac>` MAC address, `<n>` a number, `<word>` one word, `<any>` anything (also nothing),
 *   and `...` at the end of a line for the rest of it.
 * Everything else must be equal.
 *
 * Use: `const m = matchOutput(expected, actual); if (!m.ok) fail(m.message)`.
 * Beware: pure; the message shows the first expected line that found no match, with the actual output.
 */

const PLACEHOLDERS: Record<string, string> = {
  '<id>': '[0-9a-f]{12,64}',
  '<ip>': '\\d{1,3}(?:\\.\\d{1,3}){3}',
  '<ip6>': '[0-9a-fA-F:]*:[0-9a-fA-F:.]*',
  '<mac>': '[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}',
  '<n>': '\\d+',
  '<word>': '\\S+',
  '<any>': '.*?',
};
const TOKEN = /<id>|<ip6>|<ip>|<mac>|<n>|<word>|<any>/g;

/** One line as compared: no CR, no terminal escapes, blanks collapsed, trimmed. */
export function normalizeLine(line: string): string {
  return line
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function linesOf(text: string): string[] {
  const lines = text.split('\n').map(normalizeLine);
  while (lines.length && lines[0] === '') lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regular expression for one expected line. */
export function linePattern(line: string): RegExp {
  const tail = line.endsWith('...') && line !== '...';
  const body = tail ? line.slice(0, -3).trimEnd() : line;
  let src = '';
  let last = 0;
  for (const m of body.matchAll(TOKEN)) {
    src += escape(body.slice(last, m.index)) + PLACEHOLDERS[m[0]];
    last = (m.index ?? 0) + m[0].length;
  }
  src += escape(body.slice(last));
  return new RegExp(`^${src}${tail ? '.*' : ''}$`);
}

export interface MatchResult {
  ok: boolean;
  message: string;
}

/** Does `actual` fit `expected` (see the rules above)? */
export function matchOutput(expected: string, actual: string): MatchResult {
  const want = linesOf(expected);
  const got = linesOf(actual);
  const patterns = want.map((l) => (l === '...' ? undefined : linePattern(l)));
  // failAt: the furthest expected line reached, for the message.
  let furthest = 0;
  const memo = new Map<string, boolean>();
  const fits = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    furthest = Math.max(furthest, i);
    let r: boolean;
    if (i === patterns.length) r = j === got.length;
    else {
      const p = patterns[i];
      if (p === undefined) {
        r = false;
        for (let k = j; k <= got.length && !r; k++) r = fits(i + 1, k);
      } else r = j < got.length && p.test(got[j] ?? '') && fits(i + 1, j + 1);
    }
    memo.set(key, r);
    return r;
  };
  if (fits(0, 0)) return { ok: true, message: '' };
  const at = furthest < want.length ? `expected line ${furthest + 1} ${JSON.stringify(want[furthest])} found no match` : 'more output than expected';
  return { ok: false, message: `${at}\n--- expected\n${want.join('\n')}\n--- actual\n${got.join('\n')}` };
}

/**
 * `docker top`: the host's `ps` (with the user's ps arguments, `-ef` by default) cut to the
 * processes of one container, as dockerd does it.
 *
 * Use: `await processTable(['-ef'], pids)` → `{ Titles, Processes }`.
 * Beware: ps arguments come from the request; they are passed as argv (never through a shell) and
 * must keep a PID column, else Docker's error.
 */
import { run } from '../kernel/index.js';
import { internal, invalidParameter } from '../util/index.js';

export interface ProcessTable {
  Titles: string[];
  Processes: string[][];
}

/** Parses ps output: the header's columns, the last column taking the rest of each line. */
export function parsePs(text: string, pids: ReadonlySet<number>): ProcessTable {
  const lines = text.split('\n').filter((l) => l.trim());
  const Titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidAt = Titles.indexOf('PID');
  if (pidAt < 0) throw internal('top.no_pid', 'Couldn\'t find PID field in ps output');
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const row = [...f.slice(0, Titles.length - 1), f.slice(Titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidAt]))) Processes.push(row);
  }
  return { Titles, Processes };
}

export async function processTable(psArgs: string, pids: readonly number[]): Promise<ProcessTable> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  if (args.some((a) => !/^[-A-Za-z0-9,=:%_.+]+$/.test(a))) throw invalidParameter('top.ps_args', `invalid ps arguments: ${psArgs}`);
  const r = await run(['ps', ...args], { allowFailure: true, timeoutMs: 10_000 });
  if (r.code !== 0) throw internal('top.ps_failed', `ps: exit status ${r.code}: ${r.stderr.trim()}`);
  return parsePs(r.stdout, new Set(pids));
}

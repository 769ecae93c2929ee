/**
 * Runs the steps of one course page (docs-blocks.ts) in order, the way a reader types them: each sh
 * block is one bash script, with `redes` and `docker` on PATH and REDES_SANDBOX naming the page's own
 * sandbox (the page's first block, `eval "$(redes sandbox up)"`, creates it).
 *
 * Use:
 *   const report = await runPage(extractPage(text, path), { sandbox: 'docab12cd', binDir });
 *   // then: redes sandbox down <sandbox>, whatever happened
 * The report says how many blocks and commands ran, which outputs were compared, which blocks are
 * marked not-run (with their reasons) and the first failure, after which nothing more runs.
 *
 * Beware:
 * - Commands run through bash: they are the pages' own text, reviewed like code, never user input.
 * - Each block's bash runs in a process group of its own and is killed as a group on timeout, so a
 *   hanging `docker run -it` or a background capture cannot outlive its block.
 * - A ```sh tty block runs under util-linux `script`; its output has the terminal's echo of the
 *   typed input in it, so its expected output usually holds `...` lines.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, RunBlock } from './docs-blocks.js';
import { matchOutput } from './docs-match.js';

export interface RunPageOptions {
  /** The sandbox name the page's commands get as REDES_SANDBOX. */
  sandbox: string;
  /** The lab name they get as REDES_LAB (for `redes lab up`). */
  lab?: string;
  /** Directory holding the `redes` executable under test. */
  binDir: string;
  /** Milliseconds one block may take (default 120 s). */
  blockTimeoutMs?: number;
}

export interface PageReport {
  path: string;
  blocks: number;
  commands: number;
  /** Blocks whose ```output was compared. */
  checked: number;
  notRun: Array<{ line: number; reason: string; commands: string[] }>;
  /** The first failure (path:line and what happened); nothing after it ran. */
  failure?: string;
  /** Milliseconds the page took. */
  ms: number;
  /** Milliseconds each block that ran took, by its line. */
  blockMs: Array<{ line: number; ms: number }>;
}

const MARK = '\x1eredes-doc';

function scriptOf(block: RunBlock): string {
  const parts = ['exec 2>&1'];
  block.commands.forEach((c, i) => {
    parts.push(`printf '${MARK}-start ${i}\\n'`);
    parts.push(c.text);
    parts.push(`__rc=$?; printf '\\n${MARK}-end ${i} %d\\n' "$__rc"; [ "$__rc" -eq ${c.exit} ] || exit 90`);
  });
  parts.push('wait', 'exit 0');
  return parts.join('\n') + '\n';
}

interface Segment {
  index: number;
  output: string;
  rc?: number;
}

/** The per-command outputs and exit codes found between the markers. */
export function splitOutput(raw: string): Segment[] {
  const text = raw.replace(/\r*\n/g, '\n'); // a lone CR (a terminal's return to column 0) stays; normalizeLine drops it
  const segs: Segment[] = [];
  const re = new RegExp(`${MARK}-start (\\d+)\\n([\\s\\S]*?)(?:\\n${MARK}-end \\d+ (\\d+)\\n|$)`, 'g');
  for (const m of text.matchAll(re)) {
    segs.push({ index: Number(m[1]), output: m[2] ?? '', ...(m[3] !== undefined ? { rc: Number(m[3]) } : {}) });
  }
  return segs;
}

function blockOutput(segs: Segment[]): string {
  return segs.map((s) => (s.output === '' || s.output.endsWith('\n') ? s.output : `${s.output}\n`)).join('');
}

async function runBash(scriptPath: string, block: RunBlock, env: NodeJS.ProcessEnv, cwd: string, timeoutMs: number): Promise<{ raw: string; timedOut: boolean }> {
  const argv = block.tty ? ['script', '-q', '-e', '-f', '-c', `bash ${scriptPath}`, '/dev/null'] : ['bash', scriptPath];
  const [cmd = 'bash', ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => out.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ raw: Buffer.concat(out).toString('utf8'), timedOut });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(block.input ?? '');
  });
}

/** Run every step of `page` in order; see the header. Never throws for a failing command. */
export async function runPage(page: Page, opts: RunPageOptions): Promise<PageReport> {
  const started = Date.now();
  const report: PageReport = { path: page.path, blocks: 0, commands: 0, checked: 0, notRun: [], ms: 0, blockMs: [] };
  const work = await mkdtemp(join(tmpdir(), `redes-docs-${opts.sandbox}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${opts.binDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    REDES_SANDBOX: opts.sandbox,
    ...(opts.lab ? { REDES_LAB: opts.lab } : {}),
    DOCKER_HOST: `unix:///run/redes/${opts.sandbox}/docker.sock`,
    DOCKER_CONFIG: join(work, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
    TERM: 'xterm',
  };
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION']) delete env[k];
  try {
    for (const step of page.steps) {
      if (step.kind === 'not-run') {
        report.notRun.push({ line: step.line, reason: step.reason, commands: step.commands.map((c) => c.code) });
        continue;
      }
      const scriptPath = join(work, `block-${step.line}.sh`);
      await writeFile(scriptPath, scriptOf(step));
      const t0 = Date.now();
      const { raw, timedOut } = await runBash(scriptPath, step, env, work, step.timeoutS !== undefined ? step.timeoutS * 1000 : (opts.blockTimeoutMs ?? 120_000));
      report.blockMs.push({ line: step.line, ms: Date.now() - t0 });
      const segs = splitOutput(raw);
      report.blocks++;
      report.commands += segs.filter((s) => s.rc !== undefined).length;
      const bad = segs.find((s) => s.rc === undefined || s.rc !== step.commands[s.index]?.exit);
      if (timedOut || bad || segs.length !== step.commands.length) {
        const cmd = step.commands[bad?.index ?? segs.length] ?? step.commands[step.commands.length - 1];
        const why = timedOut ? 'timed out' : bad?.rc !== undefined ? `exited ${bad.rc}, expected ${cmd?.exit ?? 0}` : 'did not finish';
        report.failure = `${page.path}:${cmd?.line ?? step.line}: \`${cmd?.code ?? ''}\` ${why}\n${blockOutput(segs).slice(-4000)}`;
        break;
      }
      if (step.expected !== undefined) {
        report.checked++;
        const m = matchOutput(step.expected, blockOutput(segs));
        if (!m.ok) {
          report.failure = `${page.path}:${step.expectedLine ?? step.line}: output differs: ${m.message}`;
          break;
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    report.ms = Date.now() - started;
  }
  return report;
}

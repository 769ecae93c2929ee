// The course pages as tests: every ```sh block of docs/curso and docs/course runs, in order, against
// a fresh sandbox per page (created by the page's own first block), and every ```output block is
// compared (docs/README.md has the convention). A page whose command fails, exits with another
// code than written, or prints something else fails here. Blocks marked not-run are counted and
// listed with their reasons in the test output, never skipped in silence.
//
// A Spanish page and its English translation must hold the same blocks once comments are removed
// (checked without a sandbox in test/helpers/docs-blocks.test.ts). A page whose blocks are exactly
// those of a page already run (same signature) is not run twice: its test checks the signature and
// says which page ran them. REDES_DOCS_LANGS (e.g. `curso`) and REDES_DOCS_PAGE (a file name) narrow
// the run while writing a page.
import { suite, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/kernel/run.js';
import { extractPage, pageSignature } from '../helpers/docs-blocks.js';
import { runPage, type PageReport } from '../helpers/docs-runner.js';
import { REDES_BIN, assertNothingLeft, randomSandboxName } from '../helpers/sandbox.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const binDir = fileURLToPath(new URL('../../../bin', import.meta.url));
const langs = (process.env.REDES_DOCS_LANGS ?? 'curso,course').split(',').filter(Boolean);
const only = process.env.REDES_DOCS_PAGE; // a file name, e.g. 02-bridge.md, while writing a page
const pages = langs.flatMap((lang) =>
  readdirSync(`${root}docs/${lang}`)
    .filter((f) => f.endsWith('.md') && (!only || f === only))
    .sort()
    .map((f) => `docs/${lang}/${f}`),
);
const reports: PageReport[] = [];
/** Signature of a page's blocks -> the page that runs them. */
const runner = new Map<string, string>();
const parsed = pages.map((path) => {
  const page = extractPage(readFileSync(root + path, 'utf8'), path);
  const signature = pageSignature(page);
  const first = runner.get(signature);
  if (first === undefined) runner.set(signature, path);
  return { path, page, signature, sameAs: first };
});
let covered = 0;

suite('course pages, each against a fresh sandbox', { concurrency: Math.max(1, Math.min(2, availableParallelism())) }, () => {
  for (const { path, page, signature, sameAs } of parsed) {
    if (sameAs !== undefined) {
      test(`${path} has the blocks of ${sameAs}, which runs them`, (t) => {
        assert.equal(pageSignature(extractPage(readFileSync(root + sameAs, 'utf8'), sameAs)), signature);
        covered++;
        t.diagnostic(`${page.steps.filter((s) => s.kind === 'run').length} blocks run as ${sameAs}`);
      });
      continue;
    }
    test(`${path} runs as written`, async (t) => {
      const sandbox = randomSandboxName('doc');
      const lab = `${randomSandboxName('d')}l`; // lab names end with a letter
      let report: PageReport;
      try {
        report = await runPage(page, { sandbox, lab, binDir });
      } finally {
        await run([REDES_BIN, 'sandbox', 'down', sandbox], { timeoutMs: 60_000, allowFailure: true });
        await run([REDES_BIN, 'lab', 'down', lab], { timeoutMs: 120_000, allowFailure: true });
      }
      reports.push(report);
      t.diagnostic(`${report.blocks} blocks, ${report.commands} commands, ${report.checked} outputs checked, ${report.notRun.length} not run, ${report.ms} ms`);
      const slowest = [...report.blockMs].sort((a, b) => b.ms - a.ms).slice(0, 3);
      t.diagnostic(`slowest blocks: ${slowest.map((b) => `line ${b.line} ${b.ms} ms`).join(', ')}`);
      for (const n of report.notRun) t.diagnostic(`not run: ${path}:${n.line}: ${n.reason}: ${n.commands.join(' ; ')}`);
      for (const name of [sandbox, lab, `${lab}1`, `${lab}2`, `${lab}3`]) await assertNothingLeft(name);
      if (report.failure !== undefined) assert.fail(report.failure);
      const runnable = page.steps.filter((s) => s.kind === 'run').length;
      assert.equal(report.blocks, runnable, 'every runnable block ran');
    });
  }
});

test('docs: totals (blocks run, outputs checked, blocks not run)', (t) => {
  const sum = (f: (r: PageReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  t.diagnostic(`${reports.length} pages run (${covered} more with the same blocks), ${sum((r) => r.blocks)} blocks and ${sum((r) => r.commands)} commands run, ${sum((r) => r.checked)} outputs checked, ${sum((r) => r.notRun.length)} blocks not run`);
  assert.equal(reports.length + covered, pages.length, 'every page reported');
  assert.ok(pages.length > 0, 'pages found');
});

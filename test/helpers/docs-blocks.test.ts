// The docs-as-tests pieces that need no sandbox: the fence extractor, the output matcher, the
// marker split of a block's output, and the pairing of the Spanish and English pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { commentStart, extractPage, pageSignature } from './docs-blocks.js';
import { linePattern, matchOutput } from './docs-match.js';
import { splitOutput } from './docs-runner.js';

const page = (lines: string[]): string => lines.join('\n') + '\n';

test('sh blocks become commands in order; continuations join, comments and blank lines are skipped', () => {
  const p = extractPage(page([
    '# Title',
    '```sh',
    '# a comment line',
    'docker network ls',
    '',
    "docker network create --driver=bridge \\",
    "  --subnet=10.1.1.0/24 red_prueba1   # a trailing comment",
    "docker network rm bridge   # exit 1",
    '```',
  ]), 'p.md');
  assert.equal(p.steps.length, 1);
  const s = p.steps[0];
  assert.equal(s?.kind, 'run');
  assert.deepEqual(s?.commands.map((c) => [c.line, c.code, c.exit]), [
    [4, 'docker network ls', 0],
    [6, 'docker network create --driver=bridge \\\n  --subnet=10.1.1.0/24 red_prueba1', 0],
    [8, 'docker network rm bridge', 1],
  ]);
});

test('an output block right after a sh block is its expected output; an input block goes to a tty block', () => {
  const p = extractPage(page([
    '```sh', 'docker network ls', '```', '', '```output', 'NETWORK ID NAME', '...', '```',
    'text',
    '```sh tty', 'docker run -it --rm busybox sh', '```', '```input', 'cat /etc/hosts', 'exit', '```', '```output', '...', '```',
    '```text', 'not a command', '```',
  ]), 'p.md');
  assert.equal(p.steps.length, 2);
  const [a, b] = p.steps;
  assert.ok(a?.kind === 'run' && b?.kind === 'run');
  assert.equal(a.expected, 'NETWORK ID NAME\n...');
  assert.equal(a.expectedLine, 5);
  assert.equal(b.tty, true);
  assert.equal(b.input, 'cat /etc/hosts\nexit\n');
  assert.equal(b.expected, '...');
});

test('timeout=SECONDS gives a block more time, also with tty', () => {
  const p = extractPage(page(['```sh timeout=1800', 'redes image debian --include nginx-light --tag nginx', '```', '```sh tty timeout=60', 'docker run -it busybox sh', '```']), 'p.md');
  assert.deepEqual(p.steps.map((s) => (s.kind === 'run' ? [s.tty, s.timeoutS] : [])), [[false, 1800], [true, 60]]);
});

test('not-run blocks keep their reason and commands', () => {
  const p = extractPage(page(['```sh not-run: needs docker swarm (overlay), pending', 'docker swarm init', '```']), 'p.md');
  assert.deepEqual(p.steps, [{ kind: 'not-run', line: 1, reason: 'needs docker swarm (overlay), pending', commands: [{ text: 'docker swarm init', code: 'docker swarm init', line: 2, exit: 0 }] }]);
});

test('malformed pages are refused with path and line', () => {
  assert.throws(() => extractPage(page(['```bash', 'ls', '```']), 'x.md'), /x\.md:1: a ```bash fence/);
  assert.throws(() => extractPage(page(['```console', '$ ls', '```']), 'x.md'), /x\.md:1: a ```console fence/);
  assert.throws(() => extractPage(page(['```sh', 'ls', '```', 'words', '```output', 'a', '```']), 'x.md'), /x\.md:5: an output block must follow/);
  assert.throws(() => extractPage(page(['```sh', 'ls', '```', '```input', 'a', '```']), 'x.md'), /belongs to a ```sh tty block/);
  assert.throws(() => extractPage(page(['```sh skip', 'ls', '```']), 'x.md'), /unknown sh fence attribute "skip"/);
  assert.throws(() => extractPage(page(['```sh timeout=soon', 'ls', '```']), 'x.md'), /unknown sh fence attribute "timeout=soon"/);
  assert.throws(() => extractPage(page(['```sh', '# only a comment', '```']), 'x.md'), /sh block without commands/);
  assert.throws(() => extractPage(page(['```sh', 'ls \\', '```']), 'x.md'), /line continuation/);
  assert.throws(() => extractPage('```sh\nls\n', 'x.md'), /fence not closed/);
});

test('a comment starts at a # beginning a word outside quotes', () => {
  assert.equal(commentStart('echo a # b'), 7);
  assert.equal(commentStart("docker inspect -f '{{ # }}' x"), -1);
  assert.equal(commentStart('echo "a # b" # c'), 13);
  assert.equal(commentStart('echo a#b'), -1);
  assert.equal(commentStart('echo \\# x'), -1);
});

test('translations with the same commands have one signature; comments do not count, commands do', () => {
  const es = extractPage(page(['Hola', '```sh', '# listar', 'docker network ls  # las tres redes', '```', '```output', 'x', '```']), 'es.md');
  const en = extractPage(page(['Hello', '```sh', '# list', 'docker network ls  # the three networks', '```', '```output', 'x', '```']), 'en.md');
  const other = extractPage(page(['```sh', 'docker network ls -q', '```', '```output', 'x', '```']), 'en.md');
  assert.equal(pageSignature(es), pageSignature(en));
  assert.notEqual(pageSignature(es), pageSignature(other));
});

test('expected output: exact lines after blanks are collapsed', () => {
  assert.ok(matchOutput('NETWORK ID   NAME\nabc  bridge', 'NETWORK ID     NAME\r\nabc\tbridge\n\n').ok);
  const m = matchOutput('a\nb', 'a\nc');
  assert.equal(m.ok, false);
  assert.match(m.message, /expected line 2 "b" found no match/);
  assert.equal(matchOutput('a', 'a\nb').ok, false, 'extra output fails without ...');
});

test('expected output: ... lines skip any number of lines, also none', () => {
  assert.ok(matchOutput('first\n...\nlast', 'first\n1\n2\n3\nlast').ok);
  assert.ok(matchOutput('first\n...\nlast', 'first\nlast').ok);
  assert.ok(matchOutput('...\nmiddle\n...', 'a\nmiddle\nb').ok);
  assert.equal(matchOutput('first\n...\nlast', 'first\nx').ok, false);
  assert.ok(matchOutput('...', '').ok);
});

test('expected output: placeholders', () => {
  assert.match('5f3c9a1b2c3d bridge bridge local', linePattern('<id> bridge bridge local'));
  assert.doesNotMatch('5f3c bridge bridge local', linePattern('<id> bridge bridge local'));
  assert.match('inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0', linePattern('inet <ip>/16 brd <ip> scope global eth0'));
  assert.match('link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff', linePattern('link/ether <mac> brd <mac>'));
  assert.match('inet6 fe80::42:acff:fe11:2/64 scope link', linePattern('inet6 <ip6>/64 scope link'));
  assert.match('veth1a2b3c4@if2 UP', linePattern('veth<word>@if<n> UP'));
  assert.match('Up 3 seconds', linePattern('Up <any>'));
  assert.match('table inet doc1ab2c3 { # handle 5', linePattern('table inet <word> {...'));
  assert.doesNotMatch('x172.17.0.2', linePattern('<ip>'));
  assert.match('a.b(c)*', linePattern('a.b(c)*'), 'regex characters are literal');
  assert.doesNotMatch('aXb(c)*', linePattern('a.b(c)*'));
});

test('a block output splits into commands with exit codes at the markers, CRLF too', () => {
  const raw = '\x1eredes-doc-start 0\nhello\n\n\x1eredes-doc-end 0 0\n\x1eredes-doc-start 1\r\nno newline\r\n\x1eredes-doc-end 1 3\r\n\x1eredes-doc-start 2\npartial';
  assert.deepEqual(splitOutput(raw), [
    { index: 0, output: 'hello\n', rc: 0 },
    { index: 1, output: 'no newline', rc: 3 },
    { index: 2, output: 'partial' },
  ]);
});

const docsDir = (lang: string): string => fileURLToPath(new URL(`../../../docs/${lang}/`, import.meta.url));

test('every Spanish page has an English page with the same number and the same blocks', async () => {
  const list = async (lang: string): Promise<string[]> => (await readdir(docsDir(lang))).filter((f) => f.endsWith('.md')).sort();
  const [es, en] = [await list('curso'), await list('course')];
  const key = (f: string): string => (f === 'README.md' ? f : f.slice(0, 3));
  assert.deepEqual(en.map(key), es.map(key), 'docs/course and docs/curso pair page by page (NN- prefix)');
  assert.ok(es.length >= 10, 'an index and nine sections');
  for (const [i, f] of es.entries()) {
    const g = en[i] ?? '';
    const a = extractPage(await readFile(docsDir('curso') + f, 'utf8'), `docs/curso/${f}`);
    const b = extractPage(await readFile(docsDir('course') + g, 'utf8'), `docs/course/${g}`);
    assert.equal(pageSignature(b), pageSignature(a), `docs/course/${g} must run the same blocks as docs/curso/${f}`);
  }
});
